"""`vidmatte eval`: matting metrics of a model (or of precomputed mattes) against ground truth."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vidmatte.errors import InputError
from vidmatte_cli.options import add_model_options, add_refine_options, matter_from_args, refine_from_args

__all__ = ["register", "run", "matter_for_eval", "format_table", "format_smoothing", "smoothers_from_args"]

_SCALE_NOTE = "SAD/1e3  MAD*1e3  MSE*1e3  Grad/1e3  Conn/1e3  dtSSD*1e2"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval", help="matting metrics (SAD, MAD, MSE, Grad, Conn) against ground-truth mattes",
        description="Score a model, or a folder of precomputed mattes, against ground-truth mattes. "
                    f"Printed scales: {_SCALE_NOTE} (the video-matting papers' convention).")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--images", type=Path, metavar="DIR", help="input images (matched to --gt by file name)")
    src.add_argument("--video", type=Path, metavar="FILE", help="input video; --gt holds one matte per frame")
    p.add_argument("--gt", type=Path, required=True, metavar="DIR", help="ground-truth mattes")
    p.add_argument("--trimaps", type=Path, metavar="DIR", help="trimaps: score only their unknown region")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--model", metavar="NAME|FILE", help="model to run on the images (as in `vidmatte replace`)")
    how.add_argument("--pred", type=Path, metavar="DIR", help="precomputed mattes (same file names as --gt)")
    add_model_options(p, model_flag=False)
    add_refine_options(p, vitmatte=True)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--limit", type=int, metavar="N", help="score only the first N images / frames")
    p.add_argument("--smoothers", metavar="NAMES",
                   help="with --video and --model: score these temporal smoothers side by side on one model run, "
                        "e.g. none,gated,flow-causal,flow or 'all' (MAD, dtSSD, per phase when --gt has a "
                        "phases.json, and each relative to none)")
    p.set_defaults(func=run)


def matter_for_eval(args):
    """The matter for ``--model``: any name or file the other commands accept."""
    return matter_from_args(args)


def format_table(report) -> str:
    """Fixed-width table: one row per item, then the mean (and dtSSD for videos)."""
    names = list(report.metrics)
    width = max([len("mean")] + [len(str(r["name"])) for r in report.rows])
    head = f"{'name':<{width}}  " + "  ".join(f"{n:>9}" for n in names)
    lines = [head, "-" * len(head)]
    for r in report.rows:
        lines.append(f"{r['name']:<{width}}  " + "  ".join(f"{r[n]:>9.3f}" for n in names))
    lines.append("-" * len(head))
    lines.append(f"{'mean':<{width}}  " + "  ".join(f"{report.mean[n]:>9.3f}" for n in names))
    if "dtSSD" in report.mean:
        lines.append(f"dtSSD {report.mean['dtSSD']:.3f}")
    model = f"model {report.model}, " if report.model else ""
    if report.extra.get("refine"):
        model += f"refine {report.extra['refine']}, "
    lines.append(f"{len(report.rows)} items, {model}{report.region}, {report.seconds:.1f} s; "
                 f"scales: {_SCALE_NOTE}")
    return "\n".join(lines)


def smoothers_from_args(text: str) -> list:
    """``"all"`` or a comma list → smoother names (``none`` first when named, so ratios exist)."""
    from vidmatte.defaults import SMOOTHERS

    names = list(SMOOTHERS) if text.strip() == "all" else [t.strip() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in SMOOTHERS]
    if bad or not names:
        raise InputError(f"unknown smoother(s) {', '.join(bad) or '(none given)'}; choose from {', '.join(SMOOTHERS)} or all")
    return sorted(dict.fromkeys(names), key=lambda n: n != "none")


def format_smoothing(report) -> str:
    """One row per smoother: MAD, dtSSD and their per-phase values, then the ratios to none."""
    cols = list(next(iter(report.rows.values())))
    head = f"{'smoother':<12}" + "".join(f"{c:>13}" for c in cols)
    lines = [head, "-" * len(head)]
    lines += [f"{n:<12}" + "".join(f"{r[c]:>13.3f}" for c in cols) for n, r in report.rows.items()]
    if report.ratios:
        lines += ["relative to none:"] + [f"{n:<12}" + "".join(f"{r[c]:>12.3f}x" for c in cols)
                                         for n, r in report.ratios.items() if n != "none"]
    ms = ", ".join(f"{n} {v:.1f}" for n, v in report.smooth_ms.items() if n != "none")
    lines.append(f"{report.frames} frames, model {report.model}, {report.seconds:.1f} s; smoothing ms/frame: {ms}; "
                 "MAD*1e3  dtSSD*1e2")
    return "\n".join(lines)


def run(args) -> int:
    from vidmatte.eval.engine import evaluate_folders, evaluate_video

    if args.video is not None and args.trimaps is not None:
        raise InputError("--trimaps applies to --images; videos are scored on the whole frame")
    if args.model is not None and args.images is None and args.video is None:
        raise InputError("--model needs the inputs: --images DIR or --video FILE")
    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit must be at least 1, got {args.limit}")
    for flag in ("images", "video", "gt", "trimaps", "pred"):  # before any model loads
        path = getattr(args, flag)
        if path is not None and not path.exists():
            raise InputError(f"--{flag} {path} does not exist")
    matter = matter_for_eval(args) if args.model is not None else None
    refine = refine_from_args(args, matter) if matter is not None else "none"
    progress = None
    if not args.json and sys.stderr.isatty():
        def progress(i, n, name):
            print(f"\r[{i + 1}/{n}] {name}   ", end="", file=sys.stderr, flush=True)
    if args.smoothers is not None:
        if args.video is None or matter is None:
            raise InputError("--smoothers needs --video FILE and --model (the smoothers run on its mattes)")
        from vidmatte.eval.smoothing import evaluate_smoothers

        rep = evaluate_smoothers(args.video, args.gt, matter, smoothers_from_args(args.smoothers), limit=args.limit,
                                 progress=progress)
        if progress:
            print(file=sys.stderr)
        print(json.dumps(rep.to_dict(), indent=2) if args.json else format_smoothing(rep))
        return 0
    if args.video is not None:
        report = evaluate_video(args.video, args.gt, matter=matter, pred=args.pred, limit=args.limit,
                                progress=progress, refine=refine)
    else:
        report = evaluate_folders(args.gt, images=args.images, trimaps=args.trimaps, pred=args.pred,
                                  matter=matter, limit=args.limit, progress=progress, refine=refine)
    if progress:
        print(file=sys.stderr)
    if matter is not None:
        report.model = f"{matter.name} ({Path(args.model).name})"
        report.extra["refine"] = args.refine
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_table(report))
    return 0
