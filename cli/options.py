"""Options shared by the commands that run a model (replace, matte, image, webcam, eval)."""

from __future__ import annotations

import argparse
from typing import Optional

from vidmatte.defaults import (ALPHA_MODES, FG_ESTIMATION, FG_ESTIMATIONS, REFINE, REFINES, SMOOTH_STRENGTH,
                               SMOOTHER_FILES, SMOOTHER_LIVE, SMOOTHERS)
from vidmatte.errors import InputError

__all__ = [
    "add_model_options",
    "add_smoothing_options",
    "add_refine_options",
    "refine_from_args",
    "add_background_options",
    "add_output_options",
    "add_encoding_options",
    "matter_from_args",
    "matter_options",
    "smoothing_from_args",
    "add_fg_option",
    "add_alpha_mode_option",
    "add_input_options",
    "background_from_args",
    "background_spec",
    "parse_size",
    "add_edge_options",
    "edges_from_args",
    "add_stream_options",
    "stream_options",
]


def parse_size(text: str):
    """``512`` → 512; ``2560x1440`` (WxH, like ffmpeg) → (1440, 2560) as (H, W); see :mod:`vidmatte.frame`."""
    from vidmatte.frame import parse_size as parse

    try:
        return parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


from vidmatte_cli.model_options import add_model_options, matter_from_args, matter_options  # noqa: E402


def add_smoothing_options(p: argparse.ArgumentParser, *, live: bool = False) -> None:
    """``--smoother``/``--smooth``/``--no-smooth``; live commands get the causal default and
    cannot pick ``flow`` (it waits for 2 future frames)."""
    default = SMOOTHER_LIVE if live else SMOOTHER_FILES
    g = p.add_argument_group("temporal smoothing")
    m = g.add_mutually_exclusive_group()
    m.add_argument("--smooth", type=float, default=None, metavar="STRENGTH",
                   help=f"temporal smoothing strength 0..1 (default: the smoother's own, 1 for flow, "
                        f"{SMOOTH_STRENGTH} for the EMAs)")
    m.add_argument("--no-smooth", action="store_true", help="no temporal smoothing")
    g.add_argument("--smoother", default=default, choices=[s for s in SMOOTHERS if s != "none" and not (live and s == "flow")],
                   help=("flow: optical-flow-aligned trimmed mean over 2 frames before and after (files), "
                         "flow-causal: the same over 2 frames before (live), gated: EMA gated by image motion, "
                         f"ema: plain EMA (default {default})"))


def add_refine_options(p: argparse.ArgumentParser, *, vitmatte: bool) -> None:
    """``--refine`` (``vitmatte`` only where ``vitmatte``: the offline commands) and its weights."""
    g = p.add_argument_group("edge refinement")
    choices = REFINES if vitmatte else tuple(r for r in REFINES if r != "vitmatte")
    g.add_argument("--refine", default=REFINE, choices=choices,
                   help="refine the upsampled matte's edges: guided (guided filter steered by the full-size "
                        "frame, a few ms), " + ("vitmatte (ViTMatte in a band around the edge: hair-level, "
                        "seconds per frame, needs vidmatte[refine]), " if vitmatte else "") +
                        "none; auto (default): guided when the frame is 2x the model size or more")
    if vitmatte:
        g.add_argument("--refine-weights", metavar="DIR",
                       help="ViTMatte checkpoint folder (as save_pretrained writes it); default: vitmatte-small "
                            "from the Hugging Face cache, downloaded unless --offline")


def check_refine_args(args) -> None:
    """The refine options' own errors, before any file is read or model loaded (cheap)."""
    choice = getattr(args, "refine", REFINE)
    if getattr(args, "refine_weights", None) and choice != "vitmatte":
        raise InputError("--refine-weights is for --refine vitmatte")
    if choice == "vitmatte":
        from vidmatte.refine.extras import require_transformers

        require_transformers()


def refine_from_args(args, matter=None):
    """``refine=`` for the jobs: the choice, or for ``vitmatte`` the loaded refiner (weights are
    found now, before any output is opened)."""
    choice = getattr(args, "refine", REFINE)
    check_refine_args(args)
    if choice != "vitmatte":
        return choice
    from vidmatte.refine.refiners import make_refiner

    return make_refiner("vitmatte", matter, weights=args.refine_weights, download=not getattr(args, "offline", False))


def add_background_options(p: argparse.ArgumentParser, *, required: bool, transparent: bool = True) -> None:
    g = p.add_argument_group("background").add_mutually_exclusive_group(required=required)
    g.add_argument("--background", "-b", metavar="FILE",
                   help="background image, video or animated GIF; a video plays at its own speed (frames picked "
                        "by time) and loops; where the background is transparent (VP9 alpha, ProRes 4444, "
                        "PNG/GIF) black shows through")
    g.add_argument("--color", metavar="COLOUR",
                   help="solid background: a CSS name (blue is 0,0,255), #rgb, #rrggbb, rgb(r,g,b) or R,G,B; "
                        "green is broadcast green (0,177,64) as with --green, chroma-blue (0,71,187)")
    g.add_argument("--blur", nargs="?", const=-1.0, type=float, metavar="SIGMA",
                   help="blur of the original frame as background (SIGMA in px at 1080p)")
    g.add_argument("--green", action="store_true", help="green-screen background (0,177,64)")
    if transparent:
        g.add_argument("--transparent", action="store_true",
                       help="no background: RGBA output (.mov ProRes 4444, .webm VP9, .png)")
    add_fg_option(p)


# -- edge controls (choke / feather): every command that composites or writes mattes --------
def add_edge_options(p: argparse.ArgumentParser) -> None:
    """``--choke PX`` and ``--feather PX`` (:mod:`vidmatte.ops.edges`); default 0: off."""
    g = p.add_argument_group("matte edges")
    g.add_argument("--choke", type=float, default=0.0, metavar="PX",
                   help="shrink the matte by PX pixels (fractions work; negative grows it); default 0")
    g.add_argument("--feather", type=float, default=0.0, metavar="PX",
                   help="soften the matte's edge: a hard edge becomes a ramp about PX wide; default 0")


def edges_from_args(args) -> dict:
    """``choke=`` and ``feather=`` keywords for the jobs; a one-line error for a bad value."""
    from vidmatte.ops.edges_np import MAX_EDGE_PX

    choke, feather = float(getattr(args, "choke", 0.0) or 0.0), float(getattr(args, "feather", 0.0) or 0.0)
    if not abs(choke) <= MAX_EDGE_PX:
        raise InputError(f"--choke must be between -{MAX_EDGE_PX:g} and {MAX_EDGE_PX:g} pixels, got {choke:g}")
    if not 0.0 <= feather <= MAX_EDGE_PX:
        raise InputError(f"--feather must be between 0 and {MAX_EDGE_PX:g} pixels, got {feather:g}")
    return {"choke": choke, "feather": feather}


def add_fg_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fg-estimation", default=FG_ESTIMATION, choices=FG_ESTIMATIONS,
                   help="foreground colour estimation: blur fusion (default), ml (pymatting, slower), none")


def add_alpha_mode_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--alpha-mode", choices=ALPHA_MODES,
                   help="colour stored straight or premultiplied by alpha (default: premultiplied for EXR, "
                        "as OpenEXR, Nuke and Resolve expect; straight for the others)")


def _positive_fps(text: str) -> float:
    from fractions import Fraction

    try:
        value = float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected a frame rate such as 24, 23.976 or 24000/1001, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"the frame rate must be positive, got {text!r}")
    return value


def add_input_options(p: argparse.ArgumentParser) -> None:
    """``--fps`` (image sequences without timing) and ``--strict`` (damaged input is an error)."""
    g = p.add_argument_group("input")
    g.add_argument("--fps", type=_positive_fps, metavar="RATE",
                   help="frame rate of an image-sequence input without timestamps.json (default 25)")
    g.add_argument("--strict", action="store_true",
                   help="stop with an error (exit 2) when the input is damaged (lost or broken frames) "
                        "instead of warning and going on")


def add_output_options(p: argparse.ArgumentParser, *, urls: bool = False) -> None:
    """``-o`` (``urls``: stream URLs too), ``-y/--overwrite``, ``-q/--quiet``."""
    stdout = "; for replace and matte, - writes a video stream to stdout (Matroska unless --format says otherwise)"
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT|URL" if urls else "OUTPUT",
                   help=("output file or folder, or a stream URL: rtmp://HOST/APP/KEY, srt://HOST:PORT, "
                         "udp://HOST:PORT, rtp://HOST:PORT, rtsp://HOST:PORT/PATH, tcp://HOST:PORT" + stdout)
                   if urls else "output file or folder")
    p.add_argument("-y", "--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")


# -- streaming out (-o rtmp:// srt:// udp:// rtp:// rtsp:// tcp://), see vidmatte/io/stream.py --------------
def add_stream_options(p: argparse.ArgumentParser) -> None:
    """``--gop`` and ``--bitrate`` for stream outputs (low-latency H.264)."""
    g = p.add_argument_group("streaming (-o rtmp://, srt://, udp://, rtp://, rtsp://, tcp://)")
    g.add_argument("--gop", type=int, metavar="FRAMES", help="frames between keyframes (default: 2 s worth)")
    g.add_argument("--bitrate", metavar="RATE", help="video bitrate, e.g. 2500k or 4M (default: constant quality)")


def stream_options(args) -> dict:
    """``gop``/``bitrate`` keywords for the jobs (only the ones given)."""
    from vidmatte.io.stream_net import parse_bitrate

    out = {}
    if getattr(args, "gop", None) is not None:
        if args.gop < 1:
            raise InputError(f"--gop must be 1 or more frames, got {args.gop}")
        out["gop"] = args.gop
    if getattr(args, "bitrate", None) is not None:
        out["bitrate"] = parse_bitrate(args.bitrate)
    return out


def add_encoding_options(p: argparse.ArgumentParser) -> None:
    enc = p.add_argument_group("encoding")
    enc.add_argument("--crf", type=int, default=18, help="H.264 quality (lower is better, default 18)")
    enc.add_argument("--speed", default="medium", help="x264 preset: ultrafast … veryslow (default medium)")


def smoothing_from_args(args) -> dict:
    """``smoothing=`` and ``strength=`` keywords for the library jobs."""
    if getattr(args, "no_smooth", False):
        return {"smoothing": None, "strength": None}
    if args.smooth is not None and not 0.0 <= args.smooth <= 1.0:
        raise InputError(f"--smooth must be between 0 and 1, got {args.smooth}")
    return {"smoothing": args.smoother, "strength": args.smooth}


def background_spec(args, default: Optional[str] = None) -> Optional[str]:
    """The background options as one spec string for ``parse_background`` (``default`` when
    none is given; ``None`` means transparent)."""
    if getattr(args, "transparent", False):
        return None
    if args.background:
        return args.background
    if args.color:  # bare hex (3366ff, 36f) keeps working; names and rgb(...) go as they are
        import re

        color = args.color.strip()
        return "#" + color if re.fullmatch(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{6}", color) else color
    if args.blur is not None:
        return "blur" if args.blur < 0 else f"blur:{args.blur}"
    if args.green:
        return "green"
    return default


def background_from_args(args):
    """The Background object, or ``None`` for transparent output (parsed before any model loads)."""
    from vidmatte.compose.backgrounds.spec import as_background

    return as_background(background_spec(args))
