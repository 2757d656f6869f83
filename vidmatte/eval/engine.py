"""The evaluation engine: predicted (or precomputed) mattes against ground truth.

Two kinds of input:

* **images**: a folder of RGB images and a folder of ground-truth mattes matched by file
  stem (``GT01.png`` ↔ ``GT01.png``/``GT01.jpg``), optionally trimaps (metrics then cover
  their unknown region only), and either a :class:`~vidmatte.matting.Matter` that predicts
  on the fly or a folder of precomputed mattes with the same stems;
* **video**: a video file and a folder of per-frame mattes (sorted by name, the i-th file is
  frame i); adds dtSSD over the sequence.

Metrics and scales are those of :mod:`vidmatte.eval.metrics` (scaled: SAD ÷1e3, MAD ×1e3,
MSE ×1e3, Grad ÷1e3, Conn ÷1e3, dtSSD ×1e2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import numpy as np

from vidmatte.defaults import REFINE
from vidmatte.errors import InputError
from vidmatte.eval.files import (EvalItem, collect_items, list_files, read_matte, read_rgb, read_trimap,
                                   video_frames)
from vidmatte.eval.metrics import METRICS, SCALES, dtssd, evaluate_pair

__all__ = ["EvalItem", "EvalReport", "collect_items", "evaluate_items", "evaluate_folders", "evaluate_video"]

Progress = Optional[Callable[[int, int, str], None]]


@dataclass
class EvalReport:
    """Per-item rows (``{"name", metric: value}``), their mean, and how they were made."""

    rows: list
    mean: dict
    metrics: tuple
    region: str
    source: str
    model: Optional[str] = None
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict (NaN → ``None``)."""

        def clean(d: dict) -> dict:
            return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}

        return {
            "source": self.source, "model": self.model, "region": self.region, "count": len(self.rows),
            "metrics": list(self.metrics), "scales": {m: SCALES[m] for m in self.mean},
            "items": [clean(r) for r in self.rows], "mean": clean(self.mean),
            "seconds": round(self.seconds, 3), **self.extra,
        }


def as_scorer(matter, refine=REFINE):
    """The processor that makes the mattes to score: ``matter`` run exactly as ``vidmatte image``
    and ``matte`` run it (same pre-processing and edge ``refine``-ment, 8-bit matte out), without
    smoothing unless ``matter`` is already a :class:`~vidmatte.runtime.processor.Processor` with
    ``format="gray"`` (then ``refine`` is its own)."""
    from vidmatte.runtime.processor import Processor

    if isinstance(matter, Processor):
        if matter.format != "gray":
            raise ValueError(f"score with a processor of format 'gray', not {matter.format!r}")
        return matter
    return Processor(matter, format="gray", smoothing=None, refine=refine)


def _predict(proc, rgb: np.ndarray) -> np.ndarray:
    """The delivered 8-bit matte of one frame, as float64 in [0, 1]."""
    return proc(rgb)[..., 0].astype(np.float64) / 255.0


def _mean(rows: list, names: Sequence[str]) -> dict:
    out = {}
    for m in names:
        vals = np.array([r[m] for r in rows], dtype=np.float64)
        out[m] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
    return out


def evaluate_items(items: Sequence[EvalItem], matter=None, *, metrics: Sequence[str] = tuple(METRICS),
                   progress: Progress = None, source: str = "images", refine=REFINE) -> EvalReport:
    """Score each item; predictions come from ``matter`` (on ``item.image``, with ``refine``, see
    :func:`as_scorer`) or from ``item.pred``."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise InputError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}")
    if matter is None and any(it.pred is None for it in items):
        raise InputError("no predictions: give a model (--model) or a folder of mattes (--pred)")
    scorer = None if matter is None else as_scorer(matter, refine)
    start, rows = time.perf_counter(), []
    for i, it in enumerate(items):
        if progress:
            progress(i, len(items), it.name)
        gt = read_matte(it.gt)
        pred = read_matte(it.pred) if matter is None else _predict(scorer, read_rgb(it.image))
        mask = read_trimap(it.trimap) if it.trimap else None
        for what, arr in (("prediction", pred), ("trimap", mask)):
            if arr is not None and arr.shape != gt.shape:
                raise InputError(f"{it.name}: the {what} is {arr.shape[1]}x{arr.shape[0]} but the ground truth "
                                 f"is {gt.shape[1]}x{gt.shape[0]}; they must have the same size")
        rows.append({"name": it.name, **evaluate_pair(pred, gt, mask, metrics=metrics)})
    region = "trimap unknown region" if items and all(it.trimap for it in items) else "whole image"
    return EvalReport(rows, _mean(rows, metrics), tuple(metrics), region, source,
                      _name(scorer), time.perf_counter() - start)


def evaluate_folders(gt: Path, *, images: Optional[Path] = None, trimaps: Optional[Path] = None,
                     pred: Optional[Path] = None, matter=None, limit: Optional[int] = None,
                     metrics: Sequence[str] = tuple(METRICS), progress: Progress = None,
                     refine=REFINE) -> EvalReport:
    """Images folder + ground-truth folder (+ trimaps) → :class:`EvalReport`."""
    if matter is not None and images is None:
        raise InputError("predicting with a model needs the input images (--images DIR)")
    items = collect_items(gt, images=images, trimaps=trimaps, pred=None if matter is not None else pred,
                          limit=limit)
    return evaluate_items(items, matter, metrics=metrics, progress=progress, source=str(images or pred),
                          refine=refine)


def evaluate_video(video: Path, gt: Path, *, matter=None, pred: Optional[Path] = None,
                   limit: Optional[int] = None, metrics: Sequence[str] = tuple(METRICS),
                   progress: Progress = None, refine=REFINE) -> EvalReport:
    """A video and its per-frame ground truth → per-frame rows, means, and dtSSD (whole frame)."""
    gt_files = list_files(gt, "ground truth")[:limit]
    pred_files = list_files(pred, "predictions")[:limit] if matter is None and pred else None
    if matter is None and pred_files is None:
        raise InputError("no predictions: give a model (--model) or a folder of mattes (--pred)")
    frames: Iterator = video_frames(video, limit=len(gt_files)) if matter is not None else iter(())
    scorer = None if matter is None else as_scorer(matter, refine)
    start, rows, dt, prev = time.perf_counter(), [], [], None
    for i, gt_file in enumerate(gt_files):
        if progress:
            progress(i, len(gt_files), gt_file.stem)
        if matter is not None:
            frame = next(frames, None)
            if frame is None:
                raise InputError(f"{video} has {i} frames but {gt} has {len(gt_files)} mattes; "
                                 "use --limit to score fewer frames")
            p = _predict(scorer, frame)
        else:
            if i >= len(pred_files):
                raise InputError(f"{pred} has {len(pred_files)} mattes but {gt} has {len(gt_files)}")
            p = read_matte(pred_files[i])
        g = read_matte(gt_file)
        if p.shape != g.shape:
            raise InputError(f"frame {i}: prediction {p.shape[1]}x{p.shape[0]} but ground truth "
                             f"{g.shape[1]}x{g.shape[0]}; they must have the same size")
        rows.append({"name": gt_file.stem, **evaluate_pair(p, g, metrics=metrics)})
        if prev is not None:
            dt.append(dtssd([prev[0], p], [prev[1], g]))
        prev = (p, g)
    mean = _mean(rows, metrics)
    mean["dtSSD"] = float(np.mean(dt)) if dt else float("nan")
    return EvalReport(rows, mean, tuple(metrics), "whole frame", str(video if matter is not None else pred),
                      _name(scorer), time.perf_counter() - start, {"frames": len(rows)})


def _name(scorer) -> Optional[str]:
    return None if scorer is None else getattr(scorer.matter, "name", None)
