"""What the live working-size finishing (FastFinish) changes, and what it saves, against the
full-size path, on real frames: the same model mattes finished both ways.

    python scripts/fast_finish_error.py [--clip samples/talk.mp4] [--sizes 1280x720,640x360,1920x1080]
        [--lines 360] [--background samples/beach.jpg] [--frames 40]

Prints per size: ms per frame of the finishing (refine + smooth + composite + output) both
ways (same process, taking turns, best of 2, one thread), and the composite's difference in
8-bit levels: mean, 99th percentile and max of |fast - full| over all pixels and frames, and
the mean over the edge band (0.02 < alpha < 0.98) where the difference lives.
"""

from __future__ import annotations

import argparse
import os
import time

import av
import numpy as np
import torch

from vidmatte.frame import Frame
from vidmatte.models.factory import load_matter
from vidmatte.runtime.processor import Processor


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", default="samples/talk.mp4")
    ap.add_argument("--sizes", default="1280x720,640x360,1920x1080")
    ap.add_argument("--lines", type=int, default=360)
    ap.add_argument("--background", default="samples/beach.jpg")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--model-size", type=int, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    matter = load_matter("auto", live=True, **({"size": args.model_size} if args.model_size else {}))
    print(f"load {os.getloadavg()[0]:.2f}; model {matter.name} {matter.size}; working size {args.lines} lines")
    for spec in args.sizes.split(","):
        w, h = (int(v) for v in spec.split("x"))
        with av.open(args.clip) as c:
            imgs = [f.to_ndarray(format="rgb24", width=w, height=h) for f in c.decode(video=0)][: args.frames]
        frames = [Frame(im, index=i) for i, im in enumerate(imgs)]
        inferred = []
        full = Processor(matter, args.background, smoothing="flow-causal", refine="auto")
        fast = Processor(matter, args.background, smoothing="flow-causal", refine="auto", work_lines=args.lines)
        assert fast._fast is not None
        for f in frames:
            inferred.append(full.infer([f]))
        best = {"full": float("inf"), "fast": float("inf")}
        outs = {}
        for _ in range(2):
            for name, proc in (("full", full), ("fast", fast)):
                proc.reset()
                t0 = time.perf_counter()
                outs[name] = [proc.finish([f], *inf)[0].image for f, inf in zip(frames, inferred)]
                best[name] = min(best[name], (time.perf_counter() - t0) * 1000 / len(frames))
        a = np.stack([inf[1][0, 0].numpy() for inf in inferred])
        d = np.abs(np.stack(outs["fast"]).astype(np.int16) - np.stack(outs["full"]).astype(np.int16))
        band = (a > 0.02) & (a < 0.98)
        print(f"{w}x{h}: finishing ms/frame full {best['full']:.1f}, fast {best['fast']:.1f} "
              f"({best['full'] / best['fast']:.1f}x); |fast-full| levels: mean {d.mean():.3f}, "
              f"p99 {np.percentile(d, 99):.0f}, max {d.max()}, edge band mean {d[band].mean():.2f} "
              f"({band.mean() * 100:.1f}% of pixels)")
        full.close()
        fast.close()


if __name__ == "__main__":
    main()
