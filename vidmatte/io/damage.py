"""Accounting of the frames a damaged video loses while it is decoded.

Every packet the demuxer hands over promises a frame at its pts; a decoder returns frames in
presentation order, so when a frame at time ``p`` comes out, every promised pts before ``p``
that has not come out is lost (its packet was undecodable, or it referred to one that was).
A min-heap holds the promises not yet kept, so the memory is bounded by the decoder's delay,
not by the length of the file. A file cut short (its index lists more frames than could be
read, or the demuxer fails) loses its tail; :meth:`LossTracker.finish` counts that too.

    >>> t = LossTracker(time_base=1, fps=1)
    >>> for pts in range(6):
    ...     t.expect(pts)
    >>> for pts in (0, 1, 4, 5):          # 2 and 3 never came out of the decoder
    ...     _ = t.decoded(pts)
    >>> t.finish(declared_frames=8)       # the index promised 8 frames: 6 and 7 are missing
    >>> t.lost, t.ranges
    (4, [(2.0, 4.0, 2), (6.0, 8.0, 2)])
    >>> t.summary("clip.mp4")
    'clip.mp4 is damaged: 4 of 8 frames could not be decoded (2.00-4.00 s, 6.00-8.00 s; the file is cut short)'
"""

from __future__ import annotations

import heapq
from fractions import Fraction
from typing import Optional

__all__ = ["LossTracker"]


class LossTracker:
    """Counts lost and damaged frames of one video stream and the time ranges they cover.

    Args:
        time_base: seconds per pts tick of the stream.
        fps: nominal frame rate (frame interval for ranges and estimates); ``None``: unknown.
        start: pts of the stream's first frame (times are reported from it).

    Attributes:
        lost: frames promised by the file but never decoded.
        damaged: frames decoded with errors (concealed, so shown with artefacts).
        ranges: ``(start s, end s, frames)`` of each run of lost frames.
        cut_short: the file ends before the frames its index (or duration) promises.
        stopped: why reading ended early (``None`` when the file was read to its end).
    """

    def __init__(self, time_base, fps=None, start: int = 0):
        self.time_base = Fraction(time_base)
        self.step = 1 / Fraction(fps) if fps else None
        self.start = start or 0
        self.lost = self.damaged = self.decoded_frames = self.packets = 0
        self.ranges: list[tuple[float, float, int]] = []
        self.stopped: Optional[str] = None
        self.cut_short = False
        self._pending: list[int] = []
        self._last_out: Optional[int] = None
        self._last_promised: Optional[int] = None
        self._open_run = False

    def _seconds(self, pts) -> float:
        return float((pts - self.start) * self.time_base)

    def _end_of(self, pts) -> float:
        return self._seconds(pts) + (float(self.step) if self.step else 0.0)

    def _lose(self, pts: int) -> None:
        self.lost += 1
        if self._open_run and self.ranges:
            t0, _, n = self.ranges[-1]
            self.ranges[-1] = (t0, self._end_of(pts), n + 1)
        else:
            self.ranges.append((self._seconds(pts), self._end_of(pts), 1))
            self._open_run = True

    def expect(self, pts: Optional[int]) -> None:
        """A packet that should become a frame at ``pts`` was read."""
        self.packets += 1
        if pts is not None:
            heapq.heappush(self._pending, pts)
            self._last_promised = pts if self._last_promised is None else max(self._last_promised, pts)

    def decoded(self, pts: Optional[int], corrupt: bool = False) -> int:
        """A frame at ``pts`` came out; returns how many frames before it are now known lost."""
        self.decoded_frames += 1
        self.damaged += bool(corrupt)
        before = self.lost
        if pts is not None:
            while self._pending and self._pending[0] < pts:
                self._lose(heapq.heappop(self._pending))
            if self._pending and self._pending[0] == pts:
                heapq.heappop(self._pending)
            self._last_out = pts
        self._open_run = False
        return self.lost - before

    def finish(self, declared_frames: Optional[int] = None, duration: Optional[float] = None) -> None:
        """The decoder is flushed: promises still open are lost; a file whose index declares
        more frames than were read (``declared_frames``), or whose reading ``stopped`` before
        ``duration`` seconds, lost its tail."""
        while self._pending:
            self._lose(heapq.heappop(self._pending))
        self._open_run = False
        last = self._last_promised if self._last_promised is not None else self._last_out
        t_end = self._end_of(last) if last is not None else 0.0
        missing = 0
        if declared_frames and declared_frames > self.packets:
            missing = declared_frames - self.packets
        elif self.stopped and duration and self.step and duration - t_end > 1.5 * float(self.step):
            missing = round((duration - t_end) / float(self.step))
        if missing:
            self.lost += missing
            self.cut_short = True
            end = duration if duration and duration > t_end else t_end + missing * float(self.step or 0)
            if self.ranges and abs(self.ranges[-1][1] - t_end) < 1e-6:  # the run before the cut joins it
                t_end, missing = self.ranges[-1][0], missing + self.ranges.pop()[2]
            self.ranges.append((t_end, end, missing))

    def summary(self, name: str) -> Optional[str]:
        """One line saying what was lost, or ``None`` for an intact file."""
        if not self.lost and not self.damaged and not self.stopped:
            return None
        total = self.decoded_frames + self.lost
        parts = []
        if self.lost:
            spans = ", ".join(f"{a:.2f}-{b:.2f} s" for a, b, _ in self.ranges[:4])
            more = f" and {len(self.ranges) - 4} more" if len(self.ranges) > 4 else ""
            cut = "; the file is cut short" if self.cut_short else ""
            parts.append(f"{self.lost} of {total} frames could not be decoded ({spans}{more}{cut})")
        if self.damaged:
            parts.append(f"{self.damaged} decoded with visible errors")
        if self.stopped:
            parts.append(f"reading stopped early ({self.stopped})")
        return f"{name} is damaged: " + "; ".join(parts)
