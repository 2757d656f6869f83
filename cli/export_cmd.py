"""`vidmatte export onnx --model NAME|FILE -o model.onnx`: BiRefNet to a checked ONNX file."""

from __future__ import annotations

import argparse
import json
import sys

from vidmatte_cli.options import parse_size


def register(sub) -> None:
    p = sub.add_parser("export", help="export a BiRefNet checkpoint to ONNX (checked against torch)",
                       description="Export a model to another runtime's format.")
    fmt = p.add_subparsers(dest="export_format", metavar="FORMAT", required=True)
    o = fmt.add_parser("onnx", help="BiRefNet to ONNX: standard ops, metadata for `--model file.onnx`, parity check",
                       description="Export a BiRefNet checkpoint to ONNX (TorchScript exporter, standard ops only). "
                                   "The file carries its metadata (family, input size, mean/std, patch order, "
                                   "licence), so `vidmatte ... --model model.onnx` needs no flags. Before the file "
                                   "appears, onnxruntime (CPU) and torch run it on the same random input and the "
                                   "difference is printed; a failed check writes nothing.")
    o.add_argument("--model", default="lite", metavar="NAME|FILE",
                   help="lite, lite-2k, general, portrait, matting, rmbg-2.0, or a checkpoint file (default lite)")
    o.add_argument("--size", type=parse_size, metavar="N|WxH",
                   help="fixed input size, NxN or WxH (like ffmpeg), multiples of 32 (default: the checkpoint's "
                        "training size)")
    o.add_argument("--fp16", action="store_true", help="float16 weights and activations (GPU runtimes)")
    o.add_argument("--dynamic-batch", action="store_true", help="leave the batch axis free (default batch 1)")
    o.add_argument("--patch-order", choices=("legacy", "current"), help="override the checkpoint's patch order")
    o.add_argument("--opset", type=int, default=17, metavar="N", help="ONNX opset, 16 or newer (default 17)")
    o.add_argument("--no-parity", action="store_true", help="skip the onnxruntime-vs-torch check")
    o.add_argument("--offline", action="store_true", help="never download named weights")
    o.add_argument("-o", "--output", required=True, metavar="FILE.onnx")
    o.add_argument("--overwrite", action="store_true", help="replace an existing output")
    o.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    o.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidmatte.models.export import export_onnx

    def progress(msg: str) -> None:
        if not args.quiet:
            print(f"export: {msg}", file=sys.stderr, flush=True)

    res = export_onnx(args.model, args.output, size=args.size, fp16=args.fp16, dynamic_batch=args.dynamic_batch,
                      patch_order=args.patch_order, opset=args.opset, overwrite=args.overwrite,
                      parity=not args.no_parity, download=not args.offline, progress=progress)
    print(json.dumps(res.as_dict()) if args.json else res.summary())
    return 0
