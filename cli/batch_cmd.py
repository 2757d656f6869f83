"""`vidmatte batch IN... -o OUTDIR`: many videos at once, here or on a Ray cluster."""

from __future__ import annotations

import argparse
import sys

from vidmatte.defaults import ENGINES
from vidmatte.io.formats import MATTE_FORMATS

from vidmatte_cli.options import (
    add_alpha_mode_option,
    add_background_options,
    add_edge_options,
    add_encoding_options,
    add_model_options,
    add_smoothing_options,
    background_spec,
    edges_from_args,
    matter_options,
    smoothing_from_args,
)


def register(sub) -> None:
    p = sub.add_parser("batch", help="many videos into one folder, on this machine or a Ray cluster",
                       description="Replace the background of (or, with --matte, pull plates from) every input "
                                   "into OUTDIR/<input file name>. Inputs are files, folders (their video files) "
                                   "or quoted globs. A re-run skips outputs it finished (OUTDIR/.vidmatte-batch.json); "
                                   "an input that fails fails alone. Exit code 2 when any input failed.")
    p.add_argument("inputs", nargs="+", metavar="IN", help="video files, folders or globs ('clips/**/*.mp4')")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder (created if missing)")
    p.add_argument("-y", "--overwrite", action="store_true",
                   help="redo outputs that are finished, or that exist and were not made by a batch")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar; only failures are listed")
    add_background_options(p, required=False)
    m = p.add_argument_group("matte mode (plates like `vidmatte matte`)")
    m.add_argument("--matte", action="store_true", help="write alpha / foreground plates instead of composites")
    m.add_argument("--format", choices=MATTE_FORMATS,
                   help="plate format (default from each input's container: .mp4 alpha matte, .mov/.mkv prores, "
                        ".webm webm); png/tiff/exr write a folder per input")
    add_alpha_mode_option(m)
    add_model_options(p)
    add_edge_options(p)
    add_smoothing_options(p)
    add_encoding_options(p)
    p.add_argument("--batch", type=int, default=1, help="frames per model call (default 1)")
    s = p.add_argument_group("scale-out")
    s.add_argument("--engine", choices=ENGINES, default="local",
                   help="local: inputs one after another in this process (default); ray: workers as Ray actors")
    s.add_argument("--address", metavar="ADDR",
                   help="Ray cluster to join (auto, HOST:6379, ray://HOST:10001); default: RAY_ADDRESS or a new "
                        "local cluster")
    s.add_argument("--workers", type=int, metavar="N", help="Ray workers (default: one per GPU, else one per CPU)")
    s.add_argument("--worker-cpus", type=float, default=1.0, metavar="C",
                   help="CPUs each Ray worker reserves (default 1)")
    s.add_argument("--segment", type=float, metavar="SECONDS",
                   help="cut longer videos at keyframes into segments of about this length, processed in parallel "
                        "and joined without re-encoding")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidmatte.errors import InputError
    from vidmatte.jobs.batches import batch

    background = background_spec(args)
    if args.matte and (background is not None or args.transparent):
        raise InputError("--matte writes plates without a background; drop the background options or --matte")
    if not args.matte and background is None and not args.transparent:
        raise InputError("give a background (--background FILE, --color HEX, --blur, --green), --transparent, "
                         "or --matte for plates")
    if (args.format or args.alpha_mode) and not args.matte:
        raise InputError("--format and --alpha-mode are for --matte; add --matte or drop them")
    edges = edges_from_args(args)
    report = batch(args.inputs, args.output, matte=args.matte, background=background, matter=args.model,
                   model_options=matter_options(args), **smoothing_from_args(args), fg_estimation=args.fg_estimation,
                   format=args.format, alpha_mode=args.alpha_mode, crf=args.crf, codec_preset=args.speed,
                   batch_size=args.batch, threads=args.threads, engine=args.engine, address=args.address,
                   workers=args.workers, worker_cpus=args.worker_cpus, segment=args.segment,
                   overwrite=args.overwrite, progress=False if args.quiet else None, **edges)
    text = report.summary()
    if args.quiet:
        text = "\n".join(line for line in text.splitlines() if line.startswith("  failed"))
    if text:
        print(text, file=sys.stderr)
    return 0 if report.ok else 2
