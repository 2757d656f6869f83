"""``vidmatte bench MODE``: speed per stage.

Each mode is a pair ``(add_arguments(parser), run(args) -> int)`` in :data:`MODES`; adding
``bench pipeline`` means writing those two functions and one entry in the table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable

from vidmatte.defaults import DEVICES, DTYPES, FG_ESTIMATION, FG_ESTIMATIONS, POLICIES, REFINE, REFINES
from vidmatte.models.onnx_presets import PRESETS as ONNX_PRESETS
from vidmatte_cli import bench_blur_cmd, bench_gpu_cmd, bench_live_cmd, bench_model_cmd
from vidmatte_cli.options import parse_size

__all__ = ["register", "run", "MODES"]


def _pipeline_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clip", metavar="FILE", help="video to process (default: a generated clip)")
    p.add_argument("--resolution", type=parse_size, default=(1080, 1920), metavar="WxH",
                   help="size of the generated clip (default 1920x1080)")
    p.add_argument("--frames", type=int, default=24, help="frames in the generated clip (default 24)")
    p.add_argument("--model", default="random",
                   help="'random' (BiRefNet-lite, random weights: timing does not depend on values), "
                        "'chroma', an .onnx file, or a checkpoint name/file")
    p.add_argument("--model-size", type=parse_size, default=256, metavar="N|WxH",
                   help="default 256; N: the long side for MODNet, NxN for the others")
    p.add_argument("--device", default="auto", choices=DEVICES[:3])
    p.add_argument("--dtype", default="auto", choices=DTYPES)
    p.add_argument("--batch", type=int, default=1, help="frames per model call")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch")
    p.add_argument("--fg-estimation", default=FG_ESTIMATION, choices=FG_ESTIMATIONS,
                   help="foreground colour estimation (default blur)")
    p.add_argument("--no-smooth", action="store_true", help="skip temporal smoothing")
    p.add_argument("--smoother", help="temporal smoother (default: the file jobs' default, flow)")
    p.add_argument("--refine", default=REFINE, choices=tuple(r for r in REFINES if r != "vitmatte"),
                   help="edge refinement, as in replace (default auto)")
    p.add_argument("--no-naive", action="store_true", help="skip the naive sequential loops")
    p.add_argument("--rounds", type=int, default=2, metavar="N",
                   help="model-only, naive and pipeline runs take turns N times; the best of each counts (default 2)")
    p.add_argument("--policy", default="auto", choices=(*POLICIES, "all"),
                   help="how the pipeline uses the cores (default auto: measured on the first frames); "
                        "all: also time each fixed schedule in every round")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _pipeline_run(args: argparse.Namespace) -> int:
    import torch

    from vidmatte.bench.pipeline import bench_pipeline
    from vidmatte.defaults import SMOOTHER_FILES
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
    res = bench_pipeline(matter, "#3366ff", smoothing=None if args.no_smooth else (args.smoother or SMOOTHER_FILES),
                         fg_estimation=args.fg_estimation, refine=args.refine, clip=args.clip, width=w, height=h,
                         frames=args.frames, batch_size=args.batch, naive=not args.no_naive, policy=args.policy,
                         rounds=args.rounds)
    print(json.dumps(res.as_dict()) if args.json else res.summary())
    return 0


def _stills_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--images", required=True, metavar="DIR", help="folder of input images")
    p.add_argument("--model", required=True, metavar="FILE.onnx", help="the ONNX model both tools run")
    p.add_argument("--preset", choices=tuple(ONNX_PRESETS), help="ONNX family for vidmatte")
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


def _batch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("clips", nargs="*", metavar="CLIP", help="videos to process (default: generated clips)")
    p.add_argument("--count", type=int, default=4, help="generated clips (default 4)")
    p.add_argument("--frames", type=int, default=96, help="frames per generated clip (default 96)")
    p.add_argument("--resolution", type=parse_size, default=(360, 640), metavar="WxH",
                   help="size of the generated clips (default 640x360)")
    p.add_argument("--model", default="chroma", help="model name or file (default chroma: the engine, not the model)")
    p.add_argument("--workers", type=int, metavar="N", help="Ray workers (default: one per CPU)")
    p.add_argument("--segment", type=float, metavar="SECONDS", help="also time Ray with segments of this length")
    p.add_argument("--no-ray", action="store_true", help="only the local runs")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _batch_run(args: argparse.Namespace) -> int:
    from vidmatte.bench.batch import bench_batch

    h, w = args.resolution if isinstance(args.resolution, tuple) else (args.resolution, args.resolution)
    res = bench_batch(args.clips, count=args.count, frames=args.frames, width=w, height=h, model=args.model,
                      workers=args.workers, segment=args.segment, ray=not args.no_ray)
    print(json.dumps(res.as_dict()) if args.json else res.summary())
    return 0


def _sizes(text: str) -> list:
    try:
        return [parse_size(t) for t in text.split(",") if t]
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of N or WxH: {exc}") from None


def _refine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", default="guided", choices=("guided", "vitmatte"), help="default guided")
    p.add_argument("--frames", type=_sizes, default=[(720, 1280), (1080, 1920)], metavar="WxH[,WxH…]",
                   help="frame sizes (default 1280x720,1920x1080)")
    p.add_argument("--model", default="modnet", help="guided: the model it follows (default the bundled MODNet)")
    p.add_argument("--model-size", type=_sizes, default=[256, 512], metavar="N[,N…]",
                   help="guided: model sizes (default 256,512)")
    p.add_argument("--weights", metavar="DIR", help="vitmatte: a checkpoint folder (default: random ViTMatte-S)")
    p.add_argument("--tile", type=int, default=1024, help="vitmatte: tile side (default 1024)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="default cpu")
    p.add_argument("--runs", type=int, default=5, metavar="N", help="guided: timed rounds (default 5)")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _refine_run(args: argparse.Namespace) -> int:
    import torch

    from vidmatte.bench.refine import RefineBench, bench_guided, bench_vitmatte
    from vidmatte.models.factory import load_matter

    if args.threads:
        torch.set_num_threads(args.threads)
    frames = [f if isinstance(f, tuple) else (f, f) for f in args.frames]
    res = RefineBench(args.method, args.device, torch.get_num_threads())
    if args.method == "guided":
        for size in args.model_size:
            matter = load_matter(args.model, size=size, device=args.device, download=False)
            res.rows += bench_guided(matter, frames, runs=args.runs)
    else:
        res.rows = bench_vitmatte(frames, tile=args.tile, weights=args.weights, device=args.device)
    print(json.dumps(res.as_dict()) if args.json else res.summary())
    return 0


def _temporal_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--alphamatting", type=Path, required=True, metavar="DIR",
                   help="folder with input/GTnn.png and gt/GTnn.png (the alphamatting.com training set)")
    p.add_argument("--videos", type=Path, nargs="+", required=True, metavar="FILE", help="background videos")
    p.add_argument("--foregrounds", nargs="+", default=["GT08", "GT09"], metavar="NAME",
                   help="foreground names in --alphamatting (default GT08 GT09)")
    p.add_argument("--frames", type=int, default=60, help="frames per clip (default 60)")
    p.add_argument("--fast", type=float, help="peak speed of the fast swing, frame heights per frame (default 0.06)")
    p.add_argument("--model", default="modnet", help="model name or file (default modnet, the bundled copy)")
    p.add_argument("--model-size", type=parse_size, default=320, metavar="N|HxW", help="default 320")
    p.add_argument("--smoothers", default="none,gated,flow-causal,flow", metavar="NAMES",
                   help="comma list, or all (default none,gated,flow-causal,flow; none is always added)")
    p.add_argument("--keep", type=Path, metavar="DIR", help="write the clips and ground truth here and keep them")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch")
    p.add_argument("--no-cost", action="store_true", help="skip the timing at 640x360")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _temporal_run(args: argparse.Namespace) -> int:
    import sys

    import torch

    from vidmatte.bench.temporal import bench_temporal, format_temporal
    from vidmatte.models.factory import load_matter
    from vidmatte_cli.eval_cmd import smoothers_from_args

    if args.threads:
        torch.set_num_threads(args.threads)
    matter = load_matter(args.model, size=args.model_size, device="cpu", download=False)
    synth = {} if args.fast is None else {"fast": args.fast}
    names = smoothers_from_args(args.smoothers)
    names = names if "none" in names else ["none", *names]  # the ratios' baseline
    res = bench_temporal(matter, args.alphamatting, args.videos, foregrounds=args.foregrounds,
                         smoothers=names, frames=args.frames, keep=args.keep,
                         cost=not args.no_cost, progress=lambda name: print(f"clip {name}", file=sys.stderr), **synth)
    print(json.dumps(res.to_dict()) if args.json else format_temporal(res))
    return 0


# mode → (help, add_arguments, run)
MODES: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "model": (bench_model_cmd.HELP, bench_model_cmd.add_arguments, bench_model_cmd.run),
    "pipeline": ("per-stage times, model-only, naive-loop and overlapped-pipeline fps on one clip",
                 _pipeline_args, _pipeline_run),
    "gpu": (bench_gpu_cmd.HELP, bench_gpu_cmd.add_arguments, bench_gpu_cmd.run),
    "batch": ("the batch engines (local, Ray, Ray with segments) against running the files one by one",
              _batch_args, _batch_run),
    "refine": ("edge refinement (guided filter, ViTMatte) against the model it follows, same process",
               _refine_args, _refine_run),
    "temporal": ("temporal smoothers on clips with ground-truth alpha (MAD, dtSSD, per phase) and their cost",
                 _temporal_args, _temporal_run),
    "stills": ("`vidmatte image` against rembg (when installed) on one folder and one ONNX model: "
               "wall-time ratio, SAD with --gt", _stills_args, _stills_run),
    "blur": (bench_blur_cmd.HELP, bench_blur_cmd.add_arguments, bench_blur_cmd.run),
    "live": (bench_live_cmd.HELP, bench_live_cmd.add_arguments, bench_live_cmd.run),
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
