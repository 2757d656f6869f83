"""The model options of every command that runs a model, and the model they name."""

from __future__ import annotations

import argparse
from typing import Optional

from vidmatte.defaults import DEVICES, DTYPES
from vidmatte.models.onnx_presets import PRESETS as ONNX_PRESETS
from vidmatte.frame import SIZE_HELP

__all__ = ["add_model_options", "matter_options", "matter_from_args"]


def _parse_size(text: str):
    from vidmatte_cli.options import parse_size

    return parse_size(text)


def add_model_options(p: argparse.ArgumentParser, *, model_flag: bool = True) -> None:
    """The model flags; ``model_flag=False`` when the command declares ``--model`` itself."""
    g = p.add_argument_group("model")
    if model_flag:
        g.add_argument("--model", default="auto", metavar="NAME|FILE",
                       help="auto (BiRefNet-lite when its weights are here or downloadable, else the bundled "
                            "MODNet), a BiRefNet checkpoint name (see `vidmatte models list`), modnet, an .onnx "
                            "file, or chroma (green-screen keyer); default: auto")
    g.add_argument("--weights", metavar="FILE", help="local BiRefNet checkpoint (.safetensors, .pth, .bin)")
    g.add_argument("--model-size", type=_parse_size, metavar="N|WxH",
                   help="model input size: " + SIZE_HELP + " (default per model and device: "
                        "`vidmatte models list`); smaller is faster")
    g.add_argument("--device", default="auto", choices=DEVICES,
                   help="auto (cuda when there is a GPU, else cpu), cpu, cuda; for ONNX models (modnet, .onnx) "
                        "also onnxruntime's tensorrt, openvino, directml (Windows), coreml (macOS) when installed: "
                        "`vidmatte models list` shows which are here")
    g.add_argument("--dtype", default="auto", choices=DTYPES,
                   help="compute precision (auto: fp16 on CUDA, fp32 on CPU)")
    g.add_argument("--patch-order", choices=("legacy", "current"),
                   help="BiRefNet image-patch order (default: the checkpoint's)")
    g.add_argument("--preset", choices=tuple(ONNX_PRESETS),
                   help="ONNX model family (default: recognised from the graph)")
    g.add_argument("--offline", action="store_true", help="never download weights")
    o = p.add_argument_group("ONNX models (when the family is not recognised) and threads")
    o.add_argument("--mean", type=float, nargs="+", metavar="V", help="input mean (1 or 3 values, on [0,1] RGB)")
    o.add_argument("--std", type=float, nargs="+", metavar="V", help="input std (1 or 3 values)")
    o.add_argument("--output-index", type=int, metavar="I", help="which model output holds the matte")
    o.add_argument("--sigmoid", action=argparse.BooleanOptionalAction, default=None,
                   help="apply a sigmoid to the output (default: the preset's choice)")
    o.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads for the model (webcam default: cores - 1, leaving one to capture and encoding)")


def matter_options(args, onnx_threads: Optional[int] = None) -> dict:
    """The model options as keywords for :func:`vidmatte.load_matter` (all but the name);
    ``onnx_threads``: an ONNX model's threads when ``--threads`` is not given."""
    onnx = {k: getattr(args, k, None) for k in ("mean", "std", "output_index", "sigmoid", "threads")}
    if onnx["threads"] is None:
        onnx["threads"] = onnx_threads
    return {"weights": args.weights, "size": args.model_size, "device": args.device, "dtype": args.dtype,
            "patch_order": args.patch_order, "preset": args.preset, "download": not args.offline,
            "onnx_options": {k: v for k, v in onnx.items() if v is not None}}


def matter_from_args(args, *, live: bool = False, onnx_threads: Optional[int] = None):
    """The model the options name; ``auto``'s choice is said in one stderr line.

    ``onnx_threads``: intra-op threads for an ONNX model when ``--threads`` is not given
    (the still-image job runs one image per core, one thread each)."""
    import sys

    from vidmatte.models.factory import load_matter

    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    matter = load_matter(args.model, **matter_options(args, onnx_threads), live=live)
    if getattr(matter, "notice", None) and not getattr(args, "quiet", False):
        print(f"vidmatte: {matter.notice}", file=sys.stderr)
    return matter
