"""File jobs: :func:`replace` (new background) and :func:`matte` (VFX plates).

Each job is an :class:`OutputPlan` (what the output holds and how it is written, decided
from the options and the output name before any frame flows) run by :func:`run_file`: open
the input (:func:`vidmatte.io.registry.open_source`: a video file or an image sequence),
open the output (:func:`open_output`), build the :class:`~vidmatte.runtime.processor.Processor`
for it (:func:`make_processor`) and run the overlapped
:class:`~vidmatte.runtime.pipeline.Pipeline`. ``vidmatte batch`` uses the same pieces for
whole files and for the segments it cuts long files into.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from vidmatte.defaults import FG_ESTIMATION, SMOOTHER
from vidmatte.errors import OutputError
from vidmatte.compose.backgrounds.spec import as_background
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
    "alpha": ("alpha", "alpha"),
}


@dataclass(frozen=True)
class OutputPlan:
    """What a file job writes, decided before any frame flows.

    Attributes:
        format: sink format (a video preset or ``png``/``exr``); ``None``: by extension.
        product: ``composite``, ``rgba`` or ``alpha`` (see :mod:`vidmatte.frame`).
        audio: the output keeps the input's audio.
        sink_options: encoder options for :func:`~vidmatte.io.registry.open_sink`.
    """

    format: Optional[str]
    product: str
    audio: bool = True
    sink_options: dict = field(default_factory=dict)


def replace_plan(output: PathLike, *, transparent: bool, crf: int = 18, codec_preset: str = "medium") -> OutputPlan:
    """The plan of :func:`replace`: a composite, or RGBA (``transparent``) in an alpha container."""
    from vidmatte.io.formats import ALPHA_CONTAINERS

    ext = Path(output).suffix.lower()
    fmt = None
    if transparent:
        fmt = ALPHA_CONTAINERS.get(ext)
        if fmt is None and ext:
            raise OutputError(f"transparent output needs .mov (ProRes 4444), .webm (VP9) or a folder, not {ext}")
    return OutputPlan(fmt, "rgba" if transparent else "composite", True,
                      {"crf": crf, "codec_preset": codec_preset})


def matte_plan(output: PathLike, format: Optional[str] = None, alpha_mode: Optional[str] = None) -> OutputPlan:
    """The plan of :func:`matte`; ``format`` defaults from the output name (see :func:`matte`)."""
    from vidmatte.io.formats import ALPHA_CONTAINERS

    if format is None:
        ext = Path(output).suffix.lower()
        format = {**ALPHA_CONTAINERS, ".mp4": "alpha"}.get(ext) or (
            "exr" if ext == ".exr" else "png" if ext in ("", ".png") else None)
        if format is None:
            raise OutputError(f"cannot write a matte to {ext}; use .mov, .webm, .mp4 (alpha matte) or a folder")
    if format not in MATTE_FORMATS:
        raise OutputError(f"unknown matte format {format!r}; choose one of {', '.join(MATTE_FORMATS)}")
    sink_format, product = MATTE_FORMATS[format]
    return OutputPlan(sink_format, product, format in ("prores", "webm"), {"alpha_mode": alpha_mode or "straight"})


def open_input(input: PathLike):
    """The source of a file job (frame-threaded decoding)."""
    from vidmatte.io.registry import open_source

    return open_source(input, threading="frame")


def open_output(plan: OutputPlan, src, output: PathLike, *, overwrite: bool = False, audio: Optional[bool] = None):
    """The sink ``plan`` writes to ``output`` for frames of ``src`` (``audio=False``: no audio)."""
    from vidmatte.io.registry import open_sink

    keep_audio = plan.audio if audio is None else audio
    audio_from = Path(src.path) if keep_audio and getattr(src, "has_audio", False) else None
    return open_sink(output, format=plan.format, width=src.width, height=src.height, time_base=src.time_base,
                     fps=src.fps, audio_from=audio_from, overwrite=overwrite, input_path=src.path,
                     **plan.sink_options)


def make_processor(plan: OutputPlan, matter, background, sink, src, **options):
    """The processor for ``plan`` and ``sink`` (the sink is aborted when this fails).

    ``options``: ``smoothing``, ``strength``, ``fg_estimation`` as
    :class:`~vidmatte.runtime.processor.Processor` takes them.
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
             smoothing: Any = SMOOTHER, strength: Optional[float] = None, fg_estimation: str = FG_ESTIMATION,
             batch_size: int = 1, overwrite: bool = False, progress: Optional[Any] = None) -> PipelineStats:
    """Run one file job: ``input`` through a processor into ``output`` as ``plan`` says."""
    background = as_background(background)
    with open_input(input) as src:
        matter = as_matter(matter)
        sink = open_output(plan, src, output, overwrite=overwrite)
        processor = make_processor(plan, matter, background, sink, src, smoothing=smoothing, strength=strength,
                                   fg_estimation=fg_estimation)
        return run_pipeline(src, processor, sink, batch_size=batch_size, progress=progress)


def replace(input: PathLike, output: PathLike, *, background: Any = None, matter: Any = "auto",
            smoothing: Any = SMOOTHER, strength: Optional[float] = None, fg_estimation: str = FG_ESTIMATION,
            crf: int = 18, codec_preset: str = "medium", batch_size: int = 1, overwrite: bool = False,
            progress: Optional[Any] = None) -> PipelineStats:
    """Put the people of ``input`` on ``background`` and write ``output`` (audio and timing kept).

    Args:
        background: a spec (``"beach.jpg"``, ``"loop.mp4"``, ``"#2060ff"``, ``"blur"``,
            ``"green"``), a Background, or ``None`` for transparent output (then ``output``
            must carry alpha: ``.mov`` ProRes 4444, ``.webm`` VP9, or a folder of PNGs).
        matter: a Matter, or a model name / file (``"auto"``: BiRefNet-lite when its
            weights are here, else the bundled MODNet).
        smoothing, strength, fg_estimation: as :class:`~vidmatte.runtime.processor.Processor`.
        crf, codec_preset: H.264 quality and x264 speed preset.
    """
    plan = replace_plan(output, transparent=background is None, crf=crf, codec_preset=codec_preset)
    return run_file(plan, input, output, matter=matter, background=background, smoothing=smoothing,
                    strength=strength, fg_estimation=fg_estimation, batch_size=batch_size, overwrite=overwrite,
                    progress=progress)


def matte(input: PathLike, output: PathLike, *, matter: Any = "auto", format: Optional[str] = None,
          alpha_mode: Optional[str] = None, smoothing: Any = SMOOTHER, strength: Optional[float] = None,
          fg_estimation: str = FG_ESTIMATION, batch_size: int = 1, overwrite: bool = False,
          progress: Optional[Any] = None) -> PipelineStats:
    """Alpha and foreground of ``input`` for VFX: ProRes 4444 / VP9-alpha / PNG / EXR / matte video.

    ``format`` defaults from the output: .mov → prores, .webm → webm, .mp4 → alpha matte,
    a folder (or ``frame_%06d.png``) → png, ``.exr`` pattern → exr. ``alpha_mode``:
    ``straight`` or ``premultiplied`` colour (default straight).
    """
    plan = matte_plan(output, format, alpha_mode)
    return run_file(plan, input, output, matter=matter, smoothing=smoothing, strength=strength,
                    fg_estimation=fg_estimation, batch_size=batch_size, overwrite=overwrite, progress=progress)
