"""``vidmatte bench gpu``'s steps for the issue-27 parts: ``encoder`` (the encoder's own fps
beside the model's) and ``parts`` (device YUV <-> RGB and DIS on the worker against the host
path). See :mod:`vidmatte.bench.gpu` for what each reports.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import torch

__all__ = ["encoder", "parts"]


def _clip(root: Path, w: int, h: int, frames: int, fps: int) -> Path:
    from vidmatte.bench.pipeline import make_bench_clip

    return make_bench_clip(root / f"clip_{w}x{h}_{frames}.mp4", w, h, frames, fps=fps)


def encoder(root: Path, w: int, h: int, frames: int, model_ms: Optional[float], hw: bool) -> dict:
    """The encoder alone at ``w x h``: plain sink vs :class:`ThreadedSink` (module docstring)."""
    import numpy as np

    from vidmatte.frame import Frame
    from vidmatte.io.sinks import VideoSink
    from vidmatte.io.sources import VideoSource
    from vidmatte.io.threaded import ThreadedSink, encoder_threads
    from vidmatte.ops.color import rgb_to_yuv420

    clip = _clip(root, w, h, frames, 30)
    with VideoSource(clip) as src:
        tb, fps = src.time_base, src.fps
        decoded = list(src)
    # the planes the CUDA path hands the sink (converted here once, untimed)
    yuv = [Frame(rgb_to_yuv420(np.asarray(f.image).transpose(2, 0, 1)[None]).unbind()[0], pts=f.pts,
                 time_base=f.time_base, index=f.index, format="yuv420p") for f in decoded]
    threads = encoder_threads(w, h)

    def run(threaded: bool) -> dict:
        inner = VideoSink(root / f"encoder_{int(threaded)}.mp4", width=w, height=h, time_base=tb, fps=fps,
                          hw_encode=hw, overwrite=True, threads=threads if threaded else 0)
        sink = ThreadedSink(inner) if threaded else inner
        t0, held = time.perf_counter(), 0.0
        with sink:
            for f in yuv:
                t1 = time.perf_counter()
                sink.write(f)
                held += time.perf_counter() - t1
        wall = time.perf_counter() - t0
        out = {"encoder": inner.encoder, "fps": len(yuv) / wall, "write_ms": 1000 * held / len(yuv)}
        if threaded:
            out.update(threads=threads, encode_fps=sink.encode_fps)
        return out

    res = {"clip": f"{w}x{h}, {len(yuv)} frames", "plain": run(False), "threaded": run(True)}
    if model_ms:
        res["model_fps"] = 1000.0 / model_ms
        res["encoder_vs_model"] = res["threaded"]["encode_fps"] / res["model_fps"]
    return res


def parts(matter, root: Path, w: int, h: int, frames: int, runs: int) -> dict:
    """The building blocks alone (module docstring, step ``parts``)."""
    import av
    import numpy as np

    from vidmatte.bench.timing import time_ms
    from vidmatte.io.convert import to_rgb
    from vidmatte.io.planes import yuv_planes
    from vidmatte.ops.yuv import rgb_to_yuv, yuv420_to_rgb
    from vidmatte.frame import Frame
    from vidmatte.runtime.processor import Processor
    from vidmatte.temporal import FlowSmoother

    dev = matter.device
    clip = _clip(root, w, h, frames, 30)
    with av.open(str(clip)) as c:
        decoded = [f for _, f in zip(range(frames), c.decode(video=0))]
    first = decoded[0]
    p = yuv_planes(first)
    pin = dev.type == "cuda"
    host_planes = [torch.from_numpy(a.copy()) for a in p.planes]
    host_planes = [t.pin_memory() for t in host_planes] if pin else host_planes
    res: dict = {"clip": f"{w}x{h}", "planes": p.layout, "matrix": p.matrix}

    def host_rgb():
        rgb = torch.from_numpy(to_rgb(first))
        return (rgb.pin_memory() if pin else rgb).to(dev, non_blocking=pin)

    def device_rgb():
        return yuv420_to_rgb(*(t.to(dev, non_blocking=pin) for t in host_planes), **p.kwargs, out="uint8")

    res["to_rgb_host_ms"] = time_ms(host_rgb, dev, runs, 2)
    res["to_rgb_device_ms"] = time_ms(device_rgb, dev, runs, 2)
    rgb = device_rgb()
    res["to_rgb_max_diff_vs_host"] = int((rgb[0].cpu().int() - torch.from_numpy(to_rgb(first)).int()).abs().max())
    chw = rgb.permute(0, 3, 1, 2)
    host_frame = av.VideoFrame.from_ndarray(to_rgb(first), format="rgb24")
    res["to_yuv_host_ms"] = time_ms(lambda: host_frame.reformat(format="yuv420p", dst_colorspace="ITU709",
                                                                dst_color_range="MPEG"), dev, runs, 2)
    res["to_yuv_device_ms"] = time_ms(lambda: [t.cpu() for t in rgb_to_yuv(chw)], dev, runs, 2)

    # model + flow smoothing + compositing a frame: DIS on the compute thread vs the worker
    frames = [Frame(to_rgb(f), index=i) for i, f in enumerate(decoded)]
    batches = [torch.from_numpy(f.image)[None] for f in frames]
    if pin:
        batches = [b.pin_memory() for b in batches]

    def loop(worker) -> float:
        sm = FlowSmoother(2, worker=worker)
        if not worker:
            sm.prefetch = None  # the old way: views (and their stream sync) made after the forward
        proc = Processor(matter, "#3366ff", smoothing=sm)
        proc.timed = False
        def step(i: int, pixels: torch.Tensor) -> None:  # the CUDA schedule's calls: pixels on the device
            proc.finish([frames[i]], *proc.infer([frames[i]], images=pixels.to(dev)), host=False)

        step(0, batches[0])  # warm-up (DIS, pools, pinned blocks)
        proc.reset()
        _sync(dev)
        t0 = time.perf_counter()
        for i, b in enumerate(batches):
            step(i, b)
        proc.flush(host=False)
        _sync(dev)
        return 1000 * (time.perf_counter() - t0) / len(batches)

    res["model_smooth_compose_ms"] = {"dis_on_compute_thread": loop(False), "dis_on_worker": loop(True)}
    return res


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
