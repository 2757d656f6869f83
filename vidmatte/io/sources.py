"""The video-file source (PyAV); frames go through :func:`vidmatte.io.convert.to_rgb`.

``VideoSource`` decodes the first frame when it opens, so a file that yields no picture
fails before any output is created, and the rotation (display matrix) is known up front.

Damaged files: packets the decoder rejects are skipped; if the demuxer fails mid-file (cut
download) iteration stops there, keeping every frame decoded so far. What was lost (frames,
time ranges; :mod:`vidmatte.io.damage`) is said in one warning at the end, and kept in
``source.damage``; ``strict=True`` makes the first loss an :class:`InputError` instead. A file
that yields no frame at all is an :class:`InputError`.

A picture size that changes mid-stream (a broadcast TS, joined clips) is fitted to the first
frame's size, with one warning naming the frames (:mod:`vidmatte.io.size_changes`).

Sources of more than 8 bits (10-bit HEVC, ProRes, DPX in MOV, ...) can be decoded to uint16
``rgb48`` frames (``deep=True``, or ``deep=None``: when the stream has more than 8 bits).
"""

from __future__ import annotations

import itertools
import os
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional, Union

import av
import numpy as np

from vidmatte.errors import InputError, warn
from vidmatte.frame import Frame
from vidmatte.io.convert import bit_depth, rotation_of, to_rgb
from vidmatte.io.damage import LossTracker
from vidmatte.io.hdr import describe_hdr, hdr_transfer
from vidmatte.io.size_changes import SizeChanges

__all__ = ["VideoSource", "to_rgb", "rotation_of", "bit_depth"]

PathLike = Union[str, os.PathLike]
_THREADING = {"frame": "FRAME", "slice": "SLICE", "auto": "AUTO", "none": "NONE"}
#: consecutive undecodable packets after which a file is given up on
MAX_CONSECUTIVE_ERRORS = 100


def _open_container(path: Path):
    if not path.exists():
        raise InputError(f"input file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder; open it with open_source (folders of frames are image sequences) "
                         "or give a video file")
    if path.stat().st_size == 0:
        raise InputError(f"input file {path} is empty (0 bytes); re-export or re-download it")
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as e:
        reason = e.strerror or type(e).__name__
        raise InputError(f"cannot read {path}: not a media file, or corrupt/truncated ({reason})") from None
    except OSError as e:
        raise InputError(f"cannot open {path}: {e.strerror or e}") from None


class VideoSource:
    """Frames of a video file, upright and in RGB.

    Args:
        path: the file.
        threading: decoder threading, "frame" (fastest offline), "slice" (lower latency) or "none".
        with_alpha: yield ``(H, W, 4)`` RGBA; VP9/VP8 are decoded with libvpx, the only FFmpeg
            decoders that keep WebM's alpha (files without alpha give 255).
        scale: ``(W, H)`` to scale each picture to while converting (before rotation).
        deep: yield uint16 ``rgb48`` (``rgba64``) frames; ``None``: when the stream has more
            than 8 bits per component.
        strict: a lost or damaged frame is an :class:`InputError` (default: one warning at the end).

    Yields :class:`Frame` with ``image`` ``(H, W, 3)`` uint8 (uint16 when deep), ``pts`` in
    ``time_base`` units.
    """

    def __init__(self, path: PathLike, *, threading: str = "frame", with_alpha: bool = False,
                 scale: Optional[tuple[int, int]] = None, deep: Optional[bool] = False, strict: bool = False):
        if threading not in _THREADING:
            raise ValueError(f"threading must be one of {sorted(_THREADING)}")
        self.path = Path(path)
        self.threading = threading
        self.with_alpha = with_alpha
        self.scale = scale
        self.strict = strict
        self.errors: list[str] = []
        self.interlaced = False  # set when interlaced frames were met (and deinterlaced)
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
        self.rotation = rotation_of(self._first, self._stream)
        self.deep = bit_depth(self._first) > 8 if deep is None else bool(deep)
        self._describe()
        self.size_changes = SizeChanges(str(self.path), self.width, self.height)

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
        st = self._stream
        rate = st.average_rate or st.guessed_rate
        self.damage = LossTracker(st.time_base, rate, st.start_time or 0)

    def _describe(self) -> None:
        """Cache what the file says about itself (valid after :meth:`close`, too)."""
        st, c = self._stream, self._container
        self.time_base: Fraction = st.time_base
        #: time (seconds) of the first frame: where the picture's clock starts (timed backgrounds)
        self.first_time: float = float(self._first.pts * st.time_base) if self._first.pts is not None else 0.0
        rate = st.average_rate or st.guessed_rate
        self.fps: Optional[Fraction] = Fraction(rate) if rate else None
        if st.duration is not None:
            self.duration: Optional[float] = float(st.duration * st.time_base)
        else:
            self.duration = c.duration / av.time_base if c.duration else None
        self.frame_count: Optional[int] = int(st.frames) if st.frames else (
            int(round(self.duration * self.fps)) if self.duration and self.fps else None)
        self.has_audio = bool(c.streams.audio)
        self.extra_streams = len(c.streams) - 1  # audio, subtitles, data, ... beside the video
        w, h = self._first.width, self._first.height
        self.width, self.height = (h, w) if self.rotation in (90, 270) else (w, h)
        self.has_alpha = self._first.format.name.startswith(("yuva", "gbrap", "rgba", "bgra", "argb", "abgr"))
        sar = Fraction(st.sample_aspect_ratio or st.codec_context.sample_aspect_ratio or 1) or Fraction(1)  # 0: unknown
        #: pixel aspect ratio when not square (``None``: square), as shown (after rotation)
        self.sample_aspect_ratio = (1 / sar if self.rotation in (90, 270) else sar) if sar != 1 else None
        # VP9's alpha is in a side stream the native decoder drops: the WebM tag says it is there
        self.has_alpha |= any(k.lower() == "alpha_mode" and v == "1" for k, v in st.metadata.items())
        self.hdr = hdr_transfer(self._first)  # PQ / HLG: to_rgb tone-maps it
        if self.hdr is not None and not getattr(self, "_hdr_told", False):
            self._hdr_told = True
            warn(f"{self.path.name}: HDR input ({describe_hdr(self._first)}) is tone-mapped to SDR BT.709 "
                 "(reference white 203 nits); the output is SDR BT.709")

    # ---- decoding ------------------------------------------------------------------
    def _packets(self) -> Iterator[av.Packet]:
        try:
            for packet in self._container.demux(self._stream):
                if packet.size:
                    self.damage.expect(None if packet.is_discard else packet.pts)
                    yield packet
                elif packet.dts is not None:  # an empty "repeat the last frame" entry (AVI) is in the index too
                    self.damage.packets += 1
        except av.error.FFmpegError as e:
            self.damage.stopped = f"{e.strerror or e}; the file looks truncated"

    def _check(self, lost: int, frame: av.VideoFrame) -> None:
        if self.strict and (lost or frame.is_corrupt):
            what = f"{lost} frame(s) before {frame.time or 0:.2f} s could not be decoded" if lost else \
                f"the frame at {frame.time or 0:.2f} s has decoding errors"
            raise InputError(f"{self.path} is damaged: {what} (--strict)")

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Decoded frames; interlaced ones go through ``bwdif`` (:func:`vidmatte.io.deinterlace.deinterlaced`),
        with one warning the first time."""
        from vidmatte.io.deinterlace import deinterlaced, field_order

        def started() -> None:
            self.interlaced = True
            if not getattr(self, "_told_interlaced", False):
                self._told_interlaced = True
                warn(f"{self.path.name}: the input is interlaced ({field_order(self._stream)}); it is deinterlaced "
                     "(bwdif, one frame per frame) and the output is progressive")

        return deinterlaced(self._decode_raw(), self._stream.time_base, started)

    def _decode_raw(self) -> Iterator[av.VideoFrame]:
        bad = 0
        for packet in self._packets():
            try:
                frames = self._decoder.decode(packet)
                bad = 0
            except av.error.FFmpegError as e:
                self.errors.append(f"undecodable packet at pts {packet.pts}: {e.strerror or e}")
                bad += 1
                if bad > MAX_CONSECUTIVE_ERRORS:
                    self.damage.stopped = f"gave up after {bad} undecodable packets"
                    break
                continue
            for f in frames:
                self._check(self.damage.decoded(f.pts, f.is_corrupt), f)
                yield f
        try:
            for f in self._decoder.decode(None):
                self._check(self.damage.decoded(f.pts, f.is_corrupt), f)
                yield f
        except av.error.FFmpegError as e:  # flushing a damaged stream
            self.errors.append(f"decoder flush failed: {e.strerror or e}")
        self._report()

    def _report(self) -> None:
        """Close the books on what was lost: one warning, or an error when strict."""
        self.damage.finish(declared_frames=int(self._stream.frames or 0) or None, duration=getattr(self, "duration", None))
        msg = self.damage.summary(str(self.path))
        if msg is None or msg in self.errors:  # a looped background says it once
            return
        self.errors.append(msg)
        if self.strict:
            raise InputError(msg + " (--strict)")
        warn(msg + "; the output leaves them out (--strict: stop instead)")

    def _to_image(self, frame: av.VideoFrame) -> np.ndarray:
        return to_rgb(frame, rotation=self.rotation, with_alpha=self.with_alpha, size=self.scale, deep=self.deep)

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
            yield self._frame(f, pts, index)
            index += 1
        if index == 0:
            raise InputError(f"{self.path} yielded no decodable frame; the file is damaged")
        self.size_changes.report()

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
            yield self._frame(f, f.pts, index)
            index += 1
        self.size_changes.report()

    def _frame(self, f: av.VideoFrame, pts: int, index: int) -> Frame:
        """One decoded frame as a :class:`Frame` in this source's pixel format."""
        fmt = {(False, False): "rgb24", (True, False): "rgb48", (False, True): "rgba", (True, True): "rgba64"}[
            (self.deep, self.with_alpha)]
        meta = {"rotation": self.rotation, "source": str(self.path)}
        image = self._to_image(f)
        if self.scale is None:  # a size change mid-stream: fitted to the first size (io.size_changes)
            image = self.size_changes.fit(image, index)
        return Frame(image=image, pts=pts, time_base=self.time_base, index=index, meta=meta, format=fmt)

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
