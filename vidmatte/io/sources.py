"""The video-file source (PyAV) and the one frame conversion every decoder path shares.

``VideoSource`` decodes the first frame when it opens, so a file that yields no picture
fails before any output is created, and the rotation (display matrix) is known up front.

Damaged files: packets the decoder rejects are skipped and counted in ``source.errors``;
if the demuxer fails mid-file (cut download) iteration stops there with a warning, keeping
every frame decoded so far. A file that yields no frame at all is an :class:`InputError`.
"""

from __future__ import annotations

import itertools
import os
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional, Union

import av
import numpy as np

from vidmatte.errors import InputError
from vidmatte.frame import Frame

__all__ = ["VideoSource", "to_rgb", "rotation_of"]

PathLike = Union[str, os.PathLike]
_THREADING = {"frame": "FRAME", "slice": "SLICE", "auto": "AUTO", "none": "NONE"}
#: consecutive undecodable packets after which a file is given up on
MAX_CONSECUTIVE_ERRORS = 100


def _open_container(path: Path):
    if not path.exists():
        raise InputError(f"input file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a video file, or frames as {path}/%06d.png")
    if path.stat().st_size == 0:
        raise InputError(f"input file {path} is empty (0 bytes); re-export or re-download it")
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as e:
        reason = e.strerror or type(e).__name__
        raise InputError(f"cannot read {path}: not a media file, or corrupt/truncated ({reason})") from None
    except OSError as e:
        raise InputError(f"cannot open {path}: {e.strerror or e}") from None


def _alpha_plane(frame: av.VideoFrame) -> np.ndarray:
    """The frame's alpha as ``(H, W)`` uint8 (higher bit depths rounded), 255 when it has none."""
    name = frame.format.name
    if not name.startswith(("yuva", "gbrap")):
        if name in ("rgba", "bgra", "argb", "abgr"):
            return frame.to_ndarray(format="rgba")[..., 3]
        return np.full((frame.height, frame.width), 255, np.uint8)
    plane = frame.planes[3]
    digits = "".join(c for c in name.rsplit("p", 1)[-1] if c.isdigit())
    if not digits:
        return np.frombuffer(plane, np.uint8).reshape(plane.height, -1)[:, : frame.width]
    bits = int(digits)
    a = np.frombuffer(plane, np.uint16).reshape(plane.height, -1)[:, : frame.width].astype(np.uint32)
    return ((a * 255 + ((1 << bits) - 1) // 2) // ((1 << bits) - 1)).astype(np.uint8)


def rotation_of(frame: av.VideoFrame, stream=None) -> int:
    """Clockwise quarter turns to show ``frame`` upright, in degrees (0, 90, 180, 270).

    The display matrix gives degrees counter-clockwise; the legacy ``rotate`` tag counts clockwise.
    """
    tag = stream.metadata.get("rotate", 0) if stream is not None else 0
    deg = frame.rotation or -int(float(tag or 0))
    return int(round(deg / 90.0)) * 90 % 360


def to_rgb(frame: av.VideoFrame, *, rotation: int = 0, with_alpha: bool = False,
           size: Optional[tuple[int, int]] = None) -> np.ndarray:
    """A decoded frame → upright ``(H, W, 3)`` (or ``(H, W, 4)``) uint8 RGB(A).

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
    img = frame.to_ndarray(format="rgb24", **kw)
    if with_alpha:
        alpha = _alpha_plane(frame)
        if alpha.shape != img.shape[:2]:
            import cv2

            alpha = cv2.resize(alpha, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_AREA)
        img = np.dstack([img, alpha])
    if rotation:
        img = np.rot90(img, k=rotation // 90)
    return np.ascontiguousarray(img)


class VideoSource:
    """Frames of a video file, upright and in RGB.

    Args:
        path: the file.
        threading: decoder threading, "frame" (fastest offline), "slice" (lower latency) or "none".
        with_alpha: yield ``(H, W, 4)`` RGBA; VP9/VP8 are decoded with libvpx, the only FFmpeg
            decoders that keep WebM's alpha (files without alpha give 255).
        scale: ``(W, H)`` to scale each picture to while converting (before rotation).

    Yields :class:`Frame` with ``image`` ``(H, W, 3)`` uint8, ``pts`` in ``time_base`` units.
    """

    def __init__(self, path: PathLike, *, threading: str = "frame", with_alpha: bool = False,
                 scale: Optional[tuple[int, int]] = None):
        if threading not in _THREADING:
            raise ValueError(f"threading must be one of {sorted(_THREADING)}")
        self.path = Path(path)
        self.threading = threading
        self.with_alpha = with_alpha
        self.scale = scale
        self.errors: list[str] = []
        self._container = None
        self._iterated = False
        self._open()
        try:
            self._gen = self._decode()
            self._first = next(self._gen, None)
        except BaseException:
            self.close()
            raise
        if self._first is None:
            self.close()
            raise InputError(f"{self.path} has a video stream but no decodable frame; the file is damaged")
        self.rotation = self._rotation_of(self._first)
        self._describe()

    # ---- opening -------------------------------------------------------------------
    def _open(self) -> None:
        self._container = _open_container(self.path)
        if not self._container.streams.video:
            kinds = sorted({s.type for s in self._container.streams})
            held = f"it holds only {', '.join(kinds)}" if kinds else "it holds no streams at all"
            self.close()
            raise InputError(f"{self.path} has no video stream ({held}); give a video file")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = _THREADING[self.threading]
        name = self._stream.codec_context.name
        self._decoder = self._stream.codec_context
        if self.with_alpha and name in ("vp9", "vp8"):
            self._decoder = av.CodecContext.create("libvpx-vp9" if name == "vp9" else "libvpx", "r")

    def _rotation_of(self, frame: av.VideoFrame) -> int:
        return rotation_of(frame, self._stream)

    def _describe(self) -> None:
        """Cache what the file says about itself (valid after :meth:`close`, too)."""
        st, c = self._stream, self._container
        self.time_base: Fraction = st.time_base
        rate = st.average_rate or st.guessed_rate
        self.fps: Optional[Fraction] = Fraction(rate) if rate else None
        if st.duration is not None:
            self.duration: Optional[float] = float(st.duration * st.time_base)
        else:
            self.duration = c.duration / av.time_base if c.duration else None
        self.frame_count: Optional[int] = int(st.frames) if st.frames else (
            int(round(self.duration * self.fps)) if self.duration and self.fps else None)
        self.has_audio = bool(c.streams.audio)
        w, h = self._first.width, self._first.height
        self.width, self.height = (h, w) if self.rotation in (90, 270) else (w, h)
        self.has_alpha = self._first.format.name.startswith(("yuva", "gbrap", "rgba", "bgra", "argb", "abgr"))

    # ---- decoding ------------------------------------------------------------------
    def _packets(self) -> Iterator[av.Packet]:
        try:
            for packet in self._container.demux(self._stream):
                if packet.size:
                    yield packet
        except av.error.FFmpegError as e:
            msg = f"{self.path}: reading stopped early ({e.strerror or e}); the file looks truncated"
            self.errors.append(msg)
            warnings.warn(msg, stacklevel=3)

    def _decode(self) -> Iterator[av.VideoFrame]:
        bad = 0
        for packet in self._packets():
            try:
                frames = self._decoder.decode(packet)
                bad = 0
            except av.error.FFmpegError as e:
                self.errors.append(f"undecodable packet at pts {packet.pts}: {e.strerror or e}")
                bad += 1
                if bad > MAX_CONSECUTIVE_ERRORS:
                    warnings.warn(f"{self.path}: giving up after {bad} undecodable packets", stacklevel=3)
                    return
                continue
            yield from frames
        try:
            yield from self._decoder.decode(None)
        except av.error.FFmpegError as e:  # flushing a damaged stream
            self.errors.append(f"decoder flush failed: {e.strerror or e}")

    def _to_image(self, frame: av.VideoFrame) -> np.ndarray:
        return to_rgb(frame, rotation=self.rotation, with_alpha=self.with_alpha, size=self.scale)

    def __iter__(self) -> Iterator[Frame]:
        if self._iterated:  # a second pass starts again from the top
            self.close()
            self._open()
            frames = self._decode()
        else:
            frames = itertools.chain([self._first], self._gen)
        self._iterated = True
        step = max(1, round(1 / (self.fps * self.time_base))) if self.fps else 1
        index, last = 0, None
        for f in frames:
            pts = f.pts if f.pts is not None else (last + step if last is not None else 0)
            last = pts
            meta = {"rotation": self.rotation, "source": str(self.path)}
            yield Frame(image=self._to_image(f), pts=pts, time_base=self.time_base, index=index, meta=meta)
            index += 1
        if index == 0:
            raise InputError(f"{self.path} yielded no decodable frame; the file is damaged")

    def read_from(self, pts: int) -> Iterator[Frame]:
        """Frames whose ``pts`` is at or after ``pts`` (in :attr:`time_base`), in order.

        Seeks to the keyframe at or before ``pts`` and decodes from there; a demuxer that
        lands after ``pts`` (B-frames: seeking goes by decode time) is asked again further
        back, down to the start of the file. ``index`` counts from 0 at the first frame yielded.
        """
        for back in (0, int(1 / self.time_base), int(10 / self.time_base), None):
            self.close()
            self._open()
            self._iterated = True
            if back is not None and pts - back > 0:
                self._container.seek(pts - back, stream=self._stream, backward=True, any_frame=False)
            frames = self._decode()
            first = next(frames, None)
            if first is None or first.pts is None or first.pts <= pts or back is None:
                break
        index = 0
        for f in itertools.chain([first] if first is not None else [], frames):
            if f.pts is None or f.pts < pts:
                continue
            meta = {"rotation": self.rotation, "source": str(self.path)}
            yield Frame(image=self._to_image(f), pts=f.pts, time_base=self.time_base, index=index, meta=meta)
            index += 1

    def __len__(self) -> int:
        n = self.frame_count
        if n is None:
            raise TypeError("frame count unknown for this file")
        return n

    # ---- lifetime ------------------------------------------------------------------
    def close(self) -> None:
        """Release the file; safe to call more than once."""
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> "VideoSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VideoSource({str(self.path)!r}, {self.width}x{self.height}, fps={self.fps}, rotation={self.rotation})"
