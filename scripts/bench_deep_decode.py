"""What decoding a high-bit-depth source to 16 bits costs: ``VideoSource(deep=True)`` (uint16
``rgb48``, what the jobs do for >8-bit inputs) against ``deep=False`` (8-bit ``rgb24``), same
process, alternating, best of N.

Usage::

    python scripts/bench_deep_decode.py [--size 1280x720] [--frames 48] [--repeats 3]

The clip is 10-bit ProRes 422 made on the spot with PyAV (yuv422p10le, a smooth gradient).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from vidmatte.io.sources import VideoSource


def make_clip(path: Path, width: int, height: int, frames: int) -> Path:
    with av.open(str(path), "w") as out:
        vs = out.add_stream("prores_ks", rate=24, options={"profile": "2"})
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv422p10le"
        x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
        y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, 1)
        for i in range(frames):
            rgb = np.stack([x, y, np.clip((x + y) / 2 + i, 0, 255)], -1).astype(np.uint8)
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv422p10le")
            f.pts = i
            for p in vs.encode(f):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "p10.mov", w, h, args.frames)
        best = {False: float("inf"), True: float("inf")}
        for _ in range(args.repeats):
            for deep in (False, True):
                t0 = time.perf_counter()
                with VideoSource(clip, deep=deep) as src:
                    n = sum(1 for _ in src)
                best[deep] = min(best[deep], (time.perf_counter() - t0) / n * 1000)
    print(f"{w}x{h} 10-bit ProRes, decode + convert: rgb24 {best[False]:.2f} ms/frame, "
          f"rgb48 {best[True]:.2f} ms/frame, ratio {best[True] / best[False]:.2f}")


if __name__ == "__main__":
    main()
