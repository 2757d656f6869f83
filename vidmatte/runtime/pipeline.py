"""The offline pipeline: decode ▶ process ▶ encode, on the cores the way the work wants it.

``policy`` (:attr:`PipelineStats.policy` says what ran and why):

* ``auto`` (default): on CUDA the stream schedule below; on a CPU
  :class:`~vidmatte.runtime.schedule.AdaptiveRun` times the first frames and then runs
  inline, overlapped (the model keeps the cores, finishing and encoding take what is left),
  frame-parallel (two model calls at once, each worker finishing its frame in turn) or with
  one thread per stage, falling back to inline if overlapping or frames stop paying;
* ``inline`` / ``overlap`` / ``frames``: that CPU schedule after the same calibration
  (``frames``: two frames in the model at once, :mod:`vidmatte.runtime.parallel`);
* ``threads``: one thread per stage from the start::

    source ─(decode thread)─▶ q_in ─(this thread: model)─▶ q_mid ─(compose thread: smoothing,
          compositing, output format)─▶ q_out ─(encode thread)─▶ sink

On CUDA the model and compose stages are one stage whose work is queued on CUDA streams
(:class:`vidmatte.runtime.cuda.CudaStreamer`), with decode and encode threads around it.

Queues are bounded (:class:`~vidmatte.runtime.queues.StopQueue`), so memory stays flat on
long videos, and offline nothing is ever dropped: a full queue blocks its producer. An
error in any stage stops the others; the sink is then aborted, which deletes its
temporary file. A processor with a ``flush()`` (look-ahead smoothing) gives its held-back
frames after the last batch.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from typing import Iterable, Optional

from vidmatte.frame import Frame
from vidmatte.runtime.processor import Processor
from vidmatte.runtime.queues import END, StopQueue, Stopped
from vidmatte.runtime.schedule import AdaptiveRun
from vidmatte.runtime.stats import PipelineStats, StageTimes
from vidmatte.runtime.tuning import tune_allocator

__all__ = ["Pipeline", "PipelineStats", "POLICIES"]

POLICIES = ("auto", "inline", "overlap", "frames", "threads")


class _Batches:
    """Batches of up to ``size`` frames from ``source``; decoding is timed (``last_decode_s``)."""

    def __init__(self, source: Iterable[Frame], size: int, times: StageTimes):
        self.it, self.size, self.times = iter(source), size, times
        self.last_decode_s = 0.0
        self.done = False

    def __iter__(self) -> "_Batches":
        return self

    def __next__(self) -> list:
        if self.done:
            raise StopIteration
        t0 = time.perf_counter()
        batch = []
        for frame in self.it:
            batch.append(frame)
            if len(batch) == self.size:
                break
        else:
            self.done = True
        self.last_decode_s = time.perf_counter() - t0
        self.times.add("decode", self.last_decode_s)
        if not batch:
            raise StopIteration
        return batch


class Pipeline:
    """Runs ``source → processor → sink``.

    Args:
        source: iterable of :class:`Frame` (a ``VideoSource``, image sequence, …).
        processor: the :class:`Processor` (its ``times`` collect per-stage timings); its
            ``format`` must be one the sink ``accepts``.
        sink: object with ``write(frame)``, ``close()`` and ``abort()``.
        batch_size: frames per model call (offline files may batch; live uses 1).
        queue_size: bound of the decode and encode queues, in frames.
        progress: show a tqdm bar (``None``: only when stderr is a terminal), or a callable
            ``progress(frames_done)`` called after each frame.
        total: expected frame count for the progress bar.
        policy: one of :data:`POLICIES` (see the module docstring).
    """

    def __init__(self, source: Iterable[Frame], processor: Processor, sink, *, batch_size: int = 1,
                 queue_size: int = 8, progress=None, total: Optional[int] = None, policy: str = "auto"):
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        accepts = getattr(sink, "accepts", None)
        if accepts is not None and processor.format not in accepts:
            raise ValueError(f"the sink takes {', '.join(accepts)} frames, the processor makes {processor.format}")
        self.source, self.processor, self.sink = source, processor, sink
        self.batch_size, self.queue_size, self.policy = batch_size, queue_size, policy
        self._stop = threading.Event()
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.total = total
        self._errors: list[BaseException] = []
        self._bar = None
        self._flushed = False
        self.stats = PipelineStats(times=processor.times)

    # -- writing -------------------------------------------------------------------------
    def _emit(self, frames: list) -> None:
        """Write finished frames in order (one thread at a time), counting and timing them."""
        for frame in frames:
            t0 = time.perf_counter()
            self.sink.write(frame)
            self.stats.times.add("encode", time.perf_counter() - t0)
            self.stats.frames += 1
            if callable(self._bar):
                self._bar(self.stats.frames)
            elif self._bar is not None:
                self._bar.update(1)

    def _flush(self) -> list:
        """The processor's held-back frames at the end of the stream (once)."""
        flush = getattr(self.processor, "flush", None)
        if self._flushed or not callable(flush):
            return []
        self._flushed = True
        return list(flush())

    def _make_bar(self):
        if callable(self.progress):
            return self.progress
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(total=self.total, unit="frame", dynamic_ncols=True, smoothing=0.1)

    # -- driver --------------------------------------------------------------------------
    def run(self) -> PipelineStats:
        """Process everything; returns stats. Raises the first stage error (sink aborted)."""
        tune_allocator()
        t_start = time.perf_counter()
        self._bar = self._make_bar()
        batches = _Batches(self.source, self.batch_size, self.stats.times)
        try:
            if self.processor.device.type == "cuda":
                self.stats.policy = "decode | model on CUDA streams | encode threads"
                self._run_threads(batches, cuda=True)
            elif self.policy == "threads":
                self.stats.policy = "threads (asked for): decode | model | compose | encode"
                self._run_threads(batches)
            else:
                run = AdaptiveRun(batches, self.processor, self._emit, self._run_threads,
                                  force=None if self.policy == "auto" else self.policy)
                run.run()
                self.stats.policy = run.policy
                self._emit(self._flush())
            t0 = time.perf_counter()
            self.sink.close()
            self.stats.times.add("encode", time.perf_counter() - t0)
        except BaseException:
            self._stop.set()
            self.sink.abort()
            raise
        finally:
            self._stop.set()
            if self._bar is not None and not callable(self._bar):
                self._bar.close()
            self.stats.wall_s = time.perf_counter() - t_start
        return self.stats

    # -- one thread per stage (and the CUDA schedule) -------------------------------------
    def _run_threads(self, batches: _Batches, cuda: bool = False) -> None:
        """Decode, (compose,) and encode threads around the model loop on this thread."""
        q_in = StopQueue(max(2, self.queue_size // self.batch_size), self._stop)
        q_mid = StopQueue(2, self._stop)
        q_out = StopQueue(max(self.queue_size, self.batch_size), self._stop)

        def decode() -> None:
            for batch in batches:
                q_in.put_or_stop(batch)
            q_in.put_or_stop(END)

        def compose() -> None:
            while (item := q_mid.get_or_stop()) is not END:
                for out in self.processor.finish(*item):
                    q_out.put_or_stop(out)
            for out in self._flush():
                q_out.put_or_stop(out)
            q_out.put_or_stop(END)

        def encode() -> None:
            while (frame := q_out.get_or_stop()) is not END:
                self._emit([frame])

        bodies = [decode, encode] + ([] if cuda else [compose])
        threads = [threading.Thread(target=self._stage, args=(b,), name=f"vidmatte-{b.__name__}", daemon=True)
                   for b in bodies]
        for th in threads:
            th.start()
        try:
            self._stage(lambda: self._model_loop(q_in, q_mid, q_out, cuda))
            threads[1].join()  # the encoder drains q_out, then ends
            if self._errors:
                raise self._errors[0]
        except BaseException:
            self._stop.set()
            raise
        finally:
            for th in threads:
                th.join(timeout=5)

    def _stage(self, body) -> None:
        """Run one stage body; errors stop the others and go to the driver."""
        try:
            body()
        except Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self._errors.append(exc)
            self._stop.set()

    def _model_loop(self, q_in: StopQueue, q_mid: StopQueue, q_out: StopQueue, cuda: bool) -> None:
        if not cuda:
            while (batch := q_in.get_or_stop()) is not END:
                q_mid.put_or_stop((batch, *self.processor.infer(batch)))
            q_mid.put_or_stop(END)
            return
        from vidmatte.runtime.cuda import CudaStreamer

        streamer = CudaStreamer(self.processor)
        inflight: deque = deque()
        while (batch := q_in.get_or_stop()) is not END:
            inflight.append(streamer.submit(batch))
            if len(inflight) >= 2:
                for out in inflight.popleft().result():
                    q_out.put_or_stop(out)
        inflight.append(streamer.flush())  # what a look-ahead smoother held back
        self._flushed = True
        while inflight:
            for out in inflight.popleft().result():
                q_out.put_or_stop(out)
        q_out.put_or_stop(END)
