"""Still images → RGBA cut-outs or composites (:func:`images`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence, Union

from vidmatte.defaults import FG_ESTIMATION, REFINE
from vidmatte.errors import InputError, OutputError
from vidmatte.jobs.common import as_matter

__all__ = ["images"]

PathLike = Union[str, os.PathLike]


def _targets(inputs: Sequence[PathLike], output: PathLike, composite: bool, overwrite: bool) -> list[Path]:
    from vidmatte.io.atomic import check_output_path

    out = Path(output)
    if len(inputs) > 1 or out.is_dir() or os.fspath(output).endswith(("/", os.sep)):
        out.mkdir(parents=True, exist_ok=True)
        targets = [out / (Path(p).stem + ".png") for p in inputs]
    else:
        targets = [out]
    for t in targets:
        if t.suffix.lower() not in (".png", ".jpg", ".jpeg", ".exr"):
            raise OutputError(f"cannot write {t.suffix or 'files without an extension'} images; use .png (.jpg for composites)")
        if not composite and t.suffix.lower() in (".jpg", ".jpeg"):
            raise OutputError(f"{t} cannot hold transparency; use .png for cut-outs")
        check_output_path(t, overwrite=overwrite, inputs=tuple(inputs))
    return targets


def _expand(inputs: Sequence[PathLike]) -> list:
    """Folders and patterns (``shots/``, ``'shots/*.png'``) become the images they hold."""
    from vidmatte.io.sequence_files import is_sequence_spec, list_sequence, no_frames_advice

    out: list = []
    for p in inputs:
        if Path(p).is_dir() or (is_sequence_spec(os.fspath(p)) and not Path(p).exists()):
            files = list_sequence(p)
            if not files:
                raise InputError(no_frames_advice(p))
            out += files
        else:
            out.append(p)
    return out


def images(inputs: Sequence[PathLike], output: PathLike, *, matter: Any = "auto", background: Any = None,
           fg_estimation: str = FG_ESTIMATION, overwrite: bool = False, refine: Any = REFINE) -> list[Path]:
    """Still images → RGBA PNG cut-outs (``background=None``) or composites.

    One input: ``output`` is a file (``.png``; ``.jpg`` for composites). Several inputs:
    ``output`` is a folder, and each result is named after its input (``.png``); a folder or a
    pattern (``'shots/*.jpg'``) stands for the images it holds. Each image
    goes through the same :class:`~vidmatte.runtime.processor.Processor` (no smoothing:
    stills are not a sequence; ``refine`` as there, e.g. ``"vitmatte"``). Returns the written paths.
    """
    from vidmatte.compose.backgrounds.spec import as_background
    from vidmatte.io.atomic import atomic_path
    from vidmatte.io.stills import read_image, write_image
    from vidmatte.runtime.processor import Processor

    if not inputs:
        raise InputError("no input images given")
    inputs = _expand(inputs)
    background = as_background(background)
    targets = _targets(inputs, output, background is not None, overwrite)
    written = []
    with Processor(as_matter(matter), background, smoothing=None, fg_estimation=fg_estimation,
                   refine=refine) as proc:
        for src_path, target in zip(inputs, targets):
            result = proc(read_image(src_path))
            with atomic_path(target, overwrite=overwrite) as tmp:
                write_image(tmp, result)
            written.append(target)
    return written
