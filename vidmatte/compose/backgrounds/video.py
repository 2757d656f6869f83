"""A looping video (or animated GIF) as the background, decoded lazily.

**Timing.** The background frame shown with an output frame is the one on screen at that
frame's time: the last background frame whose time (its pts, from the background's first
frame) is at or before the output time, looped by time (modulo the background's duration:
last frame's time plus its display time). So a 12 fps background plays at its own speed
under a 30 fps input, a GIF keeps its per-frame delays, and a VFR input sees the right
frame. The output time of frame ``index`` comes from :attr:`VideoBackground.clock`: the
file jobs set it to the input's own timestamps (:func:`follow_source`); unset, output frame
``i`` is at ``i / rate`` with ``rate`` the background's own average rate (one background
frame per output frame, the library's old behaviour).

**Transparency.** A background with alpha (VP9 alpha in WebM, decoded by ``libvpx-vp9``;
ProRes 4444; PNG/QuickTime RLE; GIF transparency) is composited over a solid **black**
underlay (:data:`UNDERLAY`, ``underlay=`` to change it), so the colour hidden under its
transparent pixels never shows.

Decoding goes through :class:`vidmatte.io.sources.VideoSource`, the same path as the
inputs (rotation, colour defaults), scaled by swscale straight to the cover size. Two frames
are in memory (the one shown and the next); moving forward costs one decode per background
frame passed, going back in time restarts from the first frame.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Callable, Iterator, Optional, Union

import numpy as np
import torch

from vidmatte.compose.backgrounds.base import Background, cover_geometry
from vidmatte.compose.backgrounds.clock import SourceClock, follow_source
from vidmatte.compose.backgrounds.image import UNDERLAY, flatten_alpha
from vidmatte.errors import InputError

__all__ = ["VideoBackground", "UNDERLAY", "follow_source", "SourceClock"]

_EPS = 1e-4  # seconds; far below any frame's display time


class VideoBackground(Background):
    """A video file, looped by time and scaled to cover the frame (centre crop).

    Args:
        path: the video (or animated GIF).
        underlay: RGB shown where the background is transparent (default black).
        clock: ``index → seconds`` of the output frames (see the module notes).
    """

    _source = None

    def __init__(self, path: Union[str, os.PathLike], *, underlay=UNDERLAY,
                 clock: Optional[Callable[[int], float]] = None):
        from vidmatte.io.sources import VideoSource

        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise InputError(f"background video not found: {self.path}")
        try:  # decodes the first frame now; with_alpha picks the libvpx decoders that keep WebM alpha
            self._source = VideoSource(self.path, threading="auto", with_alpha=True)
        except InputError as exc:
            raise InputError(f"cannot use background video {self.path}: {exc}") from None
        src = self._source
        self.has_alpha = bool(src.has_alpha)
        src.with_alpha = self.has_alpha  # no alpha plane: skip the alpha work
        self.underlay = tuple(underlay)
        self.rate = float(src.fps) if src.fps else 25.0
        self.clock = clock
        self.frame_count: Optional[int] = None  # learnt at the end of the first pass
        self.duration: Optional[float] = None  # loop length in seconds, learnt with it
        self._frames: Optional[Iterator] = None
        self._origin: Optional[int] = None  # pts of the first frame
        self._cur = self._next = None  # (seconds, index, image)
        self._last_step = 1.0 / self.rate
        self._target: Optional[tuple[int, int]] = None

    # ---- decoding by time ------------------------------------------------------------
    def _decode(self):
        """The next frame as ``(seconds, index, image)``, or ``None`` at the end."""
        try:
            frame = next(self._frames)
        except (StopIteration, InputError):
            return None
        if self._origin is None:
            self._origin = frame.pts
        t = float((frame.pts - self._origin) * Fraction(frame.time_base))
        return t, frame.index, self._flatten(frame.image)

    def _flatten(self, image: np.ndarray) -> np.ndarray:
        return flatten_alpha(image, self.underlay)

    def _restart(self) -> None:
        self._frames = iter(self._source)
        self._cur = self._decode()
        if self._cur is None:
            raise InputError(f"background video {self.path} stopped decoding")
        self._next = self._decode()

    def _at(self, seconds: float) -> np.ndarray:
        seconds += _EPS  # float times: 0.7 % 0.5 is 0.19999..., which must still show the frame at 0.2
        if self.duration:
            seconds %= self.duration
        if self._frames is None or seconds < self._cur[0]:
            self._restart()
        while self._next is not None and self._next[0] <= seconds:
            self._last_step = max(self._next[0] - self._cur[0], 1e-6)
            self._cur, self._next = self._next, self._decode()
        if self._next is None and self.duration is None:  # the end: now the loop length is known
            self.frame_count = self._cur[1] + 1
            self.duration = self._cur[0] + self._last_step
            if seconds >= self.duration:
                return self._at(seconds)
        return self._cur[2]

    # ---- the Background interface ----------------------------------------------------
    def time_of(self, index: int) -> float:
        """Output time (seconds) of frame ``index``."""
        return float(self.clock(index)) if self.clock is not None else index / self.rate

    def frame_rgb(self, index: int, size: tuple[int, int]) -> np.ndarray:
        """Background for output frame ``index`` as ``(H,W,3)`` uint8, covering ``size``."""
        return self.frame_at(self.time_of(index), size)

    def frame_at(self, seconds: float, size: tuple[int, int]) -> np.ndarray:
        """Background at output time ``seconds`` as ``(H,W,3)`` uint8, covering ``size``."""
        src = self._source
        sh, sw, top, left = cover_geometry((src.height, src.width), size)
        if self._target != (sh, sw):  # scale while decoding (in the stored, unrotated frame)
            self._target = (sh, sw)
            src.scale = (sh, sw) if src.rotation in (90, 270) else (sw, sh)
            self._frames = None
        image = self._at(max(0.0, seconds))
        return np.ascontiguousarray(image[top : top + size[0], left : left + size[1]])

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
