"""The frame itself, blurred, as the background (a "blur my background" effect).

By default the blur is *masked*: it is taken from the background pixels alone and the hole
the person leaves is filled from its surroundings
(:func:`vidmatte.ops.masked_blur.masked_blur`), so the person's colours do not spread into
the background as a glow around the silhouette. ``masked=False`` (or a caller that has no
matte) gives the plain whole-frame blur.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F

from vidmatte.compose.backgrounds.base import Background
from vidmatte.ops.gaussian import gaussian_blur
from vidmatte.ops.masked_blur import fast_path, masked_blur
from vidmatte.errors import InputError

__all__ = ["BlurBackground", "plain_blur"]


def plain_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Whole-frame gaussian blur of ``(B,3,H,W)`` with std ``sigma`` px (of this image).

    Wide blurs run on an area-downscaled copy (factor ``floor(sigma/1.5)``, so 1.5-3 px remain
    to blur) and are scaled back up bilinearly; the cost barely grows with ``sigma``.
    """
    if sigma < 0.3:
        return image
    h, w = image.shape[-2:]
    factor, s = fast_path(sigma)
    if factor == 1:
        return gaussian_blur(image, sigma)
    small = gaussian_blur(F.avg_pool2d(image, factor, ceil_mode=True), s)
    # upscale by exactly `factor` (pixel centres stay aligned), then drop the ceil overhang
    big = F.interpolate(small, scale_factor=factor, mode="bilinear", align_corners=False)
    return big[..., :h, :w].clamp(0.0, 1.0)


class BlurBackground(Background):
    """The frame itself, blurred: a gaussian of ``sigma`` pixels at 1080 lines, scaled with
    the height; masked by the matte unless ``masked=False`` (module docstring).

    Both blurs share the wide-blur fast path (:func:`plain_blur`); with a matte that is 0
    everywhere the masked blur equals the plain one.
    """

    def __init__(self, sigma: float = 20.0, masked: bool = True):
        if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma >= 0):
            raise InputError(f"blur sigma must be a number >= 0, got {sigma!r}")
        self.sigma = float(sigma)
        self.masked = bool(masked)

    @property
    def uses_alpha(self) -> bool:  # type: ignore[override]
        return self.masked

    def render(self, image: torch.Tensor, index: int, alpha: Optional[torch.Tensor] = None) -> torch.Tensor:
        sigma = self.sigma * image.shape[-2] / 1080.0
        if alpha is None or not self.masked:
            return plain_blur(image, sigma)
        return masked_blur(image, alpha.to(image.dtype), sigma)

    def __repr__(self) -> str:
        return f"BlurBackground(sigma={self.sigma:g}{'' if self.masked else ', masked=False'})"
