"""Torch RGB → YUV 4:2:0 (BT.709 limited) against FFmpeg's own conversion (swscale via PyAV)."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch
from media import disc_frame

from vidmatte.ops.color import RgbToYuv420, Yuv420, rgb_to_yuv420


def _ffmpeg_planes(rgb: np.ndarray) -> list[np.ndarray]:
    """swscale rgb24 → yuv420p, BT.709 limited, area (2×2 box) chroma, accurate rounding."""
    src = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    interp = av.video.reformatter.Interpolation
    out = src.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG",
                       interpolation=interp.AREA | interp.ACCURATE_RND)
    return [np.frombuffer(p, np.uint8).reshape(p.height, -1)[:, : p.width] for p in out.planes]


def _images():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:96].astype(np.float32)
    smooth = np.stack([xx * 2.6, yy * 3.9, 255 - xx * 2.6], -1).clip(0, 255).astype(np.uint8)
    return {
        "disc": disc_frame(3, 10, (96, 64))[0],
        "smooth": smooth,
        "noise": rng.integers(0, 256, (64, 96, 3), dtype=np.uint8),
        "primaries": np.repeat(np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [0, 0, 0], [128, 128, 128]]],
                                        np.uint8), 2, axis=0).repeat(2, axis=1),
    }


@pytest.mark.parametrize("name", ["disc", "smooth", "noise", "primaries"])
def test_matches_ffmpeg_within_one_level(name):
    rgb = _images()[name]
    ours = rgb_to_yuv420(torch.from_numpy(rgb).permute(2, 0, 1)[None]).unbind()[0]
    for mine, ref in zip((ours.y, ours.u, ours.v), _ffmpeg_planes(rgb)):
        assert mine.shape == ref.shape
        assert np.abs(mine.astype(int) - ref).max() <= 1


def test_known_values_of_bt709_limited_range():
    rgb = torch.tensor([[[[255.0]], [[255.0]], [[255.0]]], [[[0.0]], [[0.0]], [[0.0]]], [[[1.0]], [[0.0]], [[0.0]]]])
    rgb[:2] /= 255.0
    yuv = rgb_to_yuv420(rgb)
    assert yuv.y[:, 0, 0].tolist() == [235, 16, 63]  # white, black, red: 16 + 219 * 0.2126 = 62.6
    assert yuv.u[:, 0, 0].tolist() == [128, 128, 102]  # 128 - 224 * 0.2126 / 1.8556 = 102.3
    assert yuv.v[:, 0, 0].tolist() == [128, 128, 240]


def test_odd_size_equals_ffmpeg_on_the_edge_padded_image():
    rgb = disc_frame(2, 10, (97, 63))[0]
    ours = rgb_to_yuv420(torch.from_numpy(rgb).permute(2, 0, 1)[None]).unbind()[0]
    assert ours.y.shape == (63, 97) and ours.u.shape == (32, 49)
    ref = _ffmpeg_planes(np.pad(rgb, ((0, 1), (0, 1), (0, 0)), mode="edge"))
    assert np.abs(ours.y.astype(int) - ref[0][:63, :97]).max() <= 1
    assert np.abs(ours.u.astype(int) - ref[1]).max() <= 1 and np.abs(ours.v.astype(int) - ref[2]).max() <= 1


def test_float_batch_module_and_unbind_agree():
    imgs = [im for k, im in _images().items() if k != "primaries"]
    batch = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2)
    as_u8 = rgb_to_yuv420(batch)
    as_float = RgbToYuv420()(batch.float() / 255.0)
    assert as_u8.y.shape == (3, 64, 96) and as_u8.u.shape == (3, 32, 48)
    for plane in ("y", "u", "v"):  # the same maths; float rounding may flip an exact .5
        diff = (getattr(as_u8, plane).int() - getattr(as_float, plane).int()).abs()
        assert diff.max() <= 1 and (diff == 0).float().mean() > 0.99
    singles = as_u8.unbind()
    assert len(singles) == 3 and isinstance(singles[1], Yuv420)
    one = rgb_to_yuv420(batch[1:2]).unbind()[0]
    assert np.array_equal(singles[1].u, one.u) and singles[1].y.dtype == np.uint8
    assert singles[1].shape == (64, 96)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    batch = torch.from_numpy(np.stack(list(_images().values())[:3])).permute(0, 3, 1, 2)
    cpu = rgb_to_yuv420(batch)
    gpu = rgb_to_yuv420(batch.cuda())
    assert gpu.y.is_cuda
    for plane in ("y", "u", "v"):
        diff = (getattr(gpu, plane).cpu().int() - getattr(cpu, plane).int()).abs().max()
        assert diff <= 1
