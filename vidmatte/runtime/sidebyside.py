"""The inline schedule: the model alone on the cores, then the light stages side by side.

Each step runs the model on batch *t* with nothing else running, then, at the same time,
finishes *t* (smoothing, compositing: this thread), writes *t-1* (encode) and decodes *t+1*
(two side threads), and waits for all three before the next model call. The light stages
thus share the cores only with each other: their wall time is the longest of them, not the
sum, and the model is never disturbed by them.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain
from typing import Callable, Iterator, Optional

from vidmatte.runtime.threads import idle_core_seconds

__all__ = ["SideBySide"]


class SideBySide:
    """Runs ``batches`` through ``processor`` into ``emit`` (see the module docstring).

    Call :meth:`step` until it returns ``False``, or :meth:`handoff` to stop early and get
    the batches not yet processed; :meth:`close` in every case (it waits for the threads).
    """

    def __init__(self, batches: Iterator[list], processor, emit: Callable[[list], None]):
        self.batches, self.processor, self.emit = batches, processor, emit
        self.pool = ThreadPoolExecutor(2, thread_name_prefix="vidmatte-side")
        self.ahead: Future = self.pool.submit(self._next)
        self.held: Optional[list] = None  # finished frames, written during the next step

    def _next(self):
        return next(self.batches, None)

    def step(self, times: Optional[dict] = None) -> bool:
        """One batch; ``times`` (``{"model": [], "light": []}``) receives its two phases' seconds."""
        t0 = time.perf_counter()
        batch = self.ahead.result()  # decoded while the previous batch was finished
        if batch is None:
            self._write_held()
            return False
        t1, c1, i1 = time.perf_counter(), time.process_time(), idle_core_seconds() if times is not None else None
        x, alpha = self.processor.infer(batch)
        t2, c2, i2 = time.perf_counter(), time.process_time(), idle_core_seconds() if times is not None else None
        self.ahead = self.pool.submit(self._next)
        writing = self.pool.submit(self.emit, self.held) if self.held else None
        self.held = None
        out = self.processor.finish(batch, x, alpha)
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
            self.emit(held)

    def handoff(self) -> Iterator[list]:
        """Write what is finished and return the remaining batches (the one decoded ahead first)."""
        self._write_held()
        first = self.ahead.result()
        return iter(()) if first is None else chain([first], self.batches)

    def close(self) -> None:
        self.ahead.cancel()
        self.pool.shutdown(wait=True)
