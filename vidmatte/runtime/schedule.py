"""How an offline CPU run uses its cores: measured on the first frames, then kept honest.

On a CPU the model wants every core, and the light stages (decode, smoothing, compositing,
encode) cost a few percent of it. Running them in threads of their own, as a GPU pipeline
would, makes them fight the model's threads for the same cores: on 2 cores that was 0.85x
a plain loop. So :class:`AdaptiveRun` decides from the work and the cores:

1. **calibrate**: the first batches run *inline*
   (:class:`~vidmatte.runtime.sidebyside.SideBySide`: the model alone on the cores, then
   finishing *t*, encoding *t-1* and decoding *t+1* side by side), timing the model and the
   light phase (the first batch is a warm-up);
2. **choose** (:func:`choose_policy`):

   * ``threads``: cores to spare beyond the model's threads, or light stages as costly
     as the model: every stage its own thread (the :class:`Pipeline` threads);
   * ``frames`` (:class:`~vidmatte.runtime.parallel.FrameParallel`): two frames in the
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

3. **check** (:func:`overlap_verdict`, and the same for ``frames``): the run's real pace
   is compared with the inline cycle measured in step 1. While overlapping, the model thread
   times its own cycle (decode + model + any wait for the helper); if the median of the last
   4 cycles is above the inline cycle (no core time to spare), or one wait for the helper
   lasts longer than 5 inline cycles (a starved helper on a busy machine), the helper
   finishes what it holds and the rest runs inline. Frame workers compare their pace per
   batch over the last 6 batches with it, and stop taking batches when it is over 5% slower. The run is therefore never much slower than
   the plain loop, whatever the machine does meanwhile.

:attr:`AdaptiveRun.policy` says what ran, and why.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from typing import Callable, Iterator, Optional

from vidmatte.runtime.parallel import FrameParallel, parallel_safe, room_for_another_call
from vidmatte.runtime.queues import END, StopQueue, Stopped
from vidmatte.runtime.sidebyside import SideBySide
from vidmatte.runtime.threads import cpu_cores, lower_thread_priority, torch_threads

__all__ = ["choose_policy", "overlap_verdict", "model_threads", "AdaptiveRun", "CALIBRATION_BATCHES", "FRAME_WORKERS"]

#: batches run inline before choosing (the first is a warm-up and not counted)
CALIBRATION_BATCHES = 4
_WINDOW = 4  # overlapped cycles judged together (their median) ...
_SLOWER = 1.0  # ... against the inline cycle: overlap must be at least as fast (an A/B, not a guess)
_MARGIN = 1.5  # overlap is tried only if the model leaves 1.5x the light stages' CPU time free
_STALL = 5.0  # a wait for the helper longer than this many inline cycles means it is starved
FRAME_WORKERS = 2  # model calls at once under ``frames`` (each on half the model's threads)
_NICE = 19  # the helper's priority: the lowest, so woken model threads always take the core back.
#            Measured at 576p on 2 cores (another job on one of them): the model slowed by 2-3%
#            with the helper at nice 19, by 8-11% at nice 5. A starved helper trips _STALL.


def model_threads(matter) -> int:
    """Threads the model computes with: an ONNX matter's ``threads`` (else all cores), or
    torch's intra-op count."""
    if callable(getattr(matter, "predict_array", None)):
        return int(getattr(matter, "threads", None) or cpu_cores())
    import torch

    return torch.get_num_threads()


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


def overlap_verdict(cycles: list, inline_s: float, wait_s: float) -> Optional[str]:
    """Why overlapping should stop, or ``None``: ``cycles`` are the last overlapped cycles of
    the model thread (judged once there are :data:`_WINDOW` of them), ``inline_s`` the inline
    cycle, ``wait_s`` the last wait for the helper."""
    if wait_s > _STALL * inline_s:
        return f"the helper kept the model waiting {wait_s:.1f} s"
    if len(cycles) >= _WINDOW:
        mid = statistics.median(cycles)
        if mid > _SLOWER * inline_s:
            return f"overlapped cycle {1000 * mid:.0f} ms > inline {1000 * inline_s:.0f} ms"
    return None


class AdaptiveRun:
    """Calibrate inline, then run the rest inline, overlapped, or hand it to the threads.

    Args:
        batches: iterator of frame batches (decoding happens when it is advanced).
        processor: the :class:`~vidmatte.runtime.processor.Processor`.
        emit: ``emit(frames)`` writes finished frames to the sink (in order).
        threads_runner: ``threads_runner(remaining_batches)`` runs the rest with one thread
            per stage (the pipeline's own threads), for the ``threads`` policy.
        force: run this policy after calibrating instead of choosing (``inline``/``overlap``).
    """

    def __init__(self, batches: Iterator[list], processor, emit: Callable[[list], None],
                 threads_runner: Callable[[Iterator[list]], None], force: Optional[str] = None):
        self.batches, self.processor, self.emit = batches, processor, emit
        self.threads_runner, self.force = threads_runner, force
        self.policy = ""
        self.cycle_s = 0.0

    def _inline(self, batches: Iterator[list]) -> None:
        side = SideBySide(batches, self.processor, self.emit)
        try:
            while side.step():
                pass
        finally:
            side.close()

    def run(self) -> str:
        times: dict = {"model": [], "light": []}
        side = SideBySide(self.batches, self.processor, self.emit)
        try:
            for i in range(CALIBRATION_BATCHES):
                if not side.step(times if i else None):
                    self.policy = "inline (the clip ended while measuring)"
                    return self.policy
            model_s, light_s = statistics.median(times["model"]), statistics.median(times["light"])
            self.cycle_s = statistics.median(m + li for m, li in zip(times["model"], times["light"]))
            busy = sum(times["model_cpu"]) / max(sum(times["model"]), 1e-9)
            idle = statistics.median(times["model_idle"]) if times.get("model_idle") else None
            matter = self.processor.matter
            threads, cores = model_threads(matter), cpu_cores()
            parallel = parallel_safe(matter) and room_for_another_call()
            policy, why = choose_policy(cores=cores, threads=threads, model_s=model_s, light_s=light_s, model_busy=busy,
                                        light_cpu_s=statistics.median(times["light_cpu"]), idle_s=idle,
                                        parallel=parallel)
            if self.force is not None:
                policy, why = self.force, "asked for"
                if policy == "frames" and not parallel_safe(matter):
                    policy, why = "inline", "frames asked for, but the model keeps state between calls"
            self.policy = f"{policy} ({why})"
            if policy == "inline":
                while side.step():
                    pass
                return self.policy
            rest = side.handoff()
        finally:
            side.close()
        if policy == "threads":
            self.threads_runner(rest)
        elif policy == "frames":
            self._frames(rest, max(1, threads // FRAME_WORKERS))
        else:
            self._overlap(rest)
        return self.policy

    # -- frames: model calls side by side, each worker finishing its batch in turn ------------
    def _frames(self, batches: Iterator[list], threads_each: int) -> None:
        reason = FrameParallel(batches, self.processor, self.emit, workers=FRAME_WORKERS, threads_each=threads_each,
                               inline_s=self.cycle_s).run()
        if reason:
            self.policy += f"; then inline ({reason})"
            self._inline(batches)

    # -- overlap: the model here, finishing + encoding in a low-priority helper ---------------
    def _overlap(self, batches: Iterator[list]) -> None:
        stop = threading.Event()
        q: StopQueue = StopQueue(2, stop)
        errors: list = []

        def helper() -> None:
            lower_thread_priority(_NICE)
            try:
                with torch_threads(1):
                    while (item := q.get_or_stop()) is not END:
                        self.emit(self.processor.finish(*item))
            except Stopped:
                pass
            except BaseException as exc:  # noqa: BLE001 - handed to the model thread
                errors.append(exc)
                stop.set()

        th = threading.Thread(target=helper, name="vidmatte-finish", daemon=True)
        th.start()
        cycles: deque = deque(maxlen=_WINDOW)
        reason = None
        try:
            for n, batch in enumerate(batches):
                t0 = time.perf_counter()  # the batch was decoded before t0: add its decode below
                x, alpha = self.processor.infer(batch)
                t1 = time.perf_counter()
                q.put_or_stop((batch, x, alpha))
                t2 = time.perf_counter()
                cycles.append(getattr(self.batches, "last_decode_s", 0.0) + (t2 - t0))
                reason = overlap_verdict(list(cycles) if n >= _WINDOW else [], self.cycle_s, t2 - t1)
                if reason:
                    break
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
        if reason:
            self.policy += f"; then inline ({reason})"
            self._inline(batches)
