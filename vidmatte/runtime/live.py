"""The live loop: newest frame → process → every sink, with latency statistics.

Policy: never queue more than one frame ahead. The source's reader thread keeps only the
newest frame (older unread ones are dropped and counted), so when the model is slower than
the camera, latency stays near one capture interval plus one processing time instead of
growing. Ctrl-C and SIGTERM stop the loop between frames; the camera and virtual camera
are released and recordings are finalised (the video up to then is valid).

``workers=2`` (a CPU with a model that keeps no state between calls): two frames in the
model at once, each on half the threads, as the offline ``frames`` schedule does
(:mod:`vidmatte.runtime.parallel`). Each worker takes the newest frame, runs the model,
then in its turn (frames leave in capture order) finishes it, writes it to every sink and
polls the watchers. The model's throughput rises by a quarter on 2 cores and finishing
overlaps the other frame's model call; a frame's own model call takes longer (one thread).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any, Callable, Optional, Sequence

from vidmatte.errors import DeviceError, VidmatteError
from vidmatte.runtime.stats import LiveStats
from vidmatte.runtime.tuning import tune_allocator

__all__ = ["LiveRunner"]


class LiveRunner:
    """Runs ``source → process → sinks`` until a limit, the source's end or :meth:`stop`.

    Args:
        source: a :class:`vidmatte.io.capture.LiveSource` (``read``, ``ended``, counters, ``close``).
        process: ``Frame → Frame`` callable, or an object with ``process([Frame]) -> [Frame]``.
        sinks: objects with ``write(frame)`` and ``close()`` (``abort()`` used on errors; a
            true ``stop_requested`` attribute, e.g. the preview's ``q`` key, ends the run).
        frames, duration: stop after this many output frames / seconds.
        stats_interval, on_stats: call ``on_stats(stats)`` every ``stats_interval`` seconds.
        watchers: objects whose ``poll()`` runs once per loop (e.g. :class:`BackgroundWatcher`).
        stall_timeout: seconds without any frame from a source that has not ended → DeviceError.
        workers: frames in flight at once (module docstring); above 1 ``process`` must be a
            :class:`~vidmatte.runtime.processor.Processor` (it is split into model and finishing).
    """

    def __init__(self, source, process, sinks: Sequence[Any], *, frames: Optional[int] = None,
                 duration: Optional[float] = None, stats_interval: Optional[float] = None,
                 on_stats: Optional[Callable[[LiveStats], None]] = None, watchers: Sequence[Any] = (),
                 stall_timeout: float = 10.0, workers: int = 1):
        if workers < 1:
            raise ValueError("workers must be >= 1")
        if workers > 1 and not (callable(getattr(process, "infer", None)) and callable(getattr(process, "finish", None))):
            raise ValueError("workers > 1 needs a Processor (its infer and finish run apart)")
        self.source, self.sinks, self.watchers = source, list(sinks), list(watchers)
        self.processor, self.workers = process, workers
        self._process = (lambda f: process.process([f])[0]) if hasattr(process, "process") else process
        self.frames, self.duration, self.stall_timeout = frames, duration, stall_timeout
        self.stats_interval, self.on_stats = stats_interval, on_stats
        self.stats = LiveStats()
        self._stop = threading.Event()

    def stop(self, reason: str = "stop()") -> None:
        """Ask the loop to end after the current frame (thread- and signal-safe)."""
        if not self._stop.is_set():
            self.stats.stopped_by = reason
            self._stop.set()

    def _on_signal(self, signum, _frame) -> None:
        self.stop(signal.Signals(signum).name)
        if signum == signal.SIGINT:  # a second Ctrl-C interrupts for real
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def run(self) -> LiveStats:
        """Run the loop; returns the stats (``stopped_by`` says why it ended)."""
        tune_allocator()
        saved = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                saved[sig] = signal.signal(sig, self._on_signal)
        failed, st, t0 = False, self.stats, time.perf_counter()
        self._t0, self._t_first, self._last_frame = t0, None, t0
        self._next_report = t0 + (self.stats_interval or float("inf"))
        try:
            if self.workers > 1:
                self._run_workers()
            else:
                while not self._stop.is_set():
                    self._check_limits(st.processed)
                    for w in self.watchers:
                        w.poll()
                    frame = self._read()
                    if frame is None:
                        continue
                    t_take = time.perf_counter()
                    self._deliver(frame, self._process(frame), t_take)
        except KeyboardInterrupt:
            self.stop("SIGINT")
        except BaseException:
            failed = True
            raise
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
            self._shutdown(failed)
            self._fill(st, self._t_first)
        return st

    # -- one frame: limits, reading, delivering (shared by both loops) -------------------------
    def _check_limits(self, started: int) -> None:
        if self.frames is not None and started >= self.frames:
            self.stop("frames")
        elif self.duration is not None and time.perf_counter() - self._t0 >= self.duration:
            self.stop("duration")

    def _read(self):
        """The newest frame, or ``None`` (waited 0.1 s; the end of the source stops the run)."""
        frame = None if self._stop.is_set() else self.source.read(timeout=0.1)
        now = time.perf_counter()
        if frame is None:
            if self.source.ended:
                self.stop(getattr(self.source, "end_reason", None) or "end of source")
            elif now - self._last_frame > self.stall_timeout:
                raise DeviceError(f"the source delivered no frame for {self.stall_timeout:g} s; "
                                  "check the camera or stream")
            return None
        self._last_frame = now
        return frame

    def _deliver(self, frame, out, t_take: float) -> None:
        """Write ``out`` to every sink and count it (one frame at a time, in capture order)."""
        st, t_cap = self.stats, frame.meta.get("t_capture", t_take)
        self._t_first = t_cap if self._t_first is None else self._t_first
        t_proc = time.perf_counter()
        for sink in self.sinks:
            sink.write(out)
        t_sink = time.perf_counter()
        st.processed += 1
        st.process_ms.append(1000.0 * (t_proc - t_take))
        st.latency_ms.append(1000.0 * (t_sink - t_cap))
        if any(getattr(s, "stop_requested", False) for s in self.sinks):
            self.stop("window closed")
        if t_sink >= self._next_report and self.on_stats is not None:
            self._next_report = t_sink + self.stats_interval
            self._fill(st, self._t_first)
            self.on_stats(st)

    # -- two (or more) frames in flight ----------------------------------------------------------
    def _run_workers(self) -> None:
        from vidmatte.runtime.parallel import SKIP, TurnWorkers
        from vidmatte.runtime.schedule import model_threads

        proc = self.processor

        def take():
            if self._stop.is_set():
                return None
            self._check_limits(turns.taken)
            frame = self._read()
            if frame is None:
                return None if self._stop.is_set() else SKIP
            return frame, time.perf_counter()

        def finish(item, inferred) -> None:
            for w in self.watchers:  # in the turn: a new background never swaps mid-frame
                w.poll()
            frame, t_take = item
            self._deliver(frame, proc.finish([frame], *inferred)[0], t_take)

        turns = TurnWorkers(take, lambda item: proc.infer([item[0]]), finish, workers=self.workers,
                            name="vidmatte-live")
        turns.run(max(1, model_threads(proc.matter) // self.workers), proc.matter)  # signal handlers run meanwhile

    def _fill(self, st: LiveStats, t_first: Optional[float]) -> None:
        st.captured = int(getattr(self.source, "frames_decoded", st.processed))
        st.dropped = int(getattr(self.source, "frames_dropped", 0))
        st.wall_s = time.perf_counter() - t_first if t_first is not None else 0.0

    def _shutdown(self, failed: bool) -> None:
        """Release everything; abort sinks only after a failure, finalise them otherwise."""
        errors = []
        for closer in [self.source.close] + [getattr(s, "abort", s.close) if failed else s.close for s in self.sinks]:
            try:
                closer()
            except Exception as exc:  # keep releasing the others
                errors.append(exc)
        if errors and not failed:
            raise errors[0]
