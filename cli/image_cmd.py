"""`vidmatte image IN... -o OUT`: cut-outs (RGBA PNG) or composites of still images."""

from __future__ import annotations

import argparse
import sys

from vidmatte_cli.options import (add_background_options, add_model_options, add_output_options, add_refine_options,
                                  background_from_args, matter_from_args, refine_from_args)


def register(sub) -> None:
    p = sub.add_parser("image", help="still images: RGBA PNG cut-outs or composites",
                       description="Matte still images. Without a background option the result is an RGBA "
                                   "PNG cut-out. With several inputs, OUTPUT is a folder.")
    p.add_argument("inputs", nargs="+", metavar="IN", help="input images")
    add_output_options(p)
    add_background_options(p, required=False, transparent=False)
    add_model_options(p)
    add_refine_options(p, vitmatte=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidmatte.jobs.stills import images

    background = background_from_args(args)
    matter = matter_from_args(args)
    written = images(args.inputs, args.output, matter=matter, background=background,
                     fg_estimation=args.fg_estimation, overwrite=args.overwrite, refine=refine_from_args(args, matter))
    if not args.quiet:
        for p in written:
            print(f"wrote {p}", file=sys.stderr)
    return 0
