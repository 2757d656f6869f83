"""Which files make an image sequence: folders, globs and printf patterns, in frame order.

A sequence spec is a folder (every still inside, natural order), a glob (``shots/*.png``) or a
printf pattern (``out/frame_%06d.exr``). :func:`list_sequence` lists its files,
:func:`numbering_gaps` finds frame numbers missing from the run, and :func:`no_frames_advice`
explains, from what is really on disk, why a spec found nothing and what to give instead.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path
from typing import Union

from vidmatte.io.formats import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

__all__ = ["is_sequence_spec", "list_sequence", "numbering_gaps", "no_frames_advice", "pattern_of"]

PathLike = Union[str, os.PathLike]
_PRINTF = re.compile(r"%0?(\d*)d")
_NUMBER = re.compile(r"^(.*?)(\d+)(\D*)$")


def is_sequence_spec(text: str) -> bool:
    """True for glob (``*``, ``?``, ``[``) or printf (``%06d``) patterns."""
    return bool(_PRINTF.search(text)) or any(ch in Path(text).name for ch in "*?[")


def _natural_key(p: Path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]


def _images_in(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")]


def list_sequence(spec: PathLike) -> list[Path]:
    """The files of a sequence spec in order (may be empty)."""
    text = os.fspath(spec)
    if Path(text).is_dir():
        return sorted(_images_in(Path(text)), key=_natural_key)
    m = _PRINTF.search(Path(text).name)
    if m:
        folder, name = Path(text).parent, Path(text).name
        rx = re.compile(re.escape(name[: m.start()]) + r"(\d+)" + re.escape(name[m.end():]) + r"$")
        found = [(int(mm.group(1)), folder / f) for f in os.listdir(folder or ".") if (mm := rx.match(f))] if folder.is_dir() else []
        return [p for _, p in sorted(found)]
    return sorted((Path(p) for p in glob.glob(text)), key=_natural_key)


def _numbers(files: list[Path]) -> list[int]:
    """Frame numbers of ``files`` when they share one name pattern (else empty)."""
    parts = [_NUMBER.match(p.stem) for p in files]
    if not parts or not all(parts) or len({(m.group(1), p.suffix.lower()) for m, p in zip(parts, files)}) != 1:
        return []
    return [int(m.group(2)) for m in parts]


def numbering_gaps(files: list[Path]) -> list[tuple[int, int]]:
    """Runs ``(first, last)`` of frame numbers missing between the first and last file."""
    numbers = sorted(_numbers(files))
    return [(a + 1, b - 1) for a, b in zip(numbers, numbers[1:]) if b - a > 1]


def pattern_of(files: list[Path]) -> str:
    """A printf pattern naming ``files`` (``frame_%06d.png``), or the first file's name."""
    m = _NUMBER.match(files[0].stem)
    if not m or not _numbers(files):
        return files[0].name
    width = {len(_NUMBER.match(p.stem).group(2)) for p in files}
    digits = f"%0{width.pop()}d" if len(width) == 1 else "%d"
    return f"{m.group(1)}{digits}{m.group(3)}{files[0].suffix}"


def no_frames_advice(spec: PathLike) -> str:
    """Why ``spec`` lists no frames, said from what the folder really holds, and what works."""
    text = os.fspath(spec)
    folder = Path(text) if Path(text).is_dir() else Path(text).parent
    kinds = "PNG, TIFF, EXR, DPX or JPEG frames"
    if not folder.is_dir():
        return f"no images found for {text}: the folder {folder} does not exist"
    stills = sorted(_images_in(folder), key=_natural_key)
    if stills and folder != Path(text):  # a pattern that misses the frames that are there
        return (f"no images match {text}, but {folder} holds {len(stills)} ({stills[0].name} …); "
                f"give the folder itself ({folder}) or {folder / pattern_of(stills)}")
    videos = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS)
    if videos:
        return f"no images found in {folder}; it holds video ({videos[0]}): give {folder / videos[0]} instead"
    others = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    held = f"it holds {len(others)} other file(s), e.g. {others[0]}" if others else "it is empty"
    return f"no images found in {folder} ({held}); give a folder of {kinds} or a pattern such as frames/frame_%06d.png"
