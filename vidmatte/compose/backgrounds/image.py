"""A still image as the background, scaled to cover the frame and centre-cropped.

Transparent pixels (PNG, WebP, TIFF alpha) show the black underlay, as for video
backgrounds (:data:`vidmatte.compose.backgrounds.video.UNDERLAY`), never the colour the
file stores under them."""

from __future__ import annotations

import os
from typing import Union

import numpy as np
import torch

from vidmatte.compose.backgrounds.base import Background, cover_fit
from vidmatte.errors import InputError

__all__ = ["ImageBackground", "flatten_alpha"]

#: what shows through a transparent background (RGB); the same for stills and videos
UNDERLAY = (0, 0, 0)


def flatten_alpha(image: np.ndarray, underlay=UNDERLAY) -> np.ndarray:
    """``(H,W,4)`` uint8 RGBA over a solid ``underlay`` → ``(H,W,3)`` uint8 (3 channels pass)."""
    if image.ndim != 3 or image.shape[-1] != 4:
        return image
    if image[..., 3].min() == 255:
        return np.ascontiguousarray(image[..., :3])
    a = image[..., 3:4].astype(np.float32) * (1.0 / 255.0)
    out = image[..., :3].astype(np.float32) * a + np.asarray(underlay, np.float32) * (1.0 - a)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


class ImageBackground(Background):
    """A still image read by :func:`vidmatte.io.stills.read_image`, cover-fitted per frame size
    (the last ``cache_size`` fitted sizes are kept on their device)."""

    def __init__(self, path: Union[str, os.PathLike], cache_size: int = 4):
        from vidmatte.io.stills import read_image

        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise InputError(f"background image not found: {self.path}")
        try:
            self.rgb = flatten_alpha(read_image(self.path, with_alpha=True))
        except InputError as exc:
            raise InputError(f"cannot use background image {self.path}: {exc}") from None
        self._cache: dict = {}
        self._cache_size = cache_size

    def render(self, image: torch.Tensor, index: int) -> torch.Tensor:
        key = (tuple(image.shape[-2:]), image.device, image.dtype)
        bg = self._cache.pop(key, None)
        if bg is None:
            fitted = torch.from_numpy(cover_fit(self.rgb, key[0])).permute(2, 0, 1).unsqueeze(0)
            bg = fitted.to(image.device).to(image.dtype).div_(255.0)
        self._cache[key] = bg  # most recently used last
        while len(self._cache) > self._cache_size:
            self._cache.pop(next(iter(self._cache)))
        return bg.expand(image.shape)

    def __repr__(self) -> str:
        return f"ImageBackground({self.path!r})"
