"""The offline run: every frame of a source ▶ processor ▶ one sink, with a progress bar.

A thin shell over the one loop (:class:`~vidmatte.runtime.core.Run`): a
:class:`~vidmatte.runtime.feeds.FrameFeed` (every frame, in batches) and a schedule.
``policy`` (:attr:`PipelineStats.policy` says what ran and why):

* ``auto`` (default): on CUDA the ``streams`` schedule; on a CPU the first batches are timed
  inline and the rest runs inline, overlapped, frame-parallel or with one thread per stage
  (:mod:`vidmatte.runtime.schedules.auto`);
* ``inline`` / ``overlap`` / ``frames``: that CPU schedule after the same calibration;
* ``threads``: one thread per stage from the start.

Offline nothing is ever dropped: queues are bounded and a full one blocks its producer. An
error in any stage stops the others; the sink is then aborted, which deletes its temporary
file. The processor's held-back frames (look-ahead smoothing) are written at the end.
"""

from __future__ import annotations

import sys
import time
from typing import Iterable, Optional

from vidmatte.defaults import POLICIES
from vidmatte.frame import Frame
from vidmatte.runtime.core import Run
from vidmatte.runtime.feeds import FrameFeed
from vidmatte.runtime.processor import Processor
from vidmatte.runtime.stats import PipelineStats

__all__ = ["Pipeline", "PipelineStats", "POLICIES"]



class Pipeline:
    """Runs ``source → processor → sink``.

    Args:
        source: iterable of :class:`Frame` (a ``VideoSource``, image sequence, …).
        processor: the :class:`Processor` (its ``times`` collect per-stage timings); its
            ``format`` must be one the sink ``accepts``.
        sink: object with ``write(frame)``, ``close()`` and ``abort()``.
        batch_size: frames per model call (offline files may batch; live uses 1).
        queue_size: bound of the read and write queues, in frames.
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
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.total = total
        self.stats = PipelineStats(times=processor.times)

    def _make_bar(self):
        if callable(self.progress):
            return self.progress
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(total=self.total, unit="frame", dynamic_ncols=True, smoothing=0.1)

    def run(self) -> PipelineStats:
        """Process everything; returns stats. Raises the first stage error (sink aborted)."""
        t_start = time.perf_counter()
        bar = self._make_bar()
        stats = self.stats

        def meter(_frame, _t0, _t1) -> None:
            stats.frames += 1
            if callable(bar):
                bar(stats.frames)
            elif bar is not None:
                bar.update(1)

        run = Run(FrameFeed(self.source, self.batch_size), self.processor, [self.sink], meter=meter)
        options = {"queue_size": self.queue_size, "batch_size": self.batch_size}
        if self.policy == "threads" and self.processor.device.type != "cuda":
            schedule = "threads"
        else:
            schedule = "auto"
            options["force"] = None if self.policy == "auto" else self.policy
        try:
            stats.policy = run.run(schedule, **options)
            if schedule == "threads":
                stats.policy = "threads (asked for): " + stats.policy.split(": ", 1)[1]
            run.finish_sinks(failed=False)
        except BaseException:
            run.stop_event.set()
            run.finish_sinks(failed=True)
            raise
        finally:
            run.stop_event.set()
            if bar is not None and not callable(bar):
                bar.close()
            stats.wall_s = time.perf_counter() - t_start
        return stats
