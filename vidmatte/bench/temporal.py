"""``vidmatte bench temporal``: temporal smoothers against ground truth, and what they cost.

1. **Clips**: each foreground (an alphamatting.com-style image + ground-truth matte) over each
   background video, moving still → slow → fast → still (:func:`vidmatte.eval.synth.make_gt_clip`).
   Backgrounds below 240 lines are upscaled 2x (carphone's 176x144 → 352x288), so the
   foreground is person-sized in pixels too.
2. **Quality**: one model run per clip, every smoother scored on the 8-bit matte it delivers
   (:func:`vidmatte.eval.smoothing.evaluate_smoothers`): MAD, dtSSD, per phase, and each
   relative to no smoothing; the table's ``mean`` row is the mean of the per-clip ratios.
3. **Cost**: each smoother's ms/frame on the first clip's frames resized to 640x360 (flow,
   warps and fusion together), against the model's ms/frame on the same frames: blocks of
   all frames, model and smoothers taking turns, twice, in this process (whole blocks, so
   onnxruntime's spinning threads after a model call do not land in a smoother's timing).
   The load average is reported with it.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

__all__ = ["TemporalBench", "make_clips", "smoother_cost", "bench_temporal", "format_temporal"]


@dataclass
class TemporalBench:
    """Per-clip reports, the mean ratios, and the cost at 640x360."""

    reports: dict  # clip name → SmoothingReport
    cost_ms: dict = field(default_factory=dict)  # "model" and each smoother → ms/frame
    load: tuple = ()
    model: Optional[str] = None

    def mean_ratios(self) -> dict:
        """Smoother → metric → mean over clips of (smoother ÷ none)."""
        out: dict = {}
        for rep in self.reports.values():
            for name, row in rep.ratios.items():
                for k, v in row.items():
                    out.setdefault(name, {}).setdefault(k, []).append(v)
        return {n: {k: float(np.mean(v)) for k, v in row.items()} for n, row in out.items()}

    def to_dict(self) -> dict:
        return {"model": self.model, "load": list(self.load), "cost_ms_per_frame_640x360": self.cost_ms,
                "mean_ratios": self.mean_ratios(), "clips": {k: r.to_dict() for k, r in self.reports.items()}}


def make_clips(alphamatting: Path, foregrounds: Sequence[str], videos: Sequence[Path], out_dir: Path, *,
               frames: int = 60, **synth) -> dict:
    """``{name: GtClip}`` for every foreground × video (``name`` = ``video-stem/foreground``)."""
    from vidmatte.errors import InputError
    from vidmatte.eval.synth import make_gt_clip
    from vidmatte.io.sources import VideoSource

    clips = {}
    for video in videos:
        with VideoSource(Path(video)) as src:
            height = src.height * 2 if src.height < 240 else None
        for fg in foregrounds:
            image, matte = Path(alphamatting) / "input" / f"{fg}.png", Path(alphamatting) / "gt" / f"{fg}.png"
            if not (image.is_file() and matte.is_file()):
                raise InputError(f"no {image} and {matte}: --alphamatting needs input/ and gt/ folders")
            name = f"{Path(video).stem}/{fg}"
            clips[name] = make_gt_clip(image, matte, video, Path(out_dir) / Path(video).stem / fg, frames=frames,
                                       height=height, **synth)
    return clips


def smoother_cost(matter, video: Path, smoothers: Sequence[str], *, frames: int = 30,
                  size: tuple = (360, 640)) -> dict:
    """ms/frame of the model and of each smoother on ``video``'s frames resized to ``size``."""
    import cv2
    import torch

    from vidmatte.eval.files import video_frames
    from vidmatte.temporal import make_smoother

    images = [cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_AREA) for f in video_frames(video, frames)]
    x = [torch.from_numpy(im).permute(2, 0, 1)[None].float().div_(255.0) for im in images]
    totals = dict.fromkeys(["model", *smoothers], 0.0)
    with torch.inference_mode():
        alphas = [matter.predict(im) for im in images]  # warm-up and the smoothers' input
        for _ in range(2):  # take turns, so load changes hit all alike
            t = time.perf_counter()
            for im in images:
                matter.predict(im)
            totals["model"] += time.perf_counter() - t
            for n in smoothers:
                s = make_smoother(n)
                s(alphas[0], x[0])  # warm-up
                t = time.perf_counter()
                for a, im in zip(alphas, x):
                    s(a, im)
                totals[n] += time.perf_counter() - t
    return {k: 1000.0 * v / (2 * len(images)) for k, v in totals.items()}


def bench_temporal(matter, alphamatting: Path, videos: Sequence[Path], *, foregrounds: Sequence[str] = ("GT08", "GT09"),
                   smoothers: Sequence[str] = ("none", "gated", "flow-causal", "flow"), frames: int = 60,
                   keep: Optional[Path] = None, cost: bool = True, progress=None, **synth) -> TemporalBench:
    """Build the clips, score the smoothers on each, and time them (module docstring)."""
    from vidmatte.eval.smoothing import evaluate_smoothers

    tmp = None if keep else tempfile.TemporaryDirectory()
    root = Path(keep) if keep else Path(tmp.name)
    try:
        clips = make_clips(alphamatting, foregrounds, videos, root, frames=frames, **synth)
        reports = {}
        for name, clip in clips.items():
            if progress:
                progress(name)
            reports[name] = evaluate_smoothers(clip.video, clip.gt, matter, smoothers)
        first = next(iter(clips.values()))
        cost_ms = smoother_cost(matter, first.video, [s for s in smoothers if s != "none"]) if cost else {}
        return TemporalBench(reports, cost_ms, os.getloadavg(), getattr(matter, "name", None))
    finally:
        if tmp is not None:
            tmp.cleanup()


def format_temporal(bench: TemporalBench) -> str:
    """Per clip and mean: MAD and dtSSD relative to no smoothing, per phase MAD; then the cost."""
    cols = ("dtSSD", "MAD", "MAD_still", "MAD_slow", "MAD_fast")
    head = f"{'clip':<26}{'smoother':<13}" + "".join(f"{c:>11}" for c in cols)
    lines = [f"ratios to no smoothing (MAD x1e3, dtSSD x1e2 per clip in brackets); model {bench.model}", head,
             "-" * len(head)]
    for clip, rep in bench.reports.items():
        for name, row in rep.ratios.items():
            raw = rep.rows[name]
            lines.append(f"{clip:<26}{name:<13}" + "".join(f"{row.get(c, float('nan')):>11.3f}" for c in cols)
                         + f"   [{raw['dtSSD']:.2f}, {raw['MAD']:.2f}]")
    lines.append("-" * len(head))
    for name, row in bench.mean_ratios().items():
        lines.append(f"{'mean':<26}{name:<13}" + "".join(f"{row.get(c, float('nan')):>11.3f}" for c in cols))
    if bench.cost_ms:
        model = bench.cost_ms.get("model", 0.0)
        parts = [f"{n} {ms:.1f} ms ({ms / model:.2f}x model)" for n, ms in bench.cost_ms.items() if n != "model"]
        lines.append(f"cost at 640x360: model {model:.1f} ms/frame; " + ", ".join(parts)
                     + f"; load average {', '.join(f'{v:.1f}' for v in bench.load)}")
    return "\n".join(lines)
