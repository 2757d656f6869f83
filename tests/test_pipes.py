"""``-`` as input (stdin) and output (stdout), through real subprocess pipes (issue 23, item 6)."""

from __future__ import annotations

import os
import subprocess
import sys

import av
import pytest

from media import make_clip

VIDMATTE = [sys.executable, "-m", "vidmatte_cli.main"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def run(args, stdin=None, stdout=None, **kw):
    kw.setdefault("env", ENV)
    return subprocess.run([*VIDMATTE, *map(str, args)], stdin=stdin, stdout=stdout or subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120, **kw)


def streams(path):
    with av.open(str(path)) as c:
        kinds = [(s.type, s.codec_context.name) for s in c.streams]
        fmt = c.format.name
        n = sum(1 for _ in c.decode(video=0))
    return fmt, kinds, n


@pytest.mark.parametrize("container", ["mkv", "mp4"])
def test_stdin_to_stdout_keeps_every_frame_and_the_audio(tmp_path, container):
    clip = make_clip(tmp_path / f"in.{container}", frames=12, audio=True)  # mp4: its index comes last
    out = tmp_path / "out.mkv"
    spool = tmp_path / "tmp"
    spool.mkdir()
    with open(clip.path, "rb") as fin, open(out, "wb") as fout:
        res = run(["replace", "-", "-o", "-", "--model", "chroma", "--blur"], stdin=fin, stdout=fout,
                  env={**ENV, "TMPDIR": str(spool)})
    assert res.returncode == 0, res.stderr
    fmt, kinds, n = streams(out)
    assert "matroska" in fmt and n == 12
    assert ("audio", "aac") in kinds and kinds[0] == ("video", "h264")
    assert list(spool.iterdir()) == []  # the spooled input is gone


def test_a_chain_of_pipes_with_ts_and_nut(tmp_path):
    """``cat in | vidmatte … -o - --format ts | vidmatte … - -o - --format nut > out``; a ProRes
    matte cannot go into NUT (one line, exit 2)."""
    clip = make_clip(tmp_path / "in.mkv", frames=10, audio=True)
    with open(clip.path, "rb") as fin, open(tmp_path / "out.nut", "wb") as fout:
        a = subprocess.Popen([*VIDMATTE, "replace", "-", "-o", "-", "--model", "chroma", "--color", "#ff0000",
                              "--format", "ts", "-q"], stdin=fin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
        b = subprocess.Popen([*VIDMATTE, "replace", "-", "-o", "-", "--model", "chroma", "--green", "--format", "nut",
                              "-q"],
                             stdin=a.stdout, stdout=fout, stderr=subprocess.PIPE, env=ENV)
        a.stdout.close()
        assert b.wait(timeout=120) == 0, b.stderr.read()
        assert a.wait(timeout=120) == 0, a.stderr.read()
    fmt, kinds, n = streams(tmp_path / "out.nut")
    assert fmt == "nut" and n == 10 and ("audio", "aac") in kinds
    res = run(["matte", clip.path, "-o", "-", "--model", "chroma", "--format", "nut"])
    assert res.returncode == 2 and b"cannot stream in nut" in res.stderr and res.stdout == b""


def test_transparent_output_to_stdout_is_prores_with_alpha(tmp_path):
    clip = make_clip(tmp_path / "in.mkv", frames=6)
    out = tmp_path / "out.mkv"
    with open(out, "wb") as fout:
        res = run(["replace", clip.path, "-o", "-", "--model", "chroma", "--transparent"], stdout=fout)
    assert res.returncode == 0, res.stderr
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.pix_fmt.startswith("yuva")
        assert sum(1 for _ in c.decode(video=0)) == 6


@pytest.mark.parametrize("fmt", ["mp4", "mov"])
def test_containers_that_cannot_stream_are_one_line_exit_2(tmp_path, fmt):
    clip = make_clip(tmp_path / "in.mkv", frames=4)
    res = run(["replace", clip.path, "-o", "-", "--model", "chroma", "--blur", "--format", fmt])
    assert res.returncode == 2
    lines = res.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "cannot be written to a pipe" in lines[0], lines
    assert res.stdout == b""
    assert not (tmp_path / "-").exists() and not os.path.exists("-")


def test_matte_image_sequence_to_stdout_is_refused(tmp_path):
    clip = make_clip(tmp_path / "in.mkv", frames=4)
    res = run(["matte", clip.path, "-o", "-", "--model", "chroma", "--format", "png"], cwd=tmp_path)
    assert res.returncode == 2 and b"stdout" in res.stderr and res.stdout == b""
    assert not (tmp_path / "-").exists()


def test_stdout_carries_only_the_video_and_logs_go_to_stderr(tmp_path):
    clip = make_clip(tmp_path / "in.mkv", frames=6)
    res = run(["replace", clip.path, "-o", "-", "--model", "chroma", "--blur"])  # progress and summary on
    assert res.returncode == 0, res.stderr
    (tmp_path / "o.mkv").write_bytes(res.stdout)
    assert res.stdout[:4] == b"\x1a\x45\xdf\xa3"  # the EBML magic: no text before the stream
    assert streams(tmp_path / "o.mkv")[2] == 6
    assert b"wrote" in res.stderr


def test_a_reader_that_goes_away_is_one_line(tmp_path):
    clip = make_clip(tmp_path / "in.mkv", frames=90, size=(160, 120))
    p = subprocess.Popen([*VIDMATTE, "replace", str(clip.path), "-o", "-", "--model", "chroma", "--blur", "-q"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    p.stdout.read(1000)
    p.stdout.close()  # the reader quits early (`| head -c 1000`)
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "broken pipe" in lines[0] and "Traceback" not in err, err


@pytest.mark.parametrize("data", [b"", b"this is not a video\n" * 50])
def test_empty_or_garbage_stdin_is_one_line_exit_2(tmp_path, data):
    res = run(["replace", "-", "-o", tmp_path / "out.mp4", "--model", "chroma", "--blur"], input=data)
    assert res.returncode == 2
    lines = res.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidmatte: error:") and "stdin" in lines[0], lines
    assert not (tmp_path / "out.mp4").exists()


def test_stdin_to_a_file_keeps_audio_and_frames(tmp_path):
    clip = make_clip(tmp_path / "in.webm", frames=8, audio=True, codec="libvpx-vp9")
    with open(clip.path, "rb") as fin:
        res = run(["replace", "-", "-o", tmp_path / "out.mp4", "--model", "chroma", "--green"], stdin=fin)
    assert res.returncode == 0, res.stderr
    fmt, kinds, n = streams(tmp_path / "out.mp4")
    assert n == 8 and any(k == "audio" for k, _ in kinds)


def test_container_formats_are_for_stdout_only(tmp_path):
    clip = make_clip(tmp_path / "in.mkv", frames=4)
    res = run(["replace", clip.path, "-o", tmp_path / "out.mkv", "--model", "chroma", "--blur", "--format", "nut"])
    assert res.returncode == 2 and b"-o -" in res.stderr


def test_image_refuses_stdout_and_a_tty_on_stdout_is_refused(tmp_path):
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((32, 32, 3), np.uint8))
    res = run(["image", tmp_path / "a.png", "-o", "-", "--model", "chroma", "--blur"], cwd=tmp_path)
    assert res.returncode == 2 and b"not to stdout" in res.stderr and not (tmp_path / "-").exists()
    import pty

    clip = make_clip(tmp_path / "in.mkv", frames=4)
    leader, follower = pty.openpty()
    try:
        res = run(["replace", clip.path, "-o", "-", "--model", "chroma", "--blur"], stdout=follower)
    finally:
        os.close(follower)
        os.close(leader)
    assert res.returncode == 2 and b"terminal" in res.stderr


def test_ctrl_c_while_streaming_to_stdout_is_one_line(tmp_path):
    import signal
    import time

    clip = make_clip(tmp_path / "in.mkv", frames=240, size=(160, 120))
    p = subprocess.Popen([*VIDMATTE, "replace", str(clip.path), "-o", "-", "--model", "chroma", "--blur", "-q",
                          "--speed", "veryslow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # not the shell's SIG_IGN
    got = p.stdout.read(4)  # the stream has started
    assert got == b"\x1a\x45\xdf\xa3"
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    rest = p.stdout.read()  # keep reading: the reader is still there
    err = p.stderr.read().decode()
    code = p.wait(timeout=120)
    assert code == 130, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0] and "Traceback" not in err, err
    assert not (tmp_path / "-").exists()
    del rest
