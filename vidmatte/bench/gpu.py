"""``vidmatte bench gpu``: the CUDA path measured in one run, as JSON.

Steps (each in its own ``try``, so one failure does not lose the others; their errors are
recorded in the JSON):

1. ``model_only``: BiRefNet-lite forward at ``size``² in fp16, ours eager and ours replayed as
   a CUDA graph, against the official code's autocast-fp16 path (``official=``, a checkout of
   ZhengPeng7/BiRefNet) with the same random weights; median of CUDA-event timings; the
   outputs are compared too.
2. ``end_to_end``: a 1080p H.264 clip through ``bench pipeline`` (decode → model → compose →
   encode, NVENC when it opens): pipeline fps against model-only fps; the encode share.
   ``encode_speed``: the same pipeline with x264 medium and veryfast (whether the encoder is
   the ceiling where the GPU has no NVENC).
3. ``memory``: a two-minute clip through the pipeline; allocated GPU memory sampled as it
   runs, which must stay flat (peak of the second half within 2 % of the first half's).
   ``encoder``: the encoder's own fps at that size beside the model's: a plain H.264 sink on
   the caller's thread (x264's default threads) and :class:`~vidmatte.io.threaded.ThreadedSink`
   with :func:`~vidmatte.io.threaded.encoder_threads` (its worker's fps, and how long a
   ``write`` holds the caller), fed the YUV planes the CUDA path hands the sink.
   ``parts``: the GPU building blocks of issue 27 alone, at that size: the decoder's YUV to
   RGB on the host (swscale) + the RGB upload vs the planes' upload + :func:`~vidmatte.ops.yuv.yuv420_to_rgb`
   on the device; RGB to YUV for the encoder, swscale vs :func:`~vidmatte.ops.yuv.rgb_to_yuv`
   (+ download); and the model + ``flow`` smoother + compositing per frame with DIS on the
   compute thread (the old way: a stream sync a frame) vs on the worker with prefetch.
4. ``two_pipelines``: two pipelines on one GPU at once, fps of each.
5. ``live``: ``vidmatte.webcam`` from a 1080p lavfi source at 30 fps for ``live_s`` seconds:
   fps out, latency p50/p95, drops.

The weights are random (timing does not depend on values; no checkpoint is needed). On a
CPU it runs too, at small sizes (``--quick``), which is how the tests keep it working.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Callable, Optional

import torch

from vidmatte.bench import gpu_parts
from vidmatte.bench.timing import time_ms

__all__ = ["bench_gpu", "time_ms", "STEPS", "GRAPH_TOLERANCE"]

#: largest alpha difference (0..1) between a CUDA-graph replay and eager on a fresh input that counts as equal
GRAPH_TOLERANCE = 2e-3


def _matter(state: dict, size: int, device: torch.device, dtype: torch.dtype, graph: bool):
    from vidmatte.models.birefnet import BiRefNet, BiRefNetMatter

    net = BiRefNet("lite", patch_order="current")
    net.load_state_dict(state)
    return BiRefNetMatter(net.eval(), size=size, device=device, dtype=dtype, cuda_graph=graph)


def model_only(device, size, dtype, runs, warmup, official: Optional[str]) -> dict:
    from vidmatte.models.birefnet import BiRefNet

    torch.manual_seed(0)
    state = {k: v.clone() for k, v in BiRefNet("lite", patch_order="current").state_dict().items()}
    x = torch.randn(1, 3, size, size, device=device)
    res: dict = {"size": size, "dtype": str(dtype).replace("torch.", "")}
    x2 = torch.randn(1, 3, size, size, device=device)   # not the capture input: a replay must follow it
    outs, second = {}, {}
    for name, graph in (("ours_eager", False), ("ours_graph", True)):
        if graph and device.type != "cuda":
            continue
        m = _matter(state, size, device, dtype, graph)
        res[f"{name}_ms"] = time_ms(lambda: m.logits(x.to(dtype)), device, runs, warmup)
        outs[name] = m.logits(x.to(dtype)).float()
        second[name] = m.logits(x2.to(dtype)).float()
        del m
    if len(second) == 2:
        res["max_alpha_diff_graph_vs_eager"] = float(
            (second["ours_graph"].sigmoid() - second["ours_eager"].sigmoid()).abs().max())
        # fp16 kernels chosen again by cuDNN may differ in the last bits; a stale or wrong replay
        # (the deformable conv on the legacy stream) differs by far more
        res["graph_matches_eager"] = res["max_alpha_diff_graph_vs_eager"] <= GRAPH_TOLERANCE
    if official:
        from vidmatte.bench.official import load_official_birefnet

        ref = load_official_birefnet(official).to(device)
        ref.load_state_dict(state)

        def run_official():
            with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32), torch.no_grad():
                return ref(x)[-1]

        res["official_autocast_ms"] = time_ms(run_official, device, runs, warmup)
        outs["official"] = run_official().float()
        for name in ("ours_eager", "ours_graph"):
            if f"{name}_ms" in res:
                res[f"speedup_{name}"] = res["official_autocast_ms"] / res[f"{name}_ms"]
                res[f"max_alpha_diff_{name}_vs_official"] = float((outs[name].sigmoid() - outs["official"].sigmoid()).abs().max())
    return res


def _clip(root: Path, w: int, h: int, frames: int, fps: int) -> Path:
    from vidmatte.bench.pipeline import make_bench_clip

    return make_bench_clip(root / f"clip_{w}x{h}_{frames}.mp4", w, h, frames, fps=fps)


def _run_pipeline(clip: Path, matter, out: Path, on_frame=None, codec_preset: str = "medium") -> dict:
    from vidmatte.io.sinks import VideoSink
    from vidmatte.io.sources import VideoSource
    from vidmatte.runtime.pipeline import Pipeline
    from vidmatte.runtime.processor import Processor

    import numpy as np

    from vidmatte.frame import Frame

    fmt = "yuv420p" if matter.device.type == "cuda" else "rgb24"
    proc = Processor(matter, "#3366ff", format=fmt)
    with VideoSource(clip) as src:  # warm up first: CUDA graphs are captured outside the threads
        proc.process([Frame(np.zeros((src.height, src.width, 3), np.uint8))])
    proc.reset()
    proc.timed = False
    with VideoSource(clip) as src, VideoSink(out, width=src.width, height=src.height, time_base=src.time_base,
                                             fps=src.fps, hw_encode=True, codec_preset=codec_preset) as sink:
        stats = Pipeline(src, proc, sink, progress=on_frame or False).run()
        encoder = sink.encoder
    return {"frames": stats.frames, "fps": stats.fps, "encoder": encoder, "policy": stats.policy}


def end_to_end(matter, root: Path, w: int, h: int, frames: int) -> dict:
    from vidmatte.bench.pipeline import bench_pipeline

    b = bench_pipeline(matter, "#3366ff", clip=_clip(root, w, h, frames, 30), naive=True, workdir=root)
    total = sum(b.stage_ms.values())
    return {"clip": f"{w}x{h}, {frames} frames", "model_only_fps": b.model_only_fps, "naive_fps": b.naive_fps,
            "pipeline_fps": b.pipeline_fps, "ratio_pipeline_vs_model_only": b.ratio_vs_model,
            "ratio_pipeline_vs_naive": b.ratio_vs_naive, "stage_ms": b.stage_ms, "encoder": b.encoder,
            "encode_share": b.stage_ms.get("encode", 0.0) / total if total else 0.0,
            "encoder_fps": 1000.0 / b.stage_ms["encode"] if b.stage_ms.get("encode") else 0.0}


def encode_speed(matter, root: Path, w: int, h: int, frames: int) -> dict:
    """The same pipeline with x264's medium and veryfast presets (is the encoder the ceiling?)."""
    clip = _clip(root, w, h, frames, 30)
    res = {p: _run_pipeline(clip, matter, root / f"enc_{p}.mp4", codec_preset=p)["fps"] for p in ("medium", "veryfast")}
    return {"clip": f"{w}x{h}, {frames} frames", "pipeline_fps_by_x264_preset": res}


def memory(matter, root: Path, w: int, h: int, seconds: int, fps: int) -> dict:
    dev = matter.device
    samples: list = []

    def on_frame(done: int) -> None:
        if dev.type == "cuda" and done % 50 == 0:
            samples.append((done, torch.cuda.memory_allocated(dev) / 2**20, torch.cuda.max_memory_allocated(dev) / 2**20))

    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    run = _run_pipeline(_clip(root, w, h, seconds * fps, fps), matter, root / "memory.mp4", on_frame)
    res = {"clip": f"{w}x{h}, {seconds} s at {fps} fps", **run, "samples_mb": samples}
    if len(samples) >= 4:
        half = len(samples) // 2
        first = max(s[1] for s in samples[:half])
        second = max(s[1] for s in samples[half:])
        res.update(first_half_peak_mb=first, second_half_peak_mb=second, flat=second <= first * 1.02 + 1)
    return res


def two_pipelines(make_matter, root: Path, w: int, h: int, frames: int) -> dict:
    clip = _clip(root, w, h, frames, 30)
    single = _run_pipeline(clip, make_matter(), root / "single.mp4")["fps"]
    results: dict = {}

    def worker(i: int) -> None:
        results[i] = _run_pipeline(clip, make_matter(), root / f"pair{i}.mp4")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    return {"single_fps": single, "each_fps": [results[i]["fps"] for i in range(2)],
            "combined_fps": 2 * frames / wall, "combined_vs_single": 2 * frames / wall / single if single else 0.0}


def live(matter, root: Path, w: int, h: int, seconds: float) -> dict:
    from vidmatte.jobs.live import webcam

    st = webcam(f"lavfi:testsrc2=size={w}x{h}:rate=30", matter=matter, background="blur",
                output=root / "live.mp4", duration=seconds, overwrite=True)
    return {"source": f"lavfi testsrc2 {w}x{h} at 30 fps", "seconds": seconds, "fps_out": st.fps_out,
            "fps_in": st.fps_in, "dropped": st.dropped, "latency_p50_ms": st.latency(50),
            "latency_p95_ms": st.latency(95), "stages_ms": st.stages_ms}


STEPS = ("model_only", "end_to_end", "encoder", "parts", "live", "memory", "encode_speed", "two_pipelines")


def _model_ms(res: dict) -> Optional[float]:
    """The model's ms a frame from the ``model_only`` step (graph replay if it ran, else eager)."""
    m = res.get("model_only") or {}
    return m.get("ours_graph_ms") or m.get("ours_eager_ms")


def bench_gpu(*, device: str = "cuda", official: Optional[str] = None, quick: bool = False,
              steps: Optional[tuple] = None, log: Callable[[str], None] = print,
              save: Optional[Callable[[dict], None]] = None) -> dict:
    """Run the ``steps`` (default all of :data:`STEPS`); returns the results (module docstring).
    ``save(results)`` is called after each step, so a run cut short keeps what it measured."""
    from vidmatte.errors import VidmatteError
    from vidmatte.models.birefnet import BiRefNet

    unknown = sorted(set(steps or ()) - set(STEPS))
    if unknown:
        raise VidmatteError(f"unknown bench gpu step {', '.join(unknown)}; choose from {', '.join(STEPS)}")
    dev = torch.device(device)
    dtype = torch.float16 if dev.type == "cuda" else torch.float32
    size = 64 if quick else 1024
    big = (160, 96) if quick else (1920, 1080)
    res: dict = {"device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
                 "torch": torch.__version__, "weights": "random (timing does not depend on values)"}
    if dev.type == "cuda":
        res["cuda"] = torch.version.cuda
    from vidmatte.io.encoders import PROBED, hardware_encoder

    res["nvenc"] = {"h264": hardware_encoder("libx264"), "hevc": hardware_encoder("libx265"), "probed": PROBED}

    def make_matter():
        from vidmatte.models.birefnet import BiRefNetMatter

        return BiRefNetMatter(BiRefNet("lite").eval(), size=size, device=dev, dtype=dtype)

    with tempfile.TemporaryDirectory(prefix="vidmatte-gpu-") as tmp:
        root = Path(tmp)
        shared = {}

        def m():  # one matter for the steps that share it (built once: setdefault would build it every time)
            if "m" not in shared:
                shared["m"] = make_matter()
            return shared["m"]

        # in order of what the targets need first: a run cut short keeps those
        plan = [
            ("model_only", lambda: model_only(dev, size, dtype, 3 if quick else 30, 1 if quick else 10, official)),
            ("end_to_end", lambda: end_to_end(m(), root, *big, 4 if quick else 300)),
            ("encoder", lambda: gpu_parts.encoder(root, *big, 4 if quick else 300, _model_ms(res), dev.type == "cuda")),
            ("parts", lambda: gpu_parts.parts(m(), root, *big, 2 if quick else 60, 1 if quick else 20)),
            ("live", lambda: live(m(), root, *big, 1.5 if quick else 10.0)),
            ("memory", lambda: memory(m(), root, 160 if quick else 640, 96 if quick else 360, 1 if quick else 120,
                                      4 if quick else 15)),
            ("encode_speed", lambda: encode_speed(m(), root, *big, 4 if quick else 300)),
            ("two_pipelines", lambda: two_pipelines(make_matter, root, *big, 4 if quick else 200)),
        ]
        for name, step in [(n, f) for n, f in plan if steps is None or n in steps]:
            t0 = time.perf_counter()
            try:
                res[name] = step()
            except Exception as exc:  # keep going: the other measurements still count
                res[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-2000:]}
            res[name]["seconds"] = round(time.perf_counter() - t0, 1)
            log(f"{name}: {_short(res[name])}")
            if save is not None:
                save(res)
            if dev.type == "cuda":
                torch.cuda.empty_cache()
    return res


def _short(d: dict) -> str:
    keep = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in d.items()
            if not isinstance(v, (dict, list)) and k != "traceback"}
    return ", ".join(f"{k}={v}" for k, v in keep.items())
