"""Box blur: equal to cv2.blur with BORDER_REFLECT_101, shapes, dtypes, errors, devices."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from vidmatte.ops.box import BoxBlur, box_blur, reflect101_index


def _cv2_box(img: np.ndarray, ry: int, rx: int) -> np.ndarray:
    out = cv2.blur(img, (2 * rx + 1, 2 * ry + 1), borderType=cv2.BORDER_REFLECT_101)
    return out.reshape(img.shape)


def _to_t(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).unsqueeze(0)


@pytest.mark.parametrize(
    "size,radius",
    [
        ((540, 960), 1),
        ((540, 960), 3),
        ((540, 960), 45),
        ((540, 960), 700),  # wider than the image height: repeated mirroring
        ((37, 5), 6),  # wider than the image width
        ((1, 9), 2),  # one row: the vertical window sees the same row
        ((7, 1), 4),
        ((64, 48), 0),
    ],
)
@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_matches_cv2_blur_reflect101_float32(size, radius, backend):
    rng = np.random.default_rng(radius + size[0])
    img = rng.random((*size, 3), dtype=np.float32)
    ref = _cv2_box(img, radius, radius)
    out = box_blur(_to_t(img), radius, backend)[0].permute(1, 2, 0).numpy()
    assert out.shape == ref.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-4)


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_matches_cv2_float64_and_anisotropic_radius(backend):
    rng = np.random.default_rng(3)
    img = rng.random((120, 200, 3))
    ref = _cv2_box(img, 9, 31)
    out = box_blur(_to_t(img), (9, 31), backend)[0].permute(1, 2, 0).numpy()
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-11)


def test_reflect101_index_matches_opencv_border_interpolate():
    for n, r in [(5, 2), (5, 11), (2, 5), (1, 3)]:
        idx = reflect101_index(n, r).tolist()
        ref = [cv2.borderInterpolate(p, n, cv2.BORDER_REFLECT_101) if n > 1 else 0 for p in range(-r, n + r)]
        assert idx == ref


def test_backends_agree_at_1080p():
    x = torch.rand(1, 2, 1080, 1920)
    for r in (1, 6, 90):
        torch.testing.assert_close(box_blur(x, r, "torch"), box_blur(x, r, "auto"), rtol=0, atol=5e-5)


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_shapes_batch_and_unbatched(backend):
    x = torch.rand(2, 5, 33, 47)
    out = box_blur(x, 4, backend)
    assert out.shape == x.shape and out.dtype == x.dtype
    # unbatched (C,H,W) and per-image/per-channel independence
    torch.testing.assert_close(box_blur(x[1], 4, backend), out[1])
    torch.testing.assert_close(box_blur(x[:, 2:3], 4, backend), out[:, 2:3])
    assert not torch.equal(out, x)


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_non_contiguous_input_and_input_untouched(backend):
    x = torch.rand(1, 3, 40, 60)
    xc = x.clone()
    nc = x.transpose(-1, -2)  # (1,3,60,40) view
    out = box_blur(nc, 5, backend)
    torch.testing.assert_close(out, box_blur(nc.contiguous(), 5, backend))
    assert torch.equal(x, xc)


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_constant_stays_constant_and_nonnegative_stays_nonnegative(backend):
    c = torch.full((1, 1, 300, 500), 0.37)
    torch.testing.assert_close(box_blur(c, 60, backend), c, rtol=0, atol=2e-6)
    sparse = torch.zeros(1, 1, 300, 500)
    sparse[..., 150, 250] = 1.0
    out = box_blur(sparse, 7, backend)
    assert out.min() >= 0.0
    assert out[..., :100, :].abs().max() == 0.0  # exact zeros far from the impulse
    assert out.sum().item() == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_summed_in_float32(dtype):
    x = torch.rand(1, 3, 64, 96)
    out = box_blur(x.to(dtype), 10)
    assert out.dtype == dtype
    torch.testing.assert_close(out.float(), box_blur(x, 10), rtol=0, atol=1e-2)


def test_module_equals_function():
    x = torch.rand(2, 3, 50, 70)
    m = BoxBlur(6)
    assert "radius=6" in repr(m)
    assert torch.equal(m(x), box_blur(x, 6))
    assert torch.equal(BoxBlur(6, "torch")(x), box_blur(x, 6, "torch"))


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_inference_only_even_for_tensors_that_require_grad(backend):
    x = torch.rand(1, 1, 20, 30, requires_grad=True)
    out = box_blur(x, 3, backend)
    assert not out.requires_grad
    torch.testing.assert_close(out, box_blur(x.detach(), 3, backend))


@pytest.mark.parametrize(
    "x,radius,exc",
    [
        (torch.rand(10, 10), 1, ValueError),
        (torch.rand(1, 1, 1, 10, 10), 1, ValueError),
        (torch.rand(1, 3, 10, 10), -1, ValueError),
        (torch.rand(1, 3, 10, 10), 1.5, ValueError),
        (torch.zeros(1, 3, 10, 10, dtype=torch.uint8), 1, TypeError),
        (np.zeros((1, 3, 10, 10), np.float32), 1, TypeError),
    ],
)
def test_errors(x, radius, exc):
    with pytest.raises(exc):
        box_blur(x, radius)


def test_unknown_backend():
    with pytest.raises(ValueError):
        box_blur(torch.rand(1, 1, 8, 8), 1, "cuda")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_cuda_matches_cpu(dtype):
    x = torch.rand(2, 3, 270, 480)
    ref = box_blur(x, 23, "torch")
    out = box_blur(x.cuda().to(dtype), 23)
    assert out.device.type == "cuda" and out.dtype == dtype
    torch.testing.assert_close(out.float().cpu(), ref, rtol=0, atol=1e-4 if dtype == torch.float32 else 2e-3)
