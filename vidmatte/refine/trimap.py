"""Automatic trimap from a coarse matte: certain foreground, certain background, unknown band.

``fg = erode(alpha >= hi, r)``, ``bg = erode(alpha <= lo, r)``, the rest is unknown: the
soft edge of the coarse matte widened by ``r`` pixels on both sides, so hair the coarse
model blurred or missed near the edge falls inside the band. ``r`` is relative to the image
(:func:`band_radius`: a fraction of the short side), so a 4K frame gets the same band, in
picture terms, as a 720p one. Values follow the matting datasets' 8-bit trimaps,
0 / 128 / 255, scaled to [0, 1]: ``0``, :data:`UNKNOWN` (128/255), ``1``.

Example:
    >>> import torch
    >>> a = torch.zeros(1, 1, 9, 9); a[..., :, 5:] = 1.0      # a vertical edge at column 5
    >>> t = make_trimap(a, radius=1)
    >>> (t[0, 0, 4] * 255).round().int().tolist()
    [0, 0, 0, 0, 128, 128, 255, 255, 255]
"""

from __future__ import annotations

import torch
from torch import nn

from vidmatte.ops.morphology import erode

__all__ = ["make_trimap", "Trimap", "band_radius", "UNKNOWN"]

#: the value of unknown pixels (128 of 255, as in Composition-1k and the ViTMatte code)
UNKNOWN = 128.0 / 255.0


def band_radius(hw: tuple[int, int], band: float = 0.02) -> int:
    """Erosion radius in pixels: ``band`` x the short side, at least 1.

    >>> band_radius((1080, 1920)), band_radius((2160, 3840)), band_radius((64, 64))
    (22, 43, 1)
    """
    return max(1, round(float(band) * min(hw)))


def make_trimap(alpha: torch.Tensor, radius: int, lo: float = 0.05, hi: float = 0.95) -> torch.Tensor:
    """Trimap of a coarse matte.

    Args:
        alpha: ``(B,1,H,W)`` matte in [0, 1], any device and float dtype.
        radius: pixels the certain regions are eroded by (the band's half-width beyond the
            soft edge), ``>= 0``.
        lo, hi: alpha at or below ``lo`` is background, at or above ``hi`` foreground,
            before erosion (``0 <= lo < hi <= 1``).

    Returns:
        ``(B,1,H,W)`` in ``alpha``'s dtype with values ``0``, :data:`UNKNOWN`, ``1``.
    """
    if not isinstance(alpha, torch.Tensor) or alpha.ndim != 4 or alpha.shape[1] != 1:
        raise ValueError(f"make_trimap expects alpha (B,1,H,W), got "
                         f"{tuple(alpha.shape) if isinstance(alpha, torch.Tensor) else type(alpha).__name__}")
    if not alpha.is_floating_point():
        raise TypeError(f"make_trimap expects a floating alpha, got {alpha.dtype}")
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"need 0 <= lo < hi <= 1, got lo={lo}, hi={hi}")
    fg = erode((alpha >= hi).to(alpha.dtype), radius)
    bg = erode((alpha <= lo).to(alpha.dtype), radius)
    out = torch.full_like(alpha, UNKNOWN)
    out[fg > 0.5] = 1.0
    out[bg > 0.5] = 0.0
    return out


class Trimap(nn.Module):
    """Module form of :func:`make_trimap` with the radius from :func:`band_radius` of each input."""

    def __init__(self, band: float = 0.02, lo: float = 0.05, hi: float = 0.95):
        super().__init__()
        self.band, self.lo, self.hi = float(band), float(lo), float(hi)

    def forward(self, alpha: torch.Tensor) -> torch.Tensor:
        return make_trimap(alpha, band_radius(tuple(alpha.shape[-2:]), self.band), self.lo, self.hi)

    def extra_repr(self) -> str:
        return f"band={self.band}, lo={self.lo}, hi={self.hi}"
