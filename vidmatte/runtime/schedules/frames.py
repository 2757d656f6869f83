"""``frames``: several frames in the model at once, finished in frame order (CPU; files and live).

A network's ops do not scale perfectly over threads: the serial parts, the barriers between
ops and the memory traffic leave cores idle. Two frames at once on half the threads each
keep the cores fuller. Measured on this project's 2-core machine (one command, best of 2):

=========================================  ======================  ==================
model                                      1 frame on 2 threads    2 frames x 1 thread
=========================================  ======================  ==================
BiRefNet-lite at 256², 768x576 frames       3.92 fps                4.29 fps (1.09x)
MODNet ONNX at 512                          10.0 fps                12.4 fps (1.24x)
MODNet ONNX at 256                          38.5 fps                47-50 fps (1.25x)
=========================================  ======================  ==================

Each of ``workers`` threads loops::

    take the next batch (decoding it: one worker at a time) ─▶ model (its own threads)
      ─▶ wait for its turn ─▶ finish it (refine, smooth, composite) and write it ─▶ pass the turn

so the stages that keep state (the smoother, the background video, the encoder) see the
batches one at a time and in order, while the other worker's model call runs on the other
cores. The light stages thus cost a worker's time, not the run's: at 768x576 a frame's
~40 ms of them hide behind the other worker's ~440 ms model call.

**Kept honest** like the overlap schedule: the run's pace (wall seconds per batch over the
last :data:`WINDOW` batches, after the first ones) is compared with the inline cycle measured
while calibrating; if it is slower, the workers take no new batch, finish the ones they hold,
and :meth:`FrameParallel.run` returns why (``auto`` runs the rest inline). A live run
(``inline_s=None``) takes the newest frame each time and is never judged.

Only matters that keep no state between calls may run this way (their ``stateless``
attribute is true: the built-in BiRefNet, ONNX and chroma-key matters); a recurrent model or
:class:`~vidmatte.matting.ReuseAlpha` needs its frames in order.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

from vidmatte.runtime.core import SKIP
from vidmatte.runtime.schedules import register_schedule
from vidmatte.runtime.threads import model_threads, opencv_threads, torch_threads

__all__ = ["FrameParallel", "TurnWorkers", "parallel_safe", "room_for_another_call", "session_threads",
           "run_workers", "frames", "WINDOW", "FRAME_WORKERS"]

#: batches whose pace is judged together (after the first ``workers`` ones: the start-up)
WINDOW = 6
_SLOWER = 1.05  # frames must keep inline's pace (an A/B; 5% for the noise of a 6-batch window)
FRAME_WORKERS = 2  # model calls at once (each on its share of the model's threads)


def parallel_safe(matter) -> bool:
    """May ``matter.predict`` run on two batches at once, in any order? (its ``stateless`` attribute)"""
    return bool(getattr(matter, "stateless", False))


def room_for_another_call() -> bool:
    """Is there memory for a second model call beside this process? Judged against the
    process's peak resident size so far (weights + one call's activations, so more than a
    second call needs): ``MemAvailable`` must exceed it. ``True`` where unknown (not Linux)."""
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
        with open("/proc/meminfo") as f:
            avail = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (ImportError, OSError, StopIteration, ValueError):
        return True
    return avail > peak


@contextmanager
def session_threads(matter, n: int) -> Iterator[None]:
    """An ONNX matter's session runs on ``n`` threads inside the block (torch threads are
    set per worker thread instead)."""
    if not callable(getattr(matter, "set_threads", None)):
        yield
        return
    before = getattr(matter, "threads", None)
    matter.set_threads(n)
    try:
        yield
    finally:
        matter.set_threads(before)


def run_workers(target: Callable[[], None], n: int, name: str, on_stop: Callable[[], None]) -> None:
    """``target`` on ``n`` daemon threads (``name-0``, …), waited for from this thread in 50 ms
    steps so that signal handlers and Ctrl-C still run here. If the wait is interrupted,
    ``on_stop()`` tells the workers to end and each gets 10 s to finish what it holds."""
    threads = [threading.Thread(target=target, name=f"{name}-{i}", daemon=True) for i in range(n)]
    for th in threads:
        th.start()
    try:
        for th in threads:
            while th.is_alive():
                th.join(timeout=0.05)
    except BaseException:
        on_stop()
        for th in threads:
            th.join(timeout=10)
        raise


class TurnWorkers:
    """``workers`` threads that each take an item (one thread at a time), ``work`` on it side by
    side with the others, then ``finish`` it in the order the items were taken (one at a time).

    ``take()`` runs under a lock and returns the next item, :data:`SKIP`, or ``None`` (no more:
    the worker ends); :attr:`taken` counts the items taken so far. The first error of any
    worker stops the others and is raised by :meth:`run`; an item already worked on but not
    yet finished is then dropped.
    """

    def __init__(self, take: Callable[[], Any], work: Callable[[Any], Any], finish: Callable[[Any, Any], None], *,
                 workers: int = 2, name: str = "vidmatte-worker"):
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.take, self.work, self.finish, self.workers, self.name = take, work, finish, workers, name
        self.taken = 0
        self._take = threading.Lock()
        self._turn = threading.Condition()
        self._next_turn = 0
        self._failed = threading.Event()
        self._errors: list = []

    def run(self, threads_each: int, matter=None) -> None:
        """Run until every worker ends; each computes on ``threads_each`` threads (torch per
        worker, ``matter``'s ONNX session and OpenCV's pool for the run)."""
        with session_threads(matter, threads_each), opencv_threads(threads_each):
            run_workers(lambda: self._worker(threads_each), self.workers, self.name, self._fail)
        if self._errors:
            raise self._errors[0]

    def _fail(self) -> None:
        self._failed.set()
        with self._turn:
            self._turn.notify_all()

    def _worker(self, threads_each: int) -> None:
        try:
            with torch_threads(threads_each, opencv=False):
                while self._one():
                    pass
        except BaseException as exc:  # noqa: BLE001 - handed to run()
            self._errors.append(exc)
            self._fail()

    def _one(self) -> bool:
        """Take, work on and finish one item; ``False`` when there is nothing more to do."""
        with self._take:
            if self._failed.is_set():
                return False
            item = self.take()
            if item is None or item is SKIP:
                return item is SKIP
            mine, self.taken = self.taken, self.taken + 1
        result = self.work(item)
        with self._turn:
            while self._next_turn != mine:
                if self._failed.is_set():
                    return False
                self._turn.wait(0.1)
        try:
            if self._failed.is_set():
                return False
            self.finish(item, result)
        finally:
            with self._turn:
                self._next_turn += 1
                self._turn.notify_all()
        return True


class FrameParallel:
    """Runs a :class:`~vidmatte.runtime.core.Run` with ``workers`` model workers of
    ``threads_each`` threads (see the module docstring).

    Args:
        run: the run (its processor's matter must be :func:`parallel_safe`). What is left
            after an early stop is still in its feed.
        inline_s: the inline cycle per batch to beat (``None``: never stop early).
    """

    def __init__(self, run, *, workers: int = FRAME_WORKERS, threads_each: int = 1,
                 inline_s: Optional[float] = None):
        if workers < 1 or threads_each < 1:
            raise ValueError("workers and threads_each must be >= 1")
        self.run_, self.workers, self.threads_each, self.inline_s = run, workers, threads_each, inline_s
        self.reason: Optional[str] = None  # why the workers stopped taking batches early
        self.batches_done = 0
        self._done_at: deque = deque(maxlen=WINDOW + 1)

    def run(self) -> Optional[str]:
        """Process batches until they end (``None``) or the pace check stops it (the reason)."""
        TurnWorkers(self._take, self.run_.infer, self._finish, workers=self.workers,
                    name="vidmatte-frames").run(self.threads_each, self.run_.processor.matter)
        return self.reason

    def _take(self):
        return None if self.reason is not None else self.run_.take()

    def _finish(self, batch: list, inferred) -> None:
        self.run_.write(self.run_.finish(batch, inferred))
        self._judge()

    def _judge(self) -> None:
        """After each batch (in its turn): stop taking batches if the pace lost to inline."""
        self.batches_done += 1
        self._done_at.append(time.perf_counter())
        if self.inline_s is None or self.batches_done < self.workers + WINDOW or len(self._done_at) <= WINDOW:
            return
        pace = (self._done_at[-1] - self._done_at[0]) / WINDOW
        if pace > _SLOWER * self.inline_s:
            self.reason = f"{1000 * pace:.0f} ms a batch > inline {1000 * self.inline_s:.0f} ms"


@register_schedule("frames")
def frames(run, *, workers: int = FRAME_WORKERS, threads_each: Optional[int] = None,
           inline_s: Optional[float] = None, **_options) -> str:
    """``workers`` frames in flight, each worker on ``threads_each`` threads (default: its
    share of the model's threads); with ``inline_s`` judged against that inline cycle."""
    each = threads_each or max(1, model_threads(run.processor.matter) // workers)
    reason = FrameParallel(run, workers=workers, threads_each=each, inline_s=inline_s).run()
    return f"frames ({workers} in flight, {each} thread(s) each)" + (f"; stopped: {reason}" if reason else "")
