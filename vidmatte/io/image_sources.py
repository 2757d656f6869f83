"""Sources made of stills: one image, or a numbered sequence of images.

A sequence is a folder (every PNG/JPEG/EXR/... inside, natural order), a glob
(``shots/*.png``) or a printf pattern (``out/frame_%06d.exr``). When the folder holds the
``timestamps.json`` that :class:`ImageSequenceSink` writes, the original pts and time base
come back; otherwise ``pts = index`` at ``1/fps``.
"""

from __future__ import annotations

import glob
import json
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional, Union

import numpy as np

from vidmatte.errors import InputError
from vidmatte.frame import Frame
from vidmatte.io.formats import IMAGE_EXTENSIONS
from vidmatte.io.stills import read_image

__all__ = ["ImageSource", "ImageSequenceSource", "is_sequence_spec", "list_sequence"]

PathLike = Union[str, os.PathLike]
_PRINTF = re.compile(r"%0?(\d*)d")


def is_sequence_spec(text: str) -> bool:
    """True for glob (``*``, ``?``, ``[``) or printf (``%06d``) patterns."""
    return bool(_PRINTF.search(text)) or any(ch in Path(text).name for ch in "*?[")


def _natural_key(p: Path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]


def list_sequence(spec: PathLike) -> list[Path]:
    """The files of a sequence spec in order (may be empty)."""
    text = os.fspath(spec)
    if Path(text).is_dir():
        files = [p for p in Path(text).iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")]
        return sorted(files, key=_natural_key)
    m = _PRINTF.search(Path(text).name)
    if m:
        folder = Path(text).parent
        name = Path(text).name
        rx = re.compile(re.escape(name[: m.start()]) + r"(\d+)" + re.escape(name[m.end():]) + r"$")
        found = [(int(mm.group(1)), folder / f) for f in os.listdir(folder or ".") if (mm := rx.match(f))] if folder.is_dir() else []
        return [p for _, p in sorted(found)]
    return sorted((Path(p) for p in glob.glob(text)), key=_natural_key)


class ImageSource:
    """One still image as a one-frame source (``pts`` None). ``image`` holds the pixels."""

    def __init__(self, path: PathLike, *, with_alpha: bool = False, **_ignored):
        self.path = Path(path)
        self.image = read_image(self.path, with_alpha=with_alpha)
        self.height, self.width = self.image.shape[:2]
        self.fps: Optional[Fraction] = None
        self.time_base: Optional[Fraction] = None
        self.frame_count, self.duration, self.rotation, self.has_audio = 1, None, 0, False
        self.errors: list[str] = []

    def __iter__(self) -> Iterator[Frame]:
        yield Frame(image=self.image, pts=None, time_base=None, index=0, meta={"source": str(self.path)})

    def __len__(self) -> int:
        return 1

    def close(self) -> None:
        """Nothing to release; present for the Source interface."""

    def __enter__(self) -> "ImageSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ImageSequenceSource:
    """Numbered stills as a video: ``pts = index`` at ``1/fps`` unless a timestamps.json says more.

    Args:
        spec: folder, glob or printf pattern.
        fps: frame rate when no sidecar gives the timing.
        with_alpha: yield RGBA (``(H, W, 4)``); images without alpha give 255.
    """

    def __init__(self, spec: PathLike, *, fps: Union[int, float, Fraction] = 25, with_alpha: bool = False, **_ignored):
        self.path = Path(os.fspath(spec))
        self.files = list_sequence(spec)
        if not self.files:
            raise InputError(f"no images found for {spec}; give a folder of PNG/JPEG/EXR files or a pattern like frame_%06d.png")
        self.with_alpha = with_alpha
        self.fps = Fraction(fps).limit_denominator(100000)
        self.time_base = 1 / self.fps
        self._pts = list(range(len(self.files)))
        self._load_sidecar()
        first = read_image(self.files[0], with_alpha=with_alpha)
        self.height, self.width = first.shape[:2]
        self.rotation, self.has_audio = 0, False
        self.errors: list[str] = []

    def _load_sidecar(self) -> None:
        folder = self.path if self.path.is_dir() else self.path.parent
        side = folder / "timestamps.json"
        if not side.is_file():
            return
        try:
            info = json.loads(side.read_text())
            entries = {e["file"]: e for e in info["frames"]}
            pts = [int(entries[f.name]["pts"]) for f in self.files]
            tb = Fraction(info["time_base"])
        except (ValueError, KeyError, TypeError):
            return  # a foreign or partial sidecar: keep index timing
        self._pts, self.time_base = pts, tb
        if info.get("fps"):
            self.fps = Fraction(info["fps"])

    @property
    def frame_count(self) -> int:
        return len(self.files)

    @property
    def duration(self) -> float:
        return float(len(self.files) / self.fps)

    def __len__(self) -> int:
        return len(self.files)

    def __iter__(self) -> Iterator[Frame]:
        for i, (f, pts) in enumerate(zip(self.files, self._pts)):
            img = read_image(f, with_alpha=self.with_alpha)
            if img.shape[:2] != (self.height, self.width):
                raise InputError(f"{f} is {img.shape[1]}x{img.shape[0]}, the sequence is {self.width}x{self.height}; all frames must match")
            yield Frame(image=np.ascontiguousarray(img), pts=pts, time_base=self.time_base, index=i, meta={"source": str(f)})

    def close(self) -> None:
        """Nothing to release; present for the Source interface."""

    def __enter__(self) -> "ImageSequenceSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
