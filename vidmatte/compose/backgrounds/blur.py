"""The frame itself, blurred, as the background (a "blur my background" effect)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vidmatte.compose.backgrounds.base import Background
from vidmatte.ops.gaussian import gaussian_blur
from vidmatte.errors import InputError

__all__ = ["BlurBackground"]


class BlurBackground(Background):
    """The frame itself, blurred: a gaussian of ``sigma`` pixels at 1080 lines, scaled with
    the height.

    Wide blurs run on an area-downscaled copy (factor ``floor(sigma/1.5)``, so 1.5-3 px remain
    to blur) and are scaled back up bilinearly; the cost barely grows with ``sigma``.
    """

    def __init__(self, sigma: float = 20.0):
        if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma >= 0):
            raise InputError(f"blur sigma must be a number >= 0, got {sigma!r}")
        self.sigma = float(sigma)

    def render(self, image: torch.Tensor, index: int) -> torch.Tensor:
        h, w = image.shape[-2:]
        sigma = self.sigma * h / 1080.0
        if sigma < 0.3:
            return image
        factor = max(1, int(sigma / 1.5))
        if factor == 1:
            return gaussian_blur(image, sigma)
        small = F.avg_pool2d(image, factor, ceil_mode=True)
        # the box downscale and the bilinear upscale blur by ~0.5 small px themselves
        s = math.sqrt(max((sigma / factor) ** 2 - 0.25, 0.25))
        small = gaussian_blur(small, s)
        # upscale by exactly `factor` (pixel centres stay aligned), then drop the ceil overhang
        big = F.interpolate(small, scale_factor=factor, mode="bilinear", align_corners=False)
        return big[..., :h, :w].clamp(0.0, 1.0)

    def __repr__(self) -> str:
        return f"BlurBackground(sigma={self.sigma:g})"
