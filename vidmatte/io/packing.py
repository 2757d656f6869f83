"""Packing of pixels into encoder-ready ``av.VideoFrame`` objects for the output presets.

Colour goes through swscale (BT.709, limited range, 2×2 area chroma), but the **alpha plane
is written by us**: swscale's rgba→yuva path shifts alpha 128–254 up by one level. 8-bit
alpha is copied; 10-bit alpha is ``round(a * 1023 / 255)``, which reads back exactly.

H.264 4:2:0 cannot code odd sizes (even its crop field counts in 2-pixel units), so odd
frames are padded to even by repeating the last row/column: nothing is lost, and the
output is at most one pixel larger (``VideoSink.coded_size`` says by how much).

16-bit RGBA (``rgba64``) goes into 10-bit ProRes 4444 without an 8-bit step: colour through
swscale from ``rgb48``, alpha ``round(a * 1023 / 65535)``, premultiplication in 16 bits.
"""

from __future__ import annotations

from typing import Any, Optional

import av
import numpy as np

from vidmatte.checks import channels_last
from vidmatte.io.formats import Preset
from vidmatte.ops.color import Yuv420

__all__ = ["as_uint8_image", "pack_frame", "even_size", "output_pts"]


def output_pts(frame, time_base, last_pts, step: int) -> tuple[int, bool]:
    """``(pts in time_base, moved)`` for ``frame`` after a frame written at ``last_pts``: its own
    timestamp converted, or ``last + step`` without one; never at or before ``last_pts``
    (``moved``: it was pushed forward to keep them increasing)."""
    from fractions import Fraction

    if frame.pts is None:
        pts = 0 if last_pts is None else last_pts + step
    elif frame.time_base is not None and Fraction(frame.time_base) != time_base:
        pts = round(frame.pts * Fraction(frame.time_base) / time_base)
    else:
        pts = int(frame.pts)
    if last_pts is not None and pts <= last_pts:
        return last_pts + 1, True
    return pts, False


def even_size(width: int, height: int) -> tuple[int, int]:
    return width + width % 2, height + height % 2


def as_uint8_image(img: Any) -> np.ndarray:
    """numpy/torch, ``(H,W,C)`` or ``(C,H,W)``, uint8, uint16 or float [0,1] → ``(H,W,C)`` uint8 numpy."""
    a = channels_last(img)
    if a.dtype == np.uint16:
        return ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if a.dtype != np.uint8:
        a = np.floor(np.clip(a.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return a


def _pack_deep(img: np.ndarray, preset: Preset, alpha_mode: str) -> av.VideoFrame:
    """``(H,W,3|4)`` uint16 RGB(A) → a 10-bit ``preset.pix_fmt`` frame (ProRes 4444)."""
    rgb = img[..., :3]
    a16 = img[..., 3] if img.shape[2] == 4 else None
    if a16 is not None and alpha_mode == "premultiplied":
        rgb = ((rgb.astype(np.uint32) * a16[..., None] + 32767) // 65535).astype(np.uint16)
    src = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb48le")
    frame = src.reformat(format=preset.pix_fmt, dst_colorspace="ITU709", dst_color_range="MPEG")
    a = a16 if a16 is not None else np.full(rgb.shape[:2], 65535, np.uint16)
    _plane(frame, 3, np.uint16)[...] = (a.astype(np.uint32) * 1023 + 32767) // 65535
    return _tag(frame)


def _plane(frame: av.VideoFrame, i: int, dtype=np.uint8) -> np.ndarray:
    p = frame.planes[i]
    return np.frombuffer(p, dtype).reshape(p.height, -1)[:, : p.width]


def _pad_even(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    if h % 2 or w % 2:
        pad = [(0, h % 2), (0, w % 2)] + [(0, 0)] * (a.ndim - 2)
        a = np.pad(a, pad, mode="edge")
    return a


def _yuv420_frame(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> av.VideoFrame:
    y = _pad_even(np.asarray(y, np.uint8))
    h, w = y.shape
    u = np.asarray(u, np.uint8)[: h // 2, : w // 2]
    v = np.asarray(v, np.uint8)[: h // 2, : w // 2]
    packed = np.concatenate([y.reshape(-1), u.reshape(-1), v.reshape(-1)]).reshape(h * 3 // 2, w)
    return av.VideoFrame.from_ndarray(packed, format="yuv420p")


def _tag(frame: av.VideoFrame) -> av.VideoFrame:
    frame.colorspace = frame.color_primaries = frame.color_trc = 1  # BT.709
    frame.color_range = 1  # limited ("MPEG")
    return frame


def pack_frame(image: Any, preset: Preset, *, alpha_mode: str = "straight", alpha: Any = None) -> av.VideoFrame:
    """One picture → an ``av.VideoFrame`` in ``preset.pix_fmt``, tagged BT.709 limited.

    Args:
        image: ``(H,W,3)`` RGB or ``(H,W,4)`` straight RGBA (uint8, uint16 or float, numpy or
            torch), or a :class:`Yuv420` (opaque presets only). uint16 keeps 10 bits in ProRes.
        alpha: optional ``(1,H,W)``/``(H,W)`` alpha used when ``image`` is RGB.
        alpha_mode: "straight" stores colour as given; "premultiplied" stores ``rgb * a``.
    Opaque presets flatten RGBA over black; the matte preset codes alpha as luma.
    """
    if isinstance(image, Yuv420):
        if preset.alpha or preset.matte:
            raise ValueError(f"preset {preset.name} needs RGBA frames, got Yuv420 planes")
        yuv = image.numpy()
        return _tag(_yuv420_frame(yuv.y, yuv.u, yuv.v))
    deep = channels_last(image)
    if deep.dtype == np.uint16 and preset.alpha and preset.pix_fmt.endswith("10le") and deep.shape[2] in (3, 4) \
            and alpha is None:
        return _pack_deep(deep, preset, alpha_mode)
    img = as_uint8_image(deep)   # already numpy (H,W,C): no second device copy
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2) if not preset.matte else img
    a8: Optional[np.ndarray] = None
    if img.shape[2] == 4:
        a8 = img[..., 3]
    elif alpha is not None:
        a8 = as_uint8_image(alpha)[..., 0]
    elif img.shape[2] == 1:
        a8 = img[..., 0]
    if preset.matte:
        if a8 is None:
            raise ValueError("the alpha preset needs RGBA frames or frame.alpha")
        y = np.floor(16.0 + a8.astype(np.float32) * (219.0 / 255.0) + 0.5).astype(np.uint8)
        y = _pad_even(y)
        chroma = np.full((y.shape[0] // 2, y.shape[1] // 2), 128, np.uint8)
        return _tag(_yuv420_frame(y, chroma, chroma))
    rgb = img[..., :3]
    if a8 is not None and (alpha_mode == "premultiplied" or not preset.alpha):
        rgb = ((rgb.astype(np.uint16) * a8[..., None] + 127) // 255).astype(np.uint8)
    if preset.even:
        rgb = _pad_even(rgb)
    src = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    frame = src.reformat(format=preset.pix_fmt, dst_colorspace="ITU709", dst_color_range="MPEG",
                         interpolation="AREA")
    if preset.alpha:
        a = a8 if a8 is not None else np.full(rgb.shape[:2], 255, np.uint8)
        if preset.pix_fmt.endswith("10le"):
            _plane(frame, 3, np.uint16)[...] = (a.astype(np.uint32) * 1023 + 127) // 255
        else:
            _plane(frame, 3)[...] = a
    return _tag(frame)
