"""Flicker and lag of a smoothed matte on real video, without ground truth.

Static and moving pixels are decided from the *input frames*, never from the mattes, so a
smoother cannot grade itself. For each pair of consecutive frames ``t-1, t``::

    d_t    = mean_c |B(I_t) - B(I_{t-1})|         B: 3x3 box blur, I in [0, 1]   (1,1,H,W)
    moving = d_t > move                           (default 0.04 ~ 10/255)
    static = d_t < still  and  farther than ``band`` px from any moving pixel
                                                  (default 0.01 ~ 2.5/255, band = H/40, >= 3)

Pixels in between (a faint change, or a band around motion) belong to neither. A pair whose
unblurred mean difference exceeds ``cut`` is a scene cut and is left out entirely. Then,
with ``r`` the raw model alpha and ``s`` the smoothed one::

    flicker_raw      = mean over static of |r_t - r_{t-1}|
    flicker_smoothed = mean over static of |s_t - s_{t-1}|
    flicker_drop     = 1 - flicker_smoothed / flicker_raw
    motion_raw       = mean over moving of |r_t - r_{t-1}|   (how much the model's matte moves)
    lag              = mean over moving of |s_t - r_t|       (how far smoothing holds it back)
    lag_ratio        = lag / motion_raw

An EMA that keeps a share ``k`` of the previous matte lags by about ``k / (1 - k)`` times the
per-frame change under steady motion (geometric series), so ``lag_ratio`` reads directly as
how much of the old matte a smoother drags into moving regions.
"""

from __future__ import annotations

from typing import Optional

import torch

from vidmatte.ops.box import box_blur
from vidmatte.ops.morphology import dilate

__all__ = ["motion_regions", "TemporalStats"]


def motion_regions(
    prev: torch.Tensor,
    cur: torch.Tensor,
    *,
    still: float = 0.01,
    move: float = 0.04,
    band: Optional[int] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Static and moving masks ``(B,1,H,W)`` bool between frames ``prev`` and ``cur`` ``(B,3,H,W)``.

    ``prev`` and ``cur`` are float frames in [0, 1]; thresholds as in the module docstring.
    """
    if prev.shape != cur.shape or cur.ndim != 4 or cur.shape[1] != 3:
        raise ValueError(f"motion_regions: need two (B,3,H,W) frames of one shape, got "
                         f"{tuple(prev.shape)} and {tuple(cur.shape)}")
    return _regions(box_blur(prev.float(), 1), box_blur(cur.float(), 1), still, move, band)


def _regions(prev_b: torch.Tensor, cur_b: torch.Tensor, still: float, move: float, band: Optional[int]):
    """:func:`motion_regions` on frames already blurred by ``B``."""
    d = (cur_b - prev_b).abs_().mean(1, keepdim=True)
    moving = d > move
    band = max(3, round(cur_b.shape[-2] / 40)) if band is None else band
    near = dilate(moving.float(), band) > 0
    return (d < still) & ~near, moving


class TemporalStats:
    """Streaming flicker/lag statistics: ``update`` frame by frame, then ``result()``.

    Args:
        still, move, band: region thresholds (:func:`motion_regions`).
        cut: mean frame difference above which a pair is a scene cut and is skipped.
    """

    KEYS = ("flicker_raw", "flicker_smoothed", "motion_raw", "lag")

    def __init__(self, still: float = 0.01, move: float = 0.04, band: Optional[int] = None, cut: float = 0.12):
        self.still, self.move, self.band, self.cut = still, move, band, cut
        self.sums = dict.fromkeys(self.KEYS, 0.0)
        self.n_static = self.n_moving = self.n_pixels = 0
        self.pairs = self.cuts = 0
        self._prev: Optional[tuple] = None  # image, blurred image, raw, smoothed

    def update(self, image: torch.Tensor, raw: torch.Tensor, smoothed: torch.Tensor) -> None:
        """Consecutive frames ``(B,3,H,W)`` in [0, 1] with raw and smoothed alpha ``(B,1,H,W)``."""
        if raw.shape != smoothed.shape or raw.shape[0] != image.shape[0] or raw.shape[-2:] != image.shape[-2:]:
            raise ValueError(f"TemporalStats: image {tuple(image.shape)}, raw {tuple(raw.shape)} and "
                             f"smoothed {tuple(smoothed.shape)} do not match")
        for i in range(image.shape[0]):
            im = image[i : i + 1].float()
            cur = (im, box_blur(im, 1), raw[i : i + 1].float(), smoothed[i : i + 1].float())
            if self._prev is not None and self._prev[0].shape == cur[0].shape:
                self._pair(self._prev, cur)
            self._prev = cur

    def _pair(self, prev, cur) -> None:
        (i0, b0, r0, s0), (i1, b1, r1, s1) = prev, cur
        self.pairs += 1
        if float((i1 - i0).abs().mean()) > self.cut:
            self.cuts += 1
            return
        static, moving = _regions(b0, b1, self.still, self.move, self.band)
        dr = (r1 - r0).abs()
        self.sums["flicker_raw"] += float(dr[static].sum())
        self.sums["flicker_smoothed"] += float((s1 - s0).abs()[static].sum())
        self.sums["motion_raw"] += float(dr[moving].sum())
        self.sums["lag"] += float((s1 - r1).abs()[moving].sum())
        self.n_static += int(static.sum())
        self.n_moving += int(moving.sum())
        self.n_pixels += static.numel()

    def result(self) -> dict:
        """Means as in the module docstring, region fractions, pairs and cuts (NaN when empty)."""
        nan = float("nan")
        s, m = max(self.n_static, 1), max(self.n_moving, 1)
        out = {
            "flicker_raw": self.sums["flicker_raw"] / s if self.n_static else nan,
            "flicker_smoothed": self.sums["flicker_smoothed"] / s if self.n_static else nan,
            "motion_raw": self.sums["motion_raw"] / m if self.n_moving else nan,
            "lag": self.sums["lag"] / m if self.n_moving else nan,
            "static_fraction": self.n_static / max(self.n_pixels, 1),
            "moving_fraction": self.n_moving / max(self.n_pixels, 1),
            "pairs": self.pairs,
            "cuts": self.cuts,
        }
        fr, mr = out["flicker_raw"], out["motion_raw"]
        out["flicker_drop"] = 1.0 - out["flicker_smoothed"] / fr if fr > 0 else nan
        out["lag_ratio"] = out["lag"] / mr if mr > 0 else nan
        return out
