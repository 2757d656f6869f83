"""A looping video as the background, decoded lazily (one frame in memory).

Output frame ``i`` shows background frame ``i mod N`` (``N`` = the background's frame
count, learnt when its end is first reached). Frames are taken in decode order, one per
output frame, whatever the two frame rates. Decoding goes through
:class:`vidmatte.io.sources.VideoSource`, the same path as the inputs (rotation, colour
defaults), scaled by swscale straight to the cover size. Sequential indices cost one decode
each; going backwards restarts from the first frame.
"""

from __future__ import annotations

import os
from typing import Iterator, Optional, Union

import numpy as np
import torch

from vidmatte.compose.backgrounds.base import Background, cover_geometry
from vidmatte.errors import InputError

__all__ = ["VideoBackground"]


class VideoBackground(Background):
    """A video file, looped and scaled to cover the frame (centre crop)."""

    _source = None

    def __init__(self, path: Union[str, os.PathLike]):
        from vidmatte.io.sources import VideoSource

        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise InputError(f"background video not found: {self.path}")
        try:
            self._source = VideoSource(self.path, threading="auto")  # decodes the first frame now
        except InputError as exc:
            raise InputError(f"cannot use background video {self.path}: {exc}") from None
        self.frame_count: Optional[int] = None
        self._frames: Optional[Iterator] = None
        self._pos = -1  # index of the frame in self._image
        self._image: Optional[np.ndarray] = None
        self._target: Optional[tuple[int, int]] = None

    def _restart(self) -> None:
        self._frames, self._pos, self._image = iter(self._source), -1, None

    def _advance(self) -> bool:
        """Decode the next frame; ``False`` at the end (or at a corrupt tail)."""
        try:
            frame = next(self._frames)
        except (StopIteration, InputError):
            return False
        self._image, self._pos = frame.image, self._pos + 1
        return True

    def _seek_to(self, index: int) -> None:
        target = index if self.frame_count is None else index % self.frame_count
        if self._frames is None or target < self._pos:
            self._restart()
        while self._pos < target:
            if not self._advance():
                if self._pos < 0:
                    raise InputError(f"background video {self.path} stopped decoding")
                self.frame_count = self._pos + 1
                target = index % self.frame_count
                if target != self._pos:
                    self._restart()

    def frame_rgb(self, index: int, size: tuple[int, int]) -> np.ndarray:
        """Background frame for output frame ``index`` as ``(H,W,3)`` uint8, covering ``size``."""
        src = self._source
        sh, sw, top, left = cover_geometry((src.height, src.width), size)
        if self._target != (sh, sw):  # scale while decoding (in the stored, unrotated frame)
            self._target = (sh, sw)
            src.scale = (sh, sw) if src.rotation in (90, 270) else (sw, sh)
            self._frames = None
        self._seek_to(index)
        return np.ascontiguousarray(self._image[top : top + size[0], left : left + size[1]])

    def render(self, image: torch.Tensor, index: int) -> torch.Tensor:
        size = (int(image.shape[-2]), int(image.shape[-1]))
        frames = [self.frame_rgb(index + i, size) for i in range(image.shape[0])]
        batch = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)
        return batch.to(image.device).to(image.dtype).div_(255.0)

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._frames = None

    def __del__(self):
        self.close()

    def __repr__(self) -> str:
        return f"VideoBackground({self.path!r})"
