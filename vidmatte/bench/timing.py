"""What every benchmark records beside its numbers: the load average, and a child's times."""

from __future__ import annotations

import os
import statistics
import resource
import subprocess
import time
from typing import Callable, Optional, Sequence

__all__ = ["load_average", "run_timed", "time_ms"]


def load_average() -> float:
    """The 1-minute load average (0.0 where the OS has none): a busy machine slows every run."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def run_timed(cmd: Sequence[str], env: Optional[dict] = None, check: bool = True) -> tuple[float, float]:
    """Run ``cmd`` → ``(wall seconds, CPU seconds of the child)``. ``check``: a non-zero exit
    raises ``RuntimeError`` with its last line (commands that fail on purpose pass ``False``)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(list(cmd), env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if check and res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"{os.path.basename(cmd[0])} {cmd[1] if len(cmd) > 1 else ''} failed: {tail[0]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def time_ms(fn: Callable[[], object], device, runs: int, warmup: int) -> float:
    """Median milliseconds per call of ``fn`` (CUDA events on a GPU, a host clock on a CPU)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        if device.type == "cuda":
            import torch

            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)
