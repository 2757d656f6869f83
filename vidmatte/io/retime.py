"""Recording a live run: a sink wrapper that stamps frames with their real capture timing."""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Optional

from vidmatte.frame import Frame

__all__ = ["RetimedSink"]


class RetimedSink:
    """Sink wrapper for recordings: pts in ms (time base 1/1000) from the frames' own clock.

    Live runs drop frames, so the recording keeps real timing: each frame's media time
    (or its capture time) since the first frame. A clock that jumps back (a reconnected
    camera restarts its timestamps) continues one frame interval after the last pts.
    """

    time_base = Fraction(1, 1000)

    def __init__(self, sink, fps: float = 30.0):
        self.sink, self.step = sink, max(1, round(1000.0 / (fps or 30.0)))
        self._origin: Optional[float] = None
        self._last = -1

    @property
    def accepts(self) -> tuple[str, ...]:
        return getattr(self.sink, "accepts", ("rgb24",))

    def write(self, frame: Frame) -> None:
        t = frame.time if frame.time is not None else frame.meta.get("t_capture", time.perf_counter())
        if self._origin is None:
            self._origin = t
        pts = round((t - self._origin) * 1000.0)
        if pts <= self._last:
            pts = self._last + self.step
            self._origin = t - pts / 1000.0
        self._last = pts
        self.sink.write(Frame(frame.image, pts=pts, time_base=self.time_base, index=frame.index,
                              alpha=frame.alpha, meta=frame.meta, format=frame.format))

    def close(self) -> None:
        self.sink.close()

    def abort(self) -> None:
        getattr(self.sink, "abort", self.sink.close)()
