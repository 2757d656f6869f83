"""Bad input through the real `vidmatte` command: one line, exit 2, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from media import make_audio_only, make_clip, make_corrupt, make_empty, make_truncated

VIDMATTE = [sys.executable, "-m", "vidmatte_cli.main"]


def default_sigint() -> None:
    """In the child, before exec: SIGINT back to its default. A suite started from a
    background job inherits SIGINT *ignored*, and Python keeps an ignored SIGINT ignored, so
    the child would never see the Ctrl-C the test sends; this tests vidmatte, not the shell."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run(*args, cwd=None, timeout=120):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([*VIDMATTE, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def assert_one_line_error(res, *needles):
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("vidmatte: error: "), lines[0]
    assert "Traceback" not in res.stderr
    for n in needles:
        assert n.lower() in lines[0].lower(), (n, lines[0])


@pytest.fixture
def clip(tmp_path):
    return make_clip(tmp_path / "in.mp4", frames=6, size=(64, 48), audio=True)


def _zero_frames(path: Path) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    return path


BAD_INPUTS = {
    "missing": (lambda d: d / "nope.mp4", ["nope.mp4"]),
    "empty": (lambda d: make_empty(d / "empty.mp4"), ["empty.mp4"]),
    "corrupt": (lambda d: make_corrupt(d / "bad.mp4"), ["bad.mp4"]),
    "text": (lambda d: (d / "notes.txt").write_text("hello") and d / "notes.txt", ["notes.txt"]),
    "audio-only": (lambda d: make_audio_only(d / "voice.m4a"), ["video"]),
    "zero-frames": (lambda d: _zero_frames(d / "zero.mp4"), ["zero.mp4"]),
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_files(tmp_path, kind):
    make, needles = BAD_INPUTS[kind]
    src = make(tmp_path)
    out = tmp_path / "out.mp4"
    res = run("replace", src, "-o", out, "--color", "#00f", "--model", "chroma")
    assert_one_line_error(res, *needles)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_truncated_input_is_not_a_traceback(tmp_path, clip):
    src = make_truncated(clip.path, tmp_path / "cut.mp4", fraction=0.4)
    out = tmp_path / "out.mp4"
    res = run("replace", src, "-o", out, "--color", "#00f", "--model", "chroma")
    # a truncated file either yields the frames that survive, or one clear error
    assert "Traceback" not in res.stderr
    if res.returncode == 0:
        assert out.exists()
    else:
        assert_one_line_error(res)
        assert not out.exists()


def test_unreadable_background(tmp_path, clip):
    bg = make_corrupt(tmp_path / "bg.jpg")
    res = run("replace", clip.path, "-o", tmp_path / "o.mp4", "--background", bg, "--model", "chroma")
    assert_one_line_error(res, "bg.jpg")
    assert not (tmp_path / "o.mp4").exists()


def test_unsupported_output_extension(tmp_path, clip):
    res = run("replace", clip.path, "-o", tmp_path / "o.xyz", "--color", "#00f", "--model", "chroma")
    assert_one_line_error(res, ".xyz")


def test_output_equal_to_input_is_refused_and_input_untouched(tmp_path, clip):
    before = clip.path.read_bytes()
    res = run("replace", clip.path, "-o", clip.path, "--color", "#00f", "--model", "chroma", "--overwrite")
    assert_one_line_error(res, "input")
    assert clip.path.read_bytes() == before


def test_existing_output_needs_overwrite(tmp_path, clip):
    out = tmp_path / "o.mp4"
    out.write_bytes(b"keep me")
    res = run("replace", clip.path, "-o", out, "--color", "#00f", "--model", "chroma")
    assert_one_line_error(res, "--overwrite")
    assert out.read_bytes() == b"keep me"
    res = run("replace", clip.path, "-o", out, "--color", "#00f", "--model", "chroma", "--overwrite", "-q")
    assert res.returncode == 0, res.stderr
    assert out.stat().st_size > 1000


def test_named_model_without_weights_offline_is_one_clear_line(tmp_path, clip):
    """Naming BiRefNet (--model lite) never falls back silently: one line, exit 2, no output."""
    env_cache = tmp_path / "hf"
    env_cache.mkdir()
    res = subprocess.run([*VIDMATTE, "replace", str(clip.path), "-o", str(tmp_path / "o.mp4"), "--color", "#00f",
                          "--model", "lite"],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(env_cache)})
    assert_one_line_error(res, "--weights")
    assert not (tmp_path / "o.mp4").exists()


def test_debug_shows_the_traceback(tmp_path):
    res = run("--debug", "replace", tmp_path / "nope.mp4", "-o", tmp_path / "o.mp4", "--color", "#00f", "--model", "chroma")
    assert res.returncode != 0 and "Traceback" in res.stderr


def test_ctrl_c_leaves_no_partial_output(tmp_path):
    clip = make_clip(tmp_path / "long.mp4", frames=400, size=(320, 240), audio=True)
    out = tmp_path / "o.mp4"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([*VIDMATTE, "replace", str(clip.path), "-o", str(out), "--blur", "--model", "chroma",
                             "--speed", "veryslow"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=default_sigint)
    deadline = time.time() + 60
    while time.time() < deadline and not [p for p in tmp_path.iterdir() if "partial" in p.name]:
        time.sleep(0.05)  # wait until the temporary output exists: the job is mid-write
    time.sleep(0.5)
    assert proc.poll() is None, "job finished before it could be interrupted; make the clip longer"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mp4"]
