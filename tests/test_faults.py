"""What a demanding user hit (issue 11, faults), driven through the `vidmatte` command.

Each test runs the real CLI — in process through ``vidmatte_cli.main.main`` where a signal or
a resource limit is not involved, as a subprocess where one is — on files made with PyAV.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import av
import numpy as np
import pytest

from media import make_clip, make_truncated, read_audio_packets, read_frames, read_pts
from media_more import damage_middle, dts_steps, make_loop
from vidmatte_cli.main import main

VIDMATTE = [sys.executable, "-m", "vidmatte_cli.main"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def cli(capsys, *args) -> tuple[int, list[str]]:
    """Run the command in this process; ``(exit code, non-empty stderr lines)``."""
    code = main([str(a) for a in args])
    return code, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def one_error(code, lines, *needles):
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].startswith("vidmatte: error: "), lines
    for n in needles:
        assert n.lower() in lines[0].lower(), (n, lines[0])


def warnings_in(lines):
    return [line for line in lines if line.startswith("vidmatte: warning: ")]


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name)


# -- 1. audio with a repeated timestamp at a loop seam ---------------------------------------
def test_loop_seam_with_a_repeated_audio_timestamp_keeps_video_and_audio(tmp_path, capsys):
    clip = make_clip(tmp_path / "talk.mp4", frames=24, size=(64, 48), audio=True)
    loop = make_loop(clip.path, tmp_path / "loop.mkv")
    assert len(dts_steps(loop)) == 1  # the input really repeats one audio timestamp
    out = tmp_path / "loop.mp4"
    code, lines = cli(capsys, "replace", loop, "--color", "#2060ff", "-o", out, "--model", "chroma", "-q")
    assert code == 0, lines
    (warning,) = warnings_in(lines)  # said once, before the work
    assert "loop.mkv" in warning and "retimed or dropped" in warning
    assert read_pts(out)[1] == 48
    got, want = read_audio_packets(out), read_audio_packets(loop)
    assert [b for _, b in got] == [b for _, b in want]  # every packet kept, bit for bit
    assert dts_steps(out) == []  # and its timing now increases


def test_timing_repair_retimes_a_repeat_and_drops_what_lies_wholly_in_the_past():
    """The rule behind the loop-seam fix, packet by packet (muxers refuse to write files
    whose audio runs backwards, so this path is shown on packets, not on a file)."""
    from fractions import Fraction
    from types import SimpleNamespace

    from vidmatte.io.passthrough import _Track

    track = _Track(None, SimpleNamespace(time_base=Fraction(1, 48000)), "copy")

    def packet(dts):
        p = av.Packet(b"\0" * 8)
        p.pts, p.dts, p.duration, p.time_base = dts, dts, 1024, Fraction(1, 48000)
        return p

    kept = []
    for dts in (0, 1024, 2048, 2048, 1024, 3072, 2100):  # a repeat, a packet from the past, an overlap
        p = packet(dts)
        if track.fit(p):
            kept.append(p.dts)
    assert kept == [0, 1024, 2048, 2049, 3072, 3073]
    assert (track.retimed, track.dropped) == (2, 1)


# -- 2. SIGTERM and SIGKILL ---------------------------------------------------------------
def _start_long_job(tmp_path, out):
    clip = make_clip(tmp_path / "long.mp4", frames=400, size=(320, 240), audio=True)
    proc = subprocess.Popen([*VIDMATTE, "replace", str(clip.path), "-o", str(out), "--blur", "--model", "chroma",
                             "--speed", "veryslow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.time() + 90
    while time.time() < deadline and not leftovers(tmp_path):
        time.sleep(0.05)  # the temporary output exists: the job is mid-write
    time.sleep(0.3)
    assert proc.poll() is None, "the job ended before it could be stopped; make the clip longer"
    return proc


def test_sigterm_mid_run_exits_143_with_one_line_and_leaves_nothing(tmp_path):
    out = tmp_path / "o.mp4"
    proc = _start_long_job(tmp_path, out)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["vidmatte: terminated (SIGTERM); no partial output was kept"], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mp4"]


def test_partials_of_a_killed_run_are_removed_by_the_next_run(tmp_path, capsys):
    out = tmp_path / "o.mp4"
    proc = _start_long_job(tmp_path, out)
    proc.kill()  # SIGKILL: no handler runs, the partial stays
    proc.communicate(timeout=60)
    assert len(leftovers(tmp_path)) == 1
    short = make_clip(tmp_path / "short.mp4", frames=4, size=(64, 48))
    code, lines = cli(capsys, "replace", short.path, "-o", out, "--color", "#000", "--model", "chroma", "-q")
    assert code == 0, lines
    assert any("removed 1 partial output" in line for line in warnings_in(lines))
    assert leftovers(tmp_path) == [] and out.exists()


def test_a_running_jobs_partial_is_not_removed(tmp_path):
    from vidmatte.io.atomic import AtomicTarget, cleanup_partials

    live = AtomicTarget(tmp_path / "o.mp4")  # this process is alive: its partial is kept
    live.tmp.write_bytes(b"x")
    assert cleanup_partials(tmp_path, "o") == 0 and live.tmp.exists()
    live.abort()


# -- 3. damaged input: warn with what was lost, --strict makes it fatal ----------------------
@pytest.fixture(scope="module")
def intact(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    return make_clip(folder / "in.mp4", frames=60, size=(96, 64), audio=True,
                     container_options={"movflags": "+faststart"})


@pytest.mark.parametrize("kind", ["bytes-in-the-middle", "truncated-faststart"])
def test_damaged_input_warns_with_the_lost_frames_and_strict_refuses(tmp_path, capsys, intact, kind):
    if kind == "bytes-in-the-middle":
        src = damage_middle(intact.path, tmp_path / "bad.mp4")
    else:
        src = make_truncated(intact.path, tmp_path / "bad.mp4", fraction=0.55)
    out = tmp_path / "out.mp4"
    code, lines = cli(capsys, "replace", src, "--color", "#2060ff", "-o", out, "--model", "chroma", "-q")
    assert code == 0, lines
    (warning,) = warnings_in(lines)
    n_out = read_pts(out)[1]
    assert n_out < 60
    assert f"{60 - n_out} of 60 frames could not be decoded" in warning, warning
    assert " s" in warning and "-" in warning  # a time range is named
    strict = tmp_path / "strict.mp4"
    code, lines = cli(capsys, "replace", src, "--color", "#2060ff", "-o", strict, "--model", "chroma", "-q",
                      "--strict")
    one_error(code, lines, "bad.mp4", "damaged", "--strict")
    assert not strict.exists() and leftovers(tmp_path) == []


def test_intact_input_gives_no_warning(tmp_path, capsys, intact):
    code, lines = cli(capsys, "replace", intact.path, "--color", "#2060ff", "-o", tmp_path / "o.mp4",
                      "--model", "chroma", "-q", "--strict")
    assert code == 0 and lines == []


@pytest.mark.parametrize("name, kw", [
    ("bframes.mp4", dict(options={"preset": "medium", "bf": "3"}, audio=True)),
    ("vfr.mp4", dict(vfr=True, audio=True)),
    ("alpha.webm", dict(codec="libvpx-vp9", with_alpha=True)),
    ("plate.mov", dict(codec="prores_ks", with_alpha=True)),
    ("stream.ts", dict(options={"preset": "medium"})),
])
def test_intact_files_of_every_kind_count_no_loss(tmp_path, name, kw):
    """No false alarms: B-frame reordering, VFR, libvpx alpha, ProRes and MPEG-TS decode whole."""
    import warnings

    from vidmatte.io.sources import VideoSource

    clip = make_clip(tmp_path / name, frames=20, size=(64, 48), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with VideoSource(clip.path, with_alpha=name.endswith(".webm"), strict=True) as src:
            assert sum(1 for _ in src) == 20
    assert (src.damage.lost, src.damage.damaged, src.damage.stopped) == (0, 0, None)


# -- 4. disk full while writing sequences or stills --------------------------------------------
@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs (needs root and a kernel that lets this process mount; CI may not)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip() or 'not permitted'})")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def _noise_clip(path, frames=12):
    return make_clip(path, frames=frames, size=(160, 120), codec="ffv1", pattern="gradient")


def test_full_disk_on_a_png_sequence_is_one_line_exit_2(tmp_path, capsys, tiny_disk):
    """A real ENOSPC: the sequence (12 RGBA PNGs of ~40 KiB) does not fit a 64 KiB tmpfs."""
    clip = _noise_clip(tmp_path / "in.mkv")
    code, lines = cli(capsys, "matte", clip.path, "-o", tiny_disk / "seq", "--format", "png", "--model", "chroma", "-q")
    one_error(code, lines, "no space left", "seq")
    assert os.listdir(tiny_disk) == []  # the partial folder is gone too


def test_full_disk_on_vidmatte_image_is_one_line_exit_2(tmp_path, capsys, tiny_disk):
    from vidmatte.io.stills import write_image

    img = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)  # ~300 KB as PNG
    write_image(tmp_path / "photo.png", img)
    code, lines = cli(capsys, "image", tmp_path / "photo.png", "-o", tiny_disk / "cut.png", "--model", "chroma")
    one_error(code, lines, "no space left", "cut.png")
    assert os.listdir(tiny_disk) == []


def test_full_disk_on_a_video_names_the_output_and_debug_keeps_the_cause(tmp_path, capsys, tiny_disk):
    from vidmatte.errors import OutputError

    clip = _noise_clip(tmp_path / "in.mkv", frames=24)
    args = ["matte", clip.path, "-o", tiny_disk / "plate.mov", "--model", "chroma", "-q"]
    code, lines = cli(capsys, *args)
    one_error(code, lines, "plate.mov", "no space left")
    with pytest.raises(OutputError) as info:  # --debug: the exception itself, with FFmpeg's error as its cause
        main(["--debug", *map(str, args)])
    assert isinstance(info.value.__cause__, av.error.FFmpegError)
    assert os.listdir(tiny_disk) == []


def _fsize_limit(nbytes):
    def limit():
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return limit


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE semantics checked on Linux")
def test_write_failure_on_exr_sequence_without_mount_is_one_line_exit_2(tmp_path):
    """Runs everywhere: RLIMIT_FSIZE makes the kernel refuse the write (EFBIG, 'File too
    large'), the same OSError path as a full disk, no mount needed."""
    clip = _noise_clip(tmp_path / "in.mkv", frames=4)
    res = subprocess.run([*VIDMATTE, "matte", str(clip.path), "-o", str(tmp_path / "seq"), "--format", "exr",
                          "--model", "chroma", "-q"], capture_output=True, text=True, env=ENV, timeout=300,
                         preexec_fn=_fsize_limit(16 * 1024))
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    one_error(res.returncode, lines, "file too large", "seq")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]


# -- 5. a truncated background JPEG -------------------------------------------------------------
def test_truncated_background_jpeg_is_refused(tmp_path, capsys):
    from vidmatte.io.stills import write_image

    yy, xx = np.mgrid[0:120, 0:160]
    write_image(tmp_path / "bg.jpg", np.dstack([xx % 256, yy * 2, (xx + yy) % 256]).astype(np.uint8))
    make_truncated(tmp_path / "bg.jpg", tmp_path / "cut.jpg", fraction=0.6)
    clip = make_clip(tmp_path / "in.mp4", frames=4, size=(64, 48))
    code, lines = cli(capsys, "replace", clip.path, "-b", tmp_path / "cut.jpg", "-o", tmp_path / "o.mp4",
                      "--model", "chroma", "-q")
    one_error(code, lines, "cut.jpg", "truncated")
    assert not (tmp_path / "o.mp4").exists()
    code, lines = cli(capsys, "image", tmp_path / "cut.jpg", "-o", tmp_path / "c.png", "--model", "chroma")
    one_error(code, lines, "cut.jpg", "truncated")
    code, lines = cli(capsys, "replace", clip.path, "-b", tmp_path / "bg.jpg", "-o", tmp_path / "o.mp4",
                      "--model", "chroma", "-q")
    assert code == 0, lines  # the whole JPEG is fine


# -- 7. odd sizes in H.264 --------------------------------------------------------------------
def test_odd_size_h264_says_it_pads(tmp_path, capsys):
    clip = make_clip(tmp_path / "odd.mkv", frames=3, size=(65, 47), codec="ffv1")
    out = tmp_path / "odd.mp4"
    code, lines = cli(capsys, "replace", clip.path, "--color", "#f00", "-o", out, "--model", "chroma", "-q")
    assert code == 0
    (warning,) = warnings_in(lines)
    assert "65x47" in warning and "66x48" in warning
    assert read_frames(out)[0].shape[:2] == (48, 66)
    code, lines = cli(capsys, "replace", clip.path, "--transparent", "-o", tmp_path / "odd.mov", "--model", "chroma",
                      "-q")
    assert code == 0 and warnings_in(lines) == []  # ProRes keeps 65x47
    with av.open(str(tmp_path / "odd.mov")) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (65, 47)
