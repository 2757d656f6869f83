"""The live job, :func:`webcam`: a camera (or stream, lavfi graph, file) → matting →
virtual camera, preview window and/or a recording.

Only the newest frame is processed (:class:`~vidmatte.io.capture.LiveSource` drops stale
ones), so latency stays near one capture interval plus one processing time.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, Union

from vidmatte.defaults import FG_ESTIMATION, LIVE_WORK_LINES, REFINE, SMOOTHER_LIVE
from vidmatte.errors import InputError
from vidmatte.jobs.common import as_matter
from vidmatte.runtime.schedules.live import choose_workers, warm_up
from vidmatte.runtime.stats import LiveStats
from vidmatte.runtime.threads import cpu_cores

__all__ = ["webcam", "PREVIEW_BACKGROUNDS", "CPU_HINT"]

# Measured on a 2-core CPU, 640x360 frames: BiRefNet-lite 1.0-3.3 s per frame at 128-256,
# MODNet (ONNX) 44-68 ms at 256-288 with clean mattes.
CPU_HINT = ("note: BiRefNet runs at under 1 fps on a CPU; for live use on a CPU use the bundled "
            "MODNet: --model modnet (the default with --model auto)")

#: what the preview's ``b`` key cycles through after the chosen background
PREVIEW_BACKGROUNDS = ("blur", "green", "#3366ff")


def _is_stream_url(output) -> bool:
    from vidmatte.io.stream_net import is_stream_url as check

    return check(output)


def _open_sinks(source, processor, sinks: list, *, virtual_cam, cam_device, cam_backend, preview, output,
                overwrite, background, stream: Optional[dict] = None) -> None:
    """Open the chosen outputs into ``sinks`` (filled as they open, so a failure can clean up)."""
    from vidmatte.io.registry import open_sink

    size = {"width": source.width, "height": source.height, "fps": source.fps}
    if virtual_cam or cam_device or cam_backend:
        sinks.append(open_sink(f"virtualcam:{cam_device or ''}", backend=cam_backend, **size))
    if preview:
        cycle, state = [background, *PREVIEW_BACKGROUNDS], {"i": 0}

        def next_background() -> None:
            state["i"] = (state["i"] + 1) % len(cycle)
            processor.set_background(cycle[state["i"]])

        sinks.append(open_sink("preview", keys={"b": next_background}))
    if output and _is_stream_url(output):  # a live stream: sender thread, drops, reconnects
        from vidmatte.io.retime import RetimedSink
        from vidmatte.io.stream import StreamSink

        sink = StreamSink(output, width=source.width, height=source.height, time_base=RetimedSink.time_base,
                          fps=source.fps, live=True, **(stream or {}))
        sinks.append(RetimedSink(sink, source.fps))
    elif output:
        from vidmatte.io.retime import RetimedSink
        from vidmatte.io.sinks import VideoSink

        sink = VideoSink(output, width=source.width, height=source.height, time_base=RetimedSink.time_base,
                         fps=source.fps, preset="h264", crf=20, codec_preset="veryfast", overwrite=overwrite)
        sinks.append(RetimedSink(sink, source.fps))


def webcam(source: Union[int, str] = 0, *, matter: Any = "auto", background: Any = "blur",
           virtual_cam: bool = False, cam_device: Optional[str] = None, cam_backend: Optional[str] = None,
           preview: bool = False, output: Optional[Union[str, os.PathLike]] = None, overwrite: bool = False,
           width: Optional[int] = None, height: Optional[int] = None, fps: Optional[float] = None,
           mjpeg: bool = False, realtime: Optional[bool] = None, frames: Optional[int] = None,
           duration: Optional[float] = None, smoothing: Any = SMOOTHER_LIVE, strength: Optional[float] = None,
           fg_estimation: str = FG_ESTIMATION, reuse_alpha: Optional[float] = None, threads: Optional[int] = None,
           stats_interval: Optional[float] = None, on_stats: Optional[Callable[[LiveStats], None]] = None,
           log: Callable[[str], None] = lambda line: None, refine: Any = REFINE,
           workers: Optional[int] = None, choke: float = 0.0, feather: float = 0.0, gop: Optional[int] = None,
           bitrate: Any = None, work_lines: Optional[int] = LIVE_WORK_LINES) -> LiveStats:
    """Run live until ``frames``/``duration``, the source's end, Ctrl-C/SIGTERM or the preview's ``q``.

    Args:
        source: camera index, ``/dev/videoN``, ``video=NAME``, a URL, ``lavfi:GRAPH`` or a file.
        matter: a Matter or a model name/file; ``"auto"`` picks the measured live default for
            the device (MODNet at 256 on a CPU, BiRefNet-lite on CUDA).
        background: as :class:`~vidmatte.runtime.processor.Processor` (default: blur); an
            image or video file is reloaded when it changes on disk.
        virtual_cam, cam_device, cam_backend: send to a virtual camera (pyvirtualcam backend
            name, an entry-point plugin or ``module:Class``).
        preview: a window (``q``/Esc quits, ``b`` cycles backgrounds).
        output: also record to this file (finalised on Ctrl-C), with the real frame timing; or
            send to a stream URL (``rtmp://``, ``srt://``, ``udp://``, ``rtp://``, ``rtsp://``,
            ``tcp://``: :class:`~vidmatte.io.stream.StreamSink`, which drops frames rather than
            queue latency on a slow link and reconnects with backoff; its line, with the network
            write time, is logged with the stats and at the end).
        gop, bitrate: keyframe interval (frames) and bits/s of a stream output.
        reuse_alpha: reuse the last matte while the frame barely changes (mean |diff| below it).
        threads: CPU threads for the model (default on CPU: cores − 1, one left for capture).
        log: receives one-line notes (which model runs and why, CPU hints).
        refine: edge refinement as :class:`~vidmatte.runtime.processor.Processor` (default
            ``auto``: the guided filter when the frame is 2x the model size or more).
        workers: frames in flight at once (:class:`~vidmatte.runtime.live.LiveRunner`).
            Default: 2 on a CPU with 2+ cores when the model keeps no state between calls
            (not with ``reuse_alpha``) and there is no preview window (its GUI wants one
            thread); 1 otherwise. 2 gives more fps, 1 the shortest model call.
        choke, feather: matte edge controls in pixels, as the Processor (default 0: off).
        work_lines: on a CPU, refine, smooth and estimate the foreground colour at this many
            lines and composite at full size in one fused pass
            (:class:`~vidmatte.compose.fast_finish.FastFinish`); ``0``/``None``: all at full size.
    Returns:
        :class:`~vidmatte.runtime.stats.LiveStats` (fps, drops, latency, why it stopped).
    """
    import torch

    from vidmatte.compose.backgrounds.spec import as_background
    from vidmatte.io.atomic import check_output_path
    from vidmatte.io.capture import LiveSource
    from vidmatte.matting import ReuseAlpha
    from vidmatte.runtime.hotreload import BackgroundWatcher
    from vidmatte.runtime.live import LiveRunner
    from vidmatte.runtime.processor import Processor

    if not (virtual_cam or cam_device or cam_backend or preview or output):
        raise InputError("choose at least one output: a virtual camera, the preview window or a recording file")
    if output and not _is_stream_url(output):
        check_output_path(output, overwrite=overwrite)  # before the model loads
    spec = background
    background = as_background(background)
    matter = as_matter(matter, live=True)
    if getattr(matter, "notice", None):
        log(matter.notice)
    if reuse_alpha:
        matter = ReuseAlpha(matter, reuse_alpha)
    processor = Processor(matter, background, smoothing=smoothing, strength=strength, fg_estimation=fg_estimation,
                          refine=refine, choke=choke, feather=feather, work_lines=work_lines or None)
    if processor.delay:
        processor.close()
        raise InputError(f"smoothing {smoothing!r} waits for {processor.delay} future frames; live output "
                         "cannot: use flow-causal (the default), gated or ema")
    chosen, workers = workers, workers or choose_workers(processor, preview)
    saved_threads = torch.get_num_threads()

    def set_threads() -> None:  # one worker leaves a core to capture; two split them all
        if processor.device.type == "cpu":
            torch.set_num_threads(threads or max(1, cpu_cores() - (1 if workers == 1 else 0)))

    set_threads()
    if processor.device.type == "cpu":
        if str(getattr(matter, "name", "")).startswith("birefnet"):
            log(CPU_HINT)
    try:
        src = LiveSource(source, width=width, height=height, fps=fps, pixel_format="mjpeg" if mjpeg else None,
                         realtime=realtime)
        sinks: list = []
        try:
            _open_sinks(src, processor, sinks, virtual_cam=virtual_cam, cam_device=cam_device,
                        cam_backend=cam_backend, preview=preview, output=output, overwrite=overwrite,
                        background=spec, stream={k: v for k, v in (("gop", gop), ("bitrate", bitrate)) if v is not None})
            model_s, light_s = warm_up(processor, src.height, src.width, workers)
            if chosen is None and workers > 1:
                workers = choose_workers(processor, preview, model_s, light_s)
                set_threads()
        except BaseException:
            for s in sinks:
                getattr(s, "abort", s.close)()
            src.close()
            raise
        watchers = []
        if isinstance(spec, (str, os.PathLike)) and os.path.isfile(spec):
            watchers.append(BackgroundWatcher(os.fspath(spec), processor.set_background))
        streams = []
        if output and _is_stream_url(output):
            from vidmatte.io.stream import StreamSink

            streams = [s.sink for s in sinks if isinstance(getattr(s, "sink", None), StreamSink)]
        if streams and on_stats is not None:  # the stream's own line: network write time, sink drops
            user_on_stats = on_stats

            def on_stats(st, _user=user_on_stats):
                _user(st)
                for s in streams:
                    log(s.summary())

        runner = LiveRunner(src, processor, sinks, frames=frames, duration=duration,
                            stats_interval=stats_interval, on_stats=on_stats, watchers=watchers, workers=workers)
        stats = runner.run()
        for s in streams:
            log(s.summary())
        stats.stages_ms = processor.times.per_frame_ms(stats.processed)
        stats.workers = workers  # what ran (bench live reports it)
        return stats
    finally:
        processor.close()
        torch.set_num_threads(saved_threads)
