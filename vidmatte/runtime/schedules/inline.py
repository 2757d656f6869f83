"""``inline``: the model alone on the cores, then the light stages side by side.

Each step runs the model on batch *t* with nothing else running, then, at the same time,
finishes *t* (smoothing, compositing: this thread), writes *t-1* (encode) and reads *t+1*
(two side threads), and waits for all three before the next model call. The light stages
thus share the cores only with each other: their wall time is the longest of them, not the
sum, and the model is never disturbed by them. ``auto`` calibrates with it.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Optional

from vidmatte.runtime.core import SKIP
from vidmatte.runtime.schedules import register_schedule
from vidmatte.runtime.threads import idle_core_seconds

__all__ = ["SideBySide", "inline"]


class SideBySide:
    """Steps a :class:`~vidmatte.runtime.core.Run` (see the module docstring).

    Call :meth:`step` until it returns ``False``, or :meth:`handoff` to stop early (the batch
    read ahead goes back to the feed); :meth:`close` in every case (it waits for the threads).
    """

    def __init__(self, run):
        self.run = run
        self.pool = ThreadPoolExecutor(2, thread_name_prefix="vidmatte-side")
        self.ahead: Future = self.pool.submit(self._next)
        self.held: Optional[list] = None  # finished frames, written during the next step

    def _next(self):
        while (batch := self.run.take()) is SKIP:
            pass
        return batch

    def step(self, times: Optional[dict] = None) -> bool:
        """One batch; ``times`` (``{"model": [], "light": []}``) receives its two phases' seconds."""
        t0 = time.perf_counter()
        batch = self.ahead.result()  # read while the previous batch was finished
        if batch is None:
            self._write_held()
            return False
        t1, c1, i1 = time.perf_counter(), time.process_time(), idle_core_seconds() if times is not None else None
        inferred = self.run.infer(batch)
        t2, c2, i2 = time.perf_counter(), time.process_time(), idle_core_seconds() if times is not None else None
        self.ahead = self.pool.submit(self._next)
        writing = self.pool.submit(self.run.write, self.held) if self.held else None
        self.held = None
        out = self.run.finish(batch, inferred)
        if writing is not None:
            writing.result()
        self.held = out
        if times is not None:  # wall seconds of both phases, and CPU seconds of the process in each
            times["model"].append(t2 - t1)
            times["light"].append((t1 - t0) + (time.perf_counter() - t2))
            times.setdefault("model_cpu", []).append(c2 - c1)
            times.setdefault("light_cpu", []).append(time.process_time() - c2)
            if i1 is not None and i2 is not None:
                times.setdefault("model_idle", []).append(i2 - i1)  # core time nobody used
        return True

    def _write_held(self) -> None:
        if self.held:
            held, self.held = self.held, None
            self.run.write(held)

    def handoff(self) -> None:
        """Write what is finished and give the batch read ahead back to the feed."""
        self._write_held()
        first = self.ahead.result()
        if first is not None:
            self.run.feed.unget(first)

    def close(self) -> None:
        self.ahead.cancel()
        self.pool.shutdown(wait=True)


@register_schedule("inline")
def inline(run, **_options) -> str:
    side = SideBySide(run)
    try:
        while side.step():
            pass
    finally:
        side.close()
    return "inline"
