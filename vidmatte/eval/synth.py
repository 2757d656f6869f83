"""Clips with exact ground-truth alpha for temporal benchmarks.

A real foreground with its real ground-truth matte (e.g. an alphamatting.com image and its
GT) is scaled to a person-like size, anchored at the bottom of the frame like a bust, and
moved over a real background video along four phases::

    still ─▶ slow sway ─▶ fast swing ─▶ still          (fractions 0.2, 0.3, 0.3, 0.2)

Sway and swing are a lean about the bottom pivot plus a sideways shift, ``n`` whole
sine cycles per phase (so the motion is continuous), their peak speed given at the top of
the foreground as a fraction of the frame height per frame. Each frame is composited from
the warped premultiplied foreground::

    I_t = P_t + (1 - a_t) B_t,   P_t = mean_s warp_s(a F),   a_t = mean_s warp_s(a)

averaged over ``s`` sub-frame positions spanning the shutter (motion blur; the number of
samples grows with the speed), so ``a_t`` is exactly the alpha of the picture. ``F`` is
estimated from the still by blur fusion with the true matte (colours at soft edges without
the photo's own background). The clip is H.264 (yuv420p, CRF 18) written with PyAV; the
truth is one 16-bit PNG per frame and ``phases.json`` (phase of every frame) beside them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

__all__ = ["PHASES", "GtClip", "motion_path", "make_gt_clip", "read_phases"]

PathLike = Union[str, Path]
#: phase names and default fractions of the clip
PHASES = (("still", 0.2), ("slow", 0.3), ("fast", 0.3), ("still", 0.2))
SLOW_SPEED, FAST_SPEED = 0.01, 0.06  # peak speed at the top of the foreground, frame heights per frame


@dataclass
class GtClip:
    """What :func:`make_gt_clip` wrote."""

    video: Path
    gt: Path  # folder: 000000.png … (16-bit grey) and phases.json
    phases: list
    size: tuple  # (W, H)
    fps: Fraction


def motion_path(frames: int, height: int, *, slow: float = SLOW_SPEED, fast: float = FAST_SPEED,
                fractions: Sequence[float] = tuple(f for _, f in PHASES)) -> tuple[list, np.ndarray]:
    """Phase of each frame and the top-of-foreground displacement ``d(t)`` in pixels.

    ``d`` is a function of continuous time (frame units) sampled at ``t = 0 … frames`` so that
    sub-frame positions can be interpolated; it is zero in the still phases. The sway has one
    cycle, the swing one cycle per 9 frames (at least one), each with the given peak speed.
    """
    if frames < 8:
        raise ValueError(f"a ground-truth clip needs at least 8 frames, got {frames}")
    counts = [int(round(f * frames)) for f in fractions]
    counts[-1] = frames - sum(counts[:-1])
    names, d = [], np.zeros(frames + 1)
    start = 0
    for (name, _), n, speed in zip(PHASES, counts, (0.0, slow, fast, 0.0)):
        names += [name] * n
        if speed > 0 and n > 1:
            cycles = max(1, round(n / 9)) if name == "fast" else 1
            amp = speed * height * n / (2 * math.pi * cycles)  # peak of d' is amp * 2 pi cycles / n
            u = np.arange(n + 1) / n
            d[start : start + n + 1] = amp * np.sin(2 * math.pi * cycles * u)
            d[start + n] = 0.0  # exactly back (sin(2 pi k) rounds to ~1e-14)
        start += n
    return names, d


def _foreground(image_path: PathLike, matte_path: PathLike, target_h: int) -> tuple[np.ndarray, np.ndarray]:
    """Premultiplied colour ``(h,w,3)`` and alpha ``(h,w)`` float32, cropped to the matte and
    scaled so that the foreground is ``target_h`` px tall."""
    import cv2
    import torch

    from vidmatte.compose.blur_fusion import estimate_foreground
    from vidmatte.io.stills import read_image

    img = read_image(image_path, mode="rgb").astype(np.float32) / 255.0
    a = read_image(matte_path, mode="native")
    a = (a[..., 0] if a.ndim == 3 else a).astype(np.float32) / (65535.0 if a.dtype == np.uint16 else 255.0)
    if img.shape[:2] != a.shape:
        raise ValueError(f"{image_path} and {matte_path} differ in size")
    ys, xs = np.nonzero(a > 0.01)
    if ys.size == 0:
        raise ValueError(f"{matte_path} is empty")
    img, a = img[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1], a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    with torch.inference_mode():
        fg, _ = estimate_foreground(torch.from_numpy(img).permute(2, 0, 1)[None], torch.from_numpy(a)[None, None])
    fg = fg[0].permute(1, 2, 0).numpy()
    scale = target_h / a.shape[0]
    size = (max(2, round(a.shape[1] * scale)), target_h)
    premult = cv2.resize(fg * a[..., None], size, interpolation=cv2.INTER_AREA)
    return premult, cv2.resize(a, size, interpolation=cv2.INTER_AREA)


def _place(premult: np.ndarray, alpha: np.ndarray, W: int, H: int, cx: float, shift: float,
           angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Foreground warped into the frame: bottom centre at ``(cx + shift, H + overhang)``, leaning by ``angle``."""
    import cv2

    h, w = alpha.shape
    c, s = math.cos(angle), math.sin(angle)
    px, py = cx + shift, H + 0.12 * h  # pivot: a little below the frame, so the base stays hidden
    # fg (x, y) relative to its bottom centre, rotated, then moved to the pivot
    m = np.array([[c, -s, 0.0], [s, c, 0.0]])
    m[:, 2] = [px, py] - m[:, :2] @ [w / 2, h]
    rgba = np.concatenate([premult, alpha[..., None]], axis=-1)
    out = cv2.warpAffine(rgba, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out[..., :3], out[..., 3]


def make_gt_clip(foreground: PathLike, matte: PathLike, background: PathLike, out_dir: PathLike, *,
                 frames: int = 60, height: Optional[int] = None, scale: float = 0.85, position: float = 0.5,
                 start: int = 0, slow: float = SLOW_SPEED, fast: float = FAST_SPEED, shutter: float = 0.5,
                 crf: int = 18) -> GtClip:
    """Write ``out_dir/clip.mp4`` and ``out_dir/gt/`` (module docstring).

    Args:
        foreground, matte: the still and its ground-truth alpha.
        background: a video; its frames from ``start`` on (looped when short), resized to
            ``height`` lines (default: its own, made even) keeping the aspect ratio.
        scale: foreground height as a fraction of the frame height (0.85: a bust).
        position: horizontal centre of the foreground as a fraction of the width.
        slow, fast: peak speeds of the sway and swing (frame heights per frame, at the top).
        shutter: exposure as a fraction of the frame interval (motion blur); 0 for none.
    """
    import av
    import cv2

    from vidmatte.io.sources import VideoSource

    out_dir, gt_dir = Path(out_dir), Path(out_dir) / "gt"
    gt_dir.mkdir(parents=True, exist_ok=True)
    with VideoSource(Path(background)) as src:
        fps = Fraction(src.fps).limit_denominator(1001) if src.fps else Fraction(25)
        plates = [f.image for _, f in zip(range(start + frames), src)][start:]
    if not plates:
        raise ValueError(f"{background} has no frames after frame {start}")
    H = height or plates[0].shape[0]
    H -= H % 2
    W = round(plates[0].shape[1] * H / plates[0].shape[0] / 2) * 2
    premult, alpha = _foreground(foreground, matte, round(scale * H))
    names, d = motion_path(frames, H, slow=slow, fast=fast)
    fg_h = alpha.shape[0]
    video = out_dir / "clip.mp4"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        for t in range(frames):
            plate = plates[t % len(plates)]
            bg = cv2.resize(plate, (W, H), interpolation=cv2.INTER_AREA if H < plate.shape[0] else cv2.INTER_CUBIC)
            step = abs(d[t + 1] - d[t]) * shutter
            n = 1 if step < 0.5 else min(9, int(math.ceil(step)) + 1)
            ts = t + shutter * (np.arange(n) + 0.5) / n if n > 1 else np.array([float(t)])
            p_acc, a_acc = np.zeros((H, W, 3), np.float32), np.zeros((H, W), np.float32)
            for tt in ts:
                disp = float(np.interp(tt, np.arange(frames + 1), d))
                # half the top's displacement is a lean about the pivot, half a sideways shift
                p, a = _place(premult, alpha, W, H, position * W, disp / 2, math.atan2(disp / 2, fg_h))
                p_acc += p
                a_acc += a
            p_acc /= len(ts)
            a_acc = np.clip(a_acc / len(ts), 0.0, 1.0)
            img = p_acc + (1.0 - a_acc[..., None]) * (bg.astype(np.float32) / 255.0)
            rgb = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
            cv2.imwrite(str(gt_dir / f"{t:06d}.png"), np.rint(a_acc * 65535.0).astype(np.uint16))
        for packet in stream.encode():
            container.mux(packet)
    info = {"phases": names, "fps": str(fps), "foreground": Path(foreground).name, "background": Path(background).name,
            "start": start, "size": [W, H], "slow": slow, "fast": fast}
    (gt_dir / "phases.json").write_text(json.dumps(info))
    return GtClip(video, gt_dir, names, (W, H), fps)


def read_phases(gt_dir: PathLike) -> Optional[list]:
    """The phase of each frame from ``gt_dir/phases.json``, or ``None`` when there is none."""
    f = Path(gt_dir) / "phases.json"
    if not f.is_file():
        return None
    phases = json.loads(f.read_text()).get("phases")
    return list(phases) if isinstance(phases, list) else None
