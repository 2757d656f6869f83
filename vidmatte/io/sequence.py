"""Image-sequence sink: numbered PNG / TIFF (8 or 16-bit RGBA) or EXR (float32 RGBA) + ``timestamps.json``.

Frames go to a hidden temporary folder renamed to the target on :meth:`close`, so a folder
that exists is always complete. The sidecar keeps each frame's original index, pts and
time base (``ImageSequenceSource`` reads it back, so VFR timing survives a round trip).

EXR is linear light: uint8/uint16 (sRGB) colour is linearised; premultiplication happens in
linear light, and is EXR's default (the OpenEXR convention Nuke and Resolve assume); PNG and
TIFF default to straight colour (:data:`vidmatte.io.formats.DEFAULT_ALPHA_MODE`). Float input
is taken as linear and written as is (float32). uint16 frames (``rgb48``/``rgba64``) keep 16
bits in PNG and TIFF. A write that fails (disk full) is an :class:`OutputError`.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from vidmatte.checks import channels_last
from vidmatte.defaults import ALPHA_MODES
from vidmatte.errors import OutputError
from vidmatte.frame import Frame
from vidmatte.io.atomic import AtomicSink, AtomicTarget, check_output_path, write_failed
from vidmatte.io.formats import SEQUENCE_EXTENSIONS, SEQUENCE_FORMATS, alpha_mode_for
from vidmatte.io.packing import as_uint8_image
from vidmatte.io.stills import write_image
from vidmatte.ops.color import srgb_to_linear

__all__ = ["ImageSequenceSink", "SEQUENCE_FORMATS", "sequence_target"]

PathLike = Union[str, os.PathLike]


def sequence_target(spec: str, fmt: str) -> tuple[Path, str, str]:
    """``spec`` (folder or ``folder/name_%06d.ext``) → ``(folder, name pattern, format)``."""
    p = Path(spec)
    if "%" in p.name:
        fmt = SEQUENCE_EXTENSIONS.get(p.suffix.lower().lstrip("."), p.suffix.lower().lstrip(".")) or fmt
        if p.parent in (Path("."), Path("")) or not p.parent.name:
            raise OutputError(f"put image sequences in their own folder, e.g. frames/{p.name}")
        return p.parent, p.stem if p.suffix else p.name, fmt
    if p.suffix.lower().lstrip(".") in SEQUENCE_EXTENSIONS:
        raise OutputError(f"{spec} names one image; for frame sequences give a folder or a pattern such as frames/frame_%06d{p.suffix}")
    return p, "frame_%06d", fmt


def _float_image(image: Any, alpha: Any) -> np.ndarray:
    """Frame pixels → float32 linear ``(H, W, 3|4)`` for EXR."""
    a = channels_last(image)
    if a.dtype in (np.uint8, np.uint16):
        f = a.astype(np.float32) / (255.0 if a.dtype == np.uint8 else 65535.0)
        if f.shape[2] >= 3:  # colour is sRGB-encoded; a one-channel matte is linear already
            f[..., :3] = srgb_to_linear(f[..., :3])
    else:
        f = a.astype(np.float32)
    if f.shape[2] == 3 and alpha is not None:  # alpha: (H,W), (H,W,1) or (1,H,W)
        f = np.dstack([f, as_uint8_image(alpha)[..., :1].astype(np.float32) / 255.0])
    return f


class ImageSequenceSink(AtomicSink):
    """Write frames as ``<pattern % n>.png|.exr`` (n = 0, 1, …) in ``folder``.

    Args:
        folder: target folder (created; replaced with ``overwrite`` only if it holds a
            previous sequence or nothing).
        format: "png" / "tiff" (8-bit, 16-bit for uint16 frames) or "exr" (float32, ZIP).
        alpha_mode: "straight" or "premultiplied" colour; ``None``: the format's convention
            (premultiplied for EXR, straight otherwise).
        pattern: file name pattern without extension.
    """

    def __init__(self, folder: PathLike, *, format: str = "png", alpha_mode: Optional[str] = None,
                 pattern: str = "frame_%06d", overwrite: bool = False, input_path=None):
        format = SEQUENCE_EXTENSIONS.get(format, format)
        if format not in SEQUENCE_FORMATS:
            raise OutputError(f"image sequences are written as {', '.join(SEQUENCE_FORMATS)}, not {format!r}")
        alpha_mode = alpha_mode or alpha_mode_for(format)
        if alpha_mode not in ALPHA_MODES:
            raise OutputError(f"alpha mode must be 'straight' or 'premultiplied', not {alpha_mode!r}")
        self.folder, self.format, self.alpha_mode, self.pattern = Path(folder), format, alpha_mode, pattern
        check_output_path(self.folder, overwrite=overwrite, inputs=(input_path,), folder=True)
        if self.folder.is_dir() and any(p.name != "timestamps.json" and not p.name.startswith("frame_") for p in self.folder.iterdir()):
            raise OutputError(f"folder {self.folder} holds other files; choose a new folder for the frames")
        self._target = AtomicTarget(self.folder, folder=True, overwrite=overwrite)
        self.entries: list[dict] = []
        self.time_base: Optional[Fraction] = None

    @property
    def accepts(self) -> tuple[str, ...]:
        """Frame pixel formats taken: float linear RGBA first for EXR; 8-bit first for PNG/TIFF
        (16-bit ``rgba64``/``rgb48`` are picked for high-bit-depth sources)."""
        if self.format == "exr":
            return ("rgbaf32", "rgba64", "rgba", "rgb24", "rgb48", "gray")
        return ("rgba", "rgba64", "rgb24", "rgb48", "gray")

    def write(self, frame: Frame) -> None:
        if self._target.done:
            raise RuntimeError("write() on a closed ImageSequenceSink")
        premultiply = self.alpha_mode == "premultiplied"
        if self.format == "exr":
            img = _float_image(frame.image, frame.alpha)
            if premultiply and img.shape[2] == 4:
                img[..., :3] *= img[..., 3:]
        else:
            img = np.asarray(frame.numpy())
            deep = img.dtype == np.uint16
            img = (img if img.ndim == 3 else img[..., None]) if deep else as_uint8_image(img)
            if img.shape[2] == 3 and frame.alpha is not None:
                a = as_uint8_image(frame.alpha)[..., :1]
                img = np.dstack([img, a.astype(np.uint16) * np.uint16(257) if deep else a])
            if premultiply and img.shape[2] == 4:
                top = 65535 if deep else 255
                rgb = (img[..., :3].astype(np.uint32) * img[..., 3:] + top // 2) // top
                img = np.dstack([rgb.astype(img.dtype), img[..., 3:]])
        ext = "tif" if self.format == "tiff" else self.format
        name = f"{self.pattern % len(self.entries)}.{ext}"
        try:
            write_image(self._target.tmp / name, img)
        except OSError as e:
            raise write_failed(self.folder, e) from e
        tb = Fraction(frame.time_base) if frame.time_base is not None else None
        self.time_base = self.time_base or tb
        self.entries.append({"file": name, "index": frame.index, "pts": frame.pts,
                             "seconds": float(frame.pts * tb) if frame.pts is not None and tb else None})

    def close(self) -> Path:
        """Write ``timestamps.json`` and move the folder into place (idempotent)."""
        if self._target.done:
            return self.folder
        try:
            side = {"time_base": str(self.time_base) if self.time_base else None, "alpha_mode": self.alpha_mode,
                    "format": self.format, "frames": self.entries}
            try:
                (self._target.tmp / "timestamps.json").write_text(json.dumps(side, indent=1))
            except OSError as e:
                raise write_failed(self.folder, e) from e
            return self._target.commit()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        self._target.abort()

