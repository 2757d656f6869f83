"""The live run: the newest frame ▶ processor ▶ every sink, with latency statistics.

A thin shell over the one loop (:class:`~vidmatte.runtime.core.Run`) with a
:class:`~vidmatte.runtime.feeds.LiveFeed`: never more than one frame queued ahead. The
source's reader thread keeps only the newest frame (older unread ones are dropped and
counted), so when the model is slower than the camera, latency stays near one capture
interval plus one processing time instead of growing. Ctrl-C and SIGTERM stop the run
between frames; the camera and virtual camera are released and recordings are finalised
(the video up to then is valid).

``workers=1`` runs the ``serial`` schedule; ``workers=2`` (a CPU with a model that keeps no
state between calls) the ``frames`` schedule: two frames in the model at once, each on half
the threads, finished and written in capture order.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, Callable, Optional, Sequence

from vidmatte.runtime.core import Run
from vidmatte.runtime.feeds import LiveFeed
from vidmatte.runtime.stats import LiveStats

__all__ = ["LiveRunner"]


class _Process:
    """A plain ``Frame → Frame`` callable as the processor the loop wants."""

    def __init__(self, fn: Callable):
        from vidmatte.runtime.stats import StageTimes

        self.fn, self.times = fn, StageTimes()

    def infer(self, frames):
        return (frames,)

    def finish(self, frames, _same):
        outs = [self.fn(f) for f in frames]
        for f, out in zip(frames, outs):  # the timing the latency counters read travels on
            meta = getattr(out, "meta", None)
            if isinstance(meta, dict) and meta is not f.meta:
                for key in ("t_capture", "t_take"):
                    if key in f.meta:
                        meta.setdefault(key, f.meta[key])
        return outs

    def flush(self):
        return []


class LiveRunner:
    """Runs ``source → process → sinks`` until a limit, the source's end or :meth:`stop`.

    Args:
        source: a :class:`vidmatte.io.capture.LiveSource` (``read``, ``ended``, counters, ``close``).
        process: a :class:`~vidmatte.runtime.processor.Processor`, or a ``Frame → Frame`` callable.
        sinks: objects with ``write(frame)`` and ``close()`` (``abort()`` used on errors; a
            true ``stop_requested`` attribute, e.g. the preview's ``q`` key, ends the run).
        frames, duration: stop after this many frames / seconds.
        stats_interval, on_stats: call ``on_stats(stats)`` every ``stats_interval`` seconds.
        watchers: objects whose ``poll()`` runs before each frame is finished (e.g.
            :class:`~vidmatte.runtime.hotreload.BackgroundWatcher`).
        stall_timeout: seconds without any frame from a source that has not ended → DeviceError.
        workers: frames in flight at once (module docstring); above 1 ``process`` must be a
            :class:`~vidmatte.runtime.processor.Processor`.
    """

    def __init__(self, source, process, sinks: Sequence[Any], *, frames: Optional[int] = None,
                 duration: Optional[float] = None, stats_interval: Optional[float] = None,
                 on_stats: Optional[Callable[[LiveStats], None]] = None, watchers: Sequence[Any] = (),
                 stall_timeout: float = 10.0, workers: int = 1):
        if workers < 1:
            raise ValueError("workers must be >= 1")
        is_processor = callable(getattr(process, "infer", None)) and callable(getattr(process, "finish", None))
        if workers > 1 and not is_processor:
            raise ValueError("workers > 1 needs a Processor (its infer and finish run apart)")
        self.source, self.workers = source, workers
        self.stats_interval, self.on_stats = stats_interval, on_stats
        self.stats = LiveStats()
        self.feed = LiveFeed(source, frames=frames, duration=duration, stall_timeout=stall_timeout)
        if not is_processor:
            process = _Process((lambda f, p=process: p.process([f])[0]) if hasattr(process, "process") else process)
        self.run_ = Run(self.feed, process, sinks, meter=self._meter, watchers=watchers)

    def stop(self, reason: str = "stop()") -> None:
        """Ask the loop to end after the current frame (thread- and signal-safe)."""
        self.run_.stop(reason)

    def _on_signal(self, signum, _frame) -> None:
        self.stop(signal.Signals(signum).name)
        if signum == signal.SIGINT:  # a second Ctrl-C interrupts for real
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def _meter(self, frame, t_write: float, t_sink: float) -> None:
        st = self.stats
        t_cap = frame.meta.get("t_capture", frame.meta.get("t_take", t_write))
        self._t_first = t_cap if self._t_first is None else self._t_first
        st.processed += 1
        st.process_ms.append(1000.0 * (t_write - frame.meta.get("t_take", t_write)))
        st.latency_ms.append(1000.0 * (t_sink - t_cap))
        if t_sink >= self._next_report and self.on_stats is not None:
            self._next_report = t_sink + self.stats_interval
            self._fill()
            self.on_stats(st)

    def run(self) -> LiveStats:
        """Run the loop; returns the stats (``stopped_by`` says why it ended)."""
        saved = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                saved[sig] = signal.signal(sig, self._on_signal)
        failed = False
        self.feed.start_clock()
        self._t_first = None
        self._next_report = time.perf_counter() + (self.stats_interval or float("inf"))
        try:
            self.run_.run("frames" if self.workers > 1 else "serial", workers=self.workers)
        except KeyboardInterrupt:
            self.stop("SIGINT")
        except BaseException:
            failed = True
            raise
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
            self.stats.stopped_by = self.run_.stopped_by
            self._shutdown(failed)
            self._fill()
        return self.stats

    def _fill(self) -> None:
        st = self.stats
        st.captured = int(getattr(self.source, "frames_decoded", st.processed))
        st.dropped = int(getattr(self.source, "frames_dropped", 0))
        st.wall_s = time.perf_counter() - self._t_first if self._t_first is not None else 0.0

    def _shutdown(self, failed: bool) -> None:
        """Release the source, then finalise the sinks (abort them after a failure)."""
        try:
            self.source.close()
        except Exception:  # noqa: BLE001 - the sinks must still be released
            if not failed:
                self.run_.finish_sinks(failed)
                raise
        self.run_.finish_sinks(failed)
