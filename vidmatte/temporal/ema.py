"""Causal smoothing by exponential moving averages: less flicker without trails behind moving people.

A per-frame model flickers: its matte wobbles a little from frame to frame where nothing
moved. Averaging over time (an EMA) removes the wobble but also drags the matte behind
anything that moves. :class:`GatedEMA` decides per pixel from the *input
frames*: where the picture changed beyond the noise level it takes the new alpha, where
it stayed still it keeps most of the previous one::

    d   = mean_c |I_t - I_{t-1}|                         (1,1,H,W) per frame
    m   = dilate(box(downscale(d)))                      a motion map, ~270 lines
    g   = clip((m - noise) / noise, 0, 1)                0 still .. 1 moving
    w   = floor + (1 - floor) g                          weight of the new alpha
    a_t = w alpha_t + (1 - w) a_{t-1}

with ``floor = 1 - strength`` (at least 0.05). The state resets on a scene cut (mean
``d`` above ``cut``) and when the frame size changes. The caller owns the state: one
smoother per stream, ``reset()`` between clips. Batches hold consecutive frames in time
order. The returned alpha is also the state: do not modify it in place.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from vidmatte.ops.box import box_blur
from vidmatte.ops.morphology import dilate
from vidmatte.temporal.base import Smoother

__all__ = ["PlainEMA", "GatedEMA", "MIN_WEIGHT"]

MIN_WEIGHT = 0.05  # strength 1 would freeze the matte: the new frame always gets >= 5 %


class PlainEMA(Smoother):
    """``a_t = weight * alpha_t + (1 - weight) * a_{t-1}`` everywhere (lags behind motion)."""

    def __init__(self, weight: float = 0.8):
        super().__init__()
        if not 0.0 < weight <= 1.0:
            raise ValueError(f"EMA weight must be in (0, 1], got {weight}")
        self.weight = float(weight)

    def step(self, alpha: torch.Tensor, image: Optional[torch.Tensor]) -> torch.Tensor:
        if self._stale(alpha):
            self.prev = alpha.clone()
        else:
            self.prev = torch.lerp(self.prev, alpha, self.weight)
        return self.prev


class GatedEMA(Smoother):
    """EMA whose weight on the new alpha rises to 1 where the frame moved (module docstring).

    Args:
        strength: 0 (no smoothing) .. 1; sets ``floor = max(1 - strength, 0.05)``.
        floor: weight of the new alpha where nothing moved (overrides ``strength``).
        noise: mean abs RGB difference (0..1 scale) still taken as sensor/codec noise;
            the gate opens linearly between ``noise`` and ``2 * noise``.
        cut: mean frame difference above which the frame is a new shot (state reset).
        spread: how far motion reaches around changed pixels, as a fraction of the height
            (36 px at 1080p): alpha near a moving edge follows the model at once.
    """

    needs_image = True

    def __init__(
        self,
        strength: float = 0.8,
        floor: Optional[float] = None,
        noise: float = 0.02,
        cut: float = 0.12,
        spread: float = 1 / 30,
    ):
        super().__init__()
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"smoothing strength must be in [0, 1], got {strength}")
        floor = max(1.0 - strength, MIN_WEIGHT) if floor is None else floor
        if not 0.0 < floor <= 1.0:
            raise ValueError(f"need 0 <= strength <= 1 and 0 < floor <= 1, got strength={strength}, floor={floor}")
        if noise <= 0 or cut <= 0 or spread < 0:
            raise ValueError("noise and cut must be > 0, spread >= 0")
        self.floor, self.noise, self.cut, self.spread = float(floor), float(noise), float(cut), float(spread)
        self.prev_image: Optional[torch.Tensor] = None
        self._cuts = torch.zeros((), dtype=torch.long)

    def reset(self) -> None:
        super().reset()
        self.prev_image = None

    @property
    def cuts(self) -> int:
        """Scene cuts detected since construction."""
        return int(self._cuts)

    def gate(self, image: torch.Tensor, prev_image: torch.Tensor) -> torch.Tensor:
        """Weight of the new alpha, ``(1,1,H,W)`` in [floor, 1] (1 everywhere on a scene cut)."""
        h, w = image.shape[-2:]
        diff = (image - prev_image).abs_().mean(1, keepdim=True)
        mean = diff.mean()
        f = max(1, h // 270)  # work at ~270 lines
        m = F.avg_pool2d(diff, f, ceil_mode=True) if f > 1 else diff
        m = box_blur(m, 1)
        r = max(1, round(self.spread * h / f))
        m = dilate(m, r)
        g = ((m - self.noise) / self.noise).clamp_(0.0, 1.0)
        wgt = g.mul_(1.0 - self.floor).add_(self.floor)
        if f > 1:
            wgt = F.interpolate(wgt, scale_factor=f, mode="bilinear", align_corners=False)[..., :h, :w]
        # a scene cut takes the new alpha everywhere (decided on the device: no host sync)
        cut = mean > self.cut
        self._cuts = self._cuts + cut
        return torch.where(cut, torch.ones_like(wgt), wgt)

    def step(self, alpha: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        image = image.to(alpha.dtype)
        if self._stale(alpha) or self.prev_image is None or self.prev_image.shape != image.shape:
            out = alpha.clone()
            self.prev_image = image.clone()
        else:
            out = torch.lerp(self.prev, alpha, self.gate(image, self.prev_image))
            self.prev_image = image.clone()
        self.prev = out
        return out
