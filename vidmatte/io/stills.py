"""Still images through PyAV's own codecs: read/write PNG, JPEG, EXR (and what FFmpeg reads).

EXR holds linear light by convention, so 8-bit (sRGB-encoded) colour is linearised on the
way out and encoded back on the way in; alpha is never transfer-encoded. Float input to
:func:`write_image` is taken as already linear and written untouched (float32, lossless
ZIP), so EXR values read back exactly.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Union

import av
import numpy as np

from vidmatte.errors import InputError

__all__ = [
    "IMAGE_EXTENSIONS",
    "read_image",
    "read_exr",
    "write_image",
    "srgb_to_linear",
    "linear_to_srgb",
    "to_uint8",
]

#: extensions opened as still images (FFmpeg's image decoders)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".exr", ".bmp", ".tif", ".tiff", ".webp")

PathLike = Union[str, os.PathLike]


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] → linear light (IEC 61966-2-1 piecewise curve)."""
    x = np.asarray(x, np.float32)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear light → sRGB-encoded values; input clipped to [0, 1] first."""
    x = np.clip(np.asarray(x, np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Float in [0, 1] → uint8 with round-half-up."""
    return np.floor(np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _decode_first(path: Path) -> av.VideoFrame:
    if not path.is_file():
        raise InputError(f"image not found: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"image {path} is empty (0 bytes); re-export it")
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise InputError(f"{path} is not an image; use PNG, JPEG or EXR")
            for frame in c.decode(video=0):
                return frame
    except av.error.FFmpegError as e:
        raise InputError(f"cannot read image {path}: corrupt or not an image ({e.strerror or e})") from None
    raise InputError(f"image {path} holds no picture; re-export it")


def read_image(path: PathLike, *, with_alpha: bool = False) -> np.ndarray:
    """Decode one image → ``(H, W, 3)`` (or ``(H, W, 4)`` with ``with_alpha``) uint8 RGB(A).

    EXR (float, linear) is encoded to sRGB and rounded; images without alpha get 255.
    """
    path = Path(path)
    frame = _decode_first(path)
    name = frame.format.name
    if name.startswith(("gbrpf", "gbrapf", "grayf")):
        data = _float_rgba(frame)
        rgb = to_uint8(linear_to_srgb(data[..., :3]))
        alpha = to_uint8(data[..., 3])
    else:
        has_alpha = any(k in name for k in ("rgba", "bgra", "argb", "abgr", "yuva", "gbrap", "ya8", "ya16", "pal8"))
        if not with_alpha:
            return np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
        rgba = frame.to_ndarray(format="rgba")
        if not has_alpha:
            rgba[..., 3] = 255
        return np.ascontiguousarray(rgba)
    return np.ascontiguousarray(np.dstack([rgb, alpha]) if with_alpha else rgb)


def read_exr(path: PathLike) -> np.ndarray:
    """The raw float32 ``(H, W, 4)`` RGBA values of an EXR (no transfer applied)."""
    return _float_rgba(_decode_first(Path(path)))


def _float_rgba(frame: av.VideoFrame) -> np.ndarray:
    """Float frame → ``(H, W, 4)`` float32 RGBA (grey is spread to RGB, missing alpha is 1)."""
    name = frame.format.name
    if name in ("gbrapf32le", "gbrpf32le", "grayf32le"):
        data = frame.to_ndarray()  # native layout, no swscale (its grayf32 path loses values)
    else:
        data = frame.to_ndarray(format="gbrapf32le")
    if data.ndim == 2:
        data = np.repeat(data[..., None], 3, axis=2)
    if data.shape[2] == 3:
        data = np.dstack([data, np.ones(data.shape[:2], np.float32)])
    return np.ascontiguousarray(data, np.float32)


def _encode(codec: str, pix_fmt: str, frame: av.VideoFrame, options: dict) -> bytes:
    ctx = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height = frame.width, frame.height
    ctx.pix_fmt = pix_fmt
    ctx.time_base = Fraction(1, 1)
    ctx.options = options
    frame.pts = 0
    return b"".join(bytes(p) for p in list(ctx.encode(frame)) + list(ctx.encode(None)))


def write_image(path: PathLike, image: np.ndarray) -> None:
    """Encode ``image`` to ``path`` by extension (.png lossless 8-bit, .exr float32, .jpg 4:4:4).

    Args:
        image: ``(H, W, 3|4)`` uint8 RGB(A) (sRGB), or float32 ``(H, W, 3|4)``; float goes to
            EXR as is (linear), uint8 colour is linearised for EXR; PNG/JPEG need uint8.
            ``(H, W)`` / ``(H, W, 1)`` is a greyscale matte (PNG gray, EXR single channel).
    """
    path = Path(path)
    ext = path.suffix.lower()
    image = np.ascontiguousarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected (H,W), (H,W,1), (H,W,3) or (H,W,4) image, got {image.shape}")
    channels = image.shape[2]
    if ext == ".exr":
        if image.dtype == np.uint8:
            f = image / np.float32(255)
            if channels >= 3:  # colour is sRGB-encoded; alpha and greyscale mattes are linear
                f[..., :3] = srgb_to_linear(f[..., :3])
            image = f
        fmt = {1: "grayf32le", 3: "gbrpf32le", 4: "gbrapf32le"}[channels]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[..., 0] if channels == 1 else image, np.float32), format=fmt)
        data = _encode("exr", fmt, frame, {"format": "float", "compression": "zip16"})
    elif ext in (".png", ".jpg", ".jpeg"):
        if image.dtype != np.uint8:
            raise ValueError(f"{ext} needs uint8 pixels, got {image.dtype}")
        fmt = {1: "gray", 3: "rgb24", 4: "rgba"}[channels]
        frame = av.VideoFrame.from_ndarray(image[..., 0] if channels == 1 else image, format=fmt)
        if ext == ".png":
            data = _encode("png", fmt, frame, {})
        else:
            frame = frame.reformat(format="yuvj444p", dst_colorspace="ITU601", dst_color_range="JPEG")
            data = _encode("mjpeg", "yuvj444p", frame, {})
    else:
        raise ValueError(f"cannot write {ext} images; use .png, .exr or .jpg")
    path.write_bytes(data)
