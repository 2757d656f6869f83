"""Cores, thread priorities and thread counts: what the schedules need to share a CPU well.

Torch-free (the command line calls :func:`set_openmp_spin` before torch loads):

* :func:`cpu_cores`: the CPUs this process may use (affinity mask);
* :func:`idle_core_seconds`: how long those CPUs sat idle (what overlapping could use);
* :func:`lower_thread_priority`: make the calling thread yield to the model's threads
  (Linux per-thread nice), so a helper only takes core time nobody else wants;
* :func:`torch_threads`: the calling thread's torch intra-op threads (and OpenCV's pool) for
  a while: helpers run their few tensor ops on one thread instead of a second OpenMP team;
* :func:`set_openmp_spin`: how long idle OpenMP workers spin before sleeping.

Why the spin matters: GNU OpenMP (PyTorch's CPU threads) keeps idle workers spinning for
300,000 rounds (a few ms) after each parallel region. Between the model's ops that keeps
them hot; but any other runnable thread on their core (a helper stage, the video encoder,
another process) then waits behind a spinning worker, and the next barrier waits for the
worker that was preempted. Measured on this project's 2 cores while other jobs ran (load
7-15): BiRefNet-lite at 256² (768x576 frame) took 2.0-24 s per frame on 2 threads with the
default spin, 1.6-3.0 s with ``GOMP_SPINCOUNT=10000``, 1.1-1.3 s with 1000 (what the command
line sets), 0.7-1.3 s with ``OMP_WAIT_POLICY=PASSIVE``, and 0.9-1.3 s on 1 thread. On an
idle machine a short spin costs a few futex wake-ups per forward pass.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from typing import Iterator, Optional

__all__ = ["model_threads", "cpu_cores", "idle_core_seconds", "lower_thread_priority", "opencv_threads", "torch_threads", "set_openmp_spin", "OPENMP_SPIN"]

#: spin rounds of idle OpenMP workers the command line sets (GOMP_SPINCOUNT) unless told otherwise
OPENMP_SPIN = 1_000


def cpu_cores() -> int:
    """CPUs this process may run on (the affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def idle_core_seconds() -> Optional[float]:
    """Seconds the CPUs this process may use have been idle since boot, summed over them
    (Linux ``/proc/stat``, 10 ms resolution), or ``None`` where that is not known.

    The difference across a stretch of work is the core time nobody used during it: other
    processes' work counts as busy, which a process's own CPU time cannot tell."""
    try:
        allowed = os.sched_getaffinity(0)
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/stat") as f:
            total = 0
            for line in f:
                if line.startswith("cpu") and line[3].isdigit():
                    name, *vals = line.split()
                    if int(name[3:]) in allowed:
                        total += int(vals[3]) + int(vals[4])  # idle + iowait
        return total / ticks
    except (OSError, ValueError, AttributeError, IndexError):
        return None


def lower_thread_priority(delta: int = 10) -> bool:
    """Raise the calling thread's nice value by ``delta`` (at most 19); ``True`` if it worked.

    Linux schedules threads one by one, so this lowers this thread only (and the threads it
    starts later). Elsewhere it does nothing and returns ``False``.
    """
    if not sys.platform.startswith("linux") or not hasattr(os, "setpriority"):
        return False
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + delta))
        return True
    except OSError:  # pragma: no cover - seccomp or similar
        return False


@contextmanager
def opencv_threads(n: int) -> Iterator[None]:
    """OpenCV's (process-wide) pool has ``n`` threads inside the block; restored after.

    Image-parallel work runs one OpenCV call per worker; a low-priority helper's resizes
    would otherwise run on pool threads at normal priority."""
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(n)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


@contextmanager
def torch_threads(n: int, opencv: bool = True) -> Iterator[None]:
    """The calling thread runs torch ops on ``n`` threads inside the block (and OpenCV's pool
    has ``n`` threads, unless ``opencv=False``); both are restored after.

    (OpenMP keeps the count per thread, but torch also remembers the last value for threads
    it starts later: restoring keeps that unchanged.)
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        if opencv:
            with opencv_threads(n):
                yield
        else:
            yield
    finally:
        torch.set_num_threads(before)


def set_openmp_spin(rounds: int = OPENMP_SPIN) -> Optional[str]:
    """Shorten the spin of idle GNU OpenMP workers to ``rounds`` (``GOMP_SPINCOUNT``), unless
    the user set ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``, or torch is loaded already (OpenMP
    reads the variable once). Returns what was set, or ``None``."""
    if "torch" in sys.modules or "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        return None
    os.environ["GOMP_SPINCOUNT"] = str(int(rounds))
    return f"GOMP_SPINCOUNT={int(rounds)}"


def model_threads(matter) -> int:
    """Threads the model computes with: an ONNX matter's ``threads`` (else all cores), or
    torch's intra-op count."""
    if callable(getattr(matter, "predict_array", None)):
        return int(getattr(matter, "threads", None) or cpu_cores())
    import torch

    return torch.get_num_threads()
