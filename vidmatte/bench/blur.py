"""The background blur's glow and cost (``vidmatte bench blur``).

**Ring error.** For each foreground (an alphamatting.com photograph and its ground-truth
matte ``a``) the bench builds a composite with a known background: ``I = a F + (1 - a) B``
(``F`` the photograph, ``B`` a smooth colour field: bicubic from a 3x4 grid of random
colours, seed 1), rounded to 8 bits like a video frame. The target is what a perfect
matte and a glow-free blur would give where the subject is not: ``T = blur(B)``, the *true*
background through the same blur (:func:`~vidmatte.compose.backgrounds.blur.plain_blur`;
the masked blur with an empty matte is exactly this blur). The ring is the pixels just
outside the subject: true alpha 0, 3-30 px from the nearest pixel with alpha > 0. Its error
is the mean over ring pixels and channels of ``|out - T|`` in 8-bit levels, for

* ``naive``: today's whole-frame blur composited with the *true* matte (so the only error
  left is the glow: in the ring the output is ``blur(I)``);
* ``masked``: the whole product on the composite, the model's own matte included: a
  :class:`~vidmatte.runtime.processor.Processor` with the masked ``BlurBackground``
  (blur-fusion foreground, no smoothing: one still), its 8-bit output.

The ratio pools the images: ``sum(masked) / sum(naive)``.

**Cost.** The plain and the masked blur of one ``H x W`` frame (random pixels, a disc
matte; the cost does not depend on values), taking turns, best of ``runs``, in ms, with the
load average: the masked blur runs in the live budget instead of the plain one. On a CPU
the masked blur runs its OpenCV twin; ``masked_torch_ms`` times its tensor code (what a GPU
runs) on the CPU as well.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

__all__ = ["BlurBench", "smooth_background", "ring_mask", "ring_errors", "bench_blur_cost", "bench_blur"]

#: the ring: true alpha 0 and this far (px) from the subject
RING = (3.0, 30.0)


@dataclass
class BlurBench:
    """Per-image ring errors (8-bit levels), pooled ratio, and the cost at one size."""

    sigma: float
    rows: list = field(default_factory=list)
    naive: float = 0.0
    masked: float = 0.0
    ratio: float = float("nan")
    cost: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        lines = [f"blur {self.sigma:g} (px at 1080 lines), ring = true alpha 0, {RING[0]:g}-{RING[1]:g} px out; "
                 "mean |output - blur(true background)| in 8-bit levels:"]
        for r in self.rows:
            lines.append(f"  {r['name']}: naive (true matte) {r['naive']:.2f}, masked (model matte) {r['masked']:.2f}"
                         f" = {r['ratio']:.2f}x   (model SAD {r['sad']:.1f})")
        if self.rows:
            lines.append(f"pooled over {len(self.rows)}: naive {self.naive:.3f}, masked {self.masked:.3f}, "
                         f"ratio {self.ratio:.3f}")
        if self.cost:
            c = self.cost
            lines.append(f"cost at {c['size']}: plain {c['plain_ms']:.2f} ms, masked {c['masked_ms']:.2f} ms = "
                         f"{c['ratio']:.2f}x (best of {c['runs']}, {c['threads']} torch threads, load {c['load']:.2f}); "
                         f"masked, tensor code on the CPU: {c['masked_torch_ms']:.2f} ms = {c['torch_ratio']:.2f}x")
        return "\n".join(lines)


def smooth_background(h: int, w: int, seed: int = 1) -> np.ndarray:
    """``(h,w,3)`` float32: a smooth colour field, bicubic from a 3x4 grid of random colours."""
    import cv2

    grid = np.random.default_rng(seed).random((3, 4, 3)).astype(np.float32)
    return np.clip(cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def ring_mask(alpha: np.ndarray, ring: tuple[float, float] = RING) -> np.ndarray:
    """Pixels with ``alpha == 0`` that lie ``ring[0]..ring[1]`` px from the nearest ``alpha > 0``."""
    import cv2

    outside = (alpha <= 0).astype(np.uint8)
    dist = cv2.distanceTransform(outside, cv2.DIST_L2, 5)
    return (outside > 0) & (dist >= ring[0]) & (dist <= ring[1])


def _image(path: Path) -> np.ndarray:
    from vidmatte.io.stills import read_image

    return read_image(path)


def ring_errors(foreground: np.ndarray, alpha: np.ndarray, matter: Any, sigma: float = 20.0,
                seed: int = 1) -> dict:
    """One foreground ``(H,W,3)`` uint8 with its true ``alpha`` ``(H,W)`` float in [0, 1]:
    ring errors of the naive and the masked blur (module docstring), the model matte's SAD."""
    import torch

    from vidmatte.compose.backgrounds.blur import BlurBackground, plain_blur
    from vidmatte.compose.compositor import Compositor
    from vidmatte.ops.color import to_uint8
    from vidmatte.runtime.processor import Processor

    h, w = alpha.shape
    bg = smooth_background(h, w, seed)
    a3 = alpha[..., None]
    frame = to_uint8(a3 * (foreground.astype(np.float32) / 255.0) + (1.0 - a3) * bg)

    def t(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None]

    s = sigma * h / 1080.0
    with torch.inference_mode():
        target = plain_blur(t(bg), s)[0].permute(1, 2, 0).numpy()
        x = t(frame).float().div_(255.0)
        naive = Compositor(BlurBackground(sigma, masked=False))(x, torch.from_numpy(alpha)[None, None].float())
        naive = to_uint8(naive)[0].permute(1, 2, 0).numpy()
    proc = Processor(matter, BlurBackground(sigma), smoothing=None)
    out = proc(frame)
    ring = ring_mask(alpha)

    def err(img: np.ndarray) -> float:
        return float(np.abs(img.astype(np.float32) / 255.0 - target)[ring].mean() * 255.0)

    e_naive, e_masked = err(naive), err(out)
    return {"naive": e_naive, "masked": e_masked, "ratio": e_masked / max(e_naive, 1e-9),
            "sad": float(np.abs(proc.alpha - alpha).sum() / 1000.0), "ring_px": int(ring.sum())}


def bench_blur_cost(height: int = 720, width: int = 1280, sigma: float = 20.0, runs: int = 7) -> dict:
    """Plain vs masked blur of one frame (module docstring), in ms, best of ``runs``."""
    import torch

    from vidmatte.bench.timing import load_average
    from vidmatte.compose.backgrounds.blur import BlurBackground
    from vidmatte.ops.masked_blur import masked_blur

    rng = np.random.default_rng(0)
    u8 = torch.from_numpy(rng.integers(0, 256, (1, height, width, 3), dtype=np.uint8))
    x = u8.permute(0, 3, 1, 2).float().div_(255.0)  # channels-last, as the processor makes frames
    yy, xx = np.mgrid[:height, :width]
    disc = ((yy - height * 0.6) ** 2 + (xx - width / 2) ** 2 < (0.4 * height) ** 2).astype(np.float32)
    alpha = torch.from_numpy(disc)[None, None]
    plain, masked = BlurBackground(sigma, masked=False), BlurBackground(sigma)
    sigma_px = sigma * height / 1080.0
    calls = {"plain": lambda: plain(x, 0, alpha=alpha), "masked": lambda: masked(x, 0, alpha=alpha),
             "masked_torch": lambda: masked_blur(x, alpha, sigma_px, backend="torch")}
    best = {name: float("inf") for name in calls}
    with torch.inference_mode():
        for _ in range(runs + 1):  # the first round warms up and counts too (best of)
            for name, call in calls.items():
                t0 = time.perf_counter()
                call()
                best[name] = min(best[name], time.perf_counter() - t0)
    return {"size": f"{height}x{width}", "plain_ms": best["plain"] * 1e3, "masked_ms": best["masked"] * 1e3,
            "ratio": best["masked"] / best["plain"], "masked_torch_ms": best["masked_torch"] * 1e3,
            "torch_ratio": best["masked_torch"] / best["plain"], "runs": runs, "threads": torch.get_num_threads(),
            "load": load_average()}


def bench_blur(alphamatting: Path, matter: Any, names: Optional[Sequence[str]] = None, sigma: float = 20.0,
               cost_size: Optional[tuple[int, int]] = (720, 1280), runs: int = 7) -> BlurBench:
    """Ring errors over ``names`` (default: every ``input/*.png`` with a ``gt/`` matte) and
    the cost at ``cost_size`` (``None``: skip)."""
    from vidmatte.errors import InputError
    from vidmatte.io.stills import read_image

    folder = Path(alphamatting)
    if names is None:
        names = sorted(p.stem for p in (folder / "input").glob("*.png") if (folder / "gt" / p.name).is_file())
    if not names:
        raise InputError(f"no input/NAME.png with gt/NAME.png in {folder}: give the alphamatting.com training set")
    res = BlurBench(sigma)
    for name in names:
        fg_path, gt_path = folder / "input" / f"{name}.png", folder / "gt" / f"{name}.png"
        if not (fg_path.is_file() and gt_path.is_file()):
            raise InputError(f"{name}: need {fg_path} and {gt_path}")
        gt = read_image(gt_path)
        alpha = (gt[..., 0] if gt.ndim == 3 else gt).astype(np.float32) / 255.0
        row = ring_errors(read_image(fg_path), alpha, matter, sigma)
        res.rows.append({"name": name, **row})
    res.naive = float(np.mean([r["naive"] for r in res.rows]))
    res.masked = float(np.mean([r["masked"] for r in res.rows]))
    res.ratio = res.masked / max(res.naive, 1e-9)
    if cost_size is not None:
        res.cost = bench_blur_cost(*cost_size, sigma=sigma, runs=runs)
    return res
