"""`vidmatte replace INPUT -o OUTPUT --background …`: a new background for a video."""

from __future__ import annotations

import argparse
import sys

from vidmatte.io.formats import VIDEO_FORMATS
from vidmatte.io.pipes import CONTAINER_CHOICES

from vidmatte_cli.options import (
    add_background_options,
    add_encoding_options,
    add_input_options,
    add_model_options,
    add_output_options,
    add_edge_options,
    add_refine_options,
    add_smoothing_options,
    edges_from_args,
    add_stream_options,
    background_from_args,
    matter_from_args,
    refine_from_args,
    smoothing_from_args,
    stream_options,
)


def register(sub) -> None:
    p = sub.add_parser("replace", help="replace the background of a video (audio and timing kept)",
                       description="Replace the background of a video. The output keeps the input's "
                                   "frame timing and audio.")
    p.add_argument("input", help="input video file (- reads stdin), or a folder / pattern of PNG, TIFF, EXR, DPX or "
                                 "JPEG frames")
    add_output_options(p, urls=True)
    add_input_options(p)
    add_background_options(p, required=True)
    add_model_options(p)
    add_refine_options(p, vitmatte=False)
    add_edge_options(p)
    add_smoothing_options(p)
    add_encoding_options(p)
    p.add_argument("--format", choices=(*VIDEO_FORMATS, *CONTAINER_CHOICES),
                   help="video codec (default by extension: .mp4/.mov/.mkv h264, .webm VP9); prores: "
                        "10-bit ProRes 4444 in .mov/.mkv, keeping a high-bit-depth input's precision. "
                        "With -o - (stdout) also the container: mkv (default), nut, ts or webm")
    p.add_argument("--batch", type=int, default=1, help="frames per model call (default 1)")
    add_stream_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidmatte.io.registry import check_source

    check_source(args.input)  # a missing input is reported before anything heavy loads
    stream = stream_options(args)  # a bad --bitrate too
    from vidmatte.jobs.files import replace

    background = background_from_args(args)
    smoothing = smoothing_from_args(args)
    edges = edges_from_args(args)
    matter = matter_from_args(args)
    stats = replace(args.input, args.output, matter=matter, background=background, **smoothing,
                    fg_estimation=args.fg_estimation, crf=args.crf, codec_preset=args.speed,
                    batch_size=args.batch, overwrite=args.overwrite, strict=args.strict, fps=args.fps,
                    format=args.format, progress=None if not args.quiet else False,
                    refine=refine_from_args(args, matter), **edges, **stream)
    if not args.quiet:
        from vidmatte.io.stream_net import is_stream_url, redact

        done = f"sent to {redact(args.output)}" if is_stream_url(args.output) else \
            f"wrote {'stdout' if args.output == '-' else args.output}"
        print(f"{done}: {stats.summary()}", file=sys.stderr)
    return 0
