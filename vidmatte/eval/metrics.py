"""Alpha-matting metrics (numpy, float64) with the published scaling conventions.

All functions take ``pred`` and ``gt`` alpha mattes ``(H, W)`` in [0, 1] (uint8 and uint16
images are divided by 255 / 65535; ``(1,H,W)`` and ``(H,W,1)`` are squeezed) and an optional
``mask`` (e.g. the trimap's unknown region, see :func:`unknown_region`) that restricts the
sum or mean to the pixels where it is true. With ``scaled=True`` (default) the value is
multiplied by :data:`SCALES`, the convention of the video-matting papers (RVM, and the
image-matting benchmarks for SAD/Grad/Conn):

======  ===================================================  ======
name    formula (over the mask; every pixel when no mask)      scaled
======  ===================================================  ======
SAD     Σ |p − g|                                              ÷ 1e3
MAD     mean |p − g|                                           × 1e3
MSE     mean (p − g)²                                          × 1e3
Grad    Σ (|∇p| − |∇g|)², σ = 1.4 Gaussian derivatives         ÷ 1e3
Conn    Σ |φ(p) − φ(g)|, θ = 0.15, thresholds step 0.1         ÷ 1e3
dtSSD   mean_t sqrt(mean_px ((p_t − p_t−1) − (g_t − g_t−1))²)  × 1e2
======  ===================================================  ======

The alphamatting.com reference numbers in ``../shared/README.md`` use SAD *scaled*
(Σ|α − gt| / 1000) and MSE *unscaled* (``mse(..., scaled=False)``). ``vidmatte eval``
prints every metric scaled.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

import cv2
import numpy as np

__all__ = [
    "SCALES",
    "METRICS",
    "to_alpha",
    "unknown_region",
    "sad",
    "mad",
    "mse",
    "gradient_kernels",
    "gradient_error",
    "connectivity_error",
    "dtssd",
    "evaluate_pair",
    "evaluate_pairs",
]

SCALES = {"SAD": 1e-3, "MAD": 1e3, "MSE": 1e3, "Grad": 1e-3, "Conn": 1e-3, "dtSSD": 1e2}


def to_alpha(a, name: str = "alpha") -> np.ndarray:
    """Any matte array → float64 ``(H, W)`` in [0, 1]; ``ValueError`` on bad shape or range."""
    a = a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)
    if a.ndim == 3 and 1 in (a.shape[0], a.shape[-1]):
        a = a.reshape(a.shape[1:] if a.shape[0] == 1 else a.shape[:-1])
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (H, W) matte, got shape {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float64) / 255.0
    if a.dtype == np.uint16:
        return a.astype(np.float64) / 65535.0
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must hold finite values in [0, 1], got NaN or infinity")
    if a.size and (a.min() < -1e-6 or a.max() > 1 + 1e-6):
        raise ValueError(f"{name} must hold values in [0, 1], got range [{a.min():.4g}, {a.max():.4g}]")
    return np.clip(a, 0.0, 1.0)


def unknown_region(trimap) -> np.ndarray:
    """Trimap → bool mask of its unknown region (values strictly between 0 and the maximum)."""
    t = np.asarray(trimap)
    if t.ndim == 3:
        t = t[..., 0]
    top = 255 if t.dtype == np.uint8 else (65535 if t.dtype == np.uint16 else 1.0)
    return (t > 0) & (t < top)


def _prepare(pred, gt, mask) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    p, g = to_alpha(pred, "pred"), to_alpha(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred {p.shape} and gt {g.shape} differ in size")
    if mask is not None:
        mask = np.asarray(mask).astype(bool)
        if mask.shape != g.shape:
            raise ValueError(f"mask {mask.shape} and gt {g.shape} differ in size")
    return p, g, mask


def _total(err: np.ndarray, mask) -> float:
    return float(err.sum() if mask is None else err[mask].sum())


def _mean(err: np.ndarray, mask) -> float:
    e = err if mask is None else err[mask]
    return float(e.mean()) if e.size else float("nan")


def sad(pred, gt, mask=None, *, scaled: bool = True) -> float:
    """Sum of absolute differences Σ|p − g| (÷1e3 when scaled)."""
    p, g, m = _prepare(pred, gt, mask)
    return _total(np.abs(p - g), m) * (SCALES["SAD"] if scaled else 1.0)


def mad(pred, gt, mask=None, *, scaled: bool = True) -> float:
    """Mean absolute difference mean|p − g| (×1e3 when scaled)."""
    p, g, m = _prepare(pred, gt, mask)
    return _mean(np.abs(p - g), m) * (SCALES["MAD"] if scaled else 1.0)


def mse(pred, gt, mask=None, *, scaled: bool = True) -> float:
    """Mean squared error mean (p − g)² (×1e3 when scaled); NaN on an empty mask."""
    p, g, m = _prepare(pred, gt, mask)
    return _mean(np.square(p - g), m) * (SCALES["MSE"] if scaled else 1.0)


def gradient_kernels(sigma: float = 1.4, eps: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """First-derivative-of-Gaussian kernels ``(kx, ky)``, each of unit L2 norm.

    ``kx[i, j] = G(y_i) · G'(x_j)`` with ``G`` the Gaussian of std ``sigma``, on a square
    support of half-size ``ceil(σ·sqrt(−2·ln(sqrt(2π)·σ·eps)))`` (4 for σ = 1.4, a 9×9 kernel);
    ``ky = kxᵀ``.
    """
    half = int(np.ceil(sigma * np.sqrt(-2.0 * np.log(np.sqrt(2.0 * np.pi) * sigma * eps))))
    u = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-(u**2) / (2.0 * sigma**2)) / (sigma * np.sqrt(2.0 * np.pi))
    kx = np.outer(gauss, -u / sigma**2 * gauss)
    kx /= np.sqrt(np.square(kx).sum())
    return kx, kx.T.copy()


def _grad_magnitude(a: np.ndarray, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
    gx = cv2.filter2D(a, cv2.CV_64F, kx, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.filter2D(a, cv2.CV_64F, ky, borderType=cv2.BORDER_REPLICATE)
    return np.sqrt(gx**2 + gy**2)


def _stretch(a: np.ndarray) -> np.ndarray:
    lo, hi = a.min(), a.max()
    return (a - lo) / (hi - lo) if hi > lo else a


def gradient_error(pred, gt, mask=None, *, sigma: float = 1.4, normalize: bool = True,
                   scaled: bool = True) -> float:
    """Gradient error Σ (|∇p| − |∇g|)² (÷1e3 when scaled).

    ``∇`` convolves with :func:`gradient_kernels` (replicated borders). With ``normalize``
    each matte is first min-max stretched to [0, 1], as the benchmark code does.
    """
    p, g, m = _prepare(pred, gt, mask)
    if normalize:
        p, g = _stretch(p), _stretch(g)
    kx, ky = gradient_kernels(sigma)
    err = np.square(_grad_magnitude(p, kx, ky) - _grad_magnitude(g, kx, ky))
    return _total(err, m) * (SCALES["Grad"] if scaled else 1.0)


def connectivity_error(pred, gt, mask=None, *, theta: float = 0.15, step: float = 0.1,
                       scaled: bool = True) -> float:
    """Connectivity error Σ |φ(p) − φ(g)| (÷1e3 when scaled), Rhemann et al. 2009.

    For thresholds ``t_k = k·step`` (k = 1…n), Ω_k is the largest 4-connected component of
    ``{p ≥ t_k} ∩ {g ≥ t_k}``. A pixel's level ``l`` is ``t_{k−1}`` for the first ``k`` with
    the pixel outside Ω_k (1 if never). With ``d = α − l``: ``φ(α) = 1 − d`` where
    ``d ≥ θ``, else 1.
    """
    p, g, m = _prepare(pred, gt, mask)
    n = int(round(1.0 / step))
    levels = np.arange(n + 1, dtype=np.float64) / n
    level = np.full(p.shape, -1.0)
    for k in range(1, n + 1):
        both = ((p >= levels[k]) & (g >= levels[k])).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(both, connectivity=4)
        if count > 1:  # label 0 is the background
            inside = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        else:
            inside = np.zeros(p.shape, dtype=bool)
        level[(level < 0) & ~inside] = levels[k - 1]
    level[level < 0] = 1.0
    dp, dg = p - level, g - level
    phi_p = 1.0 - dp * (dp >= theta)
    phi_g = 1.0 - dg * (dg >= theta)
    return _total(np.abs(phi_p - phi_g), m) * (SCALES["Conn"] if scaled else 1.0)


def dtssd(pred_seq, gt_seq, *, scaled: bool = True) -> float:
    """Temporal coherence error of ``(T, H, W)`` sequences (×1e2 when scaled), T ≥ 2.

    ``dtSSD = mean over t = 1…T−1 of sqrt(mean_pixels ((p_t − p_{t−1}) − (g_t − g_{t−1}))²)``.
    """
    p = np.stack([to_alpha(f, "pred frame") for f in pred_seq])
    g = np.stack([to_alpha(f, "gt frame") for f in gt_seq])
    if p.shape != g.shape:
        raise ValueError(f"pred sequence {p.shape} and gt sequence {g.shape} differ in shape")
    if p.shape[0] < 2:
        raise ValueError("dtSSD needs at least 2 frames")
    d = np.diff(p, axis=0) - np.diff(g, axis=0)
    per_frame = np.sqrt(np.square(d).mean(axis=(1, 2)))
    return float(per_frame.mean()) * (SCALES["dtSSD"] if scaled else 1.0)


METRICS = {"SAD": sad, "MAD": mad, "MSE": mse, "Grad": gradient_error, "Conn": connectivity_error}


def evaluate_pair(pred, gt, mask=None, *, metrics: Sequence[str] = tuple(METRICS),
                  scaled: bool = True) -> dict[str, float]:
    """All requested metrics of one matte, ``{"SAD": …, "MAD": …}``."""
    p, g, m = _prepare(pred, gt, mask)
    return {name: METRICS[name](p, g, m, scaled=scaled) for name in metrics}


def evaluate_pairs(pairs: Iterable[tuple], *, metrics: Sequence[str] = tuple(METRICS),
                   scaled: bool = True) -> tuple[list[dict[str, float]], dict[str, float]]:
    """``(pred, gt)`` or ``(pred, gt, mask)`` tuples → (one row per pair, the mean row).

    Means ignore NaN entries (empty masks); an empty input gives NaN means.
    """
    rows = [evaluate_pair(*pair, metrics=metrics, scaled=scaled) for pair in pairs]
    mean = {}
    for name in metrics:
        vals = np.array([r[name] for r in rows], dtype=np.float64)
        mean[name] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
    return rows, mean
