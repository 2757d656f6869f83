"""Files for evaluation: pairing images with ground truth by name, reading mattes and frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import cv2
import numpy as np

from vidmatte.errors import InputError
from vidmatte.metrics import to_alpha, unknown_region

__all__ = ["EvalItem", "IMAGE_EXTS", "list_files", "collect_items", "read_rgb", "read_matte",
           "read_trimap", "video_frames"]

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


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
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file())
    if not files:
        raise InputError(f"{what} folder {folder} holds no images ({', '.join(IMAGE_EXTS)})")
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


def _imread(path, flags: int) -> np.ndarray:
    data = np.fromfile(str(path), dtype=np.uint8) if Path(path).is_file() else None
    img = cv2.imdecode(data, flags) if data is not None and data.size else None
    if img is None:
        raise InputError(f"cannot read image {path}; is it a PNG/JPEG/TIFF file?")
    return img


def read_rgb(path) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB (alpha dropped, grey expanded)."""
    img = _imread(path, cv2.IMREAD_COLOR)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_matte(path) -> np.ndarray:
    """A matte file → float64 ``(H, W)`` in [0, 1] (8 or 16 bit; grey stored as RGB uses its
    first channel; RGBA uses the alpha channel unless it is constant)."""
    img = _imread(path, cv2.IMREAD_UNCHANGED)
    if img.ndim == 3:
        img = img[..., 3] if img.shape[2] == 4 and img[..., 3].min() != img[..., 3].max() else img[..., 0]
    return to_alpha(img, str(path))


def read_trimap(path) -> np.ndarray:
    """A trimap file → bool mask of its unknown region."""
    return unknown_region(_imread(path, cv2.IMREAD_UNCHANGED))


def video_frames(path, limit: Optional[int] = None) -> Iterator[np.ndarray]:
    """Decoded ``(H, W, 3)`` uint8 RGB frames of a video file, in order."""
    import av

    path = Path(path)
    if not path.is_file():
        raise InputError(f"video {path} does not exist")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise InputError(f"cannot open video {path} ({exc.strerror or exc}); is it a video file?") from None
    with container:
        if not container.streams.video:
            raise InputError(f"{path} has no video stream")
        for i, frame in enumerate(container.decode(video=0)):
            if limit is not None and i >= limit:
                return
            yield frame.to_ndarray(format="rgb24")
