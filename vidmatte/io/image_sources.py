"""Sources made of stills: one image, or a numbered sequence of images.

A sequence is a folder (every PNG/TIFF/EXR/DPX/JPEG/... inside, natural order), a glob
(``shots/*.png``) or a printf pattern (``out/frame_%06d.exr``); see
:mod:`vidmatte.io.sequence_files`. When the folder holds the ``timestamps.json`` that
:class:`ImageSequenceSink` writes, the original pts and time base come back; otherwise
``pts = index`` at ``1/fps`` (``fps`` given, else 25 with a warning). Frames of more than
8 bits (16-bit PNG/TIFF, 10/12-bit DPX, float EXR) come as ``rgb48`` (uint16) frames.
Stills are upright (their EXIF orientation applied); a frame of another size than the first is
fitted to it, with one warning at the end (:mod:`vidmatte.io.size_changes`).
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional, Union

import numpy as np

from vidmatte.errors import InputError, warn
from vidmatte.frame import Frame
from vidmatte.io.orientation import exif_orientation
from vidmatte.io.size_changes import SizeChanges
from vidmatte.io.sequence_files import is_sequence_spec, list_sequence, no_frames_advice, numbering_gaps
from vidmatte.io.convert import bit_depth
from vidmatte.io.stills import decode_image, image_array, read_image

__all__ = ["ImageSource", "ImageSequenceSource", "is_sequence_spec", "list_sequence"]

PathLike = Union[str, os.PathLike]
#: frame rate of a sequence that says nothing about its timing
DEFAULT_SEQUENCE_FPS = 25


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


def _gap_text(gaps: list[tuple[int, int]]) -> str:
    runs = [str(a) if a == b else f"{a}-{b}" for a, b in gaps[:4]]
    more = f" and {len(gaps) - 4} more gaps" if len(gaps) > 4 else ""
    return ", ".join(runs) + more


class ImageSequenceSource:
    """Numbered stills as a video: ``pts = index`` at ``1/fps`` unless a timestamps.json says more.

    Args:
        spec: folder, glob or printf pattern.
        fps: frame rate; overrides a timestamps.json. ``None``: the sidecar's timing, else
            25 fps with a warning.
        with_alpha: yield RGBA (``(H, W, 4)``); images without alpha give 255.
        deep: yield uint16 ``rgb48``/``rgba64`` frames; ``None``: when the first image has
            more than 8 bits per channel (16-bit PNG/TIFF, 10-bit DPX, EXR).
        strict: frame numbers missing from the run are an error instead of a warning.
    """

    def __init__(self, spec: PathLike, *, fps: Union[int, float, Fraction, None] = None, with_alpha: bool = False,
                 deep: Optional[bool] = None, strict: bool = False, **_ignored):
        self.path = Path(os.fspath(spec))
        self.files = list_sequence(spec)
        if not self.files:
            raise InputError(no_frames_advice(spec))
        self.with_alpha = with_alpha
        self.fps = Fraction(fps if fps is not None else DEFAULT_SEQUENCE_FPS).limit_denominator(100000)
        if self.fps <= 0:
            raise InputError(f"--fps must be positive, got {fps}")
        self.time_base = 1 / self.fps
        self._pts = list(range(len(self.files)))
        if not self._load_sidecar(override=fps is not None) and fps is None:
            warn(f"{self.path} has no timing (no timestamps.json): {DEFAULT_SEQUENCE_FPS} fps assumed; give --fps")
        decoded = decode_image(self.files[0])  # once: its depth, its size, and the first frame
        self.deep = bit_depth(decoded) > 8 if deep is None else bool(deep)
        self.format = ("rgba64" if with_alpha else "rgb48") if self.deep else ("rgba" if with_alpha else "rgb24")
        self._first: Optional[np.ndarray] = image_array(decoded, self._mode(),
                                                        orientation=exif_orientation(self.files[0]))
        self.height, self.width = self._first.shape[:2]
        self.size_changes = SizeChanges(str(self.path), self.width, self.height)
        self.rotation, self.has_audio = 0, False
        self.errors: list[str] = []
        gaps = numbering_gaps(self.files)
        if gaps:
            msg = f"{self.path}: frame numbers {_gap_text(gaps)} are missing; the frames around them are played back to back"
            if strict:
                raise InputError(msg.split(";")[0] + " (--strict)")
            self.errors.append(msg)
            warn(msg)

    def _mode(self) -> str:
        return ("rgba64" if self.with_alpha else "rgb48") if self.deep else ("rgba" if self.with_alpha else "rgb")

    def _read(self, path: Path) -> np.ndarray:
        return read_image(path, mode=self._mode())

    def _load_sidecar(self, override: bool) -> bool:
        """Read timestamps.json; True when there is one that fits (``override``: keep ``fps``)."""
        folder = self.path if self.path.is_dir() else self.path.parent
        side = folder / "timestamps.json"
        if not side.is_file():
            return False
        try:
            info = json.loads(side.read_text())
            entries = {e["file"]: e for e in info["frames"]}
            pts = [int(entries[f.name]["pts"]) for f in self.files]
            tb = Fraction(info["time_base"])
        except (ValueError, KeyError, TypeError):
            return False  # a foreign or partial sidecar: keep index timing
        if not override:
            self._pts, self.time_base = pts, tb
            span = (pts[-1] - pts[0]) * tb if len(pts) > 1 else 0
            if info.get("fps"):
                self.fps = Fraction(info["fps"])
            elif span > 0:  # the average rate of the recorded timing
                self.fps = (Fraction(len(pts) - 1) / span).limit_denominator(1001)
        return True

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
            if i == 0 and self._first is not None:  # decoded by __init__ already
                img, self._first = self._first, None
            else:
                img = self._read(f)
            img = self.size_changes.fit(img, i)  # another size: fitted to the first (io.size_changes)
            yield Frame(image=np.ascontiguousarray(img), pts=pts, time_base=self.time_base, index=i,
                        meta={"source": str(f)}, format=self.format)
        self.size_changes.report()

    def close(self) -> None:
        """Nothing to release; present for the Source interface."""

    def __enter__(self) -> "ImageSequenceSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
