"""``vidmatte bench live``: the webcam job as a user runs it, per frame size, beside its ceiling.

For each size the source (a file played at its own pace like a camera, or a lavfi graph) is
scaled to ``W x H`` and run through :func:`vidmatte.jobs.live.webcam` with a background and
a recording sink, exactly as ``vidmatte webcam --source FILE --realtime -b IMAGE -o OUT``
does. Then the model alone runs on frames of that size on the same threads (one call at a
time on ``threads``, or ``workers`` calls at once on ``threads // workers`` each, as the live
workers do): the fps the model alone allows is the ceiling of the live run.

Every row holds: ``fps_out``, ``fps_in`` (capture), ``captured``, ``processed``,
``dropped`` and ``unread`` (captured = processed + dropped + unread; ``unread`` is the
frame(s) still pending when the run stopped, at most ``workers``), latency ``p50``/``p95``
/``max`` (capture → every sink written), per-stage ms per output frame, ``model_ms`` and
``ceiling_fps`` (the model alone), ``workers``, ``threads`` and the machine's load average.
Speed is never asserted in tests: the test checks the fields and that the counts add up.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from vidmatte.bench.timing import load_average

__all__ = ["LiveRow", "LiveBench", "bench_live", "default_source", "default_background", "model_ceiling"]

_SAMPLES = Path(__file__).resolve().parents[2] / "samples"

#: the fields every row has (the CI test checks them all)
FIELDS = ("width", "height", "fps_out", "fps_in", "captured", "processed", "dropped", "unread",
          "latency_p50_ms", "latency_p95_ms", "latency_max_ms", "stages_ms", "model_ms", "ceiling_fps",
          "workers", "threads", "stopped_by", "wall_s", "load")


def default_source() -> str:
    """Real footage of people when the repository's samples are there, else a lavfi test pattern."""
    talk = _SAMPLES / "talk.mp4"
    return str(talk) if talk.is_file() else "lavfi:testsrc2=size=1280x720:rate=30:duration=4"


def default_background() -> str:
    beach = _SAMPLES / "beach.jpg"
    return str(beach) if beach.is_file() else "#3366ff"


@dataclass
class LiveRow:
    width: int
    height: int
    fps_out: float
    fps_in: float
    captured: int
    processed: int
    dropped: int
    unread: int
    latency_p50_ms: float
    latency_p95_ms: float
    latency_max_ms: float
    stages_ms: dict
    model_ms: float
    ceiling_fps: float
    workers: int
    threads: int
    stopped_by: Optional[str]
    wall_s: float
    load: float

    def line(self) -> str:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in self.stages_ms.items())
        return (f"{self.width}x{self.height}: {self.fps_out:.1f} fps out of {self.fps_in:.1f} captured "
                f"({self.processed} out, {self.dropped} dropped, {self.unread} unread); latency p50 "
                f"{self.latency_p50_ms:.0f} p95 {self.latency_p95_ms:.0f} ms; model alone {self.model_ms:.1f} ms "
                f"-> ceiling {self.ceiling_fps:.1f} fps ({self.workers} worker(s), {self.threads} threads); "
                f"ms/frame: {stages}; load {self.load:.2f}")


@dataclass
class LiveBench:
    source: str
    background: str
    model: str
    seconds: float
    cores: int
    rows: list = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["rows"] = [asdict(r) for r in self.rows]
        return d

    def summary(self) -> str:
        head = (f"bench live: {self.model}, source {self.source}, background {self.background}, "
                f"{self.seconds:g} s per size, {self.cores} cores")
        return "\n".join([head, *(r.line() for r in self.rows)])


def model_ceiling(matter: Any, height: int, width: int, *, workers: int = 1, runs: int = 8,
                  seed: int = 0) -> tuple[float, int]:
    """``(ms per frame, threads)`` of the model alone on ``height x width`` frames, as the live
    run calls it: one call at a time on the model's threads, or ``workers`` calls at once on
    ``threads // workers`` each (throughput). Best of two rounds."""
    from contextlib import ExitStack

    from vidmatte.runtime.schedules.frames import session_threads
    from vidmatte.runtime.threads import model_threads
    from vidmatte.runtime.threads import torch_threads

    frame = np.random.default_rng(seed).integers(0, 256, (1, height, width, 3), dtype=np.uint8)
    threads = model_threads(matter)
    each = max(1, threads // workers)

    def loop(n: int) -> None:
        with torch_threads(each, opencv=False):
            for _ in range(n):
                matter.predict(frame)

    with ExitStack() as stack:
        if workers > 1:
            stack.enter_context(session_threads(matter, each))
        loop(1)  # warm (a new session's first call)
        best, per = float("inf"), max(1, runs // workers)
        for _ in range(2):
            t0 = time.perf_counter()
            pool = [threading.Thread(target=loop, args=(per,)) for _ in range(workers)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            best = min(best, (time.perf_counter() - t0) * 1000.0 / (per * workers))
    return best, threads


def bench_live(sizes: Sequence[tuple[int, int]] = ((360, 640), (720, 1280), (1080, 1920)), *,
               source: Optional[str] = None, seconds: float = 4.0, background: Optional[str] = None,
               model: Any = "auto", workers: Optional[int] = None, threads: Optional[int] = None,
               log: Callable[[str], None] = lambda line: None, **webcam_kw: Any) -> LiveBench:
    """Run the webcam job on ``source`` scaled to each ``(H, W)`` in ``sizes`` for ``seconds``
    (or until the source ends), recording to a temporary file; see the module docstring."""
    from vidmatte.jobs.common import as_matter
    from vidmatte.jobs.live import webcam
    from vidmatte.runtime.threads import cpu_cores

    source = source or default_source()
    background = background or default_background()
    matter = as_matter(model, live=True)
    name = getattr(matter, "name", type(matter).__name__)
    size = getattr(matter, "size", None)
    res = LiveBench(source=source, background=background, model=f"{name} {size}", seconds=float(seconds),
                    cores=cpu_cores())
    realtime = None if source.startswith("lavfi:") else True
    with tempfile.TemporaryDirectory(prefix="vidmatte-bench-live-") as tmp:
        for h, w in sizes:
            out = os.path.join(tmp, f"live_{w}x{h}.mp4")
            load = load_average()
            stats = webcam(source, matter=matter, background=background, output=out, overwrite=True,
                           width=w, height=h, realtime=realtime, duration=seconds, workers=workers,
                           threads=threads, log=log, **webcam_kw)
            n_workers = int(getattr(stats, "workers", workers or 1))
            model_ms, n_threads = model_ceiling(matter, h, w, workers=n_workers)
            lat = stats.latency_ms or [float("nan")]
            row = LiveRow(width=w, height=h, fps_out=stats.fps_out, fps_in=stats.fps_in, captured=stats.captured,
                          processed=stats.processed, dropped=stats.dropped,
                          unread=stats.captured - stats.processed - stats.dropped,
                          latency_p50_ms=float(np.percentile(lat, 50)), latency_p95_ms=float(np.percentile(lat, 95)),
                          latency_max_ms=float(np.max(lat)),
                          stages_ms={k: round(v, 2) for k, v in stats.stages_ms.items()},
                          model_ms=model_ms, ceiling_fps=1000.0 / model_ms if model_ms > 0 else float("inf"),
                          workers=n_workers, threads=n_threads, stopped_by=stats.stopped_by, wall_s=stats.wall_s,
                          load=load)
            res.rows.append(row)
            log(row.line())
    return res
