"""``vidmatte bench live``: the webcam job per frame size, beside the model's ceiling (:mod:`vidmatte.bench.live`)."""

from __future__ import annotations

import argparse
import json

from vidmatte_cli.options import parse_size

__all__ = ["HELP", "add_arguments", "run"]

HELP = ("the webcam job on a file or lavfi graph played as a camera, per frame size: fps, drops, "
        "latency, ms per stage, and the model alone on the same threads (the ceiling)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", metavar="FILE|lavfi:GRAPH",
                   help="played as a camera at its own pace (default: samples/talk.mp4, real footage of people)")
    p.add_argument("--sizes", type=_wh_sizes, default=[(360, 640), (720, 1280), (1080, 1920)], metavar="WxH[,WxH…]",
                   help="frame sizes, width x height (default 640x360,1280x720,1920x1080)")
    p.add_argument("--seconds", type=float, default=4.0, metavar="N", help="seconds per size (default 4)")
    p.add_argument("--background", "-b", metavar="FILE|SPEC", help="background (default samples/beach.jpg)")
    p.add_argument("--model", default="auto", help="model name or file (default auto: the live CPU default)")
    p.add_argument("--model-size", type=parse_size, metavar="N|WxH", help="model input size (default: its own)")
    p.add_argument("--workers", type=int, choices=(1, 2), help="frames in flight (default: webcam's choice)")
    p.add_argument("--threads", type=int, metavar="N", help="model threads (default: webcam's choice)")
    p.add_argument("--work-lines", type=int, metavar="N",
                   help="as webcam --work-lines (default 360; 0: the full-size finishing, to compare)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    import sys

    from vidmatte.bench.live import bench_live

    model = args.model
    if args.model_size is not None:
        from vidmatte.models.factory import load_matter

        model = load_matter(model, size=args.model_size, live=True)
    res = bench_live(args.sizes, source=args.source, seconds=args.seconds, background=args.background, model=model,
                     workers=args.workers, threads=args.threads,
                     log=lambda line: print(line, file=sys.stderr, flush=True),
                     **({} if args.work_lines is None else {"work_lines": args.work_lines}))
    print(json.dumps(res.as_dict()) if args.json else res.summary())
    return 0


def _wh_sizes(text: str) -> list:
    """``640x360,1280x720`` (width x height, as cameras are named) → ``[(360, 640), (720, 1280)]``."""
    out = []
    for t in (t.strip().lower() for t in text.split(",") if t.strip()):
        try:
            w, h = (int(v) for v in t.split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT[,WIDTHxHEIGHT…], got {t!r}") from None
        if w < 16 or h < 16 or w % 2 or h % 2:
            raise argparse.ArgumentTypeError(f"frame size {t!r}: width and height must be even and >= 16")
        out.append((h, w))
    return out
