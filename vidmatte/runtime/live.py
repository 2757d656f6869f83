"""The live loop: newest frame → process → every sink, with latency statistics.

Policy: never queue more than one frame ahead. The source's reader thread keeps only the
newest frame (older unread ones are dropped and counted), so when the model is slower than
the camera, latency stays near one capture interval plus one processing time instead of
growing. Ctrl-C and SIGTERM stop the loop between frames; the camera and virtual camera
are released and recordings are finalised (the video up to then is valid).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Optional, Sequence

import numpy as np

from vidmatte.errors import DeviceError, VidmatteError
from vidmatte.frame import Frame
from vidmatte.matting import as_batch

__all__ = ["LiveRunner", "LiveStats", "BackgroundWatcher", "ReuseAlpha", "RetimedSink"]


@dataclass
class LiveStats:
    """Counters of one live run; latency is sink time minus capture time, per frame."""

    captured: int = 0
    dropped: int = 0
    processed: int = 0
    wall_s: float = 0.0
    latency_ms: list = field(default_factory=list)
    process_ms: list = field(default_factory=list)
    stopped_by: Optional[str] = None

    @property
    def fps_in(self) -> float:
        return self.captured / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def fps_out(self) -> float:
        return self.processed / self.wall_s if self.wall_s > 0 else 0.0

    def latency(self, q: float) -> float:
        """``q``-th percentile (0..100) of the latency in ms (NaN before the first frame)."""
        return float(np.percentile(self.latency_ms, q)) if self.latency_ms else float("nan")

    def summary(self) -> str:
        proc = float(np.median(self.process_ms)) if self.process_ms else float("nan")
        lat_max = max(self.latency_ms) if self.latency_ms else float("nan")
        return (f"{self.processed} frames out ({self.fps_out:.1f} fps) of {self.captured} captured "
                f"({self.fps_in:.1f} fps), {self.dropped} dropped; latency ms p50 {self.latency(50):.1f} "
                f"p95 {self.latency(95):.1f} max {lat_max:.1f}; process ms p50 {proc:.1f}")


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
    """

    def __init__(self, source, process, sinks: Sequence[Any], *, frames: Optional[int] = None,
                 duration: Optional[float] = None, stats_interval: Optional[float] = None,
                 on_stats: Optional[Callable[[LiveStats], None]] = None, watchers: Sequence[Any] = (),
                 stall_timeout: float = 10.0):
        self.source, self.sinks, self.watchers = source, list(sinks), list(watchers)
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
        saved = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                saved[sig] = signal.signal(sig, self._on_signal)
        failed, st, t0 = False, self.stats, time.perf_counter()
        t_first, next_report = None, t0 + (self.stats_interval or float("inf"))
        try:
            last_frame = t0
            while not self._stop.is_set():
                if self.frames is not None and st.processed >= self.frames:
                    self.stop("frames")
                elif self.duration is not None and time.perf_counter() - t0 >= self.duration:
                    self.stop("duration")
                for w in self.watchers:
                    w.poll()
                frame = None if self._stop.is_set() else self.source.read(timeout=0.1)
                now = time.perf_counter()
                if frame is None:
                    if self.source.ended:
                        self.stop(getattr(self.source, "end_reason", None) or "end of source")
                    elif now - last_frame > self.stall_timeout:
                        raise DeviceError(f"the source delivered no frame for {self.stall_timeout:g} s; "
                                          "check the camera or stream")
                    continue
                last_frame, t_cap = now, frame.meta.get("t_capture", now)
                t_first = t_cap if t_first is None else t_first
                out = self._process(frame)
                t_proc = time.perf_counter()
                for sink in self.sinks:
                    sink.write(out)
                t_sink = time.perf_counter()
                st.processed += 1
                st.process_ms.append(1000.0 * (t_proc - now))
                st.latency_ms.append(1000.0 * (t_sink - t_cap))
                if any(getattr(s, "stop_requested", False) for s in self.sinks):
                    self.stop("window closed")
                if t_sink >= next_report and self.on_stats is not None:
                    next_report = t_sink + self.stats_interval
                    self._fill(st, t_first)
                    self.on_stats(st)
        except KeyboardInterrupt:
            self.stop("SIGINT")
        except BaseException:
            failed = True
            raise
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
            self._shutdown(failed)
            self._fill(st, t_first)
        return st

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


class BackgroundWatcher:
    """Re-reads a background file when it changes on disk and hands it to ``apply``.

    ``poll()`` is cheap (one ``stat`` at most every ``interval`` s). A file that fails to load
    (e.g. half-written) keeps the current background; the error goes to ``on_error`` once.
    """

    def __init__(self, path: str, apply: Callable[[Any], None], *, load: Optional[Callable[[str], Any]] = None,
                 interval: float = 0.5, on_error: Optional[Callable[[Exception], None]] = None):
        self.path, self.apply, self.interval = str(path), apply, float(interval)
        self.load = load or _parse_background
        self.on_error = on_error or (lambda exc: print(f"vidmatte: background not reloaded: {exc}", file=sys.stderr))
        self.reloads, self._next = 0, 0.0
        self._seen = self._loaded = self._signature()

    def _signature(self):
        try:
            st = os.stat(self.path)
            return st.st_mtime_ns, st.st_size
        except OSError:
            return None

    def poll(self) -> bool:
        """Reload if the file changed since the last successful load; True when it did."""
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.interval
        sig = self._signature()
        if sig is None or sig == self._loaded:
            return False
        try:
            background = self.load(self.path)
        except (VidmatteError, OSError, ValueError) as exc:
            if sig != self._seen:
                self.on_error(exc)
            self._seen = sig
            return False
        self.apply(background)
        self._seen = self._loaded = sig
        self.reloads += 1
        return True


def _parse_background(path: str):
    from vidmatte.compose.backgrounds import parse_background

    return parse_background(path)


class ReuseAlpha:
    """Matter wrapper: when a frame hardly changed, reuse the previous alpha.

    "Hardly changed" is ``mean |x_t - x_prev| < threshold`` on [0, 1] RGB at 1/8 resolution,
    comparing against the last frame the model actually ran on (so slow drift still triggers).
    """

    def __init__(self, matter, threshold: float = 0.01):
        self.matter, self.threshold = matter, float(threshold)
        self.name, self.size = f"{matter.name}+reuse", matter.size
        self.device = getattr(matter, "device", None)
        self.reused = 0
        self._key = self._alpha = None

    def predict(self, images):
        x = as_batch(images, self.device or "cpu")
        key = x[..., ::8, ::8]
        if self._key is not None and key.shape == self._key.shape:
            if float((key - self._key).abs().mean()) < self.threshold:
                self.reused += 1
                return self._alpha
        self._alpha, self._key = self.matter.predict(images), key
        return self._alpha


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
                              alpha=frame.alpha, meta=frame.meta))

    def close(self) -> None:
        self.sink.close()

    def abort(self) -> None:
        getattr(self.sink, "abort", self.sink.close)()
