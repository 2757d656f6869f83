"""Device-side YUV 4:2:0 ↔ RGB (vidmatte/ops/yuv.py) against FFmpeg's swscale via PyAV, on CPU
tensors (the same torch ops run on CUDA; the cuda test compares the two)."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch
from media import disc_frame

from vidmatte.io.convert import to_rgb
from vidmatte.io.planes import yuv_planes
from vidmatte.ops.color import rgb_to_yuv420
from vidmatte.ops.yuv import (Nv12ToRgb, RgbToNv12, RgbToYuv, Yuv420ToRgb, nv12_to_rgb, rgb_to_nv12, rgb_to_yuv,
                              yuv420_to_rgb, yuv_matrix)

I = av.video.reformatter.Interpolation
ACCURATE = I.POINT | I.ACCURATE_RND | I.FULL_CHR_H_INT | I.FULL_CHR_H_INP  # swscale's exact path, point chroma
SWS_MATRIX = {"bt601": "ITU601", "bt709": "ITU709"}
CASES = [(m, full, bits) for m in ("bt601", "bt709") for full in (False, True) for bits in (8, 10)]


def _rgb_images():
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:64, 0:96].astype(np.float32)
    return {"noise": rng.integers(0, 256, (64, 96, 3), dtype=np.uint8),
            "smooth": np.stack([xx * 2.6, yy * 3.9, 255 - xx * 2.6], -1).clip(0, 255).astype(np.uint8),
            "disc": disc_frame(3, 10, (96, 64))[0]}


def _planes(frame: av.VideoFrame) -> list[np.ndarray]:
    dt = np.uint16 if "10" in frame.format.name else np.uint8
    return [np.frombuffer(p, dt).reshape(p.height, p.line_size // dt().itemsize)[:, : p.width].copy()
            for p in frame.planes]


def _random_yuv(bits: int, full: bool, seed: int = 0) -> av.VideoFrame:
    """Random codes over the whole legal range (out-of-gamut colours included: clamping is tested)."""
    rng = np.random.default_rng(seed)
    s = 2 ** (bits - 8)
    lo, hy, hc = (0, 2 ** bits - 1, 2 ** bits - 1) if full else (16 * s, 235 * s, 240 * s)
    dt = np.uint8 if bits == 8 else np.uint16
    y = rng.integers(lo, hy + 1, (64, 96)).astype(dt)
    c = rng.integers(lo, hc + 1, (32, 2, 48)).astype(dt)  # u rows then v rows, as from_ndarray packs them
    return av.VideoFrame.from_ndarray(np.concatenate([y, c.reshape(32, 96)]),
                                      format="yuv420p" if bits == 8 else "yuv420p10le")


@pytest.mark.parametrize("matrix,full,bits", CASES)
def test_yuv_to_rgb_matches_swscale_within_one_level(matrix, full, bits):
    frame = _random_yuv(bits, full)
    ref = frame.to_ndarray(format="rgb24", src_colorspace=SWS_MATRIX[matrix], src_color_range="JPEG" if full else "MPEG",
                           interpolation=ACCURATE)
    y, u, v = (torch.from_numpy(p.astype(np.int16) if bits > 8 else p) for p in _planes(frame))
    ours = yuv420_to_rgb(y, u, v, matrix=matrix, full_range=full, bits=bits, out="uint8")[0].numpy()
    assert ours.shape == ref.shape == (64, 96, 3)
    diff = np.abs(ours.astype(int) - ref)
    assert diff.max() <= 1, (matrix, full, bits, diff.max())
    # 10-bit full range: swscale decodes with 1020, not 2^10 - 1 (vidmatte/ops/yuv.py)
    assert (diff == 0).mean() > (0.7 if full and bits > 8 else 0.9)


@pytest.mark.parametrize("matrix,full,bits", CASES)
def test_rgb_to_yuv_matches_swscale_within_one_level(matrix, full, bits):
    fmt = "yuv420p" if bits == 8 else "yuv420p10le"
    for name, rgb in _rgb_images().items():
        ref = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
            format=fmt, dst_colorspace=SWS_MATRIX[matrix], dst_color_range="JPEG" if full else "MPEG",
            interpolation=I.AREA | I.ACCURATE_RND)
        ours = rgb_to_yuv(torch.from_numpy(rgb).permute(2, 0, 1), matrix=matrix, full_range=full, bits=bits)
        assert ours[0].dtype == (torch.uint8 if bits == 8 else torch.int16)
        for mine, theirs in zip(ours, _planes(ref)):
            assert mine.shape[1:] == theirs.shape
            assert np.abs(mine[0].numpy().astype(int) - theirs).max() <= 1, (name, matrix, full, bits)


def test_nv12_both_ways_match_swscale():
    for name, rgb in _rgb_images().items():
        ref = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
            format="nv12", dst_colorspace="ITU709", dst_color_range="MPEG", interpolation=I.AREA | I.ACCURATE_RND)
        y, uv = rgb_to_nv12(torch.from_numpy(rgb).permute(2, 0, 1)[None])
        assert uv.shape == (1, 32, 48, 2)
        ry, ruv = (np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : 2 * p.width if i else p.width]
                   for i, p in enumerate(ref.planes))
        assert np.abs(y[0].numpy().astype(int) - ry).max() <= 1
        assert np.abs(uv[0].reshape(32, 96).numpy().astype(int) - ruv).max() <= 1, name
        back_ref = ref.to_ndarray(format="rgb24", src_colorspace="ITU709", src_color_range="MPEG",
                                  interpolation=ACCURATE)
        back = nv12_to_rgb(torch.from_numpy(ry.copy()), torch.from_numpy(ruv.reshape(32, 48, 2).copy()),
                           out="uint8")[0].numpy()
        assert np.abs(back.astype(int) - back_ref).max() <= 1


def test_odd_sizes_replicate_the_edge():
    rgb = torch.from_numpy(disc_frame(2, 10, (97, 63))[0]).permute(2, 0, 1)
    y, u, v = rgb_to_yuv(rgb)
    assert y.shape == (1, 63, 97) and u.shape == (1, 32, 49)
    back = yuv420_to_rgb(y, u, v, out="uint8")
    assert back.shape == (1, 63, 97, 3)
    # the 8-bit BT.709 limited result is the one the video sink already takes
    old = rgb_to_yuv420(rgb[None])
    for a, b in zip((y, u, v), (old.y, old.u, old.v)):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="do not fit luma"):
        yuv420_to_rgb(y, u[:, :-1], v)


def test_round_trip_and_float_output():
    """RGB → YUV → RGB on a smooth picture stays within the 4:2:0 + 8-bit quantisation error."""
    rgb = torch.from_numpy(_rgb_images()["smooth"]).permute(2, 0, 1)[None]
    for kw in ({}, {"matrix": "bt601", "full_range": True}, {"matrix": "bt2020", "bits": 10}):
        x = yuv420_to_rgb(*rgb_to_yuv(rgb, **kw), **kw)
        assert x.shape == (1, 3, 64, 96) and x.dtype == torch.float32
        assert (x * 255 - rgb.float()).abs().max() <= 6, kw
    m, off = yuv_matrix("bt709")
    assert torch.allclose(m @ torch.ones(3, dtype=torch.float64) + off, torch.tensor([235.0, 128, 128], dtype=torch.float64))
    with pytest.raises(ValueError, match="unknown YUV matrix"):
        Yuv420ToRgb("smpte240m")
    with pytest.raises(ValueError, match="bit depth"):
        RgbToYuv(bits=7)


def test_modules_match_functions():
    rgb = torch.from_numpy(_rgb_images()["noise"]).permute(2, 0, 1)[None]
    y, uv = RgbToNv12("bt601", True)(rgb)
    assert torch.equal(Nv12ToRgb("bt601", True, out="uint8")(y, uv),
                       nv12_to_rgb(y, uv, matrix="bt601", full_range=True, out="uint8"))
    planes = RgbToYuv("bt601", True)(rgb)
    assert torch.equal(planes[1], uv[..., 0]) and torch.equal(planes[2], uv[..., 1])


def _encode(path, pix_fmt: str) -> av.VideoFrame:
    """Three untagged frames through libx264 in ``pix_fmt``; returns the first decoded frame."""
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=24, options={"crf": "18", "preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = 96, 64, pix_fmt
        for i in range(3):
            vf = av.VideoFrame.from_ndarray(disc_frame(i, 3, (96, 64))[0], format="rgb24").reformat(format=pix_fmt)
            vf.pts = i
            for pk in vs.encode(vf):
                out.mux(pk)
        for pk in vs.encode():
            out.mux(pk)
    with av.open(str(path)) as c:
        return next(c.decode(video=0))


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv420p10le"])
def test_decoded_video_planes_against_the_host_path(tmp_path, pix_fmt):
    """A real H.264 clip: the planes :func:`yuv_planes` hands out, converted here, against the
    project's host path. 8 bits: the host's swscale fast path repeats chroma as these ops do,
    but its tables sit up to 3 levels (mean ~1) below the exact maths, which these ops follow
    (within 1 of swscale's accurate path, test above). 10 bits: the host path interpolates
    chroma (a different filter: tens of levels apart on sharp chroma edges), so the comparison
    is with swscale's point-chroma conversion."""
    try:
        frame = _encode(tmp_path / "c.mp4", pix_fmt)
    except av.error.FFmpegError as e:  # an x264 built without high bit depth
        pytest.skip(f"libx264 cannot write {pix_fmt} here: {e}")
    p = yuv_planes(frame)
    assert frame.format.name == pix_fmt
    assert p.layout == "yuv420p" and p.bits == (8 if pix_fmt == "yuv420p" else 10) and p.matrix == "bt601"
    planes = [torch.from_numpy(a.astype(np.int16) if p.bits > 8 else a.copy()) for a in p.planes]
    ours = yuv420_to_rgb(*planes, **p.kwargs, out="uint8")[0].numpy().astype(int)
    if p.bits == 8:
        host = to_rgb(frame).astype(int)
        assert np.abs(ours - host).max() <= 3 and 0 <= (ours - host).mean() <= 1.6
    else:
        point = frame.to_ndarray(format="rgb24", src_colorspace="ITU601", src_color_range="MPEG",
                                 interpolation=I.POINT | I.ACCURATE_RND).astype(int)
        assert np.abs(ours - point).max() <= 4 and abs((ours - point).mean()) <= 1


def test_yuv_planes_refuses_what_it_cannot_hand_out():
    rgb = av.VideoFrame.from_ndarray(np.zeros((64, 96, 3), np.uint8), format="rgb24")
    assert yuv_planes(rgb) is None
    nv = rgb.reformat(format="nv12")
    p = yuv_planes(nv)
    assert p.layout == "nv12" and p.planes[1].shape == (32, 48, 2)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    frame = _random_yuv(8, False)
    planes = [torch.from_numpy(p) for p in _planes(frame)]
    cpu = yuv420_to_rgb(*planes, out="uint8")
    gpu = yuv420_to_rgb(*(p.cuda() for p in planes), out="uint8")
    assert gpu.is_cuda and (gpu.cpu().int() - cpu.int()).abs().max() <= 1
    rgb = torch.from_numpy(_rgb_images()["noise"]).permute(2, 0, 1)[None]
    for a, b in zip(rgb_to_nv12(rgb), rgb_to_nv12(rgb.cuda())):
        assert (a.int() - b.cpu().int()).abs().max() <= 1
    dev_planes, dev_rgb = [p.cuda() for p in planes], rgb.cuda()
    calls = (lambda: yuv420_to_rgb(*dev_planes, out="uint8"),
             lambda: rgb_to_yuv(dev_rgb, matrix="bt601", full_range=True),
             lambda: rgb_to_yuv420(dev_rgb))
    for call in calls:  # the first call of each builds its coefficients on the device
        call()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # from then on no call waits for the stream
    try:
        for call in calls:
            call()
    finally:
        torch.cuda.set_sync_debug_mode(0)
