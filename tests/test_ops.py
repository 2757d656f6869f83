"""ops/: gaussian blur and morphology (the box filter and colour have files of their own).

Kornia-style checks per op: shape and dtype kept, errors, module == function, and the
numbers against a straightforward reference."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from vidmatte.ops import Dilate, Erode, GaussianBlur, dilate, erode, gaussian_blur, gaussian_kernel1d
from vidmatte.ops.color import linear_to_srgb, premultiply, srgb_to_linear, to_uint8


def test_gaussian_matches_opencv_and_keeps_shape_dtype():
    x = torch.rand(2, 3, 40, 50, generator=torch.Generator().manual_seed(0))
    for sigma in (0.8, 2.0, 5.0):
        y = gaussian_blur(x, sigma)
        assert y.shape == x.shape and y.dtype == x.dtype
        r = len(gaussian_kernel1d(sigma)) // 2
        ref = cv2.GaussianBlur(x[0, 0].numpy(), (2 * r + 1, 2 * r + 1), sigma, borderType=cv2.BORDER_REFLECT_101)
        np.testing.assert_allclose(y[0, 0].numpy(), ref, atol=2e-5)
    torch.testing.assert_close(GaussianBlur(2.0)(x), gaussian_blur(x, 2.0))
    assert gaussian_blur(x.double(), 1.0).dtype == torch.float64


@pytest.mark.parametrize("bad", [torch.zeros(3, 8, 8), torch.zeros(1, 1, 8, 8, dtype=torch.uint8)])
def test_gaussian_errors(bad):
    with pytest.raises(ValueError, match="B,C,H,W"):
        gaussian_blur(bad, 1.0)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_blur(torch.zeros(1, 1, 4, 4), 0.0)


def test_dilate_erode_match_opencv_and_modules():
    x = torch.rand(1, 2, 30, 37, generator=torch.Generator().manual_seed(1))
    for r in (1, 3, 6):
        k = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
        for fn, ref in ((dilate, cv2.dilate), (erode, cv2.erode)):
            y = fn(x, r)
            assert y.shape == x.shape and y.dtype == x.dtype
            want = ref(x[0, 1].numpy(), k, borderType=cv2.BORDER_REPLICATE)
            np.testing.assert_array_equal(y[0, 1].numpy(), want)
        torch.testing.assert_close(Dilate(r)(x), dilate(x, r))
        torch.testing.assert_close(Erode(r)(x), erode(x, r))
    assert dilate(x, 0) is x
    with pytest.raises(ValueError, match="radius"):
        dilate(x, -1)
    with pytest.raises(ValueError, match="B,C,H,W"):
        erode(x[0], 1)


def test_colour_ops_numpy_and_torch_agree():
    v = np.linspace(0, 1, 101, dtype=np.float32)
    lin = srgb_to_linear(v)
    np.testing.assert_allclose(srgb_to_linear(torch.from_numpy(v)).numpy(), lin, atol=1e-6)
    np.testing.assert_allclose(linear_to_srgb(lin), v, atol=1e-5)
    np.testing.assert_array_equal(to_uint8(torch.from_numpy(v)).numpy(), to_uint8(v))
    rgba = np.array([[[200, 100, 50, 128]]], np.uint8)
    assert premultiply(rgba).tolist() == [[[100, 50, 25, 128]]]
    assert premultiply(torch.from_numpy(rgba)).tolist() == [[[100, 50, 25, 128]]]
    f = np.array([[[0.5, 1.0, 0.2, 0.5]]], np.float32)
    np.testing.assert_allclose(premultiply(f), [[[0.25, 0.5, 0.1, 0.5]]])
