"""``vidmatte bench blur``: the masked background blur's glow and cost (:mod:`vidmatte.bench.blur`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vidmatte_cli.options import parse_size

__all__ = ["HELP", "add_arguments", "run"]

HELP = ("the masked background blur against a whole-frame blur: glow in the ring around the subject "
        "(ground-truth composites) and the cost of both")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--alphamatting", type=Path, required=True, metavar="DIR",
                   help="folder with input/NAME.png and gt/NAME.png (the alphamatting.com training set)")
    p.add_argument("--images", metavar="A,B", help="only these names (default: every image with a gt matte)")
    p.add_argument("--model", default="modnet", help="model name or file (default modnet, the bundled copy)")
    p.add_argument("--sigma", type=float, default=20.0, help="blur strength, px at 1080 lines (default 20, as --blur)")
    p.add_argument("--resolution", type=parse_size, default=(720, 1280), metavar="HxW",
                   help="frame size of the cost measurement (default 720x1280)")
    p.add_argument("--runs", type=int, default=7, metavar="N", help="timed rounds of the cost (best of; default 7)")
    p.add_argument("--no-cost", action="store_true", help="skip the cost measurement")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    import torch

    from vidmatte.bench.blur import bench_blur
    from vidmatte.models.factory import load_matter

    if args.threads:
        torch.set_num_threads(args.threads)
    matter = load_matter(args.model, device="cpu", download=False)
    names = [n.strip() for n in args.images.split(",") if n.strip()] if args.images else None
    size = args.resolution if isinstance(args.resolution, tuple) else (args.resolution, args.resolution)
    res = bench_blur(args.alphamatting, matter, names, sigma=args.sigma, cost_size=None if args.no_cost else size,
                     runs=max(1, args.runs))
    print(json.dumps(res.as_dict()) if args.json else res.summary())
    return 0
