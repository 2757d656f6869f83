"""Gaussian taps and the OpenCV twin of :func:`vidmatte.ops.gaussian.gaussian_blur`, without torch
(the still-image numpy path imports this, never torch).

``gaussian_np(x, sigma)`` convolves an ``(H,W)`` or ``(H,W,C)`` float array with the taps of
:func:`gaussian_kernel1d`, rows then columns, border reflect-101 (``replicate`` along an axis
shorter than the kernel): the same numbers as the tensor op (~1e-7).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["gaussian_kernel1d", "gaussian_np"]


def gaussian_kernel1d(sigma: float) -> list[float]:
    """Normalised taps of a 1-D Gaussian of std ``sigma`` out to ``ceil(3 sigma)`` (at least 1)."""
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"gaussian sigma must be a finite number > 0, got {sigma!r}")
    r = max(1, int(math.ceil(3.0 * sigma)))
    k = [math.exp(-0.5 * (t / sigma) ** 2) for t in range(-r, r + 1)]
    total = sum(k)
    return [v / total for v in k]


def gaussian_np(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``(H,W)`` / ``(H,W,C)`` float ``x`` with std ``sigma`` px (new array)."""
    k = np.asarray(gaussian_kernel1d(float(sigma)), np.float64)
    r = len(k) // 2
    one = np.ones(1, np.float64)
    bx = cv2.BORDER_REFLECT_101 if r < x.shape[1] else cv2.BORDER_REPLICATE
    by = cv2.BORDER_REFLECT_101 if r < x.shape[0] else cv2.BORDER_REPLICATE
    if bx == by:
        return cv2.sepFilter2D(x, -1, k, k, borderType=bx)
    return cv2.sepFilter2D(cv2.sepFilter2D(x, -1, one, k, borderType=by), -1, k, one, borderType=bx)
