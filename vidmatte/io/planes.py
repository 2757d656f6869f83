"""A decoded frame's YUV planes as they are, for converting on the model's device.

:func:`yuv_planes` hands out the decoder's own planes (views of its buffers, no swscale)
plus the colour tags :func:`vidmatte.ops.yuv.yuv420_to_rgb` needs, chosen by the same
rule as the host path :func:`vidmatte.io.convert.to_rgb`: untagged colour is BT.601 below
720 lines and BT.709 from there; the range is the frame's (``yuvj420p`` is full range).
Formats it cannot hand out (4:2:2, 4:4:4, RGB, alpha) return ``None``: use ``to_rgb``.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

__all__ = ["YuvPlanes", "yuv_planes", "PLANE_FORMATS"]

#: pixel format → (layout, bits)
PLANE_FORMATS = {"yuv420p": ("yuv420p", 8), "yuvj420p": ("yuv420p", 8), "nv12": ("nv12", 8),
                 "yuv420p10le": ("yuv420p", 10)}
# AVColorSpace codes → matrix (0 RGB/2 unspecified fall back to the size rule)
_MATRIX = {1: "bt709", 4: "bt601", 5: "bt601", 6: "bt601", 7: "bt601", 9: "bt2020", 10: "bt2020"}


class YuvPlanes(NamedTuple):
    """``planes``: ``(y, u, v)`` (``yuv420p``) or ``(y, uv (h,w,2))`` (``nv12``) numpy arrays, uint8
    or uint16; the keywords of :func:`~vidmatte.ops.yuv.yuv420_to_rgb` in ``kwargs``."""

    layout: str
    planes: tuple
    matrix: str
    full_range: bool
    bits: int

    @property
    def kwargs(self) -> dict:
        return {"matrix": self.matrix, "full_range": self.full_range, "bits": self.bits}


def _plane(frame, i: int, dtype, channels: int = 1) -> np.ndarray:
    p = frame.planes[i]
    item = np.dtype(dtype).itemsize
    a = np.frombuffer(p, dtype).reshape(p.height, p.line_size // item)[:, : p.width * channels]
    return a.reshape(p.height, p.width, channels) if channels > 1 else a


def yuv_planes(frame) -> Optional[YuvPlanes]:
    """The planes and colour tags of a PyAV ``VideoFrame`` (module docstring), or ``None``.

    The arrays are views of the frame's buffers: copy them (e.g. into a pinned upload buffer)
    before the frame is released."""
    name = frame.format.name
    if name not in PLANE_FORMATS:
        return None
    layout, bits = PLANE_FORMATS[name]
    dtype = np.uint8 if bits == 8 else np.uint16
    if layout == "nv12":
        planes: tuple = (_plane(frame, 0, dtype), _plane(frame, 1, dtype, 2))
    else:
        planes = tuple(_plane(frame, i, dtype) for i in range(3))
    matrix = _MATRIX.get(frame.colorspace or 0)
    if matrix is None:
        matrix = "bt709" if frame.height >= 720 or frame.width >= 1280 else "bt601"
    full = frame.color_range == 2 or name.startswith("yuvj")
    return YuvPlanes(layout, planes, matrix, bool(full), bits)
