"""The live quality gate's numbers: MAD of live configurations against MODNet at long side 512
on 720p ground-truth clips over busy backgrounds (vidmatte/eval/busy.py), still/slow/fast.

    python scripts/live_quality_gate.py --alphamatting ../shared/data/alphamatting [--frames 20]
        [--out /tmp/busy] [--int8 OTHER.onnx]

Each configuration runs through a Processor as the live job runs it (the matte the composite
uses: ``proc.alpha``); MAD = mean |alpha - truth| over all pixels and frames, per clip and
overall, and its ratio to MODNet-512's (the gate: <= 1.03 for the live CPU default).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from vidmatte.eval.busy import busy_clips, clip_mad, load_clip
from vidmatte.models.factory import load_matter
from vidmatte.models.onnx import OnnxMatter
from vidmatte.runtime.processor import Processor


def configs(int8):
    def live(matter):
        return lambda: Processor(matter, (0, 0, 255), smoothing="flow-causal", refine="auto", work_lines=360)

    yield "modnet-512 (files: refine auto, no smoothing)", lambda: Processor(
        load_matter("modnet", size=512), (0, 0, 255), smoothing=None, refine="auto")
    yield "live default (int8 384, OpenVINO when installed, flow-causal, refine auto, work 360)", live(
        load_matter("auto", live=True))
    yield "live int8 384 on onnxruntime", live(load_matter("auto", live=True, onnx_options={"runtime": "onnxruntime"}))
    yield "live fp32 256 (the default before int8)", live(load_matter("modnet", size=256, dtype="fp32"))
    yield "live fp32 384", live(load_matter("modnet", size=384, dtype="fp32"))
    if int8:
        yield f"live 384 {int8}", live(OnnxMatter(int8, preset="modnet", size=384))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alphamatting", required=True)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--out", default="/tmp/vidmatte-busy")
    ap.add_argument("--int8")
    args = ap.parse_args()
    torch.set_num_threads(2)
    print(f"load {os.getloadavg()[0]:.2f}")
    clips = busy_clips(args.alphamatting, args.out, frames=args.frames)
    data = [(name, *load_clip(clip)) for name, clip in clips]
    base = None
    for label, make in configs(args.int8):
        per, t0 = {}, time.perf_counter()
        for name, imgs, gts in data:
            per[name] = clip_mad(make, imgs, gts) * 1000
        mad = float(np.mean(list(per.values())))
        base = base or mad
        print(f"{label}: MAD x1000 {mad:.2f} ({mad / base:.3f}x modnet-512); per clip "
              + ", ".join(f"{k} {v:.1f}" for k, v in per.items()) + f"; {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
