"""`vidmatte replace INPUT -o OUTPUT --background …`: a new background for a video."""

from __future__ import annotations

import argparse
import sys

from vidmatte_cli.options import (
    add_background_options,
    add_model_options,
    add_output_options,
    add_smoothing_options,
    background_from_args,
    matter_from_args,
    smoothing_from_args,
)


def register(sub) -> None:
    p = sub.add_parser("replace", help="replace the background of a video (audio and timing kept)",
                       description="Replace the background of a video. The output keeps the input's "
                                   "frame timing and audio.")
    p.add_argument("input", help="input video file, or a folder / pattern of frames")
    add_output_options(p)
    add_background_options(p, required=True)
    add_model_options(p)
    add_smoothing_options(p)
    enc = p.add_argument_group("encoding")
    enc.add_argument("--crf", type=int, default=18, help="H.264 quality (lower is better, default 18)")
    enc.add_argument("--speed", default="medium", help="x264 preset: ultrafast … veryslow (default medium)")
    p.add_argument("--batch", type=int, default=1, help="frames per model call (default 1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidmatte.io.registry import check_source

    check_source(args.input)  # a missing input is reported before anything heavy loads
    from vidmatte.jobs.files import replace

    background = background_from_args(args)
    smoothing = smoothing_from_args(args)
    matter = matter_from_args(args)
    stats = replace(args.input, args.output, matter=matter, background=background, **smoothing,
                    fg_estimation=args.fg_estimation, crf=args.crf, codec_preset=args.speed,
                    batch_size=args.batch, overwrite=args.overwrite, progress=None if not args.quiet else False)
    if not args.quiet:
        print(f"wrote {args.output}: {stats.summary()}", file=sys.stderr)
    return 0
