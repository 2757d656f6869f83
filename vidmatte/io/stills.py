"""Still images through PyAV's own codecs: read/write PNG, TIFF, JPEG, EXR (and what FFmpeg reads).

EXR holds linear light by convention, so 8-bit (sRGB-encoded) colour is linearised on the
way out and encoded back on the way in; alpha is never transfer-encoded. Float input to
:func:`write_image` is taken as already linear and written untouched (float32, lossless
ZIP), so EXR values read back exactly. PNG and TIFF take 8 or 16 bits per channel.

A damaged file is refused, never half-shown: FFmpeg's JPEG decoder fills a cut-off picture
with grey without an error, so a JPEG whose last scan has no end marker (EOI) is an
:class:`InputError` here (other image decoders fail on their own).

PNGs are written with OpenCV's zlib at level 1 by default (``png_level``): 55 ms for an
800x552 RGBA image where FFmpeg's encoder took 266 ms and Pillow's default (level 6) 318 ms,
for files ~12% larger. Nothing here imports torch (the EXR transfer functions load it).

Every picture read here is upright: the EXIF orientation of JPEG, PNG, TIFF and WebP files is
applied to the pixels (:mod:`vidmatte.io.orientation`); written files carry no tag.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Optional, Union

import av
import numpy as np

from vidmatte.errors import InputError
from vidmatte.io.orientation import exif_orientation, upright

__all__ = ["read_image", "read_exr", "write_image", "pixel_kind", "jpeg_is_complete", "decode_image", "image_array"]


PathLike = Union[str, os.PathLike]


def jpeg_is_complete(data: bytes) -> bool:
    """True when the JPEG's last scan (SOS, ``FF DA``) is followed by its end marker
    (EOI, ``FF D9``). Scan data stuffs every ``FF`` byte, so an EOI cannot hide inside it;
    an embedded EXIF thumbnail ends before the main image's scans begin."""
    sos = data.rfind(b"\xff\xda")
    return sos >= 0 and data.rfind(b"\xff\xd9") > sos


def _decode_first(path: Path) -> av.VideoFrame:
    if not path.is_file():
        raise InputError(f"image not found: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"image {path} is empty (0 bytes); re-export it")
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise InputError(f"{path} is not an image; use PNG, JPEG or EXR")
            if c.streams.video[0].codec_context.name == "mjpeg" and not jpeg_is_complete(path.read_bytes()):
                raise InputError(f"image {path} is truncated (the JPEG has no end marker); re-export or re-download it")
            for frame in c.decode(video=0):
                return frame
    except av.error.FFmpegError as e:
        raise InputError(f"cannot read image {path}: corrupt or not an image ({e.strerror or e})") from None
    raise InputError(f"image {path} holds no picture; re-export it")


def pixel_kind(fmt: av.VideoFormat) -> tuple[int, bool, bool, int]:
    """``(colour channels 1|3, has alpha, is float, bits per component)`` of a decoded format."""
    comps = fmt.components
    alpha = any(c.is_alpha for c in comps) or fmt.has_palette
    colour = 1 if len(comps) - int(any(c.is_alpha for c in comps)) == 1 and not fmt.has_palette else 3
    bits = max(c.bits for c in comps)
    return colour, alpha, fmt.name.endswith(("f32le", "f32be", "f16le", "f16be")), bits


def _native(frame: av.VideoFrame) -> np.ndarray:
    """The picture as stored: grey ``(H, W)`` or colour ``(H, W, 3|4)``; uint8, uint16 or float32."""
    colour, alpha, is_float, bits = pixel_kind(frame.format)
    if is_float:
        data = _float_rgba(frame)
        return data[..., 0] if colour == 1 and not alpha else (data if alpha else data[..., :3])
    deep = bits > 8
    if colour == 1 and not alpha:
        return frame.to_ndarray(format="gray16le" if deep else "gray")
    if alpha:
        return frame.to_ndarray(format="rgba64le" if deep else "rgba")
    return frame.to_ndarray(format="rgb48le" if deep else "rgb24")


def decode_image(path: PathLike) -> av.VideoFrame:
    """The first picture of an image file, decoded (one clear :class:`InputError` if it cannot be)."""
    return _decode_first(Path(path))


def read_image(path: PathLike, *, with_alpha: bool = False, mode: Optional[str] = None) -> np.ndarray:
    """Decode one image file. This is the project's one image reader (inputs, backgrounds, eval).

    Args:
        with_alpha: shorthand for ``mode="rgba"``.
        mode: ``"rgb"`` (default): ``(H, W, 3)`` uint8 sRGB; ``"rgba"``: ``(H, W, 4)`` uint8
            (255 where the file has no alpha); ``"rgb48"`` / ``"rgba64"``: the same as uint16
            (16-bit, 10-bit DPX, EXR keep their precision; 8-bit files are scaled by 257);
            ``"native"``: the stored layout and depth, grey ``(H, W)`` or colour
            ``(H, W, 3|4)`` as uint8, uint16 or float32 (EXR).

    EXR (float, linear) is encoded to sRGB and rounded for the integer modes.
    """
    mode = mode or ("rgba" if with_alpha else "rgb")
    if mode not in ("rgb", "rgba", "rgb48", "rgba64", "native"):
        raise ValueError(f"read_image mode must be rgb, rgba, rgb48, rgba64 or native, got {mode!r}")
    frame = _decode_first(Path(path))
    return image_array(frame, mode, orientation=exif_orientation(path))


def image_array(frame: av.VideoFrame, mode: str, *, orientation: int = 1) -> np.ndarray:
    """A decoded image (:func:`decode_image`) as an array in ``mode`` (see :func:`read_image`),
    turned upright as the file's EXIF ``orientation`` says (:func:`vidmatte.io.orientation.exif_orientation`)."""
    return upright(_image_array(frame, mode), orientation)


def _image_array(frame: av.VideoFrame, mode: str) -> np.ndarray:
    if mode == "native":
        return np.ascontiguousarray(_native(frame))
    _, has_alpha, is_float, _ = pixel_kind(frame.format)
    deep, rgba = mode in ("rgb48", "rgba64"), mode in ("rgba", "rgba64")
    if is_float:
        from vidmatte.ops.color import linear_to_srgb, to_uint8

        data = _float_rgba(frame)
        data = np.dstack([linear_to_srgb(data[..., :3]), data[..., 3]])[..., : 4 if rgba else 3]
        if deep:
            return np.ascontiguousarray(np.round(np.clip(data, 0.0, 1.0) * 65535.0).astype(np.uint16))
        return np.ascontiguousarray(to_uint8(data))
    if deep and pixel_kind(frame.format)[3] > 8:
        out = frame.to_ndarray(format="rgba64le" if rgba else "rgb48le")
    else:  # 8-bit: swscale's rgb24 → rgb48 is off by up to one 8-bit level; x * 257 is exact
        out = frame.to_ndarray(format="rgba" if rgba else "rgb24")
        out = out.astype(np.uint16) * np.uint16(257) if deep else out
    if rgba and not has_alpha:
        out[..., 3] = 65535 if deep else 255
    return np.ascontiguousarray(out)


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


_FORMATS = {  # (extension group, dtype, channels) -> pixel format handed to the encoder
    ("png", "uint8"): {1: "gray", 3: "rgb24", 4: "rgba"},
    ("png", "uint16"): {1: "gray16be", 3: "rgb48be", 4: "rgba64be"},
    ("tiff", "uint8"): {1: "gray", 3: "rgb24", 4: "rgba"},
    ("tiff", "uint16"): {1: "gray16le", 3: "rgb48le", 4: "rgba64le"},
}
_NDARRAY = {"gray16be": "gray16le", "rgb48be": "rgb48le", "rgba64be": "rgba64le"}


def _png(image: np.ndarray, level: int) -> bytes:
    """uint8 grey / RGB / RGBA → PNG bytes (OpenCV's encoder wants BGR order)."""
    import cv2

    channels = image.shape[2]
    img = image[..., 0] if channels == 1 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR if channels == 3 else cv2.COLOR_RGBA2BGRA)
    ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, int(level)])
    if not ok:  # pragma: no cover - OpenCV only fails on impossible shapes, checked above
        raise ValueError(f"cannot encode a {image.shape} image as PNG")
    return buf.tobytes()


def write_image(path: PathLike, image: np.ndarray, *, png_level: int = 1) -> None:
    """Encode ``image`` to ``path`` by extension (.png/.tif lossless, .exr float32, .jpg 4:4:4).

    Args:
        image: ``(H, W, 3|4)`` RGB(A): uint8 or uint16 (sRGB; PNG and TIFF keep 16 bits), or
            float32 (linear, EXR only). uint8/uint16 colour is linearised for EXR.
            ``(H, W)`` / ``(H, W, 1)`` is a greyscale matte (gray PNG/TIFF, EXR single channel).
        png_level: zlib level 0-9 for 8-bit PNG (1: fast, the default; 9: smallest).
    Raises ``OSError`` when the file cannot be written (callers name their target).
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
        if image.dtype in (np.uint8, np.uint16):
            f = image / np.float32(255 if image.dtype == np.uint8 else 65535)
            if channels >= 3:  # colour is sRGB-encoded; alpha and greyscale mattes are linear
                from vidmatte.ops.color import srgb_to_linear

                f[..., :3] = srgb_to_linear(f[..., :3])
            image = f
        fmt = {1: "grayf32le", 3: "gbrpf32le", 4: "gbrapf32le"}[channels]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[..., 0] if channels == 1 else image, np.float32), format=fmt)
        data = _encode("exr", fmt, frame, {"format": "float", "compression": "zip16"})
    elif ext in (".png", ".tif", ".tiff", ".jpg", ".jpeg"):
        kind = {".png": "png", ".tif": "tiff", ".tiff": "tiff"}.get(ext, "jpeg")
        if image.dtype != np.uint8 and not (image.dtype == np.uint16 and kind != "jpeg"):
            raise ValueError(f"{ext} needs uint8{'' if kind == 'jpeg' else ' or uint16'} pixels, got {image.dtype}")
        if kind == "png" and image.dtype == np.uint8:  # OpenCV's encoder: 55 ms where FFmpeg's took 266
            path.write_bytes(_png(image, png_level))
            return
        fmt = _FORMATS.get((kind, image.dtype.name), _FORMATS[("png", "uint8")])[channels]
        frame = av.VideoFrame.from_ndarray(image[..., 0] if channels == 1 else image, format=_NDARRAY.get(fmt, fmt))
        if fmt in _NDARRAY:
            frame = frame.reformat(format=fmt)
        if kind == "png":
            data = _encode("png", fmt, frame, {})
        elif kind == "tiff":
            data = _encode("tiff", fmt, frame, {"compression_algo": "deflate"})
        else:
            frame = frame.reformat(format="yuvj444p", dst_colorspace="ITU601", dst_color_range="JPEG")
            data = _encode("mjpeg", "yuvj444p", frame, {})
    else:
        raise ValueError(f"cannot write {ext} images; use .png, .tif, .exr or .jpg")
    path.write_bytes(data)
