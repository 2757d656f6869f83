"""The baselines ``vidmatte bench pipeline`` measures the pipeline against: plain loops, one
frame at a time on the calling thread, no queues and no threads of ours; and the model alone
two calls at once (the ``frames`` schedule's model work without its other stages)."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import torch

__all__ = ["naive_loop", "same_work_loop", "two_at_once"]


def naive_loop(clip: Path, out: Path, matter, compositor) -> float:
    """One frame at a time, one thread: decode → model → composite → rgb24 → FFmpeg → x264."""
    t0 = time.perf_counter()
    n = 0
    with av.open(str(clip)) as src, av.open(str(out), "w") as dst:
        vin = src.streams.video[0]
        vout = dst.add_stream("libx264", rate=vin.average_rate, options={"crf": "18", "preset": "medium"})
        vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        for frame in src.decode(vin):
            rgb = frame.to_ndarray(format="rgb24")
            x = torch.from_numpy(rgb).to(matter.device).permute(2, 0, 1)[None].float().div_(255)
            alpha = matter.predict(rgb)
            comp = compositor(x, alpha, n)
            img = comp[0].permute(1, 2, 0).mul(255).add_(0.5).clamp_(0, 255).byte().cpu().numpy()
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            vf.pts = n
            for p in vout.encode(vf):
                dst.mux(p)
            n += 1
        for p in vout.encode(None):
            dst.mux(p)
    return n / (time.perf_counter() - t0)


def same_work_loop(clip: Path, out: Path, proc) -> float:
    """One frame at a time on this thread: decode → ``proc`` (model, refine, smoothing,
    composite) → encode; frames a look-ahead smoother held back are flushed at the end."""
    from vidmatte.io.sinks import VideoSink
    from vidmatte.io.sources import VideoSource

    t0 = time.perf_counter()
    n = 0
    with VideoSource(clip, threading="none") as src, VideoSink(
            out, width=src.width, height=src.height, time_base=src.time_base, fps=src.fps, overwrite=True) as sink:
        for frame in src:
            for done in proc.process([frame]):
                sink.write(done)
                n += 1
        for done in proc.flush():
            sink.write(done)
            n += 1
    return n / (time.perf_counter() - t0)


def two_at_once(matter, batches: list) -> float:
    """fps of ``predict`` over ``batches`` from two threads at once, each on half the model's
    threads (the ``frames`` schedule's model work alone)."""
    import threading

    from vidmatte.runtime.schedules.frames import FRAME_WORKERS, session_threads
    from vidmatte.runtime.threads import model_threads
    from vidmatte.runtime.threads import torch_threads

    each = max(1, model_threads(matter) // FRAME_WORKERS)

    def work(part: list) -> None:
        with torch_threads(each, opencv=False):
            for b in part:
                matter.predict(b)

    with session_threads(matter, each):
        matter.predict(batches[0])  # a new session's first call
        threads = [threading.Thread(target=work, args=(batches[i::FRAME_WORKERS],)) for i in range(FRAME_WORKERS)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return sum(len(b) for b in batches) / (time.perf_counter() - t0)
