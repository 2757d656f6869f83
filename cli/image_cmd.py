"""`vidmatte image IN... -o OUT`: cut-outs (RGBA PNG) or composites of still images."""

from __future__ import annotations

import argparse
import sys

from vidmatte_cli.options import (add_background_options, add_edge_options, add_model_options, add_output_options,
                                  add_refine_options, background_from_args, check_refine_args, edges_from_args,
                                  matter_from_args, refine_from_args)


def register(sub) -> None:
    p = sub.add_parser("image", help="still images: RGBA PNG cut-outs or composites",
                       description="Matte still images. Without a background option the result is an RGBA "
                                   "PNG cut-out. With several inputs, OUTPUT is a folder.")
    p.add_argument("inputs", nargs="+", metavar="IN", help="input images")
    add_output_options(p)
    add_background_options(p, required=False, transparent=False)
    add_model_options(p)
    add_refine_options(p, vitmatte=True)
    add_edge_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidmatte.jobs.stills import check_inputs, expand_inputs, images, model_threads_hint

    check_refine_args(args)
    if args.output == "-":  # stills are files: no stream to write to stdout
        from vidmatte.errors import OutputError

        raise OutputError("vidmatte image writes image files, not to stdout; give a file or folder with -o")
    edges = edges_from_args(args)
    inputs = expand_inputs(args.inputs)  # folders and patterns → their images
    check_inputs(inputs)  # before any model loads
    background = background_from_args(args)
    # cut-outs with an ONNX model run one image per core: open its session with that many threads once
    hint = model_threads_hint(len(inputs), background=background, fg_estimation=args.fg_estimation, refine=args.refine)
    matter = matter_from_args(args, onnx_threads=hint)
    stats: dict = {}
    written = images(inputs, args.output, matter=matter, background=background,
                     fg_estimation=args.fg_estimation, overwrite=args.overwrite, refine=refine_from_args(args, matter),
                     stats=stats, **edges)
    if not args.quiet:
        for p in written:
            print(f"wrote {p}", file=sys.stderr)
        print(f"vidmatte: {len(written)} image(s); {stats.get('policy', '')}", file=sys.stderr)
    return 0
