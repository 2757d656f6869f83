"""Segmented `vidmatte batch` on a GPU: the same result as `replace`, and what segments cost.

Run on a machine with CUDA (falls back to the CPU, for trying it out)::

    python scripts/check_batch_gpu.py --size 1280x720 --frames 240

1. For a CFR clip with AAC and a VFR clip with AAC: ``batch(engine="local", segment=2)``
   against ``replace`` (frame count, frame times, audio packets, pixel difference).
2. ``matte --format prores`` whole against segmented (ProRes is intra-only: the seams are
   all that can differ).
3. Wall time of ``replace`` against segmented batches with a heavy model (BiRefNet-lite with
   random weights: the timing does not depend on the values), to show the cost of the
   warm-up frames each segment decodes and runs but does not write.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from media import compare_videos, make_clip, read_alpha, read_audio_packets  # noqa: E402
from vidmatte.jobs.batches import batch  # noqa: E402
from vidmatte.jobs.files import matte, replace  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1280x720", help="WxH of the test clips")
    ap.add_argument("--frames", type=int, default=240, help="frames of the CFR clip (30 fps)")
    ap.add_argument("--model-size", type=int, default=1024, help="BiRefNet input size for the timing part")
    ap.add_argument("--no-timing", action="store_true")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    res: dict = {"device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu", "size": [w, h]}
    tmp = Path(tempfile.mkdtemp(prefix="vidmatte-gpu-batch-"))
    (tmp / "in").mkdir()
    clips = [make_clip(tmp / "in" / "cfr.mp4", frames=args.frames, size=(w, h), fps=30, audio=True,
                       options={"g": "30"}),
             make_clip(tmp / "in" / "vfr.mp4", frames=args.frames // 2, size=(w, h), vfr=True, audio=True,
                       options={"g": "15"})]
    kw = {"matter": "chroma", "background": "#2060ff", "progress": False}
    t0 = time.perf_counter()
    report = batch([tmp / "in"], tmp / "out", segment=2, **kw)
    res["batch_segments_s"] = time.perf_counter() - t0
    res["batch_summary"] = report.summary()
    for clip in clips:
        ref = tmp / f"ref-{clip.path.name}"
        replace(clip.path, ref, **kw)
        d = compare_videos(ref, tmp / "out" / clip.path.name)
        d["audio_identical"] = read_audio_packets(ref) == read_audio_packets(tmp / "out" / clip.path.name)
        res[clip.path.name] = d
    # ProRes plates: whole vs segments (EMA smoothing, which lags: seams would show)
    opts = {"matter": "chroma", "smoothing": "ema", "strength": 0.8, "progress": False}
    matte(clips[0].path, tmp / "whole.mov", format="prores", **opts)
    batch([clips[0].path], tmp / "plates", matte=True, format="prores", segment=2, **opts)
    a, b = read_alpha(tmp / "whole.mov"), read_alpha(tmp / "plates" / "cfr.mov")
    res["prores_alpha_max_diff"] = max(int(np.abs(x.astype(int) - y).max()) for x, y in zip(a, b))
    res["prores_frames"] = [len(a), len(b)]
    if not args.no_timing:
        from vidmatte.models.birefnet.matter import BiRefNetMatter
        from vidmatte.models.birefnet.network import BiRefNet

        dtype = torch.float16 if dev.type == "cuda" else torch.float32
        net = BiRefNetMatter(BiRefNet("lite"), size=args.model_size, device=dev, dtype=dtype)
        heavy = {"matter": net, "background": "#2060ff", "progress": False}
        replace(clips[0].path, tmp / "warm.mp4", **heavy)  # compile / autotune once
        timing = {}
        t0 = time.perf_counter()
        replace(clips[0].path, tmp / "heavy-whole.mp4", **heavy)
        timing["replace"] = time.perf_counter() - t0
        for seg in (2, 4):
            t0 = time.perf_counter()
            batch([clips[0].path], tmp / f"heavy-seg{seg}", segment=seg, **heavy)
            timing[f"batch segment {seg}s"] = time.perf_counter() - t0
        res["timing_s"] = timing
        res["frames_timed"] = args.frames
    print(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
