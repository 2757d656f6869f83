"""``vidmatte webcam``: live capture → matting → virtual camera / preview window / recording.

Example: ``vidmatte webcam --background office.jpg --virtual-cam``, then pick "vidmatte" as
the camera in the video-call app. Virtual camera plugins: ``--cam-backend module:Class``
imports a pyvirtualcam-style backend class (or name an entry point of the
``vidmatte.virtualcam`` group).
"""

from __future__ import annotations

import argparse
import os
import sys

from vidmatte.errors import InputError
from vidmatte_cli.options import background_spec

__all__ = ["register", "run"]

DESCRIPTION = ("Live virtual background: frames from a camera (or a stream, lavfi:GRAPH, or a file) are "
               "matted and composited; only the newest frame is processed, stale ones are dropped.")


def register(subparsers) -> None:
    from vidmatte_cli.options import add_background_options, add_model_options, add_smoothing_options

    p = subparsers.add_parser("webcam", help="live capture to a virtual camera, preview window or file",
                              description=DESCRIPTION)
    g = p.add_argument_group("capture")
    g.add_argument("--source", default="0", metavar="SPEC",
                   help="camera index (default 0), /dev/videoN, video=NAME (Windows), a URL "
                        "(rtsp/http/udp/tcp/rtmp/srt), lavfi:GRAPH, or a video file")
    g.add_argument("--width", type=int, help="capture width (files and lavfi graphs are scaled)")
    g.add_argument("--height", type=int, help="capture height")
    g.add_argument("--fps", type=float, help="capture frame rate asked of the camera")
    g.add_argument("--mjpeg", action="store_true", help="ask the camera for MJPEG (needed for 1080p30 on USB 2)")
    g.add_argument("--realtime", action=argparse.BooleanOptionalAction, default=None,
                   help="play files/lavfi at their own pace like a camera (default: lavfi yes, files no)")
    add_background_options(p, required=False, transparent=False)
    o = p.add_argument_group("outputs (at least one)")
    o.add_argument("--virtual-cam", action="store_true", help="send to a virtual camera (v4l2loopback / OBS)")
    o.add_argument("--cam-device", metavar="DEV", help="virtual camera device, e.g. /dev/video10")
    o.add_argument("--cam-backend", metavar="NAME|MODULE:CLASS",
                   help="pyvirtualcam backend, or a plugin class to import (module:Class)")
    o.add_argument("--preview", action="store_true", help="show a window (q/Esc quits, b cycles backgrounds)")
    o.add_argument("-o", "--output", metavar="FILE", help="also record the result (finalised on Ctrl-C)")
    o.add_argument("--overwrite", action="store_true", help="replace an existing recording")
    r = p.add_argument_group("run")
    r.add_argument("--frames", type=int, metavar="N", help="stop after N output frames")
    r.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    r.add_argument("--stats", nargs="?", type=float, const=2.0, metavar="SECONDS",
                   help="print fps/drops/latency every SECONDS (default 2)")
    r.add_argument("--reuse-alpha", type=float, metavar="THRESH",
                   help="reuse the last matte while the frame barely changes (mean |diff| < THRESH, e.g. 0.01)")
    r.add_argument("--quiet", "-q", action="store_true", help="no summary")
    add_model_options(p)
    add_smoothing_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import torch

    if not (args.virtual_cam or args.preview or args.output):
        raise InputError("choose at least one output: --virtual-cam, --preview or -o FILE")
    if args.output:
        from vidmatte.io.atomic import check_output_path

        check_output_path(args.output, overwrite=args.overwrite)  # before the model loads
    processor = build_processor(args)
    threads = torch.get_num_threads()
    if processor.device.type == "cpu":
        torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 2) - 1))
        if str(getattr(processor.matter, "name", "")).startswith("birefnet") and not args.quiet:
            print(CPU_HINT, file=sys.stderr)
    try:
        return _run(args, processor)
    finally:
        torch.set_num_threads(threads)


def _run(args, processor) -> int:
    from vidmatte.io.capture import LiveSource
    from vidmatte.live import BackgroundWatcher, LiveRunner

    source = LiveSource(args.source, width=args.width, height=args.height, fps=args.fps,
                        pixel_format="mjpeg" if args.mjpeg else None, realtime=args.realtime)
    sinks: list = []
    try:
        open_sinks(args, source, processor, sinks)
        warm_up(processor, source.height, source.width)
    except BaseException:
        for s in sinks:
            getattr(s, "abort", s.close)()
        source.close()
        raise
    watchers = []
    if args.background and os.path.isfile(args.background):
        # hot reload: a changed file becomes a new compositor; a broken one keeps the old
        watchers.append(BackgroundWatcher(args.background, processor.set_compositor, load=make_compositor))
    say = (lambda st: None) if args.quiet else (lambda st: print(f"vidmatte: {st.summary()}", file=sys.stderr))
    runner = LiveRunner(source, processor, sinks, frames=args.frames, duration=args.duration,
                        stats_interval=args.stats, on_stats=say if args.stats else None, watchers=watchers)
    stats = runner.run()
    say(stats)
    if args.stats and not args.quiet:
        stages = processor.times.per_frame_ms(stats.processed)
        print("vidmatte: ms/frame: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()), file=sys.stderr)
    if not args.quiet and stats.stopped_by not in ("frames", "duration", "end of source", "window closed"):
        print(f"vidmatte: stopped: {stats.stopped_by}", file=sys.stderr)
    if args.output and not args.quiet:
        print(f"vidmatte: recording written to {args.output}", file=sys.stderr)
    return 130 if stats.stopped_by == "SIGINT" else 0


# Measured on a 2-core CPU, 640x360 frames: BiRefNet-lite 1.0-3.3 s per frame at 128-256,
# MODNet (ONNX) 44-68 ms at 256-288 with clean mattes on the samples.
CPU_HINT = ("vidmatte: note: BiRefNet runs at under 1 fps on a CPU; for live use on a CPU pass an ONNX "
            "MODNet: --model modnet_photographic_portrait_matting.onnx --model-size 256")


# -- building blocks ------------------------------------------------------------------------
def build_matter(args):
    """The model, through the shared loader (BiRefNet names/files, .onnx, chroma)."""
    from vidmatte_cli.options import matter_from_args

    return matter_from_args(args)


def build_processor(args):
    from vidmatte.live import ReuseAlpha
    from vidmatte.processor import Processor

    matter = build_matter(args)
    if args.reuse_alpha:
        matter = ReuseAlpha(matter, args.reuse_alpha)
    return Processor(matter, build_smoother(args), make_compositor(background_spec(args, default="blur")))


def build_smoother(args):
    from vidmatte_cli.options import smoother_from_args

    return smoother_from_args(args)


def make_compositor(spec):
    """A compositor for a background spec (or an already parsed background)."""
    from vidmatte.compose import Compositor, parse_background

    return Compositor(parse_background(spec) if isinstance(spec, str) else spec)


def warm_up(processor, height: int, width: int) -> None:
    """One throw-away frame before capture starts, so the first live frame is not seconds late."""
    import numpy as np

    from vidmatte.frame import Frame

    processor.process([Frame(np.zeros((height, width, 3), np.uint8))])
    processor.reset()
    getattr(processor, "times", None) and processor.times.seconds.clear()


def open_sinks(args, source, processor, sinks: list) -> list:
    """Open the chosen outputs into ``sinks`` (filled as they open, so a failure can clean up)."""
    size, fps = (source.width, source.height), source.fps
    if args.virtual_cam or args.cam_device or args.cam_backend:
        from vidmatte.io.virtualcam import VirtualCamSink

        sinks.append(VirtualCamSink(*size, fps, device=args.cam_device, backend=args.cam_backend))
    if args.preview:
        from vidmatte.io.preview import PreviewSink

        cycle = [background_spec(args, default="blur"), "blur", "green", "#3366ff"]
        state = {"i": 0}

        def next_background():
            state["i"] = (state["i"] + 1) % len(cycle)
            processor.set_compositor(make_compositor(cycle[state["i"]]))

        sinks.append(PreviewSink("vidmatte", keys={"b": next_background}))
    if args.output:
        sinks.append(open_recording(args.output, size, fps, args.overwrite))
    return sinks


def open_recording(path: str, size: tuple, fps: float, overwrite: bool):
    """A recording sink with pts in ms from the frames' own clock (drops keep real timing)."""
    from vidmatte.io.sinks import VideoSink
    from vidmatte.live import RetimedSink

    sink = VideoSink(path, width=size[0], height=size[1], time_base=RetimedSink.time_base, fps=fps,
                     preset="h264", crf=20, codec_preset="veryfast", overwrite=overwrite)
    return RetimedSink(sink, fps)
