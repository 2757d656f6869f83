"""``vidmatte bench gpu``: the CUDA path in one run, as JSON (:mod:`vidmatte.bench.gpu`)."""

from __future__ import annotations

import argparse
import json

__all__ = ["HELP", "add_arguments", "run"]

HELP = "the CUDA path in one run, as JSON: model vs official, end to end, memory, two pipelines, live"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cuda", help="default cuda (cpu: a quick functional run)")
    p.add_argument("--official", metavar="DIR", help="a checkout of ZhengPeng7/BiRefNet to time beside ours")
    p.add_argument("--quick", action="store_true", help="tiny sizes (checks the steps run, not their speed)")
    p.add_argument("--out", metavar="FILE", help="also write the JSON here")
    p.add_argument("--steps", metavar="A,B", help="only these steps (model_only, end_to_end, encoder, encode_speed, "
                                                   "memory, two_pipelines, live); default all")


def run(args: argparse.Namespace) -> int:
    import sys

    from vidmatte.bench.gpu import bench_gpu

    steps = tuple(t.strip() for t in args.steps.split(",")) if args.steps else None

    def save(res: dict) -> None:  # after every step: a run cut short keeps what it measured
        if args.out:
            with open(args.out, "w") as fh:
                fh.write(json.dumps(res, indent=1, default=str))

    res = bench_gpu(device=args.device, official=args.official, quick=args.quick, steps=steps,
                    log=lambda line: print(line, file=sys.stderr, flush=True), save=save)
    save(res)
    print(json.dumps(res, indent=1, default=str))
    return 1 if any(isinstance(v, dict) and "error" in v for v in res.values()) else 0
