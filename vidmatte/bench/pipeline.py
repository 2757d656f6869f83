"""``vidmatte bench pipeline``: where the time goes, end to end, measured in one process.

On one clip (generated with PyAV, or given) it measures, one after the other:

1. **stages alone**: decode (all frames into memory), then the processor on those frames
   (to-tensor, model, smoothing, compositing, to-YUV), then encode (the processed frames);
2. **model only**: the matter's ``predict`` on frames already in memory; on a CPU also
   **two calls at once** (``model_two_fps``: two threads, each calling ``predict`` on half
   the model's threads, as the ``frames`` schedule does), so a pipeline above model-only
   shows where that comes from;
3. **naive loop**: decode → model → composite → RGB frame → encode, one frame at a time on
   one thread with FFmpeg's own RGB→YUV conversion (what the official video notebook does:
   no refinement, no smoothing);
4. **naive loop, same work** (``same_work_fps``): decode → the same
   :class:`~vidmatte.runtime.processor.Processor` (refinement and smoothing included) →
   encode, one frame at a time on the calling thread: the pipeline's work without its
   scheduling, so pipeline ÷ this is what the schedule wins or loses;
5. **pipeline**: the :class:`~vidmatte.runtime.pipeline.Pipeline` with ``policy`` (default
   ``auto``: it times its first frames and picks how to use the cores; the report says
   which schedule ran and why).

Ratios compare runs made side by side in this process: pipeline ÷ model-only throughput,
and pipeline ÷ naive. The report also gives the cores, the model's threads, the OpenMP
spin setting and the load average, since all of them move the numbers.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import av
import numpy as np
import torch

from vidmatte.bench.timing import load_average


__all__ = ["PipelineBench", "bench_pipeline", "make_bench_clip"]


@dataclass
class PipelineBench:
    clip: str
    width: int
    height: int
    frames: int
    model: str
    model_size: tuple
    device: str
    stage_ms: dict = field(default_factory=dict)
    model_only_fps: float = 0.0
    model_two_fps: float = 0.0
    naive_fps: float = 0.0
    same_work_fps: float = 0.0
    pipeline_fps: float = 0.0
    decode_fps: float = 0.0
    encode_fps: float = 0.0
    encoder: str = ""
    policy: str = ""
    threads: str = ""
    load: tuple = ()
    runs_fps: dict = field(default_factory=dict)
    model_cores_busy: float = 0.0
    refine: str = ""
    smoothing: str = ""

    @property
    def ratio_vs_model(self) -> float:
        return self.pipeline_fps / self.model_only_fps if self.model_only_fps else 0.0

    @property
    def ratio_vs_naive(self) -> float:
        return self.pipeline_fps / self.naive_fps if self.naive_fps else 0.0

    @property
    def ratio_vs_same_work(self) -> float:
        return self.pipeline_fps / self.same_work_fps if self.same_work_fps else 0.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(ratio_pipeline_vs_model_only=self.ratio_vs_model, ratio_pipeline_vs_naive=self.ratio_vs_naive,
                 ratio_pipeline_vs_same_work=self.ratio_vs_same_work)
        return d

    def _runs(self, key: str) -> str:
        return ", ".join(f"{x:.2f}" for x in self.runs_fps.get(key, [])) or "-"

    def summary(self) -> str:
        stages = "\n".join(f"  {k:<10} {v:8.1f} ms/frame" for k, v in self.stage_ms.items())
        return (
            f"clip {self.clip}: {self.width}x{self.height}, {self.frames} frames; model {self.model} at "
            f"{self.model_size[1]}x{self.model_size[0]} on {self.device}\n"
            f"stages alone:\n{stages}\n"
            f"decode alone {self.decode_fps:.1f} fps, encode alone {self.encode_fps:.1f} fps\n"
            f"model only      {self.model_only_fps:7.2f} fps   runs: {self._runs('model-only')}   "
            f"(cores busy in its best run: {self.model_cores_busy:.2f})\n"
            + (f"model, 2 at once {self.model_two_fps:6.2f} fps   runs: {self._runs('model-two')}   "
               f"(two calls side by side, half the threads each)\n" if self.model_two_fps else "")
            + f"naive loop      {self.naive_fps:7.2f} fps   runs: {self._runs('naive')}   (model + composite only)\n"
            f"naive same work {self.same_work_fps:7.2f} fps   runs: {self._runs('same-work')}   "
            f"(+ refine: {self.refine}, smoothing: {self.smoothing})\n"
            f"pipeline        {self.pipeline_fps:7.2f} fps   runs: {self._runs('pipeline')}\n"
            + "".join(f"{k:<16}{max(v):7.2f} fps   runs: {self._runs(k)}\n" for k, v in self.runs_fps.items()
                      if k.startswith("pipeline "))
            + f"schedule: {self.policy}\n"
            f"pipeline / model-only = {self.ratio_vs_model:.2f}x, pipeline / naive = {self.ratio_vs_naive:.2f}x, "
            f"pipeline / naive same work = {self.ratio_vs_same_work:.2f}x\n"
            f"threads: {self.threads}; load average before/after: " + " / ".join(f"{x:.2f}" for x in self.load)
        )


def make_bench_clip(path: Path, width: int, height: int, frames: int, fps: int = 30, gop: Optional[int] = None) -> Path:
    """A textured moving pattern as H.264 (ultrafast), so decoding costs what real video costs
    (``gop``: frames between keyframes, default x264's)."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 255, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    texture = np.kron(texture, np.ones((8, 8, 1), np.uint8))[:height, :width]
    yy, xx = np.mgrid[0:height, 0:width]
    with av.open(str(path), "w") as c:
        options = {"preset": "ultrafast", "crf": "23", **({"g": str(gop)} if gop else {})}
        s = c.add_stream("libx264", rate=fps, options=options)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            cx = width * (0.3 + 0.4 * i / max(frames - 1, 1))
            disc = ((xx - cx) ** 2 + (yy - height / 2) ** 2) < (0.25 * height) ** 2
            img = np.where(disc[..., None], 255 - texture, np.roll(texture, i, axis=1))
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img, np.uint8), format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def _threads(matter) -> str:
    """Cores, the model's threads and the OpenMP spin setting, in words."""
    from vidmatte.runtime.threads import model_threads
    from vidmatte.runtime.threads import cpu_cores

    spin = os.environ.get("GOMP_SPINCOUNT") or ("OMP_WAIT_POLICY=" + os.environ["OMP_WAIT_POLICY"]
                                                if "OMP_WAIT_POLICY" in os.environ else "OpenMP default spin")
    spin = f"GOMP_SPINCOUNT={spin}" if spin.isdigit() else spin
    return f"{cpu_cores()} cores, model {model_threads(matter)} threads, {spin}"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_pipeline(
    matter,
    background="#3366ff",
    *,
    smoothing="flow",
    fg_estimation: str = "blur",
    refine: str = "auto",
    clip: Optional[Path] = None,
    width: int = 1920,
    height: int = 1080,
    frames: int = 24,
    batch_size: int = 1,
    naive: bool = True,
    workdir: Optional[Path] = None,
    policy: str = "auto",
    rounds: int = 2,
) -> PipelineBench:
    """Measure ``matter`` with ``background``, ``smoothing`` and ``fg_estimation`` on ``clip``
    (or a generated one). Model-only, naive and pipeline runs take turns ``rounds`` times and
    the best of each is reported (a busy machine only ever slows a run down). ``policy="all"``
    adds a pipeline run per fixed schedule (inline, overlap, threads) to each round."""
    from vidmatte.bench.baselines import naive_loop, same_work_loop, two_at_once
    from vidmatte.io.sinks import VideoSink
    from vidmatte.io.sources import VideoSource
    from vidmatte.runtime.pipeline import Pipeline
    from vidmatte.runtime.processor import Processor
    from vidmatte.runtime.stats import StageTimes
    from vidmatte.runtime.tuning import tune_allocator

    tune_allocator()  # as every Pipeline run does: the stages-alone times then match the runs'
    load0 = load_average()
    tmp = tempfile.TemporaryDirectory(dir=workdir)
    root = Path(tmp.name)
    try:
        if clip is None:
            clip = make_bench_clip(root / "bench.mp4", width, height, frames)
        dev = matter.device
        yuv = dev.type == "cuda"  # torch RGB→YUV only pays off on the GPU
        fmt = "yuv420p" if yuv else "rgb24"

        def processor(**kw) -> Processor:
            return Processor(matter, background, smoothing=smoothing, fg_estimation=fg_estimation, format=fmt,
                             refine=refine, **kw)

        # 1. stages alone ------------------------------------------------------------
        t0 = time.perf_counter()
        with VideoSource(clip, threading="frame") as src:
            decoded = list(src)
            tb, fps, w, h = src.time_base, src.fps, src.width, src.height
        decode_s = time.perf_counter() - t0
        n = len(decoded)
        proc = processor(times=StageTimes())
        proc.process(decoded[:1])  # warm-up (allocations, one-off kernels)
        proc.reset()
        proc.times = StageTimes()
        outs = []
        for i in range(0, n, batch_size):
            outs += proc.process(decoded[i:i + batch_size])
        outs += proc.flush()  # what a look-ahead smoother held back
        stage = proc.times.per_frame_ms(n)
        if not yuv:  # on CPU the sink converts with FFmpeg's swscale: time that step alone
            t0 = time.perf_counter()
            for f in outs:
                av.VideoFrame.from_ndarray(f.image, format="rgb24").reformat(format="yuv420p")
            stage["to_yuv"] = 1000 * (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        with VideoSink(root / "enc.mp4", width=w, height=h, time_base=tb, fps=fps, hw_encode=yuv) as sink:
            encoder = sink.encoder
            for f in outs:
                sink.write(f)
        encode_s = time.perf_counter() - t0
        stage_ms = {"decode": 1000 * decode_s / n, **stage, "encode": 1000 * encode_s / n}

        # 2-4. model only, naive loop, pipeline: `rounds` times in turn; the best of each counts
        batch = [torch.from_numpy(np.stack([f.image for f in decoded[i:i + batch_size]])).to(dev)
                 for i in range(0, n, batch_size)]
        del outs, decoded
        matter.predict(batch[0])
        _sync(dev)
        from vidmatte.runtime.schedules.frames import parallel_safe

        two = dev.type == "cpu" and parallel_safe(matter)
        runs: dict = {"model-only": [], "naive": [], "same-work": [], "pipeline": []}
        busy: list = []  # CPU seconds per wall second while the model runs alone: its share of the cores
        for r in range(max(1, rounds)):
            t0, c0 = time.perf_counter(), time.process_time()
            for b in batch:
                matter.predict(b)
            _sync(dev)
            runs["model-only"].append(n / (time.perf_counter() - t0))
            busy.append((time.process_time() - c0) / (time.perf_counter() - t0))
            if two:
                runs.setdefault("model-two", []).append(two_at_once(matter, batch))
            if naive:
                runs["naive"].append(naive_loop(clip, root / "naive.mp4", matter, proc.compositor))
                sproc = processor()
                sproc.timed = False
                runs["same-work"].append(same_work_loop(clip, root / "same.mp4", sproc))
            for pol in (("auto", "inline", "overlap", "frames", "threads") if policy == "all" else (policy,)):
                pproc = processor()
                pproc.timed = False
                with VideoSource(clip, threading="frame") as src, VideoSink(
                    root / "pipe.mp4", width=src.width, height=src.height, time_base=src.time_base, fps=src.fps,
                    overwrite=True, hw_encode=yuv,
                ) as sink:
                    stats = Pipeline(src, pproc, sink, batch_size=batch_size, progress=False, policy=pol).run()
                key = "pipeline" if pol in ("auto", policy) else f"pipeline {pol}"
                runs.setdefault(key, []).append(stats.fps)
                if key == "pipeline":
                    policies = policies + [stats.policy] if r else [stats.policy]
        model_fps, pipeline_fps = max(runs["model-only"]), max(runs["pipeline"])
        naive_fps = max(runs["naive"]) if naive else 0.0
        same_fps = max(runs["same-work"]) if naive else 0.0

        return PipelineBench(
            clip=str(clip), width=w, height=h, frames=n, model=getattr(matter, "name", type(matter).__name__),
            model_size=tuple(getattr(matter, "size", (0, 0))), device=str(dev), stage_ms=stage_ms,
            model_only_fps=model_fps, model_two_fps=max(runs.get("model-two", [0.0])), naive_fps=naive_fps, same_work_fps=same_fps, pipeline_fps=pipeline_fps,
            refine=str(refine), smoothing=str(smoothing),
            decode_fps=n / decode_s, encode_fps=n / encode_s, encoder=encoder, policy=" | ".join(dict.fromkeys(policies)),
            threads=_threads(matter), runs_fps=runs, model_cores_busy=busy[runs["model-only"].index(model_fps)],
            load=(load0, load_average()),
        )
    finally:
        tmp.cleanup()
