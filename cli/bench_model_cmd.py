"""``vidmatte bench model``: the BiRefNet network alone (:mod:`vidmatte.bench.model`), or one
network through torch and onnxruntime's providers side by side (``--backend``,
:mod:`vidmatte.bench.backends`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vidmatte.defaults import DEVICES, DTYPES
from vidmatte_cli.options import parse_size

__all__ = ["HELP", "add_arguments", "run"]

HELP = "time the BiRefNet network alone (random weights): ms per frame, peak memory"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--variant", default="lite", choices=("lite", "full"), help="network size (default lite)")
    p.add_argument("--size", type=parse_size, default=512, metavar="N|WxH",
                   help="input size, rounded to multiples of 32 (default 512)")
    p.add_argument("--device", default="cpu", choices=DEVICES, help="default cpu")
    p.add_argument("--dtype", default="fp32", choices=DTYPES, help="default fp32")
    p.add_argument("--runs", type=int, default=3, metavar="N", help="timed runs (default 3)")
    p.add_argument("--warmup", type=int, default=1, metavar="N", help="untimed runs first (default 1)")
    p.add_argument("--batch", type=int, default=1, metavar="B", help="frames per forward (default 1)")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--plain", action="store_true",
                   help="time the module as built (no BatchNorm folding, no channels-last), like the official code")
    p.add_argument("--no-channels-last", action="store_true", help="keep NCHW memory format")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    b = p.add_argument_group("backends (vidmatte's torch path against ONNX runtimes, same process, in turns)")
    b.add_argument("--backend", metavar="A,B", help="compare backends: torch, onnx (onnxruntime fp32), onnx-int8 "
                   "(dynamic int8 MatMuls), openvino (onnxruntime-openvino), onnx-cuda, onnx-trt (TensorRT fp16)")
    b.add_argument("--weights", metavar="FILE", help="with --backend: a checkpoint file (default: random init)")
    b.add_argument("--images", metavar="DIR", help="with --backend: compare the alphas of int8/OpenVINO/TensorRT "
                   "with onnxruntime fp32 on these images")


def _backends_run(args: argparse.Namespace) -> int:
    import sys

    from vidmatte.bench.backends import bench_backends

    images = None
    if args.images:
        images = sorted(p for p in Path(args.images).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    res = bench_backends([t.strip() for t in args.backend.split(",") if t.strip()], variant=args.variant,
                         size=args.size, device=args.device, weights=args.weights, runs=args.runs,
                         warmup=args.warmup, threads=args.threads, images=images,
                         log=lambda m: print(f"bench: {m}", file=sys.stderr, flush=True))
    print(json.dumps(res.as_dict()) if args.json else res.summary())
    return 0


def run(args: argparse.Namespace) -> int:
    from vidmatte.bench.model import bench_model

    if args.backend:
        return _backends_run(args)

    res = bench_model(variant=args.variant, size=args.size, device=args.device, dtype=args.dtype, runs=args.runs,
                      warmup=args.warmup, batch=args.batch, threads=args.threads, plain=args.plain,
                      channels_last=not args.no_channels_last)
    if args.json:
        print(json.dumps(res.as_dict()))
    else:
        print(res.summary())
        print("runs (ms/frame): " + ", ".join(f"{t:.1f}" for t in res.runs_ms))
    return 0
