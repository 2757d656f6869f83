"""How many frames a live run keeps in flight: the live counterpart of :mod:`.auto`.

Before capture starts, :func:`warm_up` runs throw-away frames through the processor (so the
first live frame is not seconds late) and times one model call on a worker's share of the
threads and its finishing; :func:`choose_workers` then picks the ``serial`` schedule (one
frame in flight) or ``frames`` with two workers.
"""

from __future__ import annotations

from typing import Optional

from vidmatte.runtime.schedules.frames import parallel_safe, session_threads
from vidmatte.runtime.threads import cpu_cores, model_threads, torch_threads

__all__ = ["warm_up", "choose_workers"]


def warm_up(processor, height: int, width: int, workers: int = 1) -> tuple[float, float]:
    """Throw-away frames before capture starts, so the first live frame is not seconds late.
    Returns the seconds of the second frame's model call (on the threads one of ``workers``
    gets) and of its finishing."""
    import time
    from contextlib import ExitStack

    import numpy as np

    from vidmatte.frame import Frame

    frame = Frame(np.zeros((height, width, 3), np.uint8))
    processor.process([frame])  # one-off costs
    each = max(1, model_threads(processor.matter) // workers)
    with ExitStack() as threads:
        if workers > 1:  # time the call a worker makes, on its share of the threads
            threads.enter_context(session_threads(processor.matter, each))
            threads.enter_context(torch_threads(each, opencv=False))
            processor.infer([frame])  # a new session's first call
        t0 = time.perf_counter()
        x, alpha = processor.infer([frame])
        t1 = time.perf_counter()
    processor.finish([frame], x, alpha)
    t2 = time.perf_counter()
    processor.reset()
    processor.times.seconds.clear()
    return t1 - t0, t2 - t1


def choose_workers(processor, preview: bool, model_s: Optional[float] = None, light_s: Optional[float] = None) -> int:
    """Frames in flight for a live run (see :func:`vidmatte.jobs.live.webcam`'s ``workers``): 2 on a CPU with 2+
    cores for a stateless model without a preview window, unless finishing a frame
    (``light_s``) takes longer than a worker's model call (``model_s``): the frames would then
    queue for their turn. Measured with MODNet 256 on 2 cores: at 640x360 (finishing 23 ms,
    a one-thread model call 35 ms) 19.8 → 29.7 fps at the same latency (p50 63 ms); at
    1280x720 (finishing 60 ms) +30% fps but +45% latency, so one worker."""
    ok = processor.device.type == "cpu" and cpu_cores() >= 2 and parallel_safe(processor.matter) and not preview
    if ok and model_s is not None and light_s is not None:
        ok = light_s <= model_s
    return 2 if ok else 1
