"""The unit that travels through the pipeline: pixels, their pixel format and their timing.

Pixel formats (names as in FFmpeg where one exists):

==========  =====================  =================================================
format      ``image``              meaning
==========  =====================  =================================================
rgb24       (H,W,3) uint8          sRGB colour (decoded input, composites)
rgb48       (H,W,3) uint16         sRGB colour, high bit depth (10/12/16-bit sources)
rgba        (H,W,4) uint8          straight colour + alpha
rgba64      (H,W,4) uint16         straight colour + alpha, high bit depth
rgbaf32     (H,W,4) float32        *linear-light* straight colour + alpha (EXR)
gray        (H,W,1) uint8          the matte alone
yuv420p     :class:`Yuv420`        BT.709 limited-range planes (converted on the GPU)
==========  =====================  =================================================

RGBA frames always hold straight (unpremultiplied) colour; sinks premultiply on output when
asked. A :class:`~vidmatte.runtime.processor.Processor` makes one *product* per frame — a
composite, a foreground with alpha, or the alpha alone — in one of the formats
:data:`PRODUCT_FORMATS` lists; sinks declare what they accept (``sink.accepts``) and
:func:`pick_format` chooses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional, Sequence, Union

import numpy as np

from vidmatte.checks import is_channels_first

__all__ = ["Frame", "PIXEL_FORMATS", "PRODUCT_FORMATS", "product_of", "pick_format", "round_to_multiple",
           "parse_size", "as_size", "format_size", "SIZE_HELP"]

#: format → (numpy dtype name, channels); yuv420p has planes instead
PIXEL_FORMATS: dict[str, tuple[Optional[str], Optional[int]]] = {
    "rgb24": ("uint8", 3),
    "rgb48": ("uint16", 3),
    "rgba": ("uint8", 4),
    "rgba64": ("uint16", 4),
    "rgbaf32": ("float32", 4),
    "gray": ("uint8", 1),
    "yuv420p": (None, None),
}
#: what a processor makes → the formats it can be delivered in
PRODUCT_FORMATS: dict[str, tuple[str, ...]] = {
    "composite": ("rgb24", "rgb48", "yuv420p"),
    "rgba": ("rgba", "rgba64", "rgbaf32"),
    "alpha": ("gray",),
}


def product_of(fmt: str) -> str:
    """The product (``composite``, ``rgba``, ``alpha``) a pixel format carries."""
    for product, formats in PRODUCT_FORMATS.items():
        if fmt in formats:
            return product
    raise ValueError(f"unknown pixel format {fmt!r}; choose one of {', '.join(PIXEL_FORMATS)}")


def pick_format(accepts: Sequence[str], product: str, *, device: str = "cpu", deep: bool = False) -> str:
    """The format to deliver ``product`` in, among what a sink ``accepts`` (in its order).

    ``yuv420p`` is chosen only on CUDA (converting there halves the download; on a CPU
    FFmpeg's swscale is faster than torch). ``deep`` (a high-bit-depth source) prefers the
    16-bit formats when the sink takes them.

    >>> pick_format(("rgb24", "yuv420p"), "composite", device="cuda")
    'yuv420p'
    >>> pick_format(("rgba", "rgba64"), "rgba", deep=True)
    'rgba64'
    """
    options = [f for f in accepts if f in PRODUCT_FORMATS[product]]
    if not options:
        raise ValueError(f"this output takes {', '.join(accepts)}, which cannot carry a {product}")
    if device == "cuda" and "yuv420p" in options:
        return "yuv420p"
    options = [f for f in options if f != "yuv420p"] or options
    if deep:
        wide = [f for f in options if f in ("rgb48", "rgba64", "rgbaf32")]
        if wide:
            return wide[0]
    return options[0]


@dataclass
class Frame:
    """One video frame.

    Attributes:
        image: pixels in ``format`` (numpy, or a torch tensor on any device).
        pts: presentation timestamp in ``time_base`` units (``None`` for stills).
        time_base: seconds per ``pts`` tick.
        index: 0-based position in the source.
        alpha: optional ``(1, H, W)``/``(H, W)`` alpha beside an RGB image.
        meta: free-form per-frame data (capture time for latency, source name, ...).
        format: pixel format of ``image`` (see the module table).
    """

    image: Any
    pts: Optional[int] = None
    time_base: Optional[Fraction] = None
    index: int = 0
    alpha: Any = None
    meta: dict = field(default_factory=dict)
    format: str = "rgb24"

    @property
    def time(self) -> Optional[float]:
        """Presentation time in seconds, or ``None`` when the frame has no timestamp."""
        if self.pts is None or self.time_base is None:
            return None
        return float(self.pts * self.time_base)

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)`` of the image."""
        shape = tuple(self.image.shape)
        if is_channels_first(shape):
            return int(shape[1]), int(shape[2])
        return int(shape[0]), int(shape[1])

    def numpy(self) -> np.ndarray:
        """The image as a contiguous numpy array (copied to the host if needed)."""
        img = self.image
        if hasattr(img, "detach"):
            img = img.detach().cpu().numpy()
        return np.ascontiguousarray(img)

    def with_image(self, image: Any, format: str) -> "Frame":
        """A frame with the same timing carrying ``image`` in ``format``."""
        return Frame(image=image, pts=self.pts, time_base=self.time_base, index=self.index, meta=self.meta,
                     format=format)



def round_to_multiple(x: float, multiple: int = 32) -> int:
    """Nearest multiple of ``multiple``, halves rounded up (144 → 160), at least ``multiple``."""
    return max(multiple, int(x / multiple + 0.5) * multiple)


# -- sizes as text ----------------------------------------------------------------------
# Sizes as text: ``WxH`` like ffmpeg (``-s 1280x720``) and ``--width/--height``.
# 
# On the command line and wherever the Python API takes a size as text, ``"640x360"`` is
# 640 wide and 360 high. In Python a size given as a tuple is ``(H, W)``, the order of numpy
# and torch shapes (``matter.size``, ``load_matter(size=(360, 640))``): :func:`parse_size`
# turns text into that. A single number ``N`` means the model's own rule: the long side for a
# model trained at any aspect (MODNet keeps the frame's aspect), ``N×N`` for the others
# (BiRefNet, U²-Net, IS-Net); model sizes are rounded to multiples of 32.

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
