"""``auto``: how an offline run uses its cores, measured on the first frames, then kept honest.

On CUDA it runs ``streams`` (:mod:`.streams`).

On a CPU the model wants every core, and the light stages (decode, smoothing, compositing,
encode) cost a few percent of it. Running them in threads of their own, as a GPU pipeline
would, makes them fight the model's threads for the same cores: on 2 cores that was 0.85x
a plain loop. So ``auto`` decides from the work and the cores:

1. **calibrate**: the first batches run *inline*
   (:class:`~vidmatte.runtime.schedules.inline.SideBySide`: the model alone on the cores, then
   finishing *t*, encoding *t-1* and decoding *t+1* side by side), timing the model and the
   light phase (the first batch is a warm-up);
2. **choose** (:func:`choose_policy`):

   * ``threads``: cores to spare beyond the model's threads, or light stages as costly
     as the model: every stage its own thread (:mod:`.threads`);
   * ``frames`` (:mod:`.frames`): two frames in the
     model at once on half the model's threads each, each worker then finishing and writing
     its frame in its turn. Chosen whenever the model keeps no state between calls
     (``stateless``), uses 2+ threads and the memory has room for a second call: the
     model's own throughput rises (BiRefNet-lite 1.09x, MODNet 1.24x on 2 cores) and the
     light stages hide behind the other worker's model call;
   * ``overlap``: the model keeps every core and decodes inline; smoothing, compositing
     and encoding run in one helper thread at the lowest priority (nice 19), which therefore
     only takes core time the model leaves free (its serial parts, Python, memory waits),
     with torch and OpenCV on one thread;
   * ``inline``: light stages too cheap to be worth a thread, or needing more CPU time
     (x1.5) than the cores leave idle while the model runs (measured: ``/proc/stat`` idle
     time, other processes counted; else this process's CPU time); also where overlapping
     or frames lost (step 3);

3. **check** (:func:`~.overlap.overlap_verdict`, and the same for ``frames``): the run's real pace
   is compared with the inline cycle measured in step 1. While overlapping, the model thread
   times its own cycle (decode + model + any wait for the helper); if the median of the last
   4 cycles is above the inline cycle (no core time to spare), or one wait for the helper
   lasts longer than 5 inline cycles (a starved helper on a busy machine), the helper
   finishes what it holds and the rest runs inline. Frame workers compare their pace per
   batch over the last 6 batches with it, and stop taking batches when it is over 5% slower. The run is therefore never much slower than
   the plain loop, whatever the machine does meanwhile.

The returned policy says what ran, and why.
"""

from __future__ import annotations

import statistics
from typing import Optional

from vidmatte.runtime.schedules import register_schedule
from vidmatte.runtime.schedules.frames import FRAME_WORKERS, FrameParallel, parallel_safe, room_for_another_call
from vidmatte.runtime.schedules.inline import SideBySide, inline
from vidmatte.runtime.schedules.overlap import run_overlap
from vidmatte.runtime.schedules.threads import threads as stage_threads
from vidmatte.runtime.threads import cpu_cores, model_threads

__all__ = ["choose_policy", "auto", "CALIBRATION_BATCHES"]

#: batches run inline before choosing (the first is a warm-up and not counted)
CALIBRATION_BATCHES = 4
_MARGIN = 1.5  # overlap is tried only if the model leaves 1.5x the light stages' CPU time free


def choose_policy(*, cores: int, threads: int, model_s: float, light_s: float, model_busy: Optional[float] = None,
                  light_cpu_s: Optional[float] = None, idle_s: Optional[float] = None,
                  parallel: bool = False) -> tuple[str, str]:
    """``(policy, reason)`` for a model using ``threads`` of ``cores`` and taking ``model_s``
    per batch, with ``light_s`` of decode + smoothing + compositing + encode per batch.

    ``light_cpu_s`` (CPU seconds of the light stages) against the core time left free while
    the model runs rules overlapping out when there is not room for it: ``idle_s`` (idle
    core-seconds per batch, all processes counted) where known, else from ``model_busy``
    (cores this process kept busy: CPU s / wall s). ``parallel``: the model may run two
    calls at once (stateless, and the memory has room)."""
    spare = cores - threads
    if spare >= 2:
        return "threads", f"{spare} cores beyond the model's {threads} threads: one thread per stage"
    if light_s >= model_s:
        return "threads", (f"light stages ({1000 * light_s:.0f} ms) cost as much as the model "
                           f"({1000 * model_s:.0f} ms): one thread per stage")
    if parallel and threads >= FRAME_WORKERS:
        return "frames", (f"{FRAME_WORKERS} frames in the model at once on {threads // FRAME_WORKERS} thread(s) each, "
                          f"light stages ({1000 * light_s:.0f} ms) in each worker's turn")
    if light_s < 0.005 * model_s:
        return "inline", "light stages are negligible next to the model"
    if light_cpu_s is not None and (idle_s is not None or model_busy is not None):
        free = idle_s if idle_s is not None else max(0.0, cores - model_busy) * model_s
        if light_cpu_s * _MARGIN > free:  # overlap also costs (preemptions, caches): it needs room
            who = "the machine" if idle_s is not None else f"the model ({model_busy:.2f} of {cores} cores busy)"
            return "inline", (f"{who} leaves {1000 * free:.0f} ms of core time free per batch, the light "
                              f"stages need {1000 * light_cpu_s:.0f} ms")
    busy = "" if model_busy is None else f", {model_busy:.2f} cores busy"
    busy += "" if idle_s is None else f", {1000 * idle_s:.0f} ms of core time idle"
    cpu = "" if light_cpu_s is None else f" ({1000 * light_cpu_s:.0f} ms CPU)"
    return "overlap", (f"model {1000 * model_s:.0f} ms on {threads} of {cores} cores{busy}, light stages "
                       f"{1000 * light_s:.0f} ms{cpu} in a low-priority helper")


@register_schedule("auto")
def auto(run, *, force: Optional[str] = None, queue_size: int = 8, batch_size: int = 1, **_options) -> str:
    """Calibrate inline, then run the rest inline, overlapped, frame-parallel or in threads;
    ``force``: that policy after calibrating instead of choosing. On CUDA: ``streams``."""
    if run.processor.device.type == "cuda":
        from vidmatte.runtime.schedules.streams import streams

        return streams(run, queue_size=queue_size, batch_size=batch_size)
    times: dict = {"model": [], "light": []}
    side = SideBySide(run)
    try:
        for i in range(CALIBRATION_BATCHES):
            if not side.step(times if i else None):
                return "inline (the clip ended while measuring)"
        model_s, light_s = statistics.median(times["model"]), statistics.median(times["light"])
        cycle_s = statistics.median(m + li for m, li in zip(times["model"], times["light"]))
        busy = sum(times["model_cpu"]) / max(sum(times["model"]), 1e-9)
        idle = statistics.median(times["model_idle"]) if times.get("model_idle") else None
        matter = run.processor.matter
        threads, cores = model_threads(matter), cpu_cores()
        parallel = parallel_safe(matter) and room_for_another_call()
        policy, why = choose_policy(cores=cores, threads=threads, model_s=model_s, light_s=light_s, model_busy=busy,
                                    light_cpu_s=statistics.median(times["light_cpu"]), idle_s=idle,
                                    parallel=parallel)
        if force is not None:
            policy, why = force, "asked for"
            if policy == "frames" and not parallel_safe(matter):
                policy, why = "inline", "frames asked for, but the model keeps state between calls"
        chosen = f"{policy} ({why})"
        if policy == "inline":
            while side.step():
                pass
            return chosen
        side.handoff()
    finally:
        side.close()
    if policy == "threads":
        stage_threads(run, queue_size=queue_size, batch_size=batch_size)
        return chosen
    if policy == "frames":
        reason = FrameParallel(run, workers=FRAME_WORKERS, threads_each=max(1, threads // FRAME_WORKERS),
                               inline_s=cycle_s).run()
    else:
        reason = run_overlap(run, cycle_s)
    if reason:
        inline(run)
        chosen += f"; then inline ({reason})"
    return chosen
