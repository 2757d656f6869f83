"""How much blur fusion's half-size first pass changes a composite, on real frames.

For each clip, frames are scaled to 640x360 and 1920x1080, matted with the bundled MODNet,
and composited onto a flat blue with blur fusion run twice: first pass at full size, and
with its box means at half size (``half_first``). Prints the composite difference in 8-bit
levels (mean, 99.9th percentile, max) and the blur-fusion time of each, per clip and size.

    python scripts/blur_fusion_half.py [CLIP ...] [--frames 8]

Default clips: samples/talk.mp4 and ../shared/data/video/*.mp4.
"""

from __future__ import annotations

import argparse
import glob
import time
from pathlib import Path

import av
import cv2
import numpy as np

from vidmatte.compose.blur_fusion_np import estimate_foreground_np
from vidmatte.models.factory import load_matter

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"360p": (640, 360), "1080p": (1920, 1080)}
BLUE = np.array([0.2, 0.4, 1.0], np.float32)


def frames(path: str, n: int):
    with av.open(path) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= n:
                return
            yield f.to_ndarray(format="rgb24")


def composite(image: np.ndarray, alpha: np.ndarray, half: bool) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    fg, _ = estimate_foreground_np(image, alpha, half_first=half)
    dt = time.perf_counter() - t0
    a = alpha[..., None]
    return np.floor(np.clip(a * fg + (1 - a) * BLUE, 0, 1) * 255 + 0.5), dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*")
    ap.add_argument("--frames", type=int, default=8)
    args = ap.parse_args()
    clips = args.clips or [str(ROOT / "samples" / "talk.mp4")] + sorted(glob.glob(str(ROOT.parent / "shared/data/video/*.mp4")))
    matter = load_matter("modnet", device="cpu")
    print(f"{'clip':<28} {'size':<6} {'mean':>7} {'p99.9':>7} {'max':>6}  {'full ms':>8} {'half ms':>8}")
    for clip in clips:
        for label, (w, h) in SIZES.items():
            diffs, t_full, t_half = [], 0.0, 0.0
            for rgb in frames(clip, args.frames):
                rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if rgb.shape[1] > w else cv2.INTER_CUBIC)
                alpha = matter.predict_array(rgb)[0, 0]
                image = rgb.astype(np.float32) / 255
                full, dt_full = composite(image, alpha, False)
                half, dt_half = composite(image, alpha, True)
                diffs.append(np.abs(full - half).ravel())
                t_full, t_half = t_full + dt_full, t_half + dt_half
            d = np.concatenate(diffs)
            n = len(diffs)
            print(f"{Path(clip).name:<28} {label:<6} {d.mean():7.4f} {np.percentile(d, 99.9):7.2f} {d.max():6.1f}"
                  f"  {1000 * t_full / n:8.1f} {1000 * t_half / n:8.1f}")


if __name__ == "__main__":
    main()
