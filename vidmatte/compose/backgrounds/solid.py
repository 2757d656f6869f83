"""Solid colours: ``#RRGGBB``, ``R,G,B``, names, and broadcast green for downstream keying."""

from __future__ import annotations

import re
from typing import Sequence, Union

import numpy as np
import torch

from vidmatte.compose.backgrounds.base import Background
from vidmatte.errors import InputError

__all__ = ["ColorBackground", "GreenBackground", "parse_color", "BROADCAST_GREEN", "NAMED_COLORS"]

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


def parse_color(spec: ColorSpec) -> tuple[int, int, int]:
    """``'#RRGGBB'``, ``'#RGB'``, ``'R,G,B'`` (0..255), a name from :data:`NAMED_COLORS`,
    a tuple of three ints (0..255) or of three floats (0..1) → ``(r, g, b)`` ints.

    >>> parse_color("#2060ff"), parse_color("white"), parse_color((1.0, 0.0, 0.5))
    ((32, 96, 255), (255, 255, 255), (255, 0, 128))
    """
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
