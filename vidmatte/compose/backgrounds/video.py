"""A looping video as the background, decoded lazily with PyAV (one frame in memory).

Output frame ``i`` shows background frame ``i mod N`` (``N`` = the background's frame
count, learnt when its end is first reached). Frames are taken in decode order, one per
output frame, whatever the two frame rates; swscale does the cover-fit scaling.
Sequential indices cost one decode each; going backwards restarts from the first frame.
"""

from __future__ import annotations

import os
from typing import Optional, Union

import av
import numpy as np
import torch

from vidmatte.compose.backgrounds import Background, cover_geometry
from vidmatte.errors import InputError

__all__ = ["VideoBackground"]


class VideoBackground(Background):
    """A video file, looped and scaled to cover the frame (centre crop)."""

    _container = None

    def __init__(self, path: Union[str, os.PathLike]):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise InputError(f"background video not found: {self.path}")
        self._container = None
        self._frames = None
        self._pos = -1  # index of the frame in self._frame
        self._frame: Optional[av.VideoFrame] = None
        self.frame_count: Optional[int] = None
        self._open()
        self._advance()  # fail now, not mid-render, if nothing decodes
        if self._frame is None:
            self.close()
            raise InputError(f"background video {self.path} has no decodable frames")

    def _open(self) -> None:
        self.close()
        try:
            self._container = av.open(self.path)
            stream = self._container.streams.video[0]
        except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
            self.close()
            raise InputError(f"cannot open background video {self.path}: {exc}") from exc
        except IndexError:
            self.close()
            raise InputError(f"background file {self.path} has no video stream") from None
        stream.thread_type = "AUTO"
        self._frames = self._container.decode(stream)
        self._pos = -1
        self._frame = None

    def _advance(self) -> bool:
        """Decode the next frame; ``False`` at the end (or at a corrupt tail)."""
        try:
            frame = next(self._frames)
        except (StopIteration, av.FFmpegError, EOFError):
            return False
        self._frame = frame
        self._pos += 1
        return True

    def _seek_to(self, index: int) -> None:
        target = index if self.frame_count is None else index % self.frame_count
        if target < self._pos:
            self._open()
        while self._pos < target:
            if not self._advance():
                self.frame_count = self._pos + 1
                target = index % self.frame_count
                if target < self._pos:
                    self._open()
                elif target == self._pos:
                    return

    def frame_rgb(self, index: int, size: tuple[int, int]) -> np.ndarray:
        """Background frame for output frame ``index`` as ``(H,W,3)`` uint8, covering ``size``."""
        self._seek_to(index)
        if self._frame is None:
            raise InputError(f"background video {self.path} stopped decoding")
        sh, sw, top, left = cover_geometry((self._frame.height, self._frame.width), size)
        rgb = self._frame.to_ndarray(width=sw, height=sh, format="rgb24", interpolation="AREA")
        return np.ascontiguousarray(rgb[top : top + size[0], left : left + size[1]])

    def render(self, image: torch.Tensor, index: int) -> torch.Tensor:
        size = (int(image.shape[-2]), int(image.shape[-1]))
        frames = [self.frame_rgb(index + i, size) for i in range(image.shape[0])]
        batch = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)
        return batch.to(image.device).to(image.dtype).div_(255.0)

    def close(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            finally:
                self._container = None
                self._frames = None

    def __del__(self):
        self.close()

    def __repr__(self) -> str:
        return f"VideoBackground({self.path!r})"
