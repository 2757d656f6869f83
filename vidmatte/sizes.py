"""Sizes as text: ``WxH`` like ffmpeg (``-s 1280x720``) and ``--width/--height``.

On the command line and wherever the Python API takes a size as text, ``"640x360"`` is
640 wide and 360 high. In Python a size given as a tuple is ``(H, W)``, the order of numpy
and torch shapes (``matter.size``, ``load_matter(size=(360, 640))``): :func:`parse_size`
turns text into that. A single number ``N`` means the model's own rule: the long side for a
model trained at any aspect (MODNet keeps the frame's aspect), ``N×N`` for the others
(BiRefNet, U²-Net, IS-Net); model sizes are rounded to multiples of 32.
"""

from __future__ import annotations

import re
from typing import Union

__all__ = ["parse_size", "as_size", "format_size", "SIZE_HELP"]

#: what ``--model-size`` help says a size is
SIZE_HELP = ("WxH (e.g. 512x288: 512 wide, 288 high), or N: the long side for MODNet (aspect kept), "
             "NxN for BiRefNet and the other ONNX families; rounded to multiples of 32")

_WXH = re.compile(r"^\s*(\d+)\s*[x×X]\s*(\d+)\s*$")


def parse_size(text: str) -> Union[int, tuple[int, int]]:
    """``"512"`` → ``512``; ``"640x360"`` (W×H) → ``(360, 640)`` as ``(H, W)``.

    Raises ``ValueError`` with a message that names the expected forms."""
    s = str(text).strip()
    m = _WXH.match(s)
    if m:
        w, h = int(m.group(1)), int(m.group(2))
        if w > 0 and h > 0:
            return h, w
    elif s.isdigit() and int(s) > 0:
        return int(s)
    raise ValueError(f"expected N or WxH (e.g. 512 or 640x360), got {text!r}")


def as_size(size):
    """A size from the Python API: text is read as :func:`parse_size` reads it (``"WxH"``);
    an int or an ``(H, W)`` tuple is returned as it is; ``None`` stays ``None``."""
    return parse_size(size) if isinstance(size, str) else size


def format_size(hw) -> str:
    """``(H, W)`` → ``"WxH"`` (how sizes are written in messages and tables)."""
    h, w = hw
    return f"{w}x{h}"
