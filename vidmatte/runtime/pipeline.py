"""The offline pipeline: decode ▶ process ▶ encode, overlapped in threads.

::

    source ─(decode thread)─▶ q_in ─(this thread: model)─▶ q_mid ─(compose thread: smoothing,
          compositing, output format)─▶ q_out ─(encode thread)─▶ sink

On CUDA the model and compose stages are one stage whose work is queued on CUDA streams
(:class:`vidmatte.runtime.cuda.CudaStreamer`); on a CPU they are separate threads, so the
compositing of frame t overlaps the model of frame t+1.

The queues are bounded (:class:`~vidmatte.runtime.queues.StopQueue`), so memory stays flat
on long videos, and offline nothing is ever dropped: a full queue blocks its producer. With
a look-ahead smoother the compose stage returns each frame ``processor.delay`` frames late
and hands over the held-back ones (``processor.flush()``) after the last batch.
Torch, PyAV (FFmpeg) and the encoders release the GIL while they work, so the stages really
run at the same time. An error in any stage stops the others; the sink is then aborted,
which deletes its temporary file.
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
from vidmatte.runtime.stats import PipelineStats
from vidmatte.runtime.tuning import tune_allocator

__all__ = ["Pipeline", "PipelineStats"]


class Pipeline:
    """Runs ``source → processor → sink`` with the stages overlapped.

    Args:
        source: iterable of :class:`Frame` (a ``VideoSource``, image sequence, …).
        processor: the :class:`Processor` (its ``times`` collect per-stage timings); its
            ``format`` must be one the sink ``accepts``.
        sink: object with ``write(frame)``, ``close()`` and ``abort()``.
        batch_size: frames per model call (offline files may batch; live uses 1).
        queue_size: bound of each queue, in frames.
        progress: show a tqdm bar (``None``: only when stderr is a terminal), or a callable
            ``progress(frames_done)`` called after each frame.
        total: expected frame count for the progress bar.

    On CUDA the compute stage goes through :class:`vidmatte.runtime.cuda.CudaStreamer`: two
    batches stay in flight, so uploads, the model and downloads overlap on separate streams.
    """

    def __init__(self, source: Iterable[Frame], processor: Processor, sink, *, batch_size: int = 1,
                 queue_size: int = 8, progress=None, total: Optional[int] = None):
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        accepts = getattr(sink, "accepts", None)
        if accepts is not None and processor.format not in accepts:
            raise ValueError(f"the sink takes {', '.join(accepts)} frames, the processor makes {processor.format}")
        self.source, self.processor, self.sink = source, processor, sink
        self.batch_size = batch_size
        self._stop = threading.Event()
        self.q_in = StopQueue(max(queue_size, batch_size), self._stop)
        self.q_mid = StopQueue(2, self._stop)
        self.q_out = StopQueue(max(queue_size, batch_size), self._stop)
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.total = total
        self._errors: list[BaseException] = []
        self.stats = PipelineStats(times=processor.times)

    # -- stage bodies -------------------------------------------------------------------
    def _stage(self, body) -> None:
        """Run one stage body in its thread; errors stop the others and go to the driver."""
        try:
            body()
        except Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self._errors.append(exc)
            self._stop.set()

    def _decode(self) -> None:
        times, it = self.stats.times, iter(self.source)
        while True:
            t0 = time.perf_counter()
            try:
                frame = next(it)
            except StopIteration:
                break
            times.add("decode", time.perf_counter() - t0)
            self.q_in.put_or_stop(frame)
        self.q_in.put_or_stop(END)

    def _compose(self) -> None:
        while (item := self.q_mid.get_or_stop()) is not END:
            for out in self.processor.finish(*item):
                self.q_out.put_or_stop(out)
        for out in self.processor.flush():  # what a look-ahead smoother held back
            self.q_out.put_or_stop(out)
        self.q_out.put_or_stop(END)

    def _encode(self) -> None:
        times, bar = self.stats.times, self._bar()
        try:
            while (frame := self.q_out.get_or_stop()) is not END:
                t0 = time.perf_counter()
                self.sink.write(frame)
                times.add("encode", time.perf_counter() - t0)
                self.stats.frames += 1
                if callable(bar):
                    bar(self.stats.frames)
                elif bar is not None:
                    bar.update(1)
        finally:
            if bar is not None and not callable(bar):
                bar.close()

    def _bar(self):
        if callable(self.progress):
            return self.progress
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(total=self.total, unit="frame", dynamic_ncols=True, smoothing=0.1)

    # -- driver -------------------------------------------------------------------------
    def run(self) -> PipelineStats:
        """Process everything; returns stats. Raises the first stage error (sink aborted)."""
        tune_allocator()
        t_start = time.perf_counter()
        cuda = self.processor.device.type == "cuda"
        bodies = [self._decode, self._encode] + ([] if cuda else [self._compose])
        threads = [threading.Thread(target=self._stage, args=(b,), name=f"vidmatte-{b.__name__[1:]}", daemon=True)
                   for b in bodies]
        self.stats.policy = "decode | model | compose | encode threads" + (" (CUDA streams)" if cuda else "")
        for th in threads:
            th.start()
        try:
            self._stage(self._process_loop)
            threads[1].join()  # the encoder drains q_out, then ends
            if self._errors:
                raise self._errors[0]
            t0 = time.perf_counter()
            self.sink.close()
            self.stats.times.add("encode", time.perf_counter() - t0)
        except BaseException:
            self._stop.set()
            for th in threads:
                th.join(timeout=5)
            self.sink.abort()
            raise
        finally:
            self._stop.set()
            for th in threads:
                th.join(timeout=5)
            self.stats.wall_s = time.perf_counter() - t_start
        return self.stats

    def _process_loop(self) -> None:
        if self.processor.device.type != "cuda":
            for batch in self._batches():
                self.q_mid.put_or_stop((batch, *self.processor.infer(batch)))
            self.q_mid.put_or_stop(END)
            return
        from vidmatte.runtime.cuda import CudaStreamer

        streamer = CudaStreamer(self.processor)
        inflight: deque = deque()
        for batch in self._batches():
            inflight.append(streamer.submit(batch))
            if len(inflight) >= 2:
                for out in inflight.popleft().result():
                    self.q_out.put_or_stop(out)
        inflight.append(streamer.flush())  # what a look-ahead smoother held back
        while inflight:
            for out in inflight.popleft().result():
                self.q_out.put_or_stop(out)
        self.q_out.put_or_stop(END)

    def _batches(self):
        """Batches of up to ``batch_size`` frames, as many as are ready (never waits to fill)."""
        while (item := self.q_in.get_or_stop()) is not END:
            batch = [item]
            while len(batch) < self.batch_size:
                try:
                    item = self.q_in.get_nowait()
                except Exception:  # queue.Empty
                    break
                if item is END:
                    yield batch
                    return
                batch.append(item)
            yield batch
