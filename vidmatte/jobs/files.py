"""File jobs: :func:`replace` (new background) and :func:`matte` (VFX plates).

Each job is an :class:`OutputPlan` (what the output holds and how it is written, decided
from the options and the output name before any frame flows) run by :func:`run_file`: open
the input (:func:`open_input`: a video file or an image sequence of PNG/TIFF/EXR/DPX/JPEG
frames), open the output (:func:`open_output`), build the
:class:`~vidmatte.runtime.processor.Processor` for it (:func:`make_processor`) and run the
overlapped :class:`~vidmatte.runtime.pipeline.Pipeline`. ``vidmatte batch`` uses the same
pieces for whole files and for the segments it cuts long files into.

High-bit-depth inputs (10-bit video, 16-bit PNG/TIFF, DPX, EXR) stay 16-bit up to outputs
that can hold it (ProRes 4444, EXR, 16-bit PNG/TIFF); the model sees 8 bits. A damaged input
is a warning saying what was lost (``strict=True``: an error, nothing written).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from vidmatte.defaults import FG_ESTIMATION, REFINE, SMOOTHER_FILES
from vidmatte.errors import InputError, OutputError, warn
from vidmatte.compose.backgrounds.spec import as_background
from vidmatte.compose.backgrounds.clock import follow_source
from vidmatte.jobs.common import as_matter, output_format, run_pipeline
from vidmatte.runtime.stats import PipelineStats

__all__ = ["replace", "matte", "MATTE_FORMATS", "OutputPlan", "replace_plan", "matte_plan", "open_input",
           "open_output", "make_processor", "run_file"]

PathLike = Union[str, os.PathLike]

#: ``vidmatte matte --format`` → (sink format, product)
MATTE_FORMATS = {
    "prores": ("prores", "rgba"),
    "webm": ("webm", "rgba"),
    "png": ("png", "rgba"),
    "exr": ("exr", "rgba"),
    "tiff": ("tiff", "rgba"),
    "alpha": ("alpha", "alpha"),
}


@dataclass(frozen=True)
class OutputPlan:
    """What a file job writes, decided before any frame flows.

    Attributes:
        format: sink format (a video preset or ``png``/``tiff``/``exr``); ``None``: by extension.
        product: ``composite``, ``rgba`` or ``alpha`` (see :mod:`vidmatte.frame`).
        sink_options: encoder options for :func:`~vidmatte.io.registry.open_sink`.
    """

    format: Optional[str]
    product: str
    sink_options: dict = field(default_factory=dict)


def _is_sequence_output(output: PathLike, format: Optional[str]) -> bool:
    from vidmatte.io.formats import SEQUENCE_EXTENSIONS
    from vidmatte.io.registry import SINKS

    return format in SEQUENCE_EXTENSIONS or SINKS["sequence"].matches(os.fspath(output))


def replace_plan(output: PathLike, *, transparent: bool, crf: int = 18, codec_preset: str = "medium",
                 format: Optional[str] = None, stream: Optional[dict] = None) -> OutputPlan:
    """The plan of :func:`replace`: a composite, or RGBA (``transparent``) in an alpha container.
    ``stream``: ``gop``/``bitrate`` for a stream URL output."""
    from vidmatte.io.formats import ALPHA_CONTAINERS
    from vidmatte.io.stream_net import is_stream_url

    if is_stream_url(output):  # low-latency H.264 (or webm/prores over srt/tcp), see vidmatte.io.stream
        if transparent and format is None:
            if not str(output).lower().startswith(("srt://", "tcp://")):
                raise OutputError("transparent output needs alpha, which only srt:// and tcp:// streams carry "
                                  "(--format webm or prores); choose a background for other streams")
            format = "webm"
        return OutputPlan(format, "rgba" if transparent else "composite",
                          {"crf": crf, **({"codec_preset": codec_preset} if codec_preset != "medium" else {}),
                           **(stream or {})})
    from vidmatte.io.pipes import is_stdio, pipe_format

    options = {"crf": crf, "codec_preset": codec_preset}
    if is_stdio(output):  # -o -: a streamable container on stdout
        preset, muxer = pipe_format(format, "rgba" if transparent else "composite")
        return OutputPlan(preset, "rgba" if transparent else "composite", {**options, "container": muxer})
    _no_container_format(format)
    ext = Path(output).suffix.lower()
    fmt = format
    if transparent and fmt is None:
        fmt = ALPHA_CONTAINERS.get(ext)
        if fmt is None and ext and not _is_sequence_output(output, None):
            raise OutputError(f"transparent output needs .mov (ProRes 4444), .webm (VP9) or a folder, not {ext}")
    return OutputPlan(fmt, "rgba" if transparent else "composite", options)


def _no_container_format(format: Optional[str]) -> None:
    """Container names in ``--format`` (mkv, nut, ts, mp4, mov) are for ``-o -``: a file's
    container comes from its extension."""
    from vidmatte.io.pipes import NOT_STREAMABLE, PIPE_CONTAINERS

    if format is not None and format != "webm" and (format in PIPE_CONTAINERS or format in NOT_STREAMABLE):
        raise OutputError(f"--format {format} names a container, which is for -o - (stdout); for a file the "
                          "extension picks the container")


def matte_plan(output: PathLike, format: Optional[str] = None, alpha_mode: Optional[str] = None,
               stream: Optional[dict] = None) -> OutputPlan:
    """The plan of :func:`matte`; ``format`` defaults from the output name (see :func:`matte`).
    ``stream``: ``gop``/``bitrate`` for a stream URL output (default format there: ``alpha``)."""
    from vidmatte.io.formats import ALPHA_CONTAINERS, SEQUENCE_EXTENSIONS
    from vidmatte.io.stream_net import is_stream_url

    if is_stream_url(output):
        format = format or "alpha"
        if format not in ("alpha", "webm", "prores"):
            raise OutputError(f"a stream carries --format alpha, webm or prores (webm/prores over srt:// or tcp://), "
                              f"not {format}")
        return OutputPlan(MATTE_FORMATS[format][0], MATTE_FORMATS[format][1],
                          {"alpha_mode": alpha_mode, **(stream or {})})

    from vidmatte.io.pipes import is_stdio, pipe_format

    if is_stdio(output):  # -o -: a streamable container on stdout
        product = "alpha" if format == "alpha" else "rgba"
        preset, muxer = pipe_format(format, product)
        return OutputPlan(preset, product, {"alpha_mode": alpha_mode, "container": muxer})
    _no_container_format(format)
    if format is None:
        ext = Path(output).suffix.lower()
        format = {**ALPHA_CONTAINERS, ".mp4": "alpha"}.get(ext) or (
            SEQUENCE_EXTENSIONS.get(ext.lstrip(".")) if ext else "png")
        if format is None:
            raise OutputError(f"cannot write a matte to {ext}; use .mov, .webm, .mp4 (alpha matte) or a folder")
    if format not in MATTE_FORMATS:
        raise OutputError(f"unknown matte format {format!r}; choose one of {', '.join(MATTE_FORMATS)}")
    sink_format, product = MATTE_FORMATS[format]
    return OutputPlan(sink_format, product, {"alpha_mode": alpha_mode})


def _stream_keywords(gop: Optional[int], bitrate: Any) -> dict:
    return {k: v for k, v in (("gop", gop), ("bitrate", bitrate)) if v is not None}


def open_input(input: PathLike, *, strict: bool = False, fps: Optional[float] = None):
    """The source of a file job (frame-threaded decoding): deep (uint16) when the input has
    more than 8 bits; ``fps`` for image sequences without timing."""
    from vidmatte.io.registry import open_source

    src = open_source(input, threading="frame", deep=None, strict=strict, fps=fps)
    if getattr(src, "time_base", None) is None and getattr(src, "fps", None) is None:
        src.close()  # a still image (ImageSource): one picture, no timing to write a video with
        name = Path(os.fspath(input)).name
        raise InputError(f"{name} is a still image; use `vidmatte image {name} -o OUT.png` for one picture "
                         "(replace and matte take a video, a folder of frames or a frame pattern)")
    if getattr(src, "has_alpha", False) and not getattr(src, "with_alpha", False):
        warn(f"{Path(getattr(src, 'path', input)).name}: the input's own alpha channel is not used: the matte is "
             "computed from the colour (what is stored under transparent pixels is what the model sees)")
    if fps is not None and not hasattr(src, "files"):
        warn(f"--fps applies to image sequences only; {input} keeps its own timing")
    return src


def _streams(src, to_sequence: bool) -> Optional[Path]:
    """The file whose audio and subtitles the output keeps; ``None`` when there are none, or
    when the output is an image sequence (which holds pictures only: a warning says so)."""
    if not (getattr(src, "has_audio", False) or getattr(src, "extra_streams", 0)):
        return None
    if to_sequence:
        warn(f"the audio and other streams of {Path(src.path).name} are not kept: image sequences hold pictures only")
        return None
    return Path(src.path)


def open_output(plan: OutputPlan, src, output: PathLike, *, overwrite: bool = False, audio: Optional[bool] = None,
                hw_encode: bool = False):
    """The sink ``plan`` writes to ``output`` for frames of ``src`` (``audio=False``: no audio;
    ``hw_encode``: NVENC for H.264 when it opens, as CUDA runs ask)."""
    from vidmatte.io.registry import open_sink

    keep = True if audio is None else audio
    audio_from = _streams(src, _is_sequence_output(output, plan.format)) if keep else None
    sar = getattr(src, "sample_aspect_ratio", None)
    if sar and _is_sequence_output(output, plan.format):
        warn(f"{Path(src.path).name} has non-square pixels (sample aspect ratio {sar}); image sequences do not "
             "record it, so scale them by that ratio when you use them")
    return open_sink(output, format=plan.format, width=src.width, height=src.height, time_base=src.time_base,
                     fps=src.fps, audio_from=audio_from, overwrite=overwrite, input_path=src.path,
                     **({"sample_aspect_ratio": sar} if sar else {}),
                     **({"hw_encode": True} if hw_encode else {}), **plan.sink_options)


def make_processor(plan: OutputPlan, matter, background, sink, src, **options):
    """The processor for ``plan`` and ``sink`` (the sink is aborted when this fails).

    ``options``: ``smoothing``, ``strength``, ``fg_estimation``, ``refine``, ``choke``,
    ``feather`` as :class:`~vidmatte.runtime.processor.Processor` takes them.
    """
    from vidmatte.runtime.processor import Processor

    pixel_format = output_format(sink, plan.product, matter, deep=getattr(src, "deep", False))
    try:
        return Processor(matter, background if plan.product == "composite" else None, format=pixel_format,
                         **options)
    except BaseException:
        sink.abort()
        raise


def run_file(plan: OutputPlan, input: PathLike, output: PathLike, *, matter: Any = "auto", background: Any = None,
             smoothing: Any = SMOOTHER_FILES, strength: Optional[float] = None, fg_estimation: str = FG_ESTIMATION,
             batch_size: int = 1, overwrite: bool = False, strict: bool = False, fps: Optional[float] = None,
             progress: Optional[Any] = None, refine: Any = REFINE, choke: float = 0.0,
             feather: float = 0.0) -> PipelineStats:
    """Run one file job: ``input`` through a processor into ``output`` as ``plan`` says."""
    background = as_background(background)
    with open_input(input, strict=strict, fps=fps) as src:
        matter = as_matter(matter)
        on_cuda = str(getattr(getattr(matter, "device", None), "type", "cpu")) == "cuda"
        sink = open_output(plan, src, output, overwrite=overwrite, hw_encode=on_cuda)
        processor = make_processor(plan, matter, background, sink, src, smoothing=smoothing, strength=strength,
                                   fg_estimation=fg_estimation, refine=refine, choke=choke, feather=feather)
        frames = follow_source(background, src, origin=getattr(src, "first_time", None))  # timed backgrounds
        return run_pipeline(frames, processor, sink, batch_size=batch_size, progress=progress)


def replace(input: PathLike, output: PathLike, *, background: Any = None, matter: Any = "auto",
            smoothing: Any = SMOOTHER_FILES, strength: Optional[float] = None, fg_estimation: str = FG_ESTIMATION,
            crf: int = 18, codec_preset: str = "medium", batch_size: int = 1, overwrite: bool = False,
            strict: bool = False, fps: Optional[float] = None, format: Optional[str] = None,
            progress: Optional[Any] = None, refine: Any = REFINE, choke: float = 0.0,
            feather: float = 0.0, gop: Optional[int] = None, bitrate: Any = None) -> PipelineStats:
    """Put the people of ``input`` on ``background`` and write ``output`` (audio and timing kept).

    Args:
        input: a video file, or an image sequence (folder, ``frames/f_%06d.exr``, ``*.png``).
        background: a spec (``"beach.jpg"``, ``"loop.mp4"``, ``"#2060ff"``, ``"blur"``,
            ``"green"``), a Background, or ``None`` for transparent output (then ``output``
            must carry alpha: ``.mov`` ProRes 4444, ``.webm`` VP9, or a folder of PNGs).
        matter: a Matter, or a model name / file (``"auto"``: BiRefNet-lite when its
            weights are here, else the bundled MODNet).
        smoothing, strength, fg_estimation, refine: as :class:`~vidmatte.runtime.processor.Processor`;
            files default to ``"flow"`` (looks 2 frames ahead: every frame is still written).
        choke, feather: matte edge controls in pixels, as the Processor (default 0: off).
        crf, codec_preset: H.264 quality and x264 speed preset.
        strict: a damaged input (lost or broken frames) is an error instead of a warning.
        fps: frame rate of an image sequence without a timestamps.json.
        format: video preset (``"h264"``, ``"prores"``: 10-bit ProRes 4444 that keeps a
            high-bit-depth input's precision, ``"webm"``); ``None``: by extension.
        gop, bitrate: keyframe interval (frames) and bits/s (``"2500k"``) when ``output`` is a
            stream URL (``rtmp://``, ``srt://``, ``udp://``, ``rtp://``, ``rtsp://``, ``tcp://``;
            see :mod:`vidmatte.io.stream`).
    """
    plan = replace_plan(output, transparent=background is None, crf=crf, codec_preset=codec_preset, format=format,
                        stream=_stream_keywords(gop, bitrate))
    return run_file(plan, input, output, matter=matter, background=background, smoothing=smoothing,
                    strength=strength, fg_estimation=fg_estimation, batch_size=batch_size, overwrite=overwrite,
                    strict=strict, fps=fps, progress=progress, refine=refine, choke=choke, feather=feather)


def matte(input: PathLike, output: PathLike, *, matter: Any = "auto", format: Optional[str] = None,
          alpha_mode: Optional[str] = None, smoothing: Any = SMOOTHER_FILES, strength: Optional[float] = None,
          fg_estimation: str = FG_ESTIMATION, batch_size: int = 1, overwrite: bool = False,
          strict: bool = False, fps: Optional[float] = None, progress: Optional[Any] = None,
          refine: Any = REFINE, choke: float = 0.0, feather: float = 0.0, gop: Optional[int] = None,
          bitrate: Any = None) -> PipelineStats:
    """Alpha and foreground of ``input`` for VFX: ProRes 4444 / VP9-alpha / PNG / TIFF / EXR / matte video.

    ``format`` defaults from the output: .mov → prores, .webm → webm, .mp4 → alpha matte,
    a folder (or ``frame_%06d.png``) → png, ``.tif``/``.exr`` pattern → tiff/exr.
    ``alpha_mode``: ``straight`` or ``premultiplied`` colour; ``None``: the format's
    convention (premultiplied for EXR, straight otherwise; see
    :data:`vidmatte.io.formats.DEFAULT_ALPHA_MODE`). ``strict`` and ``fps`` as :func:`replace`.
    ``refine``: as :class:`~vidmatte.runtime.processor.Processor` (``"vitmatte"`` or a loaded
    :class:`~vidmatte.refine.vitmatte.VitMatteRefiner` for the offline quality tier).
    ``choke``, ``feather``: matte edge controls in pixels, as the Processor (default 0: off).
    A stream URL output carries ``alpha`` (the default there), or ``webm``/``prores`` over
    ``srt://``/``tcp://``; ``gop``, ``bitrate`` as :func:`replace`.
    """
    plan = matte_plan(output, format, alpha_mode, stream=_stream_keywords(gop, bitrate))
    return run_file(plan, input, output, matter=matter, smoothing=smoothing, strength=strength,
                    fg_estimation=fg_estimation, batch_size=batch_size, overwrite=overwrite, strict=strict, fps=fps,
                    progress=progress, refine=refine, choke=choke, feather=feather)
