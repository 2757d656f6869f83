"""The inputs of a batch (files, folders, globs) and the output name each one gets."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterable, Optional, Union

__all__ = ["expand_inputs", "output_name"]

PathLike = Union[str, os.PathLike]


def expand_inputs(specs: Iterable[PathLike]) -> tuple[list[Path], list[tuple[str, str]]]:
    """``(files, problems)``: the files named by ``specs`` in order, each once.

    A folder gives the video files directly inside it (by extension, sorted); a pattern
    with ``*``, ``?`` or ``[`` gives the files it matches (``**`` goes into subfolders);
    ``problems`` lists ``(spec, reason)`` for specs that name nothing.
    """
    from vidmatte.io.formats import VIDEO_EXTENSIONS

    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    seen: set = set()
    for spec in specs:
        text = os.fspath(spec)
        p = Path(text)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in VIDEO_EXTENSIONS)
            if not found:
                problems.append((text, f"folder holds no video files ({', '.join(VIDEO_EXTENSIONS)})"))
        elif p.is_file():
            found = [p]
        elif any(ch in text for ch in "*?["):
            found = sorted(Path(m) for m in glob.glob(text, recursive=True) if Path(m).is_file())
            if not found:
                problems.append((text, "no file matches this pattern"))
        else:
            problems.append((text, "no such file or folder"))
            found = []
        for f in found:
            key = os.path.realpath(f)
            if key not in seen:
                seen.add(key)
                files.append(f)
    return files, problems


def output_name(input: PathLike, *, mode: str, transparent: bool = False, format: Optional[str] = None) -> str:
    """The name ``input`` gets in the output folder: its own, with the extension changed
    only where the output cannot be written in its container.

    * ``replace`` with a background: H.264 in .mp4/.m4v/.mov/.mkv, else ``.mp4``;
    * ``replace`` transparent: .mov/.mkv (ProRes 4444) or .webm (VP9), else ``.mov``;
    * ``matte``: as ``vidmatte matte`` would write that name (.mp4 → alpha matte video,
      .mov/.mkv → ProRes 4444, .webm → VP9), else ProRes ``.mov``; an image-sequence
      ``format`` (png/exr/tiff) gives a folder named after the input, other formats their container.
    """
    from vidmatte.io.formats import ALPHA_CONTAINERS, PRESETS, SEQUENCE_FORMATS

    p = Path(input)
    ext = p.suffix.lower()
    if mode == "matte":
        if format in SEQUENCE_FORMATS:
            return p.stem
        default = {**ALPHA_CONTAINERS, ".mp4": "alpha", ".m4v": "alpha"}.get(ext, "prores")
        preset = PRESETS[format or default]
        return p.name if ext in preset.extensions else p.stem + preset.extensions[0]
    if transparent:
        return p.name if ext in ALPHA_CONTAINERS else p.stem + ".mov"
    return p.name if ext in PRESETS["h264"].extensions else p.stem + ".mp4"
