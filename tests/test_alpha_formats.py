"""Alpha written by the sinks reads back: ProRes 4444 ≤1, WebM VP9 ≤4, PNG exact, EXR ≤1e-6."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from media import read_alpha, read_frames

from vidmatte.frame import Frame
from vidmatte.io import ImageSequenceSink, ImageSequenceSource, VideoSink, VideoSource
from vidmatte.io.stills import read_exr
from vidmatte.ops.color import srgb_to_linear

W, H = 66, 50


def _rgba(i: int) -> np.ndarray:
    """Smooth colour + a soft moving disc + a band holding every alpha level 0..255."""
    yy, xx = np.mgrid[0:H, 0:W]
    a = np.clip((18 - np.hypot(xx - 25 - 2 * i, yy - 25)) / 7, 0, 1) * 255
    a = np.round(a).astype(np.uint8)
    a[:, -4:] = (np.arange(H * 4).reshape(H, 4) * 255 // (H * 4 - 1)).astype(np.uint8)  # 0..255 ramp
    rgb = np.dstack([np.full((H, W), 210), 40 + xx * 2, 30 + yy * 3]).astype(np.uint8)
    return np.dstack([rgb, a])


FRAMES = [_rgba(i) for i in range(5)]


def _write_video(path, preset, alpha_mode="straight", **kw):
    with VideoSink(path, width=W, height=H, fps=24, preset=preset, alpha_mode=alpha_mode, **kw) as sink:
        for i, f in enumerate(FRAMES):
            sink.write(Frame(f, pts=i, time_base=Fraction(1, 24)))


@pytest.mark.parametrize("preset,ext,tol", [("prores", ".mov", 1), ("webm", ".webm", 4)])
def test_video_alpha_reads_back(tmp_path, preset, ext, tol):
    out = tmp_path / f"a{ext}"
    _write_video(out, preset)
    alphas = read_alpha(out)  # native ProRes decoder / libvpx-vp9, at 8 bits
    assert len(alphas) == len(FRAMES)
    for got, f in zip(alphas, FRAMES):
        assert np.abs(got.astype(int) - f[..., 3]).max() <= tol
    with VideoSource(out, with_alpha=True) as src:  # the library reader agrees
        for got, f in zip(src, FRAMES):
            assert np.abs(got.image[..., 3].astype(int) - f[..., 3]).max() <= tol


def test_prores_alpha_has_no_swscale_off_by_one(tmp_path):
    out = tmp_path / "ramp.mov"
    _write_video(out, "prores")
    ramp = read_alpha(out)[0][:, -4:]
    assert np.array_equal(ramp, FRAMES[0][:, -4:, 3])  # 128..254 included: exact


@pytest.mark.parametrize("preset,ext", [("prores", ".mov"), ("webm", ".webm")])
def test_straight_and_premultiplied_colour(tmp_path, preset, ext):
    for mode in ("straight", "premultiplied"):
        out = tmp_path / f"{mode}{ext}"
        _write_video(out, preset, alpha_mode=mode)
        with VideoSource(out, with_alpha=True) as src:
            got = [f.image[..., :3].astype(float) for f in src]
        for g, f in zip(got, FRAMES):
            want = f[..., :3].astype(float)
            if mode == "premultiplied":
                want = want * f[..., 3:] / 255.0
            assert np.abs(g - want).mean() < 1.5
    # and the two really differ where alpha is partial
    s = read_frames(tmp_path / f"straight{ext}")[0].astype(int)
    p = read_frames(tmp_path / f"premultiplied{ext}")[0].astype(int)
    assert np.abs(s - p)[FRAMES[0][..., 3] < 128].mean() > 50


@pytest.mark.parametrize("mode", ["straight", "premultiplied"])
def test_png_sequence_is_exact(tmp_path, mode):
    with ImageSequenceSink(tmp_path / "seq", format="png", alpha_mode=mode) as sink:
        for i, f in enumerate(FRAMES):
            sink.write(Frame(f, pts=i, time_base=Fraction(1, 24), index=i))
    for got, f in zip(ImageSequenceSource(tmp_path / "seq", with_alpha=True), FRAMES):
        want = f.copy()
        if mode == "premultiplied":
            want[..., :3] = (f[..., :3].astype(np.uint16) * f[..., 3:] + 127) // 255
        assert np.array_equal(got.image, want)


def test_exr_float_is_within_1e6_and_premultiplied_in_linear(tmp_path):
    rng = np.random.default_rng(3)
    floats = [rng.random((H, W, 4), dtype=np.float32) for _ in range(2)]
    floats[0][0, 0] = (4.5, 0.0, 1e-4, 1.0)  # HDR and tiny values survive
    with ImageSequenceSink(tmp_path / "f", format="exr", alpha_mode="straight") as sink:  # EXR default: premultiplied
        for i, f in enumerate(floats):
            sink.write(Frame(f, pts=i, time_base=Fraction(1, 24)))
    for i, f in enumerate(floats):
        assert np.abs(read_exr(tmp_path / "f" / f"frame_{i:06d}.exr") - f).max() <= 1e-6
    with ImageSequenceSink(tmp_path / "p", format="exr", alpha_mode="premultiplied") as sink:
        sink.write(Frame(FRAMES[0], pts=0, time_base=Fraction(1, 24)))
    got = read_exr(tmp_path / "p" / "frame_000000.exr")
    a = FRAMES[0][..., 3:] / np.float32(255)
    want_rgb = srgb_to_linear(FRAMES[0][..., :3] / np.float32(255)) * a
    assert np.abs(got[..., 3:] - a).max() <= 1e-6
    assert np.abs(got[..., :3] - want_rgb).max() <= 1e-6


def test_alpha_matte_video(tmp_path):
    out = tmp_path / "matte.mp4"
    _write_video(out, "alpha", crf=4)
    for got, f in zip(read_frames(out), FRAMES):
        assert np.abs(got[..., 0].astype(int) - f[..., 3]).mean() < 1.0
        assert np.abs(got[..., 0].astype(int) - got[..., 1]).max() <= 2  # grey
    # frame.alpha (1,H,W) float works too, with an RGB image
    with VideoSink(tmp_path / "m2.mp4", width=W, height=H, fps=24, preset="alpha", crf=4) as sink:
        sink.write(Frame(FRAMES[0][..., :3], alpha=FRAMES[0][None, ..., 3] / 255.0, pts=0, time_base=Fraction(1, 24)))
    assert np.abs(read_frames(tmp_path / "m2.mp4")[0][..., 0].astype(int) - FRAMES[0][..., 3]).mean() < 1.0


@pytest.mark.parametrize("fmt", ["png", "exr"])
def test_one_channel_matte_sequences(tmp_path, fmt):
    matte = FRAMES[1][..., 3:]
    with ImageSequenceSink(tmp_path / "m", format=fmt) as sink:
        sink.write(Frame(matte, pts=0, time_base=Fraction(1, 24)))
    path = tmp_path / "m" / f"frame_000000.{fmt}"
    if fmt == "exr":
        got = read_exr(path)
        assert np.abs(got[..., 0] - matte[..., 0] / np.float32(255)).max() <= 1e-6  # linear, not sRGB-decoded
    else:
        got = ImageSequenceSource(tmp_path / "m").__iter__().__next__().image
        assert np.array_equal(got[..., 0], matte[..., 0]) and np.array_equal(got[..., 2], matte[..., 0])
