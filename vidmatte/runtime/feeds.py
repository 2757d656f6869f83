"""What the loop takes frames from: every frame of a file, or the newest frame of a camera.

Both have ``take(run)`` → a batch (list of :class:`~vidmatte.frame.Frame`),
:data:`~vidmatte.runtime.core.SKIP` or ``None``, so every schedule runs either; the policy
("never drop" / "newest frame wins") belongs to the feed, not to the loop.

* :class:`FrameFeed`: batches of up to ``size`` frames from any iterable of frames (a decoder,
  an image sequence, a list); a schedule that read one batch too many gives it back with
  :meth:`FrameFeed.unget`.
* :class:`LiveFeed`: one frame at a time from a live source that keeps only the newest frame
  (:class:`~vidmatte.io.capture.LiveSource`); it ends the run at a frame or time limit, at the
  source's end, and raises when the source stalls.
"""

from __future__ import annotations

import threading
import time
from typing import Iterable, Optional

from vidmatte.errors import DeviceError
from vidmatte.runtime.core import SKIP

__all__ = ["FrameFeed", "LiveFeed"]


class FrameFeed:
    """Every frame of ``source``, in batches of up to ``size`` (the last may be shorter)."""

    def __init__(self, source: Iterable, size: int = 1):
        if size < 1:
            raise ValueError("batch_size must be >= 1")
        self.it, self.size = iter(source), size
        self._back: list = []
        self._done = False

    def take(self, run=None) -> Optional[list]:
        if self._back:
            return self._back.pop()
        if self._done:
            return None
        batch = []
        for frame in self.it:
            batch.append(frame)
            if len(batch) == self.size:
                break
        else:
            self._done = True
        return batch or None

    def unget(self, batch: list) -> None:
        """Give back a batch taken but not processed; the next :meth:`take` returns it."""
        self._back.append(batch)


class LiveFeed:
    """The newest frame of ``source`` (``read(timeout)``, ``ended``, ``end_reason``), one at a time.

    Args:
        frames, duration: end the run after this many frames taken / seconds since the start.
        stall_timeout: seconds without any frame from a source that has not ended → DeviceError.
    Each frame taken gets ``meta["t_take"]`` (when the loop took it: the process time starts).
    """

    def __init__(self, source, *, frames: Optional[int] = None, duration: Optional[float] = None,
                 stall_timeout: float = 10.0):
        self.source, self.frames, self.duration, self.stall_timeout = source, frames, duration, stall_timeout
        self.taken = 0
        self.t0 = self._last_frame = time.perf_counter()
        self._lock = threading.Lock()

    def start_clock(self) -> None:
        self.t0 = self._last_frame = time.perf_counter()

    def take(self, run):
        with self._lock:
            if self.frames is not None and self.taken >= self.frames:
                run.stop("frames")
            elif self.duration is not None and time.perf_counter() - self.t0 >= self.duration:
                run.stop("duration")
            if run.stop_event.is_set():
                return None
            frame = self.source.read(timeout=0.1)
            now = time.perf_counter()
            if frame is None:
                if self.source.ended:
                    run.stop(getattr(self.source, "end_reason", None) or "end of source")
                    return None
                if now - self._last_frame > self.stall_timeout:
                    raise DeviceError(f"the source delivered no frame for {self.stall_timeout:g} s; "
                                      "check the camera or stream")
                return SKIP
            self._last_frame = now
            self.taken += 1
            frame.meta["t_take"] = now
            return [frame]
