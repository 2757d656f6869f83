"""Busy backgrounds for ground-truth clips: patterned walls, bookshelves, plants (procedural).

A matting model at a low input size confuses fine, high-contrast background texture with
the person: fragments of a patterned wall stay in the matte around shoulders and hair. The
clips of :func:`vidmatte.eval.synth.make_gt_clip` need a background *video*; this module
draws three kinds of busy ones, deterministic from a seed, with a slow hand-held drift (a
few pixels per second, sub-pixel per frame) so they are video, not a still:

* ``wall``: a damask-like wallpaper, a lattice of diamonds and rosettes in two contrasting
  tones with thin stripes, the kind that leaks through at 256 px;
* ``books``: shelves of book spines of random widths, hues and heights, with dark gaps
  and light labels;
* ``plants``: overlapping leaves (rotated ellipses) in many greens over dark soil and a
  light window, with veins.

:func:`busy_clips` writes one :func:`make_gt_clip` clip per (foreground, background) pair.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union

import cv2
import numpy as np

__all__ = ["KINDS", "busy_picture", "write_busy_video", "busy_clips", "load_clip", "clip_mad"]

KINDS = ("wall", "books", "plants")
PathLike = Union[str, Path]


def _wall(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    p = float(rng.uniform(44, 64))  # lattice period in pixels (at 720 lines)
    u, v = (xx + yy) / p, (xx - yy) / p
    diamond = (np.abs(np.sin(np.pi * u)) * np.abs(np.sin(np.pi * v))) ** 0.5
    cx, cy = (xx % p) - p / 2, (yy % p) - p / 2
    r = np.hypot(cx, cy) / p
    petals = 0.5 + 0.5 * np.cos(6 * np.arctan2(cy, cx))
    rosette = ((r < 0.28) * petals + (r < 0.08)).clip(0, 1)
    stripes = (np.sin(2 * np.pi * xx / (p / 6)) > 0.85).astype(np.float32)
    t = np.clip(0.55 * diamond + 0.6 * rosette + 0.25 * stripes, 0, 1)[..., None]
    c1, c2 = rng.uniform(20, 90, 3), rng.uniform(150, 240, 3)
    return (c1 + t * (c2 - c1)).astype(np.float32)


def _books(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    img = np.zeros((h, w, 3), np.float32) + rng.uniform(40, 70, 3)  # the case
    shelf_h = int(h / rng.uniform(3.2, 4.0))
    for top in range(0, h, shelf_h):
        cv2.rectangle(img, (0, top + shelf_h - 10), (w, top + shelf_h), (90, 60, 35), -1)  # the board
        x = int(rng.integers(0, 12))
        while x < w:
            bw = int(rng.integers(10, 38))
            bh = int(shelf_h * rng.uniform(0.6, 0.92))
            hsv = np.uint8([[[rng.integers(0, 180), rng.integers(80, 255), rng.integers(70, 240)]]])
            col = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(float)
            y0 = top + shelf_h - 10 - bh
            cv2.rectangle(img, (x, y0), (x + bw - 2, top + shelf_h - 10), col.tolist(), -1)
            if rng.random() < 0.7:  # a label and bands
                ly = y0 + int(bh * rng.uniform(0.2, 0.6))
                cv2.rectangle(img, (x + 2, ly), (x + bw - 4, ly + int(rng.integers(6, 16))), (235, 230, 210), -1)
                cv2.line(img, (x, y0 + 6), (x + bw - 2, y0 + 6), (220, 200, 80), 2)
            x += bw + int(rng.integers(0, 4))
    return img


def _plants(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    img += np.where((xx > 0.55 * w) & (yy < 0.6 * h), 1.0, 0.0)[..., None] * np.float32([215, 225, 235])  # a window
    img += np.float32([45, 35, 25])
    for _ in range(int(h * w / 2600)):
        cx, cy = float(rng.uniform(0, w)), float(rng.uniform(0, h))
        ax, ay = float(rng.uniform(14, 48)), float(rng.uniform(5, 16))
        ang = float(rng.uniform(0, 180))
        g = rng.uniform(0.4, 1.0)
        col = (float(rng.uniform(20, 90) * g), float(rng.uniform(90, 210) * g), float(rng.uniform(20, 80) * g))
        cv2.ellipse(img, (int(cx), int(cy)), (int(ax), int(ay)), ang, 0, 360, col, -1, cv2.LINE_AA)
        dx, dy = np.cos(np.radians(ang)) * ax, np.sin(np.radians(ang)) * ax
        cv2.line(img, (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy)),
                 tuple(min(255.0, c * 1.5) for c in col), 1, cv2.LINE_AA)
    return img


def busy_picture(kind: str, height: int = 720, width: int = 1280, seed: int = 0) -> np.ndarray:
    """A ``(height, width, 3)`` uint8 RGB busy background of ``kind`` (:data:`KINDS`)."""
    if kind not in KINDS:
        raise ValueError(f"busy background kind must be one of {', '.join(KINDS)}, got {kind!r}")
    rng = np.random.default_rng(seed)
    img = {"wall": _wall, "books": _books, "plants": _plants}[kind](height, width, rng)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def write_busy_video(path: PathLike, kind: str, *, frames: int = 60, height: int = 720, width: int = 1280,
                     fps: int = 30, seed: int = 0, drift: float = 0.4) -> Path:
    """``kind``'s picture drifting ``drift`` px per frame (a hand-held camera), H.264 at ``fps``."""
    import av

    margin = int(np.ceil(abs(drift) * frames)) + 4
    big = busy_picture(kind, height + 2 * margin, width + 2 * margin, seed)
    path = Path(path)
    with av.open(str(path), "w") as c:
        st = c.add_stream("libx264", rate=fps)
        st.width, st.height, st.pix_fmt = width, height, "yuv420p"
        st.options = {"crf": "16", "preset": "veryfast"}
        for t in range(frames):
            dx, dy = margin + drift * t, margin + 0.5 * drift * np.sin(t / 9.0)
            m = np.float32([[1, 0, -dx], [0, 1, -dy]])
            frame = cv2.warpAffine(big, m, (width, height), flags=cv2.INTER_LINEAR)
            for pkt in st.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                c.mux(pkt)
        for pkt in st.encode():
            c.mux(pkt)
    return path


def busy_clips(alphamatting: PathLike, out_dir: PathLike, *, foregrounds: Sequence[str] = ("GT08", "GT09"),
               kinds: Sequence[str] = KINDS, frames: int = 30, height: int = 720, seed: int = 0) -> list:
    """One ground-truth clip per foreground x busy background: ``[(name, GtClip), …]``."""
    from vidmatte.eval.synth import make_gt_clip

    root, out_dir = Path(alphamatting), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clips = []
    for k, kind in enumerate(kinds):
        bg = write_busy_video(out_dir / f"bg_{kind}.mp4", kind, frames=frames, height=height,
                              width=round(height * 16 / 9 / 2) * 2, seed=seed + k)
        for fg in foregrounds:
            name = f"{fg}_{kind}"
            clips.append((name, make_gt_clip(root / "input" / f"{fg}.png", root / "gt" / f"{fg}.png", bg,
                                             out_dir / name, frames=frames)))
    return clips


def load_clip(clip) -> tuple[list, list]:
    """A :class:`~vidmatte.eval.synth.GtClip`'s frames (uint8 RGB) and truths (float32 in [0, 1])."""
    import av

    with av.open(str(clip.video)) as c:
        imgs = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    gts = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED).astype(np.float32) / 65535.0
           for p in sorted(Path(clip.gt).glob("*.png"))]
    return imgs, gts


def clip_mad(make_processor, imgs: Sequence[np.ndarray], gts: Sequence[np.ndarray]) -> float:
    """Mean |alpha - truth| over a clip, the matte the composite uses (``proc.alpha``), frames in
    order through a fresh processor from ``make_processor()``."""
    from vidmatte.frame import Frame

    proc = make_processor()
    try:
        errs = []
        for i, (im, gt) in enumerate(zip(imgs, gts)):
            proc.process([Frame(im, index=i)])
            errs.append(float(np.abs(proc.alpha[0] - gt).mean()))
        return float(np.mean(errs))
    finally:
        proc.close()
