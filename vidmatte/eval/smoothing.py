"""Temporal smoothers against ground truth: one model run, every smoother scored side by side.

The model runs once per frame (:meth:`Processor.infer`); each smoother gets its own
:class:`~vidmatte.runtime.processor.Processor` (``format="gray"``) fed the same model output
through :meth:`~Processor.finish` and, at the end, :meth:`~Processor.flush`, so what is scored
is the 8-bit matte each one would deliver, look-ahead smoothers included. Per smoother, with
RVM's conventions (:mod:`vidmatte.eval.metrics`)::

    MAD   = mean_t mean_px |p_t - g_t|                                   x 1e3
    dtSSD = mean_t sqrt(mean_px ((p_t - p_t-1) - (g_t - g_t-1))^2)       x 1e2

and both per phase when the ground truth has a ``phases.json`` (:mod:`vidmatte.eval.synth`;
a pair ``t-1, t`` counts for the phase of ``t``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from vidmatte.errors import InputError
from vidmatte.eval.files import list_files, read_matte, video_frames
from vidmatte.eval.metrics import SCALES, dtssd, mad, to_alpha
from vidmatte.eval.synth import read_phases

__all__ = ["SmootherScore", "SmoothingReport", "evaluate_smoothers", "DEFAULT_SMOOTHERS"]

DEFAULT_SMOOTHERS = ("none", "gated", "flow-causal", "flow")


@dataclass
class SmootherScore:
    """One smoother's per-frame MAD and per-pair dtSSD terms (scaled), and their means."""

    name: str
    mad: list = field(default_factory=list)
    dt: list = field(default_factory=list)  # dt[i] belongs to frame i + 1

    def summary(self, phases: Optional[Sequence[str]] = None) -> dict:
        out = {"MAD": float(np.mean(self.mad)), "dtSSD": float(np.mean(self.dt)) if self.dt else float("nan")}
        if phases:
            ph = np.asarray(phases[: len(self.mad)])
            for name in dict.fromkeys(ph):
                out[f"MAD_{name}"] = float(np.mean(np.asarray(self.mad)[ph == name]))
                sel = ph[1:] == name
                out[f"dtSSD_{name}"] = float(np.mean(np.asarray(self.dt)[sel])) if sel.any() else float("nan")
        return out


@dataclass
class SmoothingReport:
    """Scores per smoother (``rows[name]``: MAD, dtSSD, per-phase values) and, when ``none`` was
    scored, each relative to it (``ratios``)."""

    rows: dict
    frames: int
    phases: Optional[list]
    model: Optional[str] = None
    seconds: float = 0.0
    smooth_ms: dict = field(default_factory=dict)

    @property
    def ratios(self) -> dict:
        base = self.rows.get("none")
        if base is None:
            return {}
        return {n: {k: (v / base[k] if base.get(k) else float("nan")) for k, v in r.items()} for n, r in self.rows.items()}

    def to_dict(self) -> dict:
        return {"frames": self.frames, "model": self.model, "seconds": round(self.seconds, 3),
                "scales": {"MAD": SCALES["MAD"], "dtSSD": SCALES["dtSSD"]}, "smoothers": self.rows,
                "ratios": self.ratios, "smooth_ms_per_frame": self.smooth_ms}


class _Scorer:
    """Streams one smoother's output frames against the ground truth."""

    def __init__(self, name: str, gt: Callable[[int], np.ndarray]):
        self.score, self.gt, self.prev = SmootherScore(name), gt, None

    def add(self, frames) -> None:
        for f in frames:
            p = to_alpha(np.asarray(f.image)[..., 0], "prediction")
            g = self.gt(f.index)
            if p.shape != g.shape:
                raise InputError(f"frame {f.index}: prediction {p.shape[1]}x{p.shape[0]} but ground truth "
                                 f"{g.shape[1]}x{g.shape[0]}; they must have the same size")
            self.score.mad.append(mad(p, g))
            if self.prev is not None:  # this frame's term of dtSSD
                self.score.dt.append(dtssd([self.prev[0], p], [self.prev[1], g]))
            self.prev = (p, g)


def evaluate_smoothers(video: Path, gt: Path, matter, smoothers: Sequence = DEFAULT_SMOOTHERS, *,
                       limit: Optional[int] = None, progress: Optional[Callable[[int, int, str], None]] = None
                       ) -> SmoothingReport:
    """Score ``smoothers`` (names for :func:`vidmatte.temporal.make_smoother`, ``"none"``, or
    ``(name, smoother)`` pairs) on ``video`` against the per-frame mattes in ``gt``."""
    from vidmatte.frame import Frame
    from vidmatte.runtime.processor import Processor

    gt_files = list_files(gt, "ground truth")[:limit]
    phases = read_phases(gt)
    phases = phases[: len(gt_files)] if phases and len(phases) >= len(gt_files) else None
    named = [(s, s) if isinstance(s, str) else tuple(s) for s in smoothers]
    if len({n for n, _ in named}) != len(named):
        raise InputError("each smoother may be named once")
    cache: dict = {}

    def truth(i: int) -> np.ndarray:
        if i not in cache:
            cache[i] = read_matte(gt_files[i])
        return cache[i]

    base = Processor(matter, format="gray", smoothing=None)   # model and refinement, once per frame
    procs = [Processor(base.matter, format="gray", smoothing=s, refine=None) for _, s in named]
    scorers = [_Scorer(n, truth) for n, _ in named]
    start, n = time.perf_counter(), 0
    for i, image in enumerate(video_frames(video, limit=len(gt_files))):
        if progress:
            progress(i, len(gt_files), gt_files[i].stem)
        frame = Frame(image, index=i)
        x, alpha = base.infer([frame])
        if base.refiner is not None:
            alpha = base.refiner(x, alpha)
        for proc, sc in zip(procs, scorers):
            sc.add(proc.finish([frame], x, alpha))
        n = i + 1
        for k in [k for k in cache if k < n - 1 - max(p.delay for p in procs)]:
            del cache[k]
    if n < len(gt_files):
        raise InputError(f"{video} has {n} frames but {gt} has {len(gt_files)} mattes; use --limit to score fewer")
    for proc, sc in zip(procs, scorers):
        sc.add(proc.flush())
    rows = {sc.score.name: sc.score.summary(phases) for sc in scorers}
    smooth_ms = {sc.score.name: 1000.0 * proc.times.seconds.get("smooth", 0.0) / max(n, 1)
                 for proc, sc in zip(procs, scorers)}
    return SmoothingReport(rows, n, phases, getattr(base.matter, "name", None), time.perf_counter() - start, smooth_ms)
