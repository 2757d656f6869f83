"""``overlap``: the model keeps every core and reads inline; finishing and writing run in one
helper thread at the lowest priority (nice 19), which therefore only takes core time the
model leaves free (its serial parts, Python, memory waits), with torch and OpenCV on one thread.

**Kept honest** (:func:`overlap_verdict`): the model thread times its own cycle (read + model
+ any wait for the helper); if the median of the last :data:`WINDOW` cycles is above the
inline cycle measured while calibrating (no core time to spare), or one wait for the helper
lasts longer than :data:`STALL` inline cycles (a starved helper on a busy machine), the
helper finishes what it holds and the schedule returns why (``auto`` runs the rest inline).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from typing import Optional

from vidmatte.runtime.core import SKIP
from vidmatte.runtime.queues import END, StopQueue, Stopped
from vidmatte.runtime.schedules import register_schedule
from vidmatte.runtime.threads import lower_thread_priority, torch_threads

__all__ = ["overlap", "run_overlap", "overlap_verdict", "WINDOW", "STALL"]

WINDOW = 4  # overlapped cycles judged together (their median) ...
_SLOWER = 1.0  # ... against the inline cycle: overlap must be at least as fast (an A/B, not a guess)
STALL = 5.0  # a wait for the helper longer than this many inline cycles means it is starved
_NICE = 19  # the helper's priority: the lowest, so woken model threads always take the core back.
#            Measured at 576p on 2 cores (another job on one of them): the model slowed by 2-3%
#            with the helper at nice 19, by 8-11% at nice 5. A starved helper trips STALL.


def overlap_verdict(cycles: list, inline_s: float, wait_s: float) -> Optional[str]:
    """Why overlapping should stop, or ``None``: ``cycles`` are the last overlapped cycles of
    the model thread (judged once there are :data:`WINDOW` of them), ``inline_s`` the inline
    cycle, ``wait_s`` the last wait for the helper."""
    if wait_s > STALL * inline_s:
        return f"the helper kept the model waiting {wait_s:.1f} s"
    if len(cycles) >= WINDOW:
        mid = statistics.median(cycles)
        if mid > _SLOWER * inline_s:
            return f"overlapped cycle {1000 * mid:.0f} ms > inline {1000 * inline_s:.0f} ms"
    return None


@register_schedule("overlap")
def overlap(run, *, inline_s: Optional[float] = None, **_options) -> str:
    reason = run_overlap(run, inline_s)
    return "overlap" + (f"; stopped: {reason}" if reason else "")


def run_overlap(run, inline_s: Optional[float]) -> Optional[str]:
    """Overlap until the feed ends (``None``) or it lost to ``inline_s`` (the reason; the rest
    of the feed is left for the caller)."""
    stop = threading.Event()
    q: StopQueue = StopQueue(2, stop)
    errors: list = []

    def helper() -> None:
        lower_thread_priority(_NICE)
        try:
            with torch_threads(1):
                while (item := q.get_or_stop()) is not END:
                    run.write(run.finish(*item))
        except Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the model thread
            errors.append(exc)
            stop.set()

    th = threading.Thread(target=helper, name="vidmatte-finish", daemon=True)
    th.start()
    cycles: deque = deque(maxlen=WINDOW)
    reason, n = None, 0
    try:
        while (batch := run.take()) is not None:
            if batch is SKIP:
                continue
            t0 = time.perf_counter()  # the batch was read before t0: add its read time below
            inferred = run.infer(batch)
            t1 = time.perf_counter()
            q.put_or_stop((batch, inferred))
            t2 = time.perf_counter()
            cycles.append(run.last_take_s + (t2 - t0))
            if inline_s is not None:
                reason = overlap_verdict(list(cycles) if n >= WINDOW else [], inline_s, t2 - t1)
                if reason:
                    break
            n += 1
        q.put_or_stop(END)
        th.join()
    except BaseException as exc:
        stop.set()
        th.join(timeout=5)
        if isinstance(exc, Stopped) and errors:
            raise errors[0] from None  # the helper failed: its error, not our wake-up
        raise
    if errors:
        raise errors[0]
    return reason
