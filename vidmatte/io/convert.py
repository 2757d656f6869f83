"""Decoded ``av.VideoFrame`` → numpy RGB(A): the one conversion every decoder path shares.

Inputs, live capture, background videos and evaluation all call :func:`to_rgb`, so colour
(untagged SD → BT.601, HD → BT.709; the frame's range; HDR tone-mapped to SDR BT.709), rotation and scaling are the same
everywhere. ``deep=True`` keeps more than 8 bits (uint16, for 10/12-bit sources).
"""

from __future__ import annotations

from typing import Optional

import av
import numpy as np

from vidmatte.io.hdr import hdr_transfer, tone_map_to_sdr

__all__ = ["to_rgb", "rotation_of", "bit_depth"]


def _alpha_plane(frame: av.VideoFrame, deep: bool = False) -> np.ndarray:
    """The frame's alpha as ``(H, W)`` uint8 (``deep``: uint16), rounded from its bit depth;
    fully opaque when it has none."""
    name, top = frame.format.name, 65535 if deep else 255
    if not name.startswith(("yuva", "gbrap")):
        if name in ("rgba", "bgra", "argb", "abgr"):
            a = frame.to_ndarray(format="rgba")[..., 3]
            return a.astype(np.uint16) * np.uint16(257) if deep else a
        return np.full((frame.height, frame.width), top, np.uint16 if deep else np.uint8)
    plane = frame.planes[3]
    digits = "".join(c for c in name.rsplit("p", 1)[-1] if c.isdigit())
    if not digits:
        a = np.frombuffer(plane, np.uint8).reshape(plane.height, -1)[:, : frame.width]
        return a.astype(np.uint16) * np.uint16(257) if deep else a
    bits = int(digits)
    a = np.frombuffer(plane, np.uint16).reshape(plane.height, -1)[:, : frame.width].astype(np.uint32)
    out = (a * top + ((1 << bits) - 1) // 2) // ((1 << bits) - 1)
    return out.astype(np.uint16 if deep else np.uint8)


def bit_depth(frame: av.VideoFrame) -> int:
    """Bits per component of a decoded frame or image (8 for ordinary video, 32 for float EXR)."""
    if frame.format.name.endswith(("f32le", "f32be", "f16le", "f16be")):
        return 32
    return max((c.bits for c in frame.format.components), default=8)


def rotation_of(frame: av.VideoFrame, stream=None) -> int:
    """Clockwise quarter turns to show ``frame`` upright, in degrees (0, 90, 180, 270).

    The display matrix gives degrees counter-clockwise; the legacy ``rotate`` tag counts clockwise.
    """
    tag = stream.metadata.get("rotate", 0) if stream is not None else 0
    deg = frame.rotation or -int(float(tag or 0))
    return int(round(deg / 90.0)) * 90 % 360


def to_rgb(frame: av.VideoFrame, *, rotation: int = 0, with_alpha: bool = False,
           size: Optional[tuple[int, int]] = None, deep: bool = False) -> np.ndarray:
    """A decoded frame → upright ``(H, W, 3)`` (or ``(H, W, 4)``) uint8 RGB(A); ``deep``: uint16.

    The one conversion every decoder path uses (inputs, live capture, background videos,
    evaluation): untagged colour is BT.601 below 720 lines and BT.709 from there, the range
    is the frame's; ``size=(W, H)`` scales with swscale's area filter on the way (before the
    rotation); ``rotation`` as from :func:`rotation_of`.
    """
    kw: dict = {}
    if frame.colorspace in (0, 2) or frame.colorspace is None:  # untagged: SD → 601, HD → 709
        kw["src_colorspace"] = "ITU709" if frame.height >= 720 or frame.width >= 1280 else "ITU601"
    kw["src_color_range"] = "JPEG" if frame.color_range == 2 else "MPEG"
    if size is not None and tuple(size) != (frame.width, frame.height):
        kw.update(width=int(size[0]), height=int(size[1]), interpolation="AREA")
    transfer = hdr_transfer(frame)
    if frame.colorspace in (9, 10) or (transfer is not None and frame.colorspace in (0, 2, None)):
        kw["src_colorspace"] = "BT2020"  # BT.2020 (also untagged HDR): named, swscale may not follow the tag
    if transfer is not None:  # PQ / HLG: tone-mapped to SDR BT.709 (vidmatte.io.hdr)
        img = tone_map_to_sdr(frame.to_ndarray(format="rgb48le", **kw), transfer, deep=deep)
    else:
        img = frame.to_ndarray(format="rgb48le" if deep else "rgb24", **kw)
    if with_alpha:
        alpha = _alpha_plane(frame, deep)
        if alpha.shape != img.shape[:2]:
            import cv2

            alpha = cv2.resize(alpha, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_AREA)
        img = np.dstack([img, alpha])
    if rotation:
        img = np.rot90(img, k=rotation // 90)
    return np.ascontiguousarray(img)
