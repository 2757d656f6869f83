"""The OpenCV twin of :mod:`vidmatte.ops.edges` (choke and feather of one ``(H,W)`` matte),
without torch: the still-image numpy path imports this, never torch. The maths is in
:mod:`vidmatte.ops.edges`.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from vidmatte.ops.gaussian_np import gaussian_np

__all__ = ["adjust_edges_np", "check_edges", "MAX_EDGE_PX", "BETA"]

#: the largest choke or feather accepted (pixels)
MAX_EDGE_PX = 200.0
#: weight of the square erosion in a unit step (module docstring)
BETA = (1.0 - 2 * math.sqrt(2) / math.pi) / (4 / math.pi - 2 * math.sqrt(2) / math.pi)
_SQUARE = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def check_edges(choke_px: float, feather_px: float) -> tuple[float, float]:
    """``(choke, feather)`` as floats, or a ``ValueError`` saying what is allowed."""
    try:
        c, f = float(choke_px), float(feather_px)
    except (TypeError, ValueError):
        raise ValueError(f"choke and feather must be numbers of pixels, got {choke_px!r} and {feather_px!r}") from None
    if not (math.isfinite(c) and abs(c) <= MAX_EDGE_PX):
        raise ValueError(f"choke must be between -{MAX_EDGE_PX:g} and {MAX_EDGE_PX:g} px, got {choke_px!r}")
    if not (math.isfinite(f) and 0.0 <= f <= MAX_EDGE_PX):
        raise ValueError(f"feather must be between 0 and {MAX_EDGE_PX:g} px, got {feather_px!r}")
    return c, f


def _step_np(x: np.ndarray, grow: bool) -> np.ndarray:
    op = cv2.dilate if grow else cv2.erode
    cross = op(x, _CROSS, borderType=cv2.BORDER_REPLICATE)
    square = op(x, _SQUARE, borderType=cv2.BORDER_REPLICATE)
    square -= cross
    square *= np.float32(BETA)
    square += cross
    return square


def adjust_edges_np(alpha: np.ndarray, choke_px: float = 0.0, feather_px: float = 0.0) -> np.ndarray:
    """Choke then feather one ``(H,W)`` float32 matte (module docstring). Returns a new
    ``(H,W)`` float32 array (``alpha`` itself when both are 0)."""
    c, f = check_edges(choke_px, feather_px)
    if alpha.ndim == 3 and alpha.shape[2] == 1:
        alpha = alpha[..., 0]
    if alpha.ndim != 2:
        raise ValueError(f"adjust_edges_np: alpha must be (H,W), got {alpha.shape}")
    if c == 0 and f == 0:
        return alpha
    a = np.ascontiguousarray(alpha, np.float32)
    if c:
        grow, amount = c < 0, abs(c)
        n, t = int(math.floor(amount)), amount - math.floor(amount)
        for _ in range(n):
            a = _step_np(a, grow)
        if t > 0:
            nxt = _step_np(a, grow)
            a = a + np.float32(t) * (nxt - a)
    if f:
        a = gaussian_np(a, f / 2.0)
    return np.clip(a, 0.0, 1.0, out=a) if a is not alpha else a.copy()


