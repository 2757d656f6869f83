"""EXIF orientation of still images: read the tag, turn the pixels upright.

Phones store the sensor's picture and an EXIF ``Orientation`` (tag 274, values 1-8) that says
how to show it. FFmpeg's image decoders hand over the stored pixels (recent ones export a
display matrix, which loses the mirrored cases), so :mod:`vidmatte.io.stills` reads the tag
itself, from the file's own header, and every still that vidmatte reads (``image`` inputs,
background images, image sequences, eval files) is upright before anything sees it. Outputs
are written from the upright pixels, without the tag.

Where the tag lives: JPEG APP1 ``Exif``, PNG ``eXIf``, TIFF IFD0 (the file's own header), WebP
``EXIF`` chunk. Only the headers are read (seeking past image data), never the whole file.

=====  ==========================  =======================================
value  stored picture shown by     upright = (``a``: the stored array)
=====  ==========================  =======================================
1      as is                       ``a``
2      mirroring left-right        ``a[:, ::-1]``
3      turning 180°                ``a[::-1, ::-1]``
4      mirroring top-bottom        ``a[::-1]``
5      transposing                 ``a.swapaxes(0, 1)``
6      turning 90° clockwise       ``rot90(a, -1)``
7      transverse (anti-diagonal)  ``a[::-1, ::-1].swapaxes(0, 1)``
8      turning 90° anticlockwise   ``rot90(a, 1)``
=====  ==========================  =======================================
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO, Callable, Optional, Union

import numpy as np

__all__ = ["exif_orientation", "upright", "orientation_from_tiff", "ORIENTATION_TAG"]

ORIENTATION_TAG = 0x0112
_MAX_SEGMENT_SCAN = 1 << 16  # JPEG markers / PNG and WebP chunks walked before giving up


def orientation_from_tiff(read_at: Callable[[int, int], bytes]) -> int:
    """The Orientation of IFD0 in a TIFF structure (``read_at(offset, n)`` reads its bytes);
    1 when it has none or it is malformed."""
    head = read_at(0, 8)
    if len(head) < 8 or head[:4] not in (b"II*\x00", b"MM\x00*"):
        return 1
    e = "<" if head[:2] == b"II" else ">"
    (ifd,) = struct.unpack(e + "I", head[4:8])
    count_b = read_at(ifd, 2)
    if len(count_b) < 2:
        return 1
    (count,) = struct.unpack(e + "H", count_b)
    entries = read_at(ifd + 2, 12 * min(count, 4096))
    for i in range(len(entries) // 12):
        tag, typ, n = struct.unpack(e + "HHI", entries[12 * i: 12 * i + 8])
        if tag == ORIENTATION_TAG:
            if typ == 3:  # SHORT
                (value,) = struct.unpack(e + "H", entries[12 * i + 8: 12 * i + 10])
            elif typ == 4:  # LONG (seen in the wild)
                (value,) = struct.unpack(e + "I", entries[12 * i + 8: 12 * i + 12])
            else:
                return 1
            return int(value) if 1 <= value <= 8 else 1
    return 1


def _blob(data: bytes) -> int:
    if data.startswith(b"Exif\x00\x00"):
        data = data[6:]
    return orientation_from_tiff(lambda off, n: data[off: off + n])


def _jpeg(f: BinaryIO) -> int:
    f.seek(2)
    for _ in range(_MAX_SEGMENT_SCAN):
        b = f.read(2)
        if len(b) < 2 or b[0] != 0xFF:
            return 1
        marker = b[1]
        while marker == 0xFF:  # fill bytes
            nxt = f.read(1)
            if not nxt:
                return 1
            marker = nxt[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue  # no length
        if marker in (0xDA, 0xD9):  # start of scan / end: the headers are over
            return 1
        ln = f.read(2)
        if len(ln) < 2:
            return 1
        (size,) = struct.unpack(">H", ln)
        if marker == 0xE1 and size > 8:
            data = f.read(size - 2)
            if data.startswith(b"Exif\x00\x00"):
                return _blob(data)
            continue
        f.seek(size - 2, os.SEEK_CUR)
    return 1


def _chunks(f: BinaryIO, start: int, header: str, exif: bytes, end: Optional[bytes], pad: int) -> int:
    """Walk a chunked file from ``start``: 8-byte headers (``header``: struct format of size and kind,
    in the file's order), to the ``exif`` chunk's orientation; 1 at ``end``, at EOF or after
    :data:`_MAX_SEGMENT_SCAN` chunks. Each chunk's data is followed by ``pad`` bytes (PNG's CRC),
    or by one byte when its size is odd (``pad=-1``, RIFF's word alignment)."""
    f.seek(start)
    for _ in range(_MAX_SEGMENT_SCAN):
        head = f.read(8)
        if len(head) < 8:
            return 1
        a, b = struct.unpack(header, head)
        size, kind = (a, b) if isinstance(b, bytes) else (b, a)
        if kind == exif:
            return _blob(f.read(size))
        if kind == end:
            return 1
        f.seek(size + (size & 1 if pad < 0 else pad), os.SEEK_CUR)
    return 1


def _png(f: BinaryIO) -> int:
    return _chunks(f, 8, ">I4s", b"eXIf", b"IEND", pad=4)  # length, type; data, CRC


def _webp(f: BinaryIO) -> int:
    return _chunks(f, 12, "<4sI", b"EXIF", None, pad=-1)  # RIFF: FourCC, size; data padded to even


def exif_orientation(path: Union[str, os.PathLike]) -> int:
    """The EXIF Orientation (1-8) of a JPEG, PNG, TIFF or WebP file; 1 for none, for other
    formats, and for a tag that cannot be read (a broken tag never stops a job)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if head[:2] == b"\xff\xd8":
                return _jpeg(f)
            if head[:8] == b"\x89PNG\r\n\x1a\n":
                return _png(f)
            if head[:4] in (b"II*\x00", b"MM\x00*"):
                def read_at(off: int, n: int) -> bytes:
                    f.seek(off)
                    return f.read(n)

                return orientation_from_tiff(read_at)
            if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
                return _webp(f)
    except (OSError, struct.error, ValueError):
        return 1
    return 1


def upright(image: np.ndarray, orientation: int) -> np.ndarray:
    """The stored ``(H, W[, C])`` picture turned as EXIF ``orientation`` says (see the table);
    contiguous. 1 (or an unknown value) returns ``image`` itself."""
    o = int(orientation)
    if o == 2:
        out = image[:, ::-1]
    elif o == 3:
        out = image[::-1, ::-1]
    elif o == 4:
        out = image[::-1]
    elif o == 5:
        out = image.swapaxes(0, 1)
    elif o == 6:
        out = np.rot90(image, -1)
    elif o == 7:
        out = image[::-1, ::-1].swapaxes(0, 1)
    elif o == 8:
        out = np.rot90(image, 1)
    else:
        return image
    return np.ascontiguousarray(out)
