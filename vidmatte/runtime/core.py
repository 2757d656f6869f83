"""The one loop every job runs: a feed's batches ▶ ``processor.infer`` ▶ ``processor.finish`` ▶ sinks.

::

    Run(feed, processor, sinks).run(schedule)

* **feed** (:mod:`vidmatte.runtime.feeds`): ``take(run)`` returns the next batch (a list of
  :class:`~vidmatte.frame.Frame`), :data:`SKIP` (nothing new yet: ask again) or ``None`` (the
  end). Files give every frame (:class:`~vidmatte.runtime.feeds.FrameFeed`), cameras only the
  newest (:class:`~vidmatte.runtime.feeds.LiveFeed`): that is the source's property, not the loop's.
* **processor**: :meth:`~vidmatte.runtime.processor.Processor.infer` (the model) and
  :meth:`~vidmatte.runtime.processor.Processor.finish` (refine, smooth, composite, output
  format); :meth:`~vidmatte.runtime.processor.Processor.flush` gives what a look-ahead
  smoother held back (:class:`~vidmatte.runtime.holdback.HoldBack`) at the end.
* **schedule** (:mod:`vidmatte.runtime.schedules`, one registration each): a small strategy
  that decides *where* the steps run (this thread, side threads, model workers, CUDA
  streams). It calls the five steps of :class:`Run` — :meth:`~Run.take`, :meth:`~Run.infer`,
  :meth:`~Run.finish`, :meth:`~Run.write`, :meth:`~Run.flush` — and never re-implements them.
* **sinks**: ``write(frame)``; ``close()`` at the end (``abort()`` after an error, which
  deletes a partial file). A sink that must not slow a live run drops frames itself.

Statistics are hooks of the core, the same for every schedule: the stage times
(``processor.times``, with ``decode`` and ``encode`` added here) and a ``meter`` called for
each written frame (the offline frame counter and progress bar, the live latency counters).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional, Sequence

__all__ = ["Run", "SKIP"]

#: what a feed's ``take`` returns when there is nothing yet but the run goes on (ask again)
SKIP = object()


class Run:
    """The state one run shares between the threads a schedule uses.

    Args:
        feed: object with ``take(run)`` (see the module docstring).
        processor: the :class:`~vidmatte.runtime.processor.Processor`.
        sinks: objects with ``write(frame)``, ``close()`` and optionally ``abort()`` and a true
            ``stop_requested`` (e.g. the preview window's ``q`` key), which ends the run.
        meter: ``meter(frame, t_write_start, t_written)`` after each frame is in every sink.
        watchers: objects whose ``poll()`` runs before each batch is finished, in frame order
            (e.g. a background reloaded when its file changes: never swapped mid-frame).
    """

    def __init__(self, feed, processor, sinks: Sequence[Any], *, meter: Optional[Callable] = None,
                 watchers: Sequence[Any] = ()):
        self.feed, self.processor, self.sinks = feed, processor, list(sinks)
        self.times = processor.times
        self.meter, self.watchers = meter, list(watchers)
        self.stop_event = threading.Event()
        self.stopped_by: Optional[str] = None
        self.written = 0
        self.last_take_s = 0.0  # seconds the last batch took to read (decode)
        self.policy = ""
        self.errors: list[BaseException] = []
        self._flushed = False

    # -- the five steps ----------------------------------------------------------------------
    def take(self):
        """The next batch, :data:`SKIP` or ``None`` (the end, or the run was stopped)."""
        if self.stop_event.is_set():
            return None
        t0 = time.perf_counter()
        batch = self.feed.take(self)
        if batch is not None and batch is not SKIP:
            self.last_take_s = time.perf_counter() - t0
            self.times.add("decode", self.last_take_s)
        return batch

    def infer(self, batch: list):
        """The model's half of ``batch`` (what :meth:`finish` takes)."""
        return self.processor.infer(batch)

    def finish(self, batch: list, inferred) -> list:
        """The finished frames of ``batch`` (fewer, or none, while a look-ahead smoother waits)."""
        for w in self.watchers:
            w.poll()
        return self.processor.finish(batch, *inferred)

    def write(self, frames: list) -> None:
        """Write finished frames in order to every sink (one thread at a time)."""
        for frame in frames:
            t0 = time.perf_counter()
            for sink in self.sinks:
                sink.write(frame)
            t1 = time.perf_counter()
            self.times.add("encode", t1 - t0)
            self.written += 1
            if self.meter is not None:
                self.meter(frame, t0, t1)
            if any(getattr(s, "stop_requested", False) for s in self.sinks):
                self.stop("window closed")

    def flush(self) -> list:
        """The frames the processor held back, finished (once, after the last batch)."""
        return list(self.processor.flush()) if self.claim_flush() else []

    def claim_flush(self) -> bool:
        """``True`` the first time only: the caller flushes the processor (a schedule that
        flushes on its own path, e.g. CUDA streams, claims it so :meth:`run` does not)."""
        first, self._flushed = not self._flushed, True
        return first

    # -- stopping and failing ------------------------------------------------------------------
    def stop(self, reason: str) -> None:
        """End the run after the frames in hand (thread- and signal-safe); the first reason stays."""
        if not self.stop_event.is_set():
            self.stopped_by = reason
            self.stop_event.set()

    def fail(self, exc: BaseException) -> None:
        """A stage failed: remember the first error and stop the others."""
        self.errors.append(exc)
        self.stop_event.set()

    def raise_errors(self) -> None:
        if self.errors:
            raise self.errors[0]

    # -- driving --------------------------------------------------------------------------------
    def run(self, schedule: str = "auto", **options) -> str:
        """Run ``schedule`` (a name in :data:`vidmatte.runtime.schedules.SCHEDULES`) to the end of
        the feed, then write the held-back frames. Returns what ran, and why (:attr:`policy`).
        Sinks are not closed here: the caller closes (or aborts) them."""
        from vidmatte.runtime.schedules import get_schedule
        from vidmatte.runtime.tuning import tune_allocator

        tune_allocator()
        policy = get_schedule(schedule)(self, **options)
        self.policy = policy or schedule
        self.raise_errors()
        self.write(self.flush())
        return self.policy

    def finish_sinks(self, failed: bool) -> None:
        """Close every sink (timed as ``encode``), or abort them after a failure; the first
        error of a close is raised after all were tried."""
        errors = []
        t0 = time.perf_counter()
        for sink in self.sinks:
            try:
                (getattr(sink, "abort", sink.close) if failed else sink.close)()
            except Exception as exc:  # noqa: BLE001 - keep releasing the others
                errors.append(exc)
        if not failed:
            self.times.add("encode", time.perf_counter() - t0)
        if errors and not failed:
            raise errors[0]
