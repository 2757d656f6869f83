"""`vidmatte webcam` end to end: lavfi camera → chroma model → recording / plugin virtual camera."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from vcam_backends import OUT_ENV
from vidmatte.io.capture import list_cameras
from vidmatte.io.preview import NO_GUI_MESSAGE, gui_available
from vidmatte_cli.main import main

TESTS = Path(__file__).resolve().parent
GREEN_SCREEN = "lavfi:color=c=0x00FF00:size=160x96:rate=30"
BASE = ["webcam", "--model", "chroma", "--no-smooth", "--color", "#0000ff"]


def vidmatte(*args: str, **popen):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    env.update(popen.pop("env", {}))
    # SIGINT back to its default in the child: a suite started from a background job inherits it
    # ignored (and Python keeps it so), which would test the shell instead of vidmatte
    popen.setdefault("preexec_fn", lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return subprocess.Popen([sys.executable, "-m", "vidmatte_cli.main", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def decode(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_an_output_is_required(capsys):
    assert main(["webcam", "--source", GREEN_SCREEN, "--model", "chroma"]) == 2
    assert capsys.readouterr().err.strip() == (
        "vidmatte: error: choose at least one output: --virtual-cam, --preview or -o FILE|URL")


@pytest.mark.skipif(gui_available(), reason="this OpenCV build has a GUI")
def test_preview_without_gui_says_which_opencv_to_install(capsys):
    assert main([*BASE, "--source", GREEN_SCREEN, "--preview"]) == 2
    assert capsys.readouterr().err.strip() == f"vidmatte: error: {NO_GUI_MESSAGE}"


@pytest.mark.skipif(platform.system() != "Linux", reason="v4l2 naming")
def test_missing_camera_is_named(capsys, tmp_path):
    assert main([*BASE, "--source", "7", "-o", str(tmp_path / "x.mp4")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vidmatte: error: no camera at /dev/video7 (video devices found:") and err.count("\n") == 1


@pytest.mark.skipif(platform.system() != "Linux" or bool(list_cameras()), reason="needs a Linux box without /dev/video*")
def test_missing_virtual_camera_gives_the_modprobe_line(capsys, tmp_path):
    assert main([*BASE, "--source", GREEN_SCREEN, "--virtual-cam"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vidmatte: error: no virtual camera is available (tried backends: v4l2loopback")
    assert err.endswith("sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=vidmatte")


def test_recording_of_a_green_screen_shows_the_new_background(tmp_path, capsys):
    out = tmp_path / "rec.mp4"
    assert main([*BASE, "--source", GREEN_SCREEN, "--frames", "12", "-o", str(out), "--stats"]) == 0
    err = capsys.readouterr().err
    assert "12 frames out" in err and "latency ms p50" in err and "ms/frame:" in err
    frames = decode(out)
    assert len(frames) == 12 and frames[0].shape == (96, 160, 3)
    assert all(np.abs(f.astype(int) - (0, 0, 255)).mean() < 4 for f in frames)
    with av.open(str(out)) as c:
        times = [f.time for f in c.decode(video=0)]
    assert times == sorted(times) and times[-1] >= 11 / 30 - 0.01  # real timing, at least one frame apart
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.mp4"]  # no temporary left behind


@pytest.mark.timeout(180)
def test_plugin_virtual_camera_in_a_subprocess(tmp_path):
    received = tmp_path / "received.mkv"
    proc = vidmatte(*BASE, "--source", GREEN_SCREEN, "--frames", "8", "--virtual-cam",
                    "--cam-backend", "vcam_backends:EncodingBackend", env={OUT_ENV: str(received)})
    _, err = proc.communicate(timeout=150)
    assert proc.returncode == 0, err
    frames = decode(received)
    assert len(frames) == 8 and frames[0].shape == (96, 160, 3)
    assert all((f == (0, 0, 255)).all() for f in frames)  # lossless receiver: exactly the background


@pytest.mark.timeout(240)
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_signals_stop_cleanly_and_keep_a_valid_recording(tmp_path, sig, code):
    out = tmp_path / "rec.mp4"
    proc = vidmatte(*BASE, "--source", "lavfi:testsrc2=size=160x96:rate=30", "--duration", "100",
                    "-o", str(out), "--stats", "0.2")
    lines = []
    for line in proc.stderr:  # wait until frames flow
        lines.append(line)
        if "frames out" in line:
            break
    proc.send_signal(sig)
    rest, more = proc.communicate(timeout=60)
    err = "".join(lines) + more
    assert proc.returncode == code, err
    assert f"recording written to {out}" in err
    if sig == signal.SIGINT:
        assert "stopped: SIGINT" in err
    frames = decode(out)
    assert len(frames) >= 2 and frames[0].shape == (96, 160, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.mp4"]


def test_background_file_is_hot_reloaded(tmp_path, capsys):
    import threading

    import cv2

    bg, out = tmp_path / "bg.png", tmp_path / "rec.mp4"
    cv2.imwrite(str(bg), np.full((48, 80, 3), (0, 0, 255), np.uint8))  # BGR: red

    def swap():
        cv2.imwrite(str(tmp_path / "new.png"), np.full((48, 80, 3), (255, 0, 0), np.uint8))  # blue
        os.replace(tmp_path / "new.png", bg)

    threading.Timer(1.0, swap).start()
    args = ["webcam", "--model", "chroma", "--no-smooth", "--background", str(bg)]
    assert main([*args, "--source", GREEN_SCREEN, "--duration", "2.5", "-o", str(out)]) == 0
    frames = decode(out)
    colour = [tuple(int(v) for v in f[48, 80]) for f in frames]
    assert np.abs(np.array(colour[0]) - (255, 0, 0)).max() < 12, colour[0]
    assert np.abs(np.array(colour[-1]) - (0, 0, 255)).max() < 12, colour[-1]
    reds = [i for i, c in enumerate(colour) if c[0] > 200]
    blues = [i for i, c in enumerate(colour) if c[2] > 200]
    assert max(reds) < min(blues)  # one switch, no flicker back
