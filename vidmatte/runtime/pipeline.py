"""The offline pipeline: decode ▶ process ▶ encode, overlapped in threads.

::

    source ─(decode thread)─▶ q_in ─(this thread: model)─▶ q_mid ─(compose thread: smoothing,
          compositing)─▶ q_out ─(encode thread)─▶ sink

On CUDA the model and compose stages are one stage whose work is queued on CUDA streams
(:class:`vidmatte.cuda.CudaStreamer`); on a CPU they are separate threads, so the
compositing of frame t overlaps the model of frame t+1 (the model rarely keeps every core
busy).

The queues are bounded, so memory stays flat on long videos, and offline nothing is ever
dropped: a full queue blocks its producer. Torch, PyAV (FFmpeg) and the encoders release
the GIL while they work, so the three stages really run at the same time. An error in any
stage stops the others; the sink is then aborted, which deletes its temporary file.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Optional

from vidmatte.frame import Frame
from vidmatte.processor import Processor, StageTimes

__all__ = ["Pipeline", "PipelineStats"]

_END = object()


@dataclass
class PipelineStats:
    frames: int = 0
    wall_s: float = 0.0
    times: StageTimes = field(default_factory=StageTimes)

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def summary(self) -> str:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in self.times.per_frame_ms(self.frames).items())
        return f"{self.frames} frames in {self.wall_s:.2f} s ({self.fps:.2f} fps); ms/frame: {stages}"


class _Stop(Exception):
    pass


class Pipeline:
    """Runs ``source → processor → sink`` with the three stages overlapped.

    Args:
        source: iterable of :class:`Frame` (a ``VideoSource``, image sequence, …).
        processor: the :class:`Processor` (its ``times`` collect per-stage timings).
        sink: object with ``write(frame)``, ``close()`` and ``abort()``.
        batch_size: frames per model call (offline files may batch; live uses 1).
        queue_size: bound of each queue, in frames.
        progress: show a tqdm bar (``None``: only when stderr is a terminal).
        total: expected frame count for the progress bar.
        yuv: hand the sink YUV 4:2:0 planes converted on the processor's device instead of
            RGB (the sink must accept :class:`vidmatte.io.yuv.Yuv420`).

    On CUDA the compute stage goes through :class:`vidmatte.cuda.CudaStreamer`: two batches
    stay in flight, so uploads, the model and downloads overlap on separate streams.
    """

    def __init__(
        self,
        source: Iterable[Frame],
        processor: Processor,
        sink,
        *,
        batch_size: int = 1,
        queue_size: int = 8,
        progress: Optional[bool] = None,
        total: Optional[int] = None,
        yuv: bool = False,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.source = source
        self.processor = processor
        self.sink = sink
        self.batch_size = batch_size
        self.q_in: queue.Queue = queue.Queue(maxsize=max(queue_size, batch_size))
        self.q_mid: queue.Queue = queue.Queue(maxsize=2)
        self.q_out: queue.Queue = queue.Queue(maxsize=max(queue_size, batch_size))
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.total = total
        self.yuv = yuv
        self._stop = threading.Event()
        self._errors: list[BaseException] = []
        self.stats = PipelineStats(times=processor.times)

    # -- stage bodies -------------------------------------------------------------------
    def _put(self, q: queue.Queue, item) -> None:
        while True:
            if self._stop.is_set():
                raise _Stop
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _get(self, q: queue.Queue):
        while True:
            if self._stop.is_set():
                raise _Stop
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue

    def _decode(self) -> None:
        times = self.stats.times
        try:
            it = iter(self.source)
            while True:
                t0 = time.perf_counter()
                try:
                    frame = next(it)
                except StopIteration:
                    break
                times.add("decode", time.perf_counter() - t0)
                self._put(self.q_in, frame)
            self._put(self.q_in, _END)
        except _Stop:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self._fail(exc)

    def _compose(self) -> None:
        try:
            while True:
                item = self._get(self.q_mid)
                if item is _END:
                    break
                frames, x, alpha = item
                for out in self.processor.finish(frames, x, alpha, yuv=self.yuv):
                    self._put(self.q_out, out)
            self._put(self.q_out, _END)
        except _Stop:
            pass
        except BaseException as exc:  # noqa: BLE001
            self._fail(exc)

    def _encode(self) -> None:
        times = self.stats.times
        bar = self._bar()
        try:
            while True:
                frame = self._get(self.q_out)
                if frame is _END:
                    break
                t0 = time.perf_counter()
                self.sink.write(frame)
                times.add("encode", time.perf_counter() - t0)
                self.stats.frames += 1
                if bar is not None:
                    bar.update(1)
        except _Stop:
            pass
        except BaseException as exc:  # noqa: BLE001
            self._fail(exc)
        finally:
            if bar is not None:
                bar.close()

    def _bar(self):
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(total=self.total, unit="frame", dynamic_ncols=True, smoothing=0.1)

    def _fail(self, exc: BaseException) -> None:
        self._errors.append(exc)
        self._stop.set()

    # -- driver -------------------------------------------------------------------------
    def run(self) -> PipelineStats:
        """Process everything; returns stats. Raises the first stage error (sink aborted)."""
        t_start = time.perf_counter()
        threads = [
            threading.Thread(target=self._decode, name="vidmatte-decode", daemon=True),
            threading.Thread(target=self._encode, name="vidmatte-encode", daemon=True),
        ]
        if self.processor.device.type != "cuda":
            threads.append(threading.Thread(target=self._compose, name="vidmatte-compose", daemon=True))
        for th in threads:
            th.start()
        try:
            self._process_loop()
            threads[1].join()  # encoder drains q_out, then ends
            if self._errors:
                raise self._errors[0]
            t0 = time.perf_counter()
            self.sink.close()
            self.stats.times.add("encode", time.perf_counter() - t0)
        except BaseException as exc:
            self._stop.set()
            for th in threads:
                th.join(timeout=5)
            self.sink.abort()
            if self._errors and isinstance(exc, _Stop):
                raise self._errors[0] from None
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
                self._put(self.q_mid, (batch, *self.processor.infer(batch)))
            self._put(self.q_mid, _END)
            return
        from vidmatte.cuda import CudaStreamer

        streamer = CudaStreamer(self.processor, yuv=self.yuv)
        inflight: deque = deque()
        for batch in self._batches():
            inflight.append(streamer.submit(batch))
            if len(inflight) >= 2:
                for out in inflight.popleft().result():
                    self._put(self.q_out, out)
        while inflight:
            for out in inflight.popleft().result():
                self._put(self.q_out, out)
        self._put(self.q_out, _END)

    def _batches(self):
        """Batches of up to ``batch_size`` frames, as many as are ready (never waits to fill)."""
        while True:
            item = self._get(self.q_in)
            if item is _END:
                return
            batch = [item]
            while len(batch) < self.batch_size:
                try:
                    item = self.q_in.get_nowait()
                except queue.Empty:
                    break
                if item is _END:
                    yield batch
                    return
                batch.append(item)
            yield batch
