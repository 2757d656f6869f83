"""File jobs: :func:`replace` (new background) and :func:`matte` (VFX plates).

Each opens the input (:func:`vidmatte.io.registry.open_source`: a video file or an image
sequence), opens the output sink, picks the pixel format the sink accepts, builds a
:class:`~vidmatte.runtime.processor.Processor` and runs the overlapped
:class:`~vidmatte.runtime.pipeline.Pipeline`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Union

from vidmatte.defaults import FG_ESTIMATION, SMOOTHER_FILES
from vidmatte.errors import OutputError
from vidmatte.compose.backgrounds.spec import as_background
from vidmatte.jobs.common import as_matter, output_format, run_pipeline
from vidmatte.runtime.stats import PipelineStats

__all__ = ["replace", "matte", "MATTE_FORMATS"]

PathLike = Union[str, os.PathLike]

#: ``vidmatte matte --format`` → (sink format, product)
MATTE_FORMATS = {
    "prores": ("prores", "rgba"),
    "webm": ("webm", "rgba"),
    "png": ("png", "rgba"),
    "exr": ("exr", "rgba"),
    "alpha": ("alpha", "alpha"),
}


def _open_input(input: PathLike):
    from vidmatte.io.registry import open_source

    return open_source(input, threading="frame")


def _audio(src) -> Optional[Path]:
    """The file whose audio the output keeps (``None`` for image sequences)."""
    return Path(src.path) if getattr(src, "has_audio", False) else None


def replace(input: PathLike, output: PathLike, *, background: Any = None, matter: Any = "auto",
            smoothing: Any = SMOOTHER_FILES, strength: Optional[float] = None, fg_estimation: str = FG_ESTIMATION,
            crf: int = 18, codec_preset: str = "medium", batch_size: int = 1, overwrite: bool = False,
            progress: Optional[Any] = None) -> PipelineStats:
    """Put the people of ``input`` on ``background`` and write ``output`` (audio and timing kept).

    Args:
        background: a spec (``"beach.jpg"``, ``"loop.mp4"``, ``"#2060ff"``, ``"blur"``,
            ``"green"``), a Background, or ``None`` for transparent output (then ``output``
            must carry alpha: ``.mov`` ProRes 4444, ``.webm`` VP9, or a folder of PNGs).
        matter: a Matter, or a model name / file (``"auto"``: BiRefNet-lite when its
            weights are here, else the bundled MODNet).
        smoothing, strength, fg_estimation: as :class:`~vidmatte.runtime.processor.Processor`;
            files default to ``"flow"`` (looks 2 frames ahead: every frame is still written).
        crf, codec_preset: H.264 quality and x264 speed preset.
    """
    from vidmatte.io.formats import ALPHA_CONTAINERS
    from vidmatte.io.registry import open_sink
    from vidmatte.runtime.processor import Processor

    ext = Path(output).suffix.lower()
    fmt = None
    if background is None:
        fmt = ALPHA_CONTAINERS.get(ext)
        if fmt is None and ext:
            raise OutputError(f"transparent output needs .mov (ProRes 4444), .webm (VP9) or a folder, not {ext}")
    background = as_background(background)
    with _open_input(input) as src:
        matter = as_matter(matter)
        sink = open_sink(output, format=fmt, width=src.width, height=src.height, time_base=src.time_base,
                         fps=src.fps, audio_from=_audio(src), crf=crf, codec_preset=codec_preset,
                         overwrite=overwrite, input_path=src.path)
        product = "composite" if background is not None else "rgba"
        pixel_format = output_format(sink, product, matter, deep=getattr(src, "deep", False))
        try:
            processor = Processor(matter, background, smoothing=smoothing, strength=strength,
                                  fg_estimation=fg_estimation, format=pixel_format)
        except BaseException:
            sink.abort()
            raise
        return run_pipeline(src, processor, sink, batch_size=batch_size, progress=progress)


def matte(input: PathLike, output: PathLike, *, matter: Any = "auto", format: Optional[str] = None,
          alpha_mode: Optional[str] = None, smoothing: Any = SMOOTHER_FILES, strength: Optional[float] = None,
          fg_estimation: str = FG_ESTIMATION, batch_size: int = 1, overwrite: bool = False,
          progress: Optional[Any] = None) -> PipelineStats:
    """Alpha and foreground of ``input`` for VFX: ProRes 4444 / VP9-alpha / PNG / EXR / matte video.

    ``format`` defaults from the output: .mov → prores, .webm → webm, .mp4 → alpha matte,
    a folder (or ``frame_%06d.png``) → png, ``.exr`` pattern → exr. ``alpha_mode``:
    ``straight`` or ``premultiplied`` colour (default straight).
    """
    from vidmatte.io.formats import ALPHA_CONTAINERS
    from vidmatte.io.registry import open_sink
    from vidmatte.runtime.processor import Processor

    out = Path(output)
    if format is None:
        ext = out.suffix.lower()
        format = {**ALPHA_CONTAINERS, ".mp4": "alpha"}.get(ext) or (
            "exr" if ext == ".exr" else "png" if ext in ("", ".png") else None)
        if format is None:
            raise OutputError(f"cannot write a matte to {ext}; use .mov, .webm, .mp4 (alpha matte) or a folder")
    if format not in MATTE_FORMATS:
        raise OutputError(f"unknown matte format {format!r}; choose one of {', '.join(MATTE_FORMATS)}")
    sink_format, product = MATTE_FORMATS[format]
    with _open_input(input) as src:
        matter = as_matter(matter)
        sink = open_sink(out, format=sink_format, width=src.width, height=src.height, time_base=src.time_base,
                         fps=src.fps, audio_from=_audio(src) if format in ("prores", "webm") else None,
                         alpha_mode=alpha_mode or "straight", overwrite=overwrite, input_path=src.path)
        pixel_format = output_format(sink, product, matter, deep=getattr(src, "deep", False))
        try:
            processor = Processor(matter, None, smoothing=smoothing, strength=strength,
                                  fg_estimation=fg_estimation, format=pixel_format)
        except BaseException:
            sink.abort()
            raise
        return run_pipeline(src, processor, sink, batch_size=batch_size, progress=progress)
