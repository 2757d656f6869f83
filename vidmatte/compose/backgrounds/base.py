"""Backgrounds to composite onto: a solid colour or a still image.

A :class:`Background` is called with the frames being composited, ``(B,3,H,W)`` floats in
[0, 1], and the index of the first of them in the stream; it returns ``(B,3,H,W)`` on the
same device and in the same dtype (possibly a broadcast view: do not write into it).
Video backgrounds live in :mod:`vidmatte.compose.video_background`, the blurred frame in
:mod:`vidmatte.compose.blur_background`;
:func:`vidmatte.compose.background_spec.parse_background` turns a CLI string into any of them.
"""

from __future__ import annotations

import os
import re
from typing import Sequence, Union

import cv2
import numpy as np
import torch

from vidmatte.errors import InputError

__all__ = [
    "Background",
    "ColorBackground",
    "GreenBackground",
    "ImageBackground",
    "cover_geometry",
    "cover_fit",
    "parse_color",
    "parse_background",
    "BROADCAST_GREEN",
    "NAMED_COLORS",
]

BROADCAST_GREEN = (0, 177, 64)
NAMED_COLORS = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
    "red": (255, 0, 0),
    "blue": (0, 71, 187),  # chroma-key blue
    "green": BROADCAST_GREEN,
}
ColorSpec = Union[str, Sequence[float]]


def _check_image(image: torch.Tensor) -> None:
    if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[1] != 3:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"background: expected frames (B,3,H,W), got {shape}")


class Background:
    """Base class: ``bg(image (B,3,H,W), index) -> (B,3,H,W)``; ``close()`` frees resources."""

    def __call__(self, image: torch.Tensor, index: int = 0) -> torch.Tensor:
        _check_image(image)
        return self.render(image, index)

    def render(self, image: torch.Tensor, index: int) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release files or decoders (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def parse_color(spec: ColorSpec) -> tuple[int, int, int]:
    """``'#RRGGBB'``, ``'#RGB'``, ``'R,G,B'`` (0..255), a name from :data:`NAMED_COLORS`,
    a tuple of three ints (0..255) or of three floats (0..1) → ``(r, g, b)`` ints."""
    if isinstance(spec, str):
        s = spec.strip().lower()
        if s in NAMED_COLORS:
            return NAMED_COLORS[s]
        m = re.fullmatch(r"#?([0-9a-f]{6}|[0-9a-f]{3})", s)
        if m and (s.startswith("#") or len(s) == 6):
            h = m.group(1)
            h = "".join(c * 2 for c in h) if len(h) == 3 else h
            return tuple(int(h[i : i + 2], 16) for i in (0, 2, 4))
        parts = s.split(",")
        if len(parts) == 3 and all(p.strip().isdigit() and int(p) <= 255 for p in parts):
            return tuple(int(p) for p in parts)
        raise InputError(
            f"cannot read colour {spec!r}: use #RRGGBB, R,G,B (0-255) or one of {', '.join(sorted(NAMED_COLORS))}"
        )
    vals = tuple(spec)
    if len(vals) == 3 and all(isinstance(v, (int, np.integer)) and 0 <= v <= 255 for v in vals):
        return tuple(int(v) for v in vals)
    if len(vals) == 3 and all(isinstance(v, (float, np.floating)) and 0.0 <= v <= 1.0 for v in vals):
        return tuple(int(round(float(v) * 255)) for v in vals)
    raise InputError(f"cannot read colour {spec!r}: give three ints 0-255 or three floats 0-1")


class ColorBackground(Background):
    """A solid colour (see :func:`parse_color` for the accepted forms)."""

    def __init__(self, color: ColorSpec = BROADCAST_GREEN):
        self.rgb = parse_color(color)
        self._value = torch.tensor(self.rgb, dtype=torch.float32).view(1, 3, 1, 1) / 255.0

    def render(self, image: torch.Tensor, index: int) -> torch.Tensor:
        return self._value.to(image.device, image.dtype).expand(image.shape)

    def __repr__(self) -> str:
        return "{}(#{:02x}{:02x}{:02x})".format(type(self).__name__, *self.rgb)


class GreenBackground(ColorBackground):
    """Broadcast green, RGB (0, 177, 64), for keying downstream."""

    def __init__(self):
        super().__init__(BROADCAST_GREEN)


def cover_geometry(src_hw: tuple[int, int], dst_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """Scale-to-cover then centre-crop: ``(scaled_h, scaled_w, top, left)``.

    The source is scaled uniformly so it covers ``dst_hw`` entirely; the crop of size
    ``dst_hw`` at ``(top, left)`` of the scaled image is the background.
    """
    (h, w), (dh, dw) = src_hw, dst_hw
    scale = max(dh / h, dw / w)
    sh, sw = max(dh, int(round(h * scale))), max(dw, int(round(w * scale)))
    return sh, sw, (sh - dh) // 2, (sw - dw) // 2


def cover_fit(rgb: np.ndarray, dst_hw: tuple[int, int]) -> np.ndarray:
    """``(h,w,3)`` uint8 → ``(H,W,3)`` uint8 covering ``dst_hw`` (area filter when shrinking)."""
    sh, sw, top, left = cover_geometry(rgb.shape[:2], dst_hw)
    interp = cv2.INTER_AREA if sh < rgb.shape[0] else cv2.INTER_LINEAR
    scaled = cv2.resize(rgb, (sw, sh), interpolation=interp) if (sh, sw) != rgb.shape[:2] else rgb
    return np.ascontiguousarray(scaled[top : top + dst_hw[0], left : left + dst_hw[1]])


class ImageBackground(Background):
    """A still image, scaled to cover the frame and centre-cropped (cached per size)."""

    def __init__(self, path: Union[str, os.PathLike], cache_size: int = 4):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise InputError(f"background image not found: {self.path}")
        bgr = cv2.imread(self.path, cv2.IMREAD_COLOR)
        if bgr is None or bgr.size == 0:
            raise InputError(
                f"cannot read background image {self.path}: not an image file cv2 can decode (PNG, JPEG, ...)"
            )
        self.rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        self._cache: dict = {}
        self._cache_size = cache_size

    def render(self, image: torch.Tensor, index: int) -> torch.Tensor:
        key = (tuple(image.shape[-2:]), image.device, image.dtype)
        bg = self._cache.pop(key, None)
        if bg is None:
            fitted = torch.from_numpy(cover_fit(self.rgb, key[0])).permute(2, 0, 1).unsqueeze(0)
            bg = fitted.to(image.device).to(image.dtype).div_(255.0)
        self._cache[key] = bg  # most recently used last
        while len(self._cache) > self._cache_size:
            self._cache.pop(next(iter(self._cache)))
        return bg.expand(image.shape)

    def __repr__(self) -> str:
        return f"ImageBackground({self.path!r})"


def parse_background(spec: str) -> Background:
    """A CLI ``--background`` string → :class:`Background` (image or video file, colour,
    ``blur[:SIGMA]``, ``green``); see :mod:`vidmatte.compose.background_spec`, imported on
    call because the video background builds on this module."""
    from vidmatte.compose.background_spec import parse_background as parse

    return parse(spec)
