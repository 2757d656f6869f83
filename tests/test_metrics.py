"""Matting metrics on arrays small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from vidmatte.eval import metrics as M


def test_sad_mad_mse_by_hand():
    pred = np.array([[0.0, 0.5], [1.0, 1.0]])
    gt = np.array([[0.0, 1.0], [0.5, 1.0]])
    # |p-g| = [[0, .5], [.5, 0]] -> sum 1.0, mean .25; (p-g)^2 = [[0,.25],[.25,0]] -> mean .125
    assert M.sad(pred, gt, scaled=False) == pytest.approx(1.0)
    assert M.sad(pred, gt) == pytest.approx(1.0e-3)
    assert M.mad(pred, gt, scaled=False) == pytest.approx(0.25)
    assert M.mad(pred, gt) == pytest.approx(250.0)
    assert M.mse(pred, gt, scaled=False) == pytest.approx(0.125)
    assert M.mse(pred, gt) == pytest.approx(125.0)
    # masked to the top-right pixel only: |d| = .5, d^2 = .25 (a mean over one pixel)
    mask = np.array([[0, 1], [0, 0]], bool)
    assert M.sad(pred, gt, mask, scaled=False) == pytest.approx(0.5)
    assert M.mse(pred, gt, mask, scaled=False) == pytest.approx(0.25)
    assert M.mad(pred, gt, mask, scaled=False) == pytest.approx(0.5)
    # empty mask: sums are 0, means undefined
    none = np.zeros((2, 2), bool)
    assert M.sad(pred, gt, none) == 0.0 and np.isnan(M.mse(pred, gt, none))


def test_integer_mattes_are_scaled():
    gt = np.array([[0.0, 1.0, 0.4]])
    pred8 = np.array([[0, 255, 102]], np.uint8)  # 102/255 = 0.4
    pred16 = np.array([[0, 65535, 26214]], np.uint16)  # 26214/65535 = 0.4
    assert M.sad(pred8, gt, scaled=False) == pytest.approx(0.0, abs=1e-12)
    assert M.sad(pred16, gt, scaled=False) == pytest.approx(0.0, abs=1e-12)
    assert M.to_alpha(np.ones((1, 4, 5))).shape == (4, 5)
    assert M.to_alpha(np.ones((4, 5, 1))).shape == (4, 5)


def test_unknown_region_of_a_trimap():
    tri = np.array([[0, 128, 255], [255, 64, 0]], np.uint8)
    np.testing.assert_array_equal(M.unknown_region(tri), [[False, True, False], [False, True, False]])


def test_shape_and_range_errors():
    a = np.zeros((3, 4))
    with pytest.raises(ValueError, match="differ in size"):
        M.sad(a, np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        M.mse(a + 1.5, a)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        M.mad(a - 0.1, a)
    with pytest.raises(ValueError, match="finite"):
        M.sad(np.full((3, 4), np.nan), a)
    with pytest.raises(ValueError, match="2-D"):
        M.sad(np.zeros((3, 4, 3)), a)
    with pytest.raises(ValueError, match="mask"):
        M.sad(a, a, mask=np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="at least 2 frames"):
        M.dtssd(a[None], a[None])
    with pytest.raises(ValueError, match="sequence"):
        M.dtssd(np.zeros((3, 2, 2)), np.zeros((2, 2, 2)))


def test_connectivity_depends_on_connection():
    # Same |p - g| (0.1 at the last pixel) in both cases; only the connection differs.
    # Connected (pixel 3 = 1): the last pixel stays in the big component while both >= t,
    # i.e. up to t = 0.4, so l = 0.4; d_p = 0 -> phi 1; d_g = 0.1 < 0.15 -> phi 1 => Conn 0.
    gt = np.array([[1, 1, 1, 1, 0.5]])
    pred = np.array([[1, 1, 1, 1, 0.4]])
    assert M.connectivity_error(pred, gt, scaled=False) == pytest.approx(0.0, abs=1e-12)
    # Cut (pixel 3 = 0): the last pixel is its own, smaller component from t = 0.1, so l = 0;
    # phi_p = 1 - 0.4 = 0.6, phi_g = 1 - 0.5 = 0.5 => Conn 0.1 (1e-4 scaled).
    gt[0, 3] = pred[0, 3] = 0.0
    assert M.connectivity_error(pred, gt, scaled=False) == pytest.approx(0.1)
    assert M.connectivity_error(pred, gt) == pytest.approx(1e-4)


def test_connectivity_two_components_and_four_neighbours():
    # Two blobs: left 2x2 (size 4) and right column (size 2). The largest is the left one,
    # so the right blob's pixels get l = 0: phi_g = 1 - 0.9 = 0.1, phi_p = 1 - 0.3 = 0.7
    # => 2 pixels x 0.6 = 1.2. The left blob (p = g = 1) has l = 1 and phi = 1 for both.
    gt = np.array([[1, 1, 0, 0.9], [1, 1, 0, 0.9], [0, 0, 0, 0]])
    pred = np.array([[1, 1, 0, 0.3], [1, 1, 0, 0.3], [0, 0, 0, 0]])
    assert M.connectivity_error(pred, gt, scaled=False) == pytest.approx(1.2)
    # A pixel touching the blob only by a corner is cut under 4-connectivity:
    # l = 0, phi_p = 1 - 0.4 = 0.6, phi_g = 1 - 0.5 = 0.5 => 0.1 (0 under 8-connectivity).
    gt = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 0.5]])
    pred = gt.copy()
    pred[2, 2] = 0.4
    assert M.connectivity_error(pred, gt, scaled=False) == pytest.approx(0.1)
    # masking out that pixel removes the error
    mask = np.ones_like(gt, bool)
    mask[2, 2] = False
    assert M.connectivity_error(pred, gt, mask, scaled=False) == pytest.approx(0.0, abs=1e-12)


def test_gradient_kernels_shape_and_norm():
    kx, ky = M.gradient_kernels(1.4)
    assert kx.shape == (9, 9)  # half-size ceil(1.4 * sqrt(-2 ln(sqrt(2 pi) 1.4 0.01))) = 4
    assert np.sum(kx**2) == pytest.approx(1.0)
    np.testing.assert_allclose(ky, kx.T)
    np.testing.assert_allclose(kx.sum(axis=1), 0.0, atol=1e-12)  # odd in x: flat images give 0


def _scipy_grad_magnitude(a, sigma=1.4):
    """Independent implementation: scipy's separable Gaussian derivative, rescaled so that the
    2-D kernel has unit L2 norm (the benchmark's normalisation)."""
    kw = dict(sigma=sigma, mode="nearest", radius=4)
    delta = np.zeros((9, 9))
    delta[4, 4] = 1.0
    norm = np.sqrt(np.sum(ndimage.gaussian_filter(delta, order=(0, 1), **kw) ** 2))
    gx = ndimage.gaussian_filter(a, order=(0, 1), **kw) / norm
    gy = ndimage.gaussian_filter(a, order=(1, 0), **kw) / norm
    return np.hypot(gx, gy)


def test_gradient_error_step_edge_matches_scipy():
    gt = np.zeros((24, 32))
    gt[:, 16:] = 1.0  # a vertical step edge
    pred = np.zeros((24, 32))
    pred[:, 13:] = 0.8
    pred[:, 19:] = 1.0  # the edge is blurred and displaced
    # min-max stretch (pred already spans 0..1), then sum of squared magnitude differences
    expected = np.sum((_scipy_grad_magnitude(pred) - _scipy_grad_magnitude(gt)) ** 2)
    got = M.gradient_error(pred, gt, scaled=False)
    assert expected > 0.1
    assert got == pytest.approx(expected, rel=1e-9)
    assert M.gradient_error(pred, gt) == pytest.approx(expected / 1e3, rel=1e-9)
    assert M.gradient_error(gt, gt) == 0.0
    # restricted to columns far from both edges, the gradients vanish
    far = np.zeros_like(gt, bool)
    far[:, :4] = True
    assert M.gradient_error(pred, gt, far, scaled=False) < 1e-6


def test_gradient_error_normalises_each_matte():
    gt = np.zeros((16, 16))
    gt[:, 8:] = 1.0
    half = gt * 0.5  # same shape at half contrast: identical after the min-max stretch
    assert M.gradient_error(half, gt) == pytest.approx(0.0, abs=1e-12)
    assert M.gradient_error(half, gt, normalize=False) > 0


def test_dtssd_by_hand():
    gt = np.zeros((3, 1, 2))
    pred = np.array([[[0.0, 0.0]], [[0.5, 0.0]], [[0.5, 0.5]]])
    # each step changes one of two pixels by 0.5: sqrt((0.25 + 0) / 2) = sqrt(1/8) per step
    assert M.dtssd(pred, gt, scaled=False) == pytest.approx(np.sqrt(1 / 8))
    assert M.dtssd(pred, gt) == pytest.approx(100 * np.sqrt(1 / 8))
    # a constant offset is not temporal error
    moving = np.random.default_rng(0).random((4, 5, 6)) * 0.5
    assert M.dtssd(moving + 0.2, moving) == pytest.approx(0.0, abs=1e-12)


def test_evaluate_pairs_rows_and_means():
    g = np.zeros((2, 2))
    p1 = np.array([[1.0, 0.0], [0.0, 0.0]])  # SAD 1
    p2 = np.array([[1.0, 1.0], [1.0, 0.0]])  # SAD 3
    rows, mean = M.evaluate_pairs([(p1, g), (p2, g)], metrics=("SAD", "MSE"), scaled=False)
    assert [r["SAD"] for r in rows] == pytest.approx([1.0, 3.0])
    assert mean["SAD"] == pytest.approx(2.0)
    assert mean["MSE"] == pytest.approx((0.25 + 0.75) / 2)
    # an item with an empty mask has no MSE; the mean skips it
    rows, mean = M.evaluate_pairs([(p1, g), (p2, g, np.zeros((2, 2), bool))], metrics=("MSE",), scaled=False)
    assert np.isnan(rows[1]["MSE"]) and mean["MSE"] == pytest.approx(0.25)
    full = M.evaluate_pair(p1, g)
    assert set(full) == {"SAD", "MAD", "MSE", "Grad", "Conn"}
