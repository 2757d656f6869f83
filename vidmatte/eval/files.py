"""Files for evaluation: pairing images with ground truth by name, reading mattes and frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from vidmatte.errors import InputError
from vidmatte.io.formats import IMAGE_EXTENSIONS
from vidmatte.eval.metrics import to_alpha, unknown_region

__all__ = ["EvalItem", "list_files", "collect_items", "read_rgb", "read_matte",
           "read_trimap", "video_frames"]



@dataclass
class EvalItem:
    """One image to score: its name (file stem) and the files that belong to it."""

    name: str
    gt: Path
    image: Optional[Path] = None
    trimap: Optional[Path] = None
    pred: Optional[Path] = None


def list_files(folder, what: str) -> list[Path]:
    """Image files of ``folder`` sorted by name; :class:`InputError` when missing or empty."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{what} folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise InputError(f"{what} folder {folder} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    return files


def _by_stem(folder, what: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in list_files(folder, what):
        if p.stem in out:
            raise InputError(f"{what} folder {folder} has two files named {p.stem}.*; keep one")
        out[p.stem] = p
    return out


def collect_items(gt, *, images=None, trimaps=None, pred=None, limit: Optional[int] = None) -> list[EvalItem]:
    """Pair files by stem. The names come from ``images`` (else ``pred``), sorted; each needs a
    ground truth (and a trimap / prediction when those folders are given)."""
    if images is None and pred is None:
        raise InputError("give the images (--images DIR) or precomputed mattes (--pred DIR)")
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    folders = {"gt": _by_stem(gt, "ground truth")}
    for key, folder, what in (("image", images, "images"), ("trimap", trimaps, "trimaps"),
                              ("pred", pred, "predictions")):
        if folder is not None:
            folders[key] = _by_stem(folder, what)
    names = sorted(folders["image"] if images is not None else folders["pred"])[:limit]
    for key, table in folders.items():
        missing = [n for n in names if n not in table]
        if missing:
            shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            where = {"gt": gt, "image": images, "trimap": trimaps, "pred": pred}[key]
            raise InputError(f"no file for {shown} in {where}; files are matched by name (without extension)")
    return [EvalItem(n, **{k: t[n] for k, t in folders.items()}) for n in names]


def _read(path, mode: str) -> np.ndarray:
    from vidmatte.io.stills import read_image

    return read_image(path, mode=mode)


def read_rgb(path) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB (alpha dropped, grey expanded)."""
    return _read(path, "rgb")


def read_matte(path) -> np.ndarray:
    """A matte file → float64 ``(H, W)`` in [0, 1] (8 or 16 bit; grey stored as RGB uses its
    first channel; RGBA uses the alpha channel unless it is constant)."""
    img = _read(path, "native")
    if img.ndim == 3:
        img = img[..., 3] if img.shape[2] == 4 and img[..., 3].min() != img[..., 3].max() else img[..., 0]
    return to_alpha(img, str(path))


def read_trimap(path) -> np.ndarray:
    """A trimap file → bool mask of its unknown region."""
    return unknown_region(_read(path, "native"))


def video_frames(path, limit: Optional[int] = None) -> Iterator[np.ndarray]:
    """Decoded ``(H, W, 3)`` uint8 RGB frames of a video file, in order (the input decoder path)."""
    from vidmatte.io.sources import VideoSource

    with VideoSource(Path(path)) as src:
        for i, frame in enumerate(src):
            if limit is not None and i >= limit:
                return
            yield frame.image
