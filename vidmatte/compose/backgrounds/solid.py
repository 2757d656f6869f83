"""Solid colours: CSS names and syntax, ``R,G,B``, and broadcast green for downstream keying.

Colour text is read by Pillow's :mod:`PIL.ImageColor` (the CSS colour names, ``#rgb``,
``#rrggbb``, ``rgb(r,g,b)``, ``rgb(r%,g%,b%)``, ``hsl(…)``): ``blue`` is CSS blue (0,0,255).
vidmatte's own words come first (:data:`NAMED_COLORS`): ``green`` stays broadcast green
(0,177,64), as ``--green`` and ``--background green`` have always meant, for keying
downstream (CSS green is ``#008000``); ``chroma-green`` is the same and ``chroma-blue``
(0,71,187) is the keying blue that ``blue`` meant before.
"""

from __future__ import annotations

import re
from typing import Sequence, Union

import numpy as np
import torch

from vidmatte.compose.backgrounds.base import Background
from vidmatte.errors import InputError

__all__ = ["ColorBackground", "GreenBackground", "parse_color", "BROADCAST_GREEN", "NAMED_COLORS"]

BROADCAST_GREEN = (0, 177, 64)
CHROMA_BLUE = (0, 71, 187)
#: vidmatte's own colour words, read before the CSS names
NAMED_COLORS = {
    "green": BROADCAST_GREEN,  # the documented keying green (CSS green is #008000)
    "chroma-green": BROADCAST_GREEN,
    "chroma-blue": CHROMA_BLUE,
}
_HINT = ("use a CSS name (blue, rebeccapurple, …), #rgb, #rrggbb, rgb(r,g,b), R,G,B (0-255), or "
         "green / chroma-green / chroma-blue for keying colours")
ColorSpec = Union[str, Sequence[float]]


def parse_color(spec: ColorSpec) -> tuple[int, int, int]:
    """A colour → ``(r, g, b)`` ints: a word of :data:`NAMED_COLORS`, a CSS name, ``'#RGB'``,
    ``'#RRGGBB'`` (``'RRGGBB'`` too), ``'rgb(r,g,b)'`` / ``'rgb(r%,g%,b%)'`` / ``'hsl(…)'``,
    ``'R,G,B'`` (0..255), a tuple of three ints (0..255) or of three floats (0..1).

    >>> parse_color("#2060ff"), parse_color("blue"), parse_color("green"), parse_color((1.0, 0.0, 0.5))
    ((32, 96, 255), (0, 0, 255), (0, 177, 64), (255, 0, 128))
    """
    if isinstance(spec, str):
        s = spec.strip().lower()
        if s in NAMED_COLORS:
            return NAMED_COLORS[s]
        parts = s.split(",")
        if len(parts) == 3 and "(" not in s:
            if all(p.strip().isdigit() and int(p) <= 255 for p in parts):
                return tuple(int(p) for p in parts)
            raise InputError(f"cannot read colour {spec!r}: R,G,B takes three integers 0-255")
        if re.fullmatch(r"[0-9a-f]{6}", s):  # bare RRGGBB, as --color 2060ff has always taken
            s = "#" + s
        from PIL import ImageColor  # Pillow (a torchvision dependency): the CSS names and syntax

        try:
            rgb = ImageColor.getrgb(s)
        except ValueError:
            raise InputError(f"cannot read colour {spec!r}: {_HINT}") from None
        if len(rgb) == 4:
            if rgb[3] != 255:
                raise InputError(f"colour {spec!r} has alpha {rgb[3]}: a background colour is opaque "
                                 "(for none, use --transparent)")
            rgb = rgb[:3]
        if not all(0 <= v <= 255 for v in rgb):
            raise InputError(f"cannot read colour {spec!r}: each value must be within 0-255")
        return tuple(int(v) for v in rgb)
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
