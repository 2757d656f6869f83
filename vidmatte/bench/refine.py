"""Time edge refinement against the model it follows, in the same process (``vidmatte bench refine``).

Guided (``method="guided"``): for each frame size and model size, ``runs`` rounds of one
``matter.predict`` (the Processor's ``model`` stage: resize, network, bilinear upsample)
and one :class:`~vidmatte.refine.guided.GuidedUpsampler` call on its alpha, interleaved so
both see the same machine load; medians of wall time and of process CPU time (all threads;
steadier than wall time on a shared machine), in ms, and their ratios. Frame content does not
change the cost of either (random pixels are used).

ViTMatte (``method="vitmatte"``): one refinement of a frame whose coarse matte is a disc
(its trimap band touches a realistic share of the tiles), with ViTMatte-S built from its
published config with random weights (cost does not depend on weight values) unless
``weights`` names a checkpoint folder; seconds per frame, tiles run, peak memory.
"""

from __future__ import annotations

import resource
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Optional, Sequence

import numpy as np
import torch

__all__ = ["RefineBench", "bench_guided", "bench_vitmatte", "vitmatte_small_model"]


@dataclass
class RefineBench:
    """Rows of measurements (dicts) and how they were taken."""

    method: str
    device: str
    threads: int
    rows: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        lines = [f"{self.method} refinement on {self.device}, {self.threads} threads:"]
        for r in self.rows:
            if self.method == "guided":
                lines.append(f"  {r['frame']} model {r['model_size']} (factor {r['factor']:.2f}, r={r['radius']}, "
                             f"subsample {r['subsample']}): model {r['model_ms']:.1f} ms, refine "
                             f"{r['refine_ms']:.1f} ms/frame = {100 * r['ratio']:.0f}% of the model; CPU time "
                             f"{r['model_cpu_ms']:.1f} / {r['refine_cpu_ms']:.1f} ms = {100 * r['cpu_ratio']:.0f}%")
            else:
                lines.append(f"  {r['frame']} tile {r['tile']}: {r['seconds']:.1f} s/frame, {r['tiles']} tiles, "
                             f"peak {r['memory_kind']} {r['memory_mb']:.0f} MB")
        return "\n".join(lines)


def _frame(h: int, w: int) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(0).integers(0, 256, (1, h, w, 3), dtype=np.uint8))


def bench_guided(matter: Any, frames: Sequence[tuple[int, int]], runs: int = 5, warmup: int = 1) -> list[dict]:
    """Rows for one matter over ``frames`` ``(H, W)`` sizes (see the module docstring)."""
    from vidmatte.refine.guided import GuidedUpsampler, upsample_factor

    refiner, rows = GuidedUpsampler(matter), []
    dev = getattr(matter, "device", torch.device("cpu"))
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for h, w in frames:
        u8 = _frame(h, w).to(dev)
        x = u8.permute(0, 3, 1, 2).float() / 255.0
        model_ms, refine_ms, model_cpu, refine_cpu = [], [], [], []
        with torch.inference_mode():
            for i in range(warmup + runs):
                t0, c0 = time.perf_counter(), time.process_time()
                alpha = matter.predict(u8)
                sync()
                t1, c1 = time.perf_counter(), time.process_time()
                refiner(x, alpha)
                sync()
                t2, c2 = time.perf_counter(), time.process_time()
                if i >= warmup:
                    model_ms.append(1e3 * (t1 - t0))
                    refine_ms.append(1e3 * (t2 - t1))
                    model_cpu.append(1e3 * (c1 - c0))
                    refine_cpu.append(1e3 * (c2 - c1))
        p = refiner.params((h, w))
        m, r = statistics.median(model_ms), statistics.median(refine_ms)
        rows.append({"frame": f"{w}x{h}", "model_size": max(getattr(matter, "size", (0, 0))),
                     "factor": round(upsample_factor(matter, (h, w)), 3), "radius": p.radius,
                     "subsample": p.subsample, "model_ms": round(m, 2), "refine_ms": round(r, 2),
                     "ratio": round(r / m, 4), "model_cpu_ms": round(statistics.median(model_cpu), 2),
                     "refine_cpu_ms": round(statistics.median(refine_cpu), 2),
                     "cpu_ratio": round(statistics.median(refine_cpu) / statistics.median(model_cpu), 4),
                     "model_runs_ms": [round(t, 1) for t in model_ms],
                     "refine_runs_ms": [round(t, 1) for t in refine_ms]})
    return rows


def vitmatte_small_model() -> Any:
    """ViTMatte-S (the ``hustvl/vitmatte-small-composition-1k`` architecture), random weights."""
    from transformers import VitDetConfig, VitMatteConfig, VitMatteForImageMatting

    backbone = VitDetConfig(num_channels=4, image_size=512, pretrain_image_size=224, patch_size=16, hidden_size=384,
                            num_attention_heads=6, use_absolute_position_embeddings=True,
                            use_relative_position_embeddings=True, window_size=14,
                            window_block_indices=[0, 1, 3, 4, 6, 7, 9, 10], residual_block_indices=[2, 5, 8, 11],
                            out_features=["stage12"])
    config = VitMatteConfig(backbone_config=backbone, hidden_size=384, convstream_hidden_sizes=[48, 96, 192],
                            fusion_hidden_sizes=[256, 128, 64, 32])
    return VitMatteForImageMatting(config).eval()


def bench_vitmatte(frames: Sequence[tuple[int, int]], *, tile: int = 1024, weights: Optional[str] = None,
                   device: str = "cpu") -> list[dict]:
    """Rows: one ViTMatte refinement per frame size (see the module docstring)."""
    from vidmatte.refine.vitmatte import VitMatteRefiner

    if weights:
        refiner = VitMatteRefiner.load(weights=weights, download=False, device=device, tile=tile)
    else:
        refiner = VitMatteRefiner(vitmatte_small_model().to(device), tile=tile)
    rows = []
    for h, w in frames:
        yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        d = ((yy - h / 2) ** 2 + (xx - w / 2) ** 2).sqrt() - 0.35 * min(h, w)
        alpha = (0.5 - d / 8).clamp(0, 1)[None, None].to(device)
        x = (_frame(h, w).permute(0, 3, 1, 2).float() / 255.0).to(device)
        refiner.tiles_run = 0
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        refiner(x, alpha)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
            mem, kind = torch.cuda.max_memory_allocated() / 2**20, "cuda_allocated"
        else:
            mem, kind = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "rss"
        rows.append({"frame": f"{w}x{h}", "tile": tile, "seconds": round(time.perf_counter() - t0, 2),
                     "tiles": refiner.tiles_run, "memory_mb": round(mem, 1), "memory_kind": kind})
    return rows
