"""``vidmatte webcam``: live capture → matting → virtual camera / preview window / recording.

Example: ``vidmatte webcam --background office.jpg --virtual-cam``, then pick "vidmatte" as
the camera in the video-call app. Virtual camera plugins: ``--cam-backend module:Class``
imports a pyvirtualcam-style backend class (or name an entry point of the
``vidmatte.virtualcam`` group).
"""

from __future__ import annotations

import argparse
import sys

from vidmatte.errors import InputError
from vidmatte_cli.options import background_spec

__all__ = ["register", "run"]

DESCRIPTION = ("Live virtual background: frames from a camera (or a stream, lavfi:GRAPH, or a file) are "
               "matted and composited; only the newest frame is processed, stale ones are dropped.")


def register(subparsers) -> None:
    from vidmatte_cli.options import (add_background_options, add_edge_options, add_model_options, add_refine_options,
                                      add_smoothing_options, add_stream_options)

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
    o.add_argument("-o", "--output", metavar="FILE|URL",
                   help="also record the result (finalised on Ctrl-C), or stream it: rtmp://HOST/APP/KEY, "
                        "srt://HOST:PORT, udp://HOST:PORT, rtp://HOST:PORT, rtsp://HOST:PORT/PATH, tcp://HOST:PORT "
                        "(low-latency H.264; reconnects when the receiver comes back)")
    o.add_argument("-y", "--overwrite", action="store_true", help="replace an existing recording")
    add_stream_options(p)
    r = p.add_argument_group("run")
    r.add_argument("--frames", type=int, metavar="N", help="stop after N output frames")
    r.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    r.add_argument("--stats", nargs="?", type=float, const=2.0, metavar="SECONDS",
                   help="print fps/drops/latency every SECONDS (default 2)")
    r.add_argument("--reuse-alpha", type=float, metavar="THRESH",
                   help="reuse the last matte while the frame barely changes (mean |diff| < THRESH, e.g. 0.01)")
    r.add_argument("--workers", type=int, choices=(1, 2), metavar="{1,2}",
                   help="frames in the model at once: 2 (default on a CPU with 2+ cores, without --preview or "
                        "--reuse-alpha) gives more fps, 1 the shortest model call")
    r.add_argument("--work-lines", type=int, metavar="N",
                   help="CPU: refine, smooth and estimate colour at N lines, composite at full size (default 360; "
                        "0: everything at full size, slower; docs/live.md has the difference)")
    r.add_argument("--quiet", "-q", action="store_true", help="no summary")
    add_model_options(p)
    add_refine_options(p, vitmatte=False)
    add_edge_options(p)
    add_smoothing_options(p, live=True)
    p.set_defaults(func=run)


def run(args) -> int:
    from vidmatte.jobs.live import webcam
    from vidmatte_cli.options import edges_from_args, matter_from_args, smoothing_from_args

    if not (args.virtual_cam or args.cam_device or args.cam_backend or args.preview or args.output):
        raise InputError("choose at least one output: --virtual-cam, --preview or -o FILE|URL")
    from vidmatte.io.stream_net import is_stream_url, redact
    from vidmatte_cli.options import stream_options

    streaming = bool(args.output) and is_stream_url(args.output)
    stream = stream_options(args)
    if args.output and not streaming:
        from vidmatte.io.atomic import check_output_path

        check_output_path(args.output, overwrite=args.overwrite)  # before the model loads
    say = (lambda line: None) if args.quiet else (lambda line: print(f"vidmatte: {line}", file=sys.stderr))
    background = background_spec(args, default="blur")
    smoothing = smoothing_from_args(args)
    edges = edges_from_args(args)
    matter = matter_from_args(args, live=True)
    stats = webcam(args.source, matter=matter, background=background, virtual_cam=args.virtual_cam,
                   cam_device=args.cam_device, cam_backend=args.cam_backend, preview=args.preview,
                   output=args.output, overwrite=args.overwrite, width=args.width, height=args.height,
                   fps=args.fps, mjpeg=args.mjpeg, realtime=args.realtime, frames=args.frames,
                   duration=args.duration, **smoothing, fg_estimation=args.fg_estimation,
                   reuse_alpha=args.reuse_alpha, threads=args.threads, stats_interval=args.stats,
                   on_stats=(lambda st: say(st.summary())) if args.stats else None, log=say, refine=args.refine,
                   workers=args.workers, **edges, **stream,
                   **({} if args.work_lines is None else {"work_lines": args.work_lines}))
    say(stats.summary())
    if args.stats:
        say("ms/frame: " + ", ".join(f"{k} {v:.1f}" for k, v in stats.stages_ms.items()))
    if stats.stopped_by not in ("frames", "duration", "end of source", "window closed"):
        say(f"stopped: {stats.stopped_by}")
    if args.output:
        say(f"streamed to {redact(args.output)}" if streaming else f"recording written to {args.output}")
    return 130 if stats.stopped_by == "SIGINT" else 0
