"""End-to-end jobs on real clips: `replace` and `matte` keep frames, timestamps and audio."""

from __future__ import annotations

import numpy as np
import pytest

from media import make_clip, read_alpha, read_audio_packets, read_frames, read_pts
from vidmatte import ChromaKeyMatter
from vidmatte.compose import parse_background
from vidmatte.jobs import images, matte, replace


@pytest.fixture
def chroma():
    return ChromaKeyMatter()


@pytest.mark.parametrize("vfr", [False, True])
def test_replace_keeps_every_pts_and_the_audio_packets(tmp_path, chroma, vfr):
    clip = make_clip(tmp_path / "in.mp4", frames=20, size=(96, 64), audio=True, vfr=vfr)
    out = tmp_path / "out.mp4"
    stats = replace(clip.path, out, matter=chroma, background=parse_background("#0000ff"),
                    smoothing="gated", strength=0.8, progress=False)
    assert stats.frames == 20
    assert read_pts(out) == read_pts(clip.path)
    assert read_audio_packets(out) == read_audio_packets(clip.path)
    # the green plate became blue, the disc stayed: check one frame's colours
    f = read_frames(out)[5].astype(int)
    alpha = clip.alphas[5]
    bg = f[alpha == 0].mean(0)
    assert bg[2] > 200 and bg[1] < 60, bg
    fg_in = read_frames(clip.path)[5].astype(int)[alpha == 255].mean(0)
    assert np.abs(f[alpha == 255].mean(0) - fg_in).max() < 12


def test_replace_odd_size(tmp_path, chroma):
    clip = make_clip(tmp_path / "odd.mkv", frames=6, size=(65, 47), codec="ffv1")
    out = tmp_path / "odd_out.mp4"
    replace(clip.path, out, matter=chroma, background=parse_background("#ff0000"), progress=False)
    frames = read_frames(out)
    assert len(frames) == 6
    assert frames[0].shape[:2] in ((47, 65), (48, 66))


def test_replace_transparent_writes_alpha(tmp_path, chroma):
    clip = make_clip(tmp_path / "in.mp4", frames=8, size=(96, 64))
    out = tmp_path / "cut.mov"
    replace(clip.path, out, matter=chroma, background=None, progress=False)
    alphas = read_alpha(out)
    assert len(alphas) == 8
    # chroma on the h264-coded plate: inside the disc opaque, far outside transparent
    for a, gt in zip(alphas, clip.alphas):
        assert a[gt == 255].mean() > 240 and a[gt == 0].mean() < 20


@pytest.mark.parametrize("fmt,ext", [("prores", ".mov"), ("webm", ".webm"), ("alpha", ".mp4")])
def test_matte_formats(tmp_path, chroma, fmt, ext):
    clip = make_clip(tmp_path / "in.mp4", frames=6, size=(96, 64), audio=True)
    out = tmp_path / f"plate{ext}"
    matte(clip.path, out, matter=chroma, format=fmt, progress=False)
    if fmt == "alpha":
        got = [f[..., 0] for f in read_frames(out)]  # grey matte video
    else:
        got = read_alpha(out)
        assert read_audio_packets(out)  # audio travels with the plate
    assert len(got) == 6
    for a, gt in zip(got, clip.alphas):
        assert a[gt == 255].mean() > 235 and a[gt == 0].mean() < 25


def test_matte_png_sequence_and_timestamps(tmp_path, chroma):
    import json

    clip = make_clip(tmp_path / "in.mp4", frames=5, size=(96, 64), vfr=True)
    out = tmp_path / "seq"
    matte(clip.path, out, matter=chroma, format="png", alpha_mode="premultiplied", progress=False)
    files = sorted(out.glob("*.png"))
    assert len(files) == 5
    side = json.loads((out / "timestamps.json").read_text())
    entries = side["frames"] if isinstance(side, dict) else side
    times, _ = read_pts(clip.path)  # the container's own timestamps, VFR
    assert [e["seconds"] for e in entries] == pytest.approx([float(t) for t in times], abs=1e-9)


def test_images_cutout_and_composite(tmp_path, chroma):
    from vidmatte.io.stills import read_image, write_image
    from media import disc_frame

    rgb, alpha = disc_frame(3, 8, (80, 60))
    src = tmp_path / "disc.png"
    write_image(src, rgb)
    cut = images([src], tmp_path / "cut.png", matter=chroma)[0]
    rgba = read_image(cut, with_alpha=True)
    assert rgba.shape == (60, 80, 4)
    assert (rgba[..., 3][alpha == 255] > 250).all() and (rgba[..., 3][alpha == 0] < 5).all()
    comp = images([src], tmp_path / "comp.png", matter=chroma, background=parse_background("#ffffff"))[0]
    c = read_image(comp)
    assert (c[alpha == 0] > 250).all()


def test_matte_exr_sequence_is_linear_light(tmp_path, chroma):
    from vidmatte.io.stills import read_exr
    from vidmatte.ops.color import srgb_to_linear

    clip = make_clip(tmp_path / "in.mp4", frames=3, size=(96, 64), keep_images=True)
    out = tmp_path / "exr" / "frame_%06d.exr"  # the sink creates the folder
    matte(clip.path, out, matter=chroma, format="exr", progress=False)
    files = sorted(out.parent.glob("*.exr"))
    assert len(files) == 3
    img = read_exr(files[1])
    inside = clip.alphas[1] == 255
    assert img.shape == (64, 96, 4)
    assert img[..., 3][inside].min() > 0.95
    # colour inside the disc is the decoded sRGB colour converted to linear light
    decoded = read_frames(clip.path)[1][inside].astype(np.float32) / 255
    np.testing.assert_allclose(img[..., :3][inside].mean(0), srgb_to_linear(decoded).mean(0), atol=0.02)


@pytest.mark.slow
def test_processor_frame_by_frame_equals_matte_png(tmp_path):
    """`Processor(load_matter("modnet"), smoothing=SMOOTHER_FILES)` called on each frame of the sample
    (then flushed) gives the alpha that `vidmatte matte --format png` writes (both with the file
    default smoothing, which looks ahead), within 1 level."""
    import subprocess
    import sys
    from pathlib import Path

    from vidmatte import Processor, load_matter
    from vidmatte.io import VideoSource
    from vidmatte.io.stills import read_image

    sample = Path(__file__).resolve().parent.parent / "samples" / "talk.mp4"
    res = subprocess.run([sys.executable, "-m", "vidmatte_cli.main", "matte", str(sample), "-o", str(tmp_path / "png"),
                          "--format", "png", "--model", "modnet", "-q"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    written = sorted((tmp_path / "png").glob("*.png"))
    from vidmatte.defaults import SMOOTHER_FILES

    proc = Processor(load_matter("modnet"), smoothing=SMOOTHER_FILES)
    with VideoSource(sample) as src:
        outs = [rgba for frame in src for rgba in proc(frame.image)]  # completed frames, in order
    outs += [f.image for f in proc.flush()]
    worst = 0
    for rgba, path in zip(outs, written):
        assert rgba.shape[-1] == 4
        worst = max(worst, int(np.abs(rgba[..., 3].astype(int) - read_image(path, mode="rgba")[..., 3]).max()))
    assert len(outs) == len(written) == 120
    assert worst <= 1, worst
