"""`vidmatte matte INPUT -o OUTPUT [--format …]`: alpha and foreground for VFX."""

from __future__ import annotations

import argparse
import sys

from vidmatte.io.formats import MATTE_FORMATS
from vidmatte.io.pipes import CONTAINER_CHOICES

from vidmatte_cli.options import (
    add_alpha_mode_option,
    add_edge_options,
    add_fg_option,
    add_input_options,
    add_model_options,
    add_output_options,
    add_refine_options,
    add_smoothing_options,
    edges_from_args,
    add_stream_options,
    matter_from_args,
    refine_from_args,
    smoothing_from_args,
    stream_options,
)


def register(sub) -> None:
    p = sub.add_parser("matte", help="alpha + foreground outputs for VFX (ProRes 4444, VP9 alpha, PNG/TIFF/EXR, matte)",
                       description="Pull a matte without a green screen. Formats: prores (.mov, ProRes 4444 "
                                   "with alpha), webm (VP9 with alpha), png / tiff / exr (image sequence in a "
                                   "folder, with timestamps.json), alpha (greyscale matte video, .mp4). "
                                   "High-bit-depth inputs keep 16 bits in ProRes, EXR, PNG and TIFF.")
    p.add_argument("input", help="input video file (- reads stdin), or a folder / pattern of PNG, TIFF, EXR, DPX or "
                                 "JPEG frames")
    add_output_options(p, urls=True)
    add_input_options(p)
    p.add_argument("--format", choices=(*MATTE_FORMATS, *CONTAINER_CHOICES),
                   help="default from the output: .mov prores, .webm webm, .mp4 alpha, folder png, "
                        "frames/f_%%06d.tif tiff, frames/f_%%06d.exr exr; with -o - (stdout): prores in mkv, or the "
                        "container mkv, nut, ts (alpha matte) or webm; a stream URL: alpha (webm/prores with "
                        "alpha over srt:// or tcp:// only)")
    add_alpha_mode_option(p)
    add_fg_option(p)
    add_model_options(p)
    add_refine_options(p, vitmatte=True)
    add_edge_options(p)
    add_smoothing_options(p)
    p.add_argument("--batch", type=int, default=1, help="frames per model call (default 1)")
    add_stream_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidmatte.io.registry import check_source

    check_source(args.input)  # a missing input is reported before anything heavy loads
    stream = stream_options(args)  # a bad --bitrate too
    from vidmatte.jobs.files import matte

    smoothing = smoothing_from_args(args)
    edges = edges_from_args(args)
    matter = matter_from_args(args)
    refine = refine_from_args(args, matter)
    stats = matte(args.input, args.output, matter=matter, format=args.format, alpha_mode=args.alpha_mode,
                  **smoothing, fg_estimation=args.fg_estimation, batch_size=args.batch,
                  overwrite=args.overwrite, strict=args.strict, fps=args.fps,
                  progress=None if not args.quiet else False, refine=refine, **edges, **stream)
    if not args.quiet:
        from vidmatte.io.stream_net import is_stream_url, redact

        done = f"sent to {redact(args.output)}" if is_stream_url(args.output) else \
            f"wrote {'stdout' if args.output == '-' else args.output}"
        print(f"{done}: {stats.summary()}", file=sys.stderr)
    return 0
