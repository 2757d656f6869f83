"""The guided filter of :mod:`vidmatte.refine.guided` on numpy arrays, without torch.

The still-image job's fast path (:mod:`vidmatte.jobs.stills`) refines mattes with this; it
computes what :func:`vidmatte.refine.guided.guided_refine` (kornia's ``guided_blur``) does,
with OpenCV box filters and a closed-form 3x3 solve, on one thread:

* fast form: guide ``I`` (``H,W,3``) and matte ``p`` are sampled every ``s``-th pixel (kornia's
  centred indices), the window shrinks to ``k = (2r+1-1)//s + 1`` (even ``k`` spans ``k//2``
  pixels after the centre and ``(k-1)//2`` before, as kornia pads it);
* box means with reflect-101 borders; ``a = (Σ + εU)⁻¹ cov(I, p)``, ``b = mean(p) − aᵀ mean(I)``;
* ``q = mean(a)ᵀ I + mean(b)``, the means resized back bilinearly (half-pixel centres),
  clamped to [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np
from vidmatte.ops.box_np import box_mean

__all__ = ["guided_refine_np", "subsample_indices"]


def subsample_indices(size: int, s: int) -> np.ndarray:
    """The ``max(size // s, 1)`` pixels an axis keeps, centred where a bilinear upsample puts them back.

    >>> subsample_indices(8, 2).tolist(), subsample_indices(7, 2).tolist()
    ([0, 2, 4, 6], [0, 3, 5])
    """
    rows = max(size // s, 1)
    i = np.arange(rows, dtype=np.int64)
    return np.clip(((2 * i + 1) * size + rows * (1 - s)) // (2 * rows), 0, size - 1)


def guided_refine_np(image: np.ndarray, alpha: np.ndarray, radius: int, eps: float = 1e-4,
                     subsample: int = 1) -> np.ndarray:
    """Guided filter of ``alpha`` ``(H,W)`` float in [0, 1] steered by ``image`` ``(H,W,3)``:
    uint8, or float in [0, 1]. Returns ``(H,W)`` float32 in [0, 1]."""
    if image.ndim != 3 or image.shape[2] != 3 or alpha.shape != image.shape[:2]:
        raise ValueError(f"guided_refine_np expects image (H,W,3) and alpha (H,W), got {image.shape} and {alpha.shape}")
    if int(radius) != radius or radius < 1 or int(subsample) != subsample or subsample < 1 or not eps > 0:
        raise ValueError(f"radius and subsample must be integers >= 1 and eps > 0, got {radius!r}, {subsample!r}, {eps!r}")
    guide = image.astype(np.float32) / np.float32(255.0) if image.dtype == np.uint8 else image.astype(np.float32, copy=False)
    p = alpha.astype(np.float32, copy=False)
    h, w = p.shape
    k, s = 2 * int(radius) + 1, int(subsample)
    if s > 1:
        rows, cols = subsample_indices(h, s), subsample_indices(w, s)
        gs, ps, k = guide[rows][:, cols], p[rows][:, cols], (k - 1) // s + 1
    else:
        gs, ps = guide, p
    mean_i, mean_p = box_mean(gs, k), box_mean(ps, k)
    cov_ip = box_mean(gs * ps[..., None], k) - mean_i * mean_p[..., None]
    pairs = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))
    prods = np.stack([gs[..., i] * gs[..., j] for i, j in pairs], -1)
    var = np.concatenate([box_mean(np.ascontiguousarray(prods[..., :3]), k), box_mean(np.ascontiguousarray(prods[..., 3:]), k)], -1)
    sxx, sxy, sxz, syy, syz, szz = (var[..., n].astype(np.float64) - mean_i[..., i] * mean_i[..., j]
                                    for n, (i, j) in enumerate(pairs))
    sxx, syy, szz = sxx + eps, syy + eps, szz + eps
    # (Σ + εU)⁻¹ by cofactors (symmetric), in float64: the 3x3 systems are near-singular on flat colour
    c00, c01, c02 = syy * szz - syz * syz, sxz * syz - sxy * szz, sxy * syz - sxz * syy
    c11, c12, c22 = sxx * szz - sxz * sxz, sxy * sxz - sxx * syz, sxx * syy - sxy * sxy
    det = sxx * c00 + sxy * c01 + sxz * c02
    v0, v1, v2 = (cov_ip[..., n].astype(np.float64) for n in range(3))
    a = np.stack([c00 * v0 + c01 * v1 + c02 * v2, c01 * v0 + c11 * v1 + c12 * v2,
                  c02 * v0 + c12 * v1 + c22 * v2], -1) / det[..., None]
    a = a.astype(np.float32)
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    mean_a, mean_b = box_mean(a, k), box_mean(b, k)
    if s > 1:
        mean_a = cv2.resize(mean_a, (w, h), interpolation=cv2.INTER_LINEAR)
        mean_b = cv2.resize(mean_b, (w, h), interpolation=cv2.INTER_LINEAR)
    q = np.einsum("hwc,hwc->hw", mean_a, guide) + mean_b
    return np.clip(q, 0.0, 1.0, out=q)
