"""The threads of a :class:`~vidmatte.io.stream.StreamSink`: the live sender (newest frame
only, reconnects with backoff) and the watchdog that cuts a write making no progress."""

from __future__ import annotations

import contextlib
import time

import numpy as np

import av

from vidmatte.errors import OutputError, warn
from vidmatte.io.stream_conn import Connection
from vidmatte.io.stream_net import _failure, _shutdown_sockets, redact, srt_probe

__all__ = ["LiveSending", "BACKOFF_S"]

BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)


class LiveSending:
    """Mixed into :class:`~vidmatte.io.stream.StreamSink`: its sender and watchdog threads."""

    # -- the watchdog (every sink) ----------------------------------------------------------------
    def _watch(self) -> None:
        """Cut a connection whose send makes no progress for ``stall_timeout`` s (a link that
        went silent without a reset: FFmpeg's writes through ``avio_open`` have no timeout), so
        the blocked write fails: a file job stops with one line, a live one reconnects."""
        while not (self._closed and self._conn is None and self._watched is None):
            time.sleep(0.25)
            watched = self._watched
            if watched is None or time.monotonic() - watched[0] < self.stall_timeout:
                continue
            self._stalled = True
            relay = watched[1].relay
            if relay is not None:
                relay.proc.kill()
            else:
                _shutdown_sockets(self._peers)
            while self._watched is watched:  # wait for that write to fail
                time.sleep(0.05)

    @contextlib.contextmanager
    def _guard(self, conn):
        watched = (time.monotonic(), conn)
        self._watched = watched
        try:
            yield
        finally:
            if self._watched is watched:
                self._watched = None

    # -- the live sender ----------------------------------------------------------------------------
    def _sender(self) -> None:
        try:
            while True:
                with self._cv:
                    while self._slot is None and not self._closed:
                        self._cv.wait()
                    if self._slot is None:
                        return
                    (vf, t_cap), self._slot = self._slot, None
                    self._busy = True
                try:
                    if self._conn is None:
                        self._reconnect()
                        continue
                    self._send(vf, t_cap)
                except (av.error.FFmpegError, OSError) as e:
                    reason = self._conn.relay.reason() if self._conn and self._conn.relay else _failure(e)
                    if self._stalled:
                        reason, self._stalled = f"no progress for {self.stall_timeout:g} s", False
                    self._drop_connection()
                    with self._cv:
                        self._down_since = time.perf_counter()
                    warn(f"the stream to {redact(self.url)} broke ({reason}); reconnecting, frames are dropped meanwhile")
                    self._reconnect()
                finally:
                    with self._cv:
                        self._busy = False
                        self._cv.notify_all()
        except BaseException as e:  # noqa: BLE001 - handed to the caller's next write()
            self._error = e

    def _reconnect(self) -> None:
        """Try again with backoff until connected or closed."""
        tries, dropped0, t0 = 0, self.dropped, time.perf_counter()
        while not self._closed:
            delay = BACKOFF_S[min(tries, len(BACKOFF_S) - 1)]
            with self._cv:
                self._cv.wait_for(lambda: self._closed, timeout=delay)
            if self._closed:
                return
            tries += 1
            if self.scheme == "srt":
                try:
                    srt_probe(self.url, timeout=1.0)
                except OutputError:
                    continue
            try:
                self._conn = Connection(self)
            except (av.error.FFmpegError, OSError):
                continue
            self.reconnects += 1
            with self._cv:
                self._down_since, self._slot = None, None
            warn(f"the stream to {redact(self.url)} is back after {time.perf_counter() - t0:.1f} s "
                 f"({tries} tries, {self.dropped - dropped0} frames dropped meanwhile)")
            return

    def _stop_thread(self) -> None:
        if not self.live:
            return
        with self._cv:  # let the last frame go out
            self._cv.wait_for(lambda: (self._slot is None and not self._busy) or self._down_since is not None
                              or self._error is not None, timeout=5.0)
            self._closed = True
            self._cv.notify_all()
        self._thread.join(timeout=10)

    # -- shared ------------------------------------------------------------------------------------
    def summary(self) -> str:
        """One line: frames sent / dropped at the sink, reconnects, network write and on-air latency."""
        def q(values, p):
            return float(np.percentile(list(values), p)) if values else float("nan")

        line = (f"stream {redact(self.url)}: {self.sent} of {self.frames} frames sent, {self.dropped} dropped at the "
                f"sink, {self.reconnects} reconnects; write ms p50 {q(self.write_ms, 50):.1f} "
                f"p95 {q(self.write_ms, 95):.1f}")
        if self.latency_ms:
            line += f"; capture-to-sent ms p50 {q(self.latency_ms, 50):.1f} p95 {q(self.latency_ms, 95):.1f}"
        return line

    def _drop_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                with self._guard(conn):
                    conn.close(failed=True)
            except Exception:
                pass
