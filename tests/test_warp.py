"""ops/warp.py and ops/resample.py: warping by a flow and resizing, kornia-style checks (shape,
dtype, errors, module == function) and the numbers against OpenCV and torch references."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidmatte.ops.resample import Resize, resize
from vidmatte.ops.warp import FlowWarp, flow_warp, resize_flow

GEN = torch.Generator().manual_seed(0)


def _smooth(b, c, h, w):
    """A smooth random image (bilinear sampling of it is well conditioned)."""
    return F.interpolate(torch.rand(b, c, h // 4, w // 4, generator=GEN), size=(h, w), mode="bicubic",
                         align_corners=False).clamp(0, 1)


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_zero_flow_is_identity_and_integer_shift_is_exact(backend):
    x = torch.rand(2, 3, 20, 30, generator=GEN)
    flow = torch.zeros(2, 2, 20, 30)
    y = flow_warp(x, flow, backend)
    assert y.shape == x.shape and y.dtype == x.dtype
    torch.testing.assert_close(y, x, atol=1e-5, rtol=0)
    flow[:, 0] = 3.0  # every pixel looks 3 px to the right
    flow[:, 1] = -2.0  # and 2 px up
    y = flow_warp(x, flow, backend)
    torch.testing.assert_close(y[..., 2:, :-3], x[..., :-2, 3:], atol=1e-5, rtol=0)
    # outside the image: the border pixel (replicated)
    torch.testing.assert_close(y[..., 5, -1], x[..., 3, -1], atol=1e-5, rtol=0)


def test_backends_agree_with_each_other_and_with_remap():
    x = _smooth(1, 2, 40, 56)
    flow = torch.randn(1, 2, 40, 56, generator=GEN) * 3
    a, b = flow_warp(x, flow), flow_warp(x, flow, "torch")
    # OpenCV quantises bilinear weights to 1/32 px; the image's steps are small
    step = max(float(x.diff(dim=-1).abs().max()), float(x.diff(dim=-2).abs().max()))
    assert float((a - b).abs().max()) <= step / 32 + 1e-4
    ys, xs = np.mgrid[:40, :56].astype(np.float32)
    f = flow[0].numpy()
    ref = cv2.remap(x[0, 1].numpy(), xs + f[0], ys + f[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    np.testing.assert_allclose(a[0, 1].numpy(), ref, atol=1e-6)


def test_flow_warp_dtypes_module_and_errors():
    x = torch.rand(1, 1, 8, 9, generator=GEN)
    flow = torch.full((1, 2, 8, 9), 0.5)
    torch.testing.assert_close(FlowWarp()(x, flow), flow_warp(x, flow))
    torch.testing.assert_close(FlowWarp("torch")(x, flow), flow_warp(x, flow, "torch"))
    assert flow_warp(x.half(), flow).dtype == torch.float16
    assert flow_warp(x.double(), flow).dtype == torch.float64  # torch path
    with pytest.raises(ValueError, match="does not match"):
        flow_warp(x, torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match="B,2,H,W"):
        flow_warp(x, torch.zeros(1, 3, 8, 9))
    with pytest.raises(ValueError, match="backend"):
        flow_warp(x, flow, "cuda")


def test_resize_flow_scales_the_vectors():
    flow = torch.zeros(1, 2, 10, 16)
    flow[:, 0], flow[:, 1] = 1.5, -0.5
    up = resize_flow(flow, (30, 64))
    assert up.shape == (1, 2, 30, 64)
    torch.testing.assert_close(up[:, 0], torch.full((1, 30, 64), 6.0))  # x4 in width
    torch.testing.assert_close(up[:, 1], torch.full((1, 30, 64), -1.5))  # x3 in height
    torch.testing.assert_close(resize_flow(flow, (30, 64), "torch"), up)
    assert resize_flow(flow, (10, 16)) is flow
    # a warp by the upscaled flow of a shifted image undoes the shift
    x = _smooth(1, 1, 64, 96)
    shifted = torch.roll(x, shifts=(0, -8), dims=(-2, -1))  # content moved 8 px left
    f = torch.zeros(1, 2, 16, 24)
    f[:, 0] = -2.0  # 2 px left at a quarter of the size
    back = flow_warp(shifted, resize_flow(f, (64, 96)))
    torch.testing.assert_close(back[..., 8:], x[..., 8:], atol=1e-5, rtol=0)


@pytest.mark.parametrize("mode", ["bilinear", "area"])
def test_resize_matches_torch(mode):
    x = _smooth(2, 3, 48, 80)
    for size in ((24, 40), (96, 160), (30, 50)):
        a, b = resize(x, size, mode), resize(x, size, mode, backend="torch")
        assert a.shape == (2, 3, *size) and a.dtype == x.dtype
        if mode == "bilinear" or 48 % size[0] == 0 or size[0] % 48 == 0:
            assert float((a - b).abs().max()) <= 1e-5, (size, mode)
        else:  # 48 → 30: OpenCV weighs partial pixels, torch averages whole ones; both are means
            assert float((a - b).abs().mean()) <= 0.03 and abs(float(a.mean() - b.mean())) <= 1e-3
    torch.testing.assert_close(Resize((24, 40), mode)(x), resize(x, (24, 40), mode))
    assert resize(x, (48, 80)) is x
    with pytest.raises(ValueError, match="mode"):
        resize(x, (4, 4), "cubic")
    with pytest.raises(ValueError, match="positive"):
        resize(x, (0, 4))
