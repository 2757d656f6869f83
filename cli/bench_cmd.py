"""``vidmatte bench MODE``: speed per stage.

Each mode is a pair ``(add_arguments(parser), run(args) -> int)`` in :data:`MODES`; adding
``bench pipeline`` means writing those two functions and one entry in the table.
"""

from __future__ import annotations

import argparse
import json
from typing import Callable

from vidmatte_cli.options import parse_size

__all__ = ["register", "run", "MODES"]


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--variant", default="lite", choices=("lite", "full"), help="network size (default lite)")
    p.add_argument("--size", type=parse_size, default=512, metavar="N|HxW",
                   help="input size, rounded to multiples of 32 (default 512)")
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"), help="default cpu")
    p.add_argument("--dtype", default="fp32", choices=("auto", "fp32", "fp16", "bf16"), help="default fp32")
    p.add_argument("--runs", type=int, default=3, metavar="N", help="timed runs (default 3)")
    p.add_argument("--warmup", type=int, default=1, metavar="N", help="untimed runs first (default 1)")
    p.add_argument("--batch", type=int, default=1, metavar="B", help="frames per forward (default 1)")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--plain", action="store_true",
                   help="time the module as built (no BatchNorm folding, no channels-last), like the official code")
    p.add_argument("--no-channels-last", action="store_true", help="keep NCHW memory format")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _model_run(args: argparse.Namespace) -> int:
    from vidmatte.bench.model import bench_model

    res = bench_model(variant=args.variant, size=args.size, device=args.device, dtype=args.dtype, runs=args.runs,
                      warmup=args.warmup, batch=args.batch, threads=args.threads, plain=args.plain,
                      channels_last=not args.no_channels_last)
    if args.json:
        print(json.dumps(res.as_dict()))
    else:
        print(res.summary())
        print("runs (ms/frame): " + ", ".join(f"{t:.1f}" for t in res.runs_ms))
    return 0


def _pipeline_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clip", metavar="FILE", help="video to process (default: a generated clip)")
    p.add_argument("--resolution", type=parse_size, default=(1080, 1920), metavar="HxW",
                   help="size of the generated clip (default 1080x1920)")
    p.add_argument("--frames", type=int, default=24, help="frames in the generated clip (default 24)")
    p.add_argument("--model", default="random",
                   help="'random' (BiRefNet-lite, random weights: timing does not depend on values), "
                        "'chroma', an .onnx file, or a checkpoint name/file")
    p.add_argument("--model-size", type=parse_size, default=256, metavar="N|HxW", help="default 256")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--dtype", default="auto", choices=("auto", "fp32", "fp16", "bf16"))
    p.add_argument("--batch", type=int, default=1, help="frames per model call")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch")
    p.add_argument("--fg-estimation", default="blur", choices=("blur", "ml", "none"),
                   help="foreground colour estimation (default blur)")
    p.add_argument("--no-smooth", action="store_true", help="skip temporal smoothing")
    p.add_argument("--no-naive", action="store_true", help="skip the naive sequential loop")
    p.add_argument("--rounds", type=int, default=2, metavar="N",
                   help="model-only, naive and pipeline runs take turns N times; the best of each counts (default 2)")
    p.add_argument("--policy", default="auto", choices=("auto", "inline", "overlap", "threads", "all"),
                   help="how the pipeline uses the cores (default auto: measured on the first frames); "
                        "all: also time each fixed schedule in every round")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _pipeline_run(args: argparse.Namespace) -> int:
    import torch

    from vidmatte.bench.pipeline import bench_pipeline
    from vidmatte.models.factory import load_matter, resolve_device, resolve_dtype

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model == "random":
        from vidmatte.models.birefnet.network import BiRefNet
        from vidmatte.models.birefnet.matter import BiRefNetMatter

        dev = resolve_device(args.device)
        matter = BiRefNetMatter(BiRefNet("lite"), size=args.model_size, device=dev, dtype=resolve_dtype(args.dtype, dev))
    else:
        matter = load_matter(args.model, size=args.model_size, device=args.device, dtype=args.dtype, download=False)
    h, w = args.resolution if isinstance(args.resolution, tuple) else (args.resolution, args.resolution)
    res = bench_pipeline(matter, "#3366ff", smoothing=None if args.no_smooth else "gated",
                         fg_estimation=args.fg_estimation, clip=args.clip, width=w, height=h, frames=args.frames,
                         batch_size=args.batch, naive=not args.no_naive, policy=args.policy,
                         rounds=args.rounds)
    print(json.dumps(res.as_dict()) if args.json else res.summary())
    return 0


def _stills_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--images", required=True, metavar="DIR", help="folder of input images")
    p.add_argument("--model", required=True, metavar="FILE.onnx", help="the ONNX model both tools run")
    p.add_argument("--preset", choices=("birefnet", "modnet", "u2net", "isnet"), help="ONNX family for vidmatte")
    p.add_argument("--gt", metavar="DIR", help="ground-truth mattes: score both outputs (SAD, MSE)")
    p.add_argument("--runs", type=int, default=2, metavar="N", help="timed runs of each tool, alternating (default 2)")
    p.add_argument("--rembg-model", metavar="NAME", help="rembg session name (default: the model's file stem)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _stills_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vidmatte.bench.stills import bench_stills

    res = bench_stills(Path(args.images), Path(args.model), preset=args.preset,
                       gt=Path(args.gt) if args.gt else None, runs=max(1, args.runs), rembg_model=args.rembg_model)
    print(json.dumps(res.as_dict()) if args.json else res.summary())
    return 0


def _startup_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", type=int, default=3, metavar="N", help="runs of each command, taking turns (default 3)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _startup_run(args: argparse.Namespace) -> int:
    from vidmatte.bench.startup import bench_startup

    res = bench_startup(runs=args.runs)
    print(json.dumps(res.as_dict()) if args.json else res.summary())
    return 0


# mode → (help, add_arguments, run)
MODES: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "model": ("time the BiRefNet network alone (random weights): ms per frame, peak memory", _model_args, _model_run),
    "pipeline": ("per-stage times, model-only, naive-loop and overlapped-pipeline fps on one clip",
                 _pipeline_args, _pipeline_run),
    "stills": ("`vidmatte image` against rembg (when installed) on one folder and one ONNX model: "
               "wall-time ratio, SAD with --gt", _stills_args, _stills_run),
    "startup": ("time help, `models list` and input errors against a bare `import torch` (best of N)",
                _startup_args, _startup_run),
}


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="measure speed per stage", description="Measure speed per stage.")
    sub = p.add_subparsers(dest="bench_mode", metavar="MODE", required=True)
    for name, (text, add_args, _) in MODES.items():
        add_args(sub.add_parser(name, help=text, description=text))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return MODES[args.bench_mode][2](args)
