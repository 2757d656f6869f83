"""A still image as the background, scaled to cover the frame and centre-cropped."""

from __future__ import annotations

import os
from typing import Union

import torch

from vidmatte.compose.backgrounds.base import Background, cover_fit
from vidmatte.errors import InputError

__all__ = ["ImageBackground"]


class ImageBackground(Background):
    """A still image read by :func:`vidmatte.io.stills.read_image`, cover-fitted per frame size
    (the last ``cache_size`` fitted sizes are kept on their device)."""

    def __init__(self, path: Union[str, os.PathLike], cache_size: int = 4):
        from vidmatte.io.stills import read_image

        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise InputError(f"background image not found: {self.path}")
        try:
            self.rgb = read_image(self.path)
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
