"""``vidmatte bench batch``: what the batch engines cost against running the files one by one.

On the same clips, in one process, one after the other:

1. **one by one**: :func:`vidmatte.replace` on each file (one process, the model loaded once
   per file — what a shell loop over ``vidmatte replace`` does, minus process start-up);
2. **batch local**: :func:`vidmatte.batch` with ``engine="local"`` (model loaded once);
3. **batch ray, cold**: ``engine="ray"`` including starting a local Ray cluster, the actors
   and their model loads;
4. **batch ray, warm**: the same again into a fresh folder with Ray already running
   (actors and models still start per batch);
5. **batch ray, segments** (with ``segment``): as 4 with long inputs cut into segments.

Each row gives wall seconds and the ratio to the one-by-one run; the load average is read
before and after, since other work on the machine changes every number.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from vidmatte.bench.timing import load_average

__all__ = ["BatchBench", "bench_batch"]


@dataclass
class BatchBench:
    clips: list
    frames: int
    model: str
    workers: int
    seconds: dict = field(default_factory=dict)  # run name → wall seconds
    load: tuple = ()  # load average (1 min) before and after

    def ratio(self, name: str) -> float:
        base = self.seconds.get("one by one")
        return self.seconds[name] / base if base else float("nan")

    def summary(self) -> str:
        lines = [f"{len(self.clips)} clips, {self.frames} frames, model {self.model}, {self.workers} Ray workers; "
                 f"load average {self.load[0]:.2f} before, {self.load[1]:.2f} after ({os.cpu_count()} CPUs)"]
        for name, s in self.seconds.items():
            lines.append(f"  {name:<22} {s:7.2f} s  {self.frames / s:7.1f} fps  x{self.ratio(name):.2f} of one by one")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["ratios"] = {k: self.ratio(k) for k in self.seconds}
        return d


def bench_batch(clips: Optional[Sequence[str]] = None, *, count: int = 4, frames: int = 96, width: int = 640,
                height: int = 360, model: str = "chroma", background: str = "#3366ff", workers: Optional[int] = None,
                segment: Optional[float] = None, ray: bool = True) -> BatchBench:
    """Time the runs listed in the module docstring; ``clips`` default to ``count`` generated ones."""
    from vidmatte.bench.pipeline import make_bench_clip
    from vidmatte.jobs.batches import batch
    from vidmatte.jobs.files import replace
    from vidmatte.io.sources import VideoSource

    tmp = Path(tempfile.mkdtemp(prefix="vidmatte-bench-batch-"))
    try:
        if not clips:
            clips = [str(make_bench_clip(tmp / f"clip{i}.mp4", width, height, frames, gop=30)) for i in range(count)]
        total = 0
        for c in clips:
            with VideoSource(c) as src:
                total += src.frame_count or 0
        res = BatchBench([str(c) for c in clips], total, model, 0, load=(load_average(),))

        def timed(name: str, fn) -> None:
            t0 = time.perf_counter()
            fn()
            res.seconds[name] = time.perf_counter() - t0

        def one_by_one() -> None:
            for i, c in enumerate(clips):
                replace(c, tmp / f"single{i}{Path(c).suffix}", matter=model, background=background, progress=False)

        def run(name: str, **kw) -> None:
            report = batch(clips, tmp / name.replace(" ", "-"), matter=model, background=background,
                           progress=False, **kw)
            if not report.ok:
                raise RuntimeError(report.summary())
            res.workers = max(res.workers, report.workers if kw.get("engine") == "ray" else 0)

        timed("one by one", one_by_one)
        timed("batch local", lambda: run("batch local"))
        if ray:
            import ray as ray_module

            started = not ray_module.is_initialized()
            try:
                timed("batch ray cold", lambda: run("batch ray cold", engine="ray", workers=workers))
                if started:  # keep a cluster up for the warm runs
                    ray_module.init(include_dashboard=False, logging_level="WARNING")
                timed("batch ray warm", lambda: run("batch ray warm", engine="ray", workers=workers))
                if segment:
                    timed(f"batch ray segment {segment:g}s",
                          lambda: run("batch ray segment", engine="ray", workers=workers, segment=segment))
            finally:
                if started and ray_module.is_initialized():
                    ray_module.shutdown()
        res.load = (res.load[0], load_average())
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
