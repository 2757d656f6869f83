"""The encoder on its own thread: a sink wrapper that queues frames and encodes behind the caller.

On a GPU without NVENC (H100, H200) libx264 at 1080p took 14.5 ms a frame on the loop's
thread, as long as the model itself. :class:`ThreadedSink` moves ``write`` to one worker
thread, so the loop only hands frames over; the encoder then runs while the loop waits on
the GPU or the decoder (waits that leave the GIL free; x264's own threads never need it)::

    with ThreadedSink(VideoSink(path, width=w, height=h, fps=fps, threads=encoder_threads(w, h))) as sink:
        for frame in frames:
            sink.write(frame)          # enqueues; blocks only while `depth` frames wait

Contract (as a plain sink's, see :class:`vidmatte.io.registry.Sink`):

* order is kept (one worker, FIFO);
* an encoder error surfaces as the same exception on the next :meth:`write` or on
  :meth:`close`, and the partial output is deleted (the inner sink is aborted);
* :meth:`abort` (or an exception inside ``with``) drops what is queued, stops the worker and
  deletes the partial output; :meth:`close` encodes what is queued, then closes the inner
  sink and returns what it returns;
* a frame handed to :meth:`write` belongs to the sink until it is encoded: do not modify its
  image afterwards (the loop's frames are fresh host copies, so this costs no copy).

``encode_fps`` is the encoder's own rate (frames over the seconds the worker spent in the
inner ``write``), what ``vidmatte bench gpu`` reports beside the model's.

:func:`encoder_threads` picks x264's thread count for a frame size: x264's default (1.5 x
cores) gives a 1080p encode up to 24 frame threads on a 16-core box, each holding a frame of
latency and competing with the decoder and the loop. A frame thread can only search motion
in the rows its reference frame's thread has finished, so past about a quarter of the
macroblock rows more threads mostly wait: threads are capped at ``mb_rows / 4`` and at the
cores left after ``reserve`` (decoder, loop thread). Not measured on a GPU box yet (docs/gpu.md).
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Optional

from vidmatte.io.atomic import AtomicSink

__all__ = ["ThreadedSink", "encoder_threads"]

_STOP = object()


def encoder_threads(width: int, height: int, cores: Optional[int] = None, reserve: int = 2) -> int:
    """x264 threads for a ``width x height`` encode on ``cores`` CPUs (default: this process's),
    leaving ``reserve`` for the decoder and the loop: ``clip(min(cores - reserve, ceil(H/16)/4), 1, 16)``.

    1080p (68 rows) on 16 cores: min(14, 17) = 14; 720p on 8: 6; 360p (23 rows) on 16: 5; tiny: 1."""
    if cores is None:
        from vidmatte.runtime.threads import cpu_cores

        cores = cpu_cores()
    del width  # x264's frame threads are bounded by rows; width only changes the work per row
    mb_rows = -(-int(height) // 16)
    return int(max(1, min(cores - reserve, mb_rows // 4, 16)))


class ThreadedSink(AtomicSink):
    """Runs ``sink.write`` on a worker thread behind a bounded queue (module docstring).

    Args:
        sink: any sink (``write``, ``close``, ``abort``, optional ``accepts``).
        depth: frames that may wait for the encoder before :meth:`write` blocks.
        name: the worker thread's name.

    Other attributes (``encoder``, ``path``, ``frames``, ...) are the inner sink's.
    """

    def __init__(self, sink: Any, *, depth: int = 8, name: str = "vidmatte-encode"):
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.sink = sink
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._error: Optional[BaseException] = None
        self._dead = threading.Event()  # the worker has stopped taking frames
        self._closed = False
        self._aborted = False
        self._committed = False  # the inner sink closed cleanly: abort() then does nothing
        self._result: Any = None
        self.encode_s = 0.0
        self.encoded = 0
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    # -- the inner sink's face -------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name == "sink":  # not set yet (failed __init__): no recursion
            raise AttributeError(name)
        return getattr(self.sink, name)

    @property
    def encode_fps(self) -> float:
        """Frames per second of the inner ``write`` alone (0 before the first frame)."""
        return self.encoded / self.encode_s if self.encode_s > 0 else 0.0

    # -- worker --------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            frame = self._q.get()
            if frame is _STOP:
                break
            try:
                t0 = time.perf_counter()
                self.sink.write(frame)
                self.encode_s += time.perf_counter() - t0
                self.encoded += 1
            except BaseException as e:  # handed to the caller's next write/close
                self._error = e
                break
        self._dead.set()
        # nothing is taken after this: a writer blocked on a full queue is woken by its timeout

    def _raise(self) -> None:
        """Re-raise the worker's error (every time); the first time, delete the partial output."""
        err = self._error
        if err is not None:
            if not self._aborted:
                self._closed = True
                self._thread.join()
                self._drain()
                self._abort_inner()
            raise err

    def _put(self, item: Any) -> None:
        while True:
            if self._dead.is_set():
                return
            try:
                self._q.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    # -- sink API --------------------------------------------------------------------------
    def write(self, frame: Any) -> None:
        """Queue ``frame`` for encoding; raises the encoder's error if an earlier frame failed."""
        self._raise()
        if self._closed:
            raise RuntimeError("write() on a closed ThreadedSink")
        self._put(frame)
        if self._dead.is_set():
            self._raise()

    def close(self) -> Any:
        """Encode what is queued, close the inner sink and return its result; raises the
        encoder's error (the partial output deleted) if a frame failed."""
        self._raise()
        if self._closed:
            return self._result
        self._put(_STOP)
        self._thread.join()
        self._raise()
        self._closed = True
        try:
            self._result = self.sink.close()
            self._committed = True
        except BaseException:
            self._abort_inner()
            raise
        return self._result

    def abort(self) -> None:
        """Drop the queued frames, stop the worker and delete the partial output (idempotent)."""
        if self._committed or self._aborted:
            return
        self._closed = True
        self._drain()
        self._put(_STOP)
        self._thread.join()
        self._abort_inner()

    def _drain(self) -> None:
        while True:
            try:
                self._q.get_nowait()
            except queue.Empty:
                return

    def _abort_inner(self) -> None:
        self._aborted = True
        abort = getattr(self.sink, "abort", None)
        if callable(abort):
            abort()
