"""The output clock of time-driven backgrounds: ``index → seconds`` of the input's frames.

Kept free of torch and codecs, so the jobs import it at no cost.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

__all__ = ["SourceClock", "follow_source"]


class SourceClock:
    """``index → seconds`` of the frames an input yields, recorded as they go by.

    :meth:`wrap` passes the frames of a source through unchanged and notes each frame's
    time (its pts, from ``origin``: the first frame's when not given). Looking up an
    index not seen (a frame never decoded) extrapolates from the nearest one seen at
    ``fps``. Entries far behind the latest are dropped, so memory stays small.
    """

    KEEP = 4096

    def __init__(self, fps: Optional[float] = None, origin: Optional[float] = None):
        self.fps = float(fps) if fps else 25.0
        self.origin = origin
        self._times: dict[int, float] = {}

    def note(self, index: int, seconds: float) -> None:
        if self.origin is None:
            self.origin = seconds
        self._times[index] = seconds - self.origin
        if len(self._times) > 2 * self.KEEP:
            for k in sorted(self._times)[: self.KEEP]:
                del self._times[k]

    def wrap(self, frames):
        for f in frames:
            pts, tb = getattr(f, "pts", None), getattr(f, "time_base", None)
            if pts is not None and tb is not None:
                self.note(int(f.index), float(pts * Fraction(tb)))
            yield f

    def __call__(self, index: int) -> float:
        t = self._times.get(index)
        if t is not None:
            return t
        if not self._times:
            return index / self.fps
        near = min(self._times, key=lambda k: abs(k - index))
        return self._times[near] + (index - near) / self.fps


class _Following:
    """A source whose frames also go through a :class:`SourceClock` (all else delegated)."""

    def __init__(self, source, clock: SourceClock):
        self._source, self._clock = source, clock

    def __iter__(self):
        return self._clock.wrap(iter(self._source))

    def __getattr__(self, name):
        return getattr(self._source, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._source.close()


def follow_source(background, source, *, origin: Optional[float] = None):
    """Make a time-driven background (:class:`VideoBackground`, or anything with a ``clock``
    attribute) follow ``source``'s timestamps; returns the source to iterate instead
    (``source`` itself when the background does not care)."""
    if background is None or not hasattr(background, "clock"):
        return source
    clock = SourceClock(getattr(source, "fps", None), origin)
    background.clock = clock
    return _Following(source, clock)
