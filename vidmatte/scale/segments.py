"""Cutting a long video into segments that workers process alone, with invisible seams.

* :func:`scan` demuxes the video stream (no decoding) for every frame's presentation time
  and the keyframes;
* :func:`plan_segments` cuts at the first keyframe ``seconds`` after the previous cut;
  each :class:`Segment` lists the times a worker decodes: ``context`` frames before the
  segment (they warm the temporal smoother up and are not written), the segment, and the
  ``after`` frames a look-ahead smoother needs to finish the segment's last frames;
* :class:`SegmentFrames` is the pipeline's source for one segment (decoding starts at the
  keyframe before the first context frame), :class:`SegmentSink` writes only the segment's
  own frames to a piece file.

A smoother that keeps a share ``m`` of its previous matte forgets a difference in its
starting state as ``m**n`` after ``n`` frames: :func:`warmup_frames` picks ``n`` so that
what is left is below half a level of 8-bit alpha.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterator, Optional, Union

from vidmatte.errors import InputError

__all__ = ["Scan", "Segment", "scan", "plan_segments", "warmup_frames", "SegmentFrames", "SegmentSink",
           "MAX_WARMUP"]

PathLike = Union[str, os.PathLike]
#: warm-up frames at most (5 s at 30 fps), and for smoothers that do not say what they need
MAX_WARMUP = 150
DEFAULT_WARMUP = 60


@dataclass(frozen=True)
class Scan:
    """Presentation times of a file's video frames (sorted) and which of them are keyframes."""

    time_base: Fraction
    pts: tuple[int, ...]
    keyframes: tuple[int, ...]  # positions in ``pts``

    @property
    def frames(self) -> int:
        return len(self.pts)


@dataclass(frozen=True)
class Segment:
    """What one worker decodes and writes.

    Attributes:
        pts: presentation times to decode, in the input's time base: context, own, look-ahead.
        first_index: the frame number (in the whole file) of ``pts[0]``.
        keep: ``(lo, hi)`` positions in ``pts`` of the frames this segment writes.
        shift: subtracted from each written pts, so a piece in an MP4/MOV starts at 0
            (their edit lists keep a later start only to the millisecond); the join adds it back.
        lookahead: the look-ahead frames it was planned for (fewer at the end of the file).
    """

    pts: tuple[int, ...]
    first_index: int
    keep: tuple[int, int]
    shift: int = 0
    lookahead: int = 0

    @property
    def frames(self) -> int:
        return self.keep[1] - self.keep[0]


def scan(path: PathLike) -> Optional[Scan]:
    """Demux the first video stream; ``None`` when its timestamps cannot be cut on
    (missing or repeated pts). Raises :class:`InputError` for unreadable files."""
    import av

    try:
        with av.open(os.fspath(path), metadata_errors="ignore") as c:
            if not c.streams.video:
                raise InputError(f"{path} has no video stream; give a video file")
            vs = c.streams.video[0]
            packets = [(p.pts, p.is_keyframe) for p in c.demux(vs) if p.size]
            tb = vs.time_base
    except av.error.FFmpegError as e:
        raise InputError(f"cannot read {path}: not a media file, or corrupt/truncated ({e.strerror or e})") from None
    if not packets:
        raise InputError(f"{path} has a video stream but no frames; the file is damaged")
    if any(p is None for p, _ in packets) or tb is None:
        return None
    pts = sorted(p for p, _ in packets)
    if len(set(pts)) != len(pts):
        return None
    where = {p: i for i, p in enumerate(pts)}
    keys = sorted(where[p] for p, key in packets if key)
    return Scan(Fraction(tb), tuple(pts), tuple(keys))


def plan_segments(scan: Scan, seconds: float, *, context: int = 0, after: int = 0,
                  shift: bool = False) -> list[Segment]:
    """Segments of at least ``seconds`` each, cut at keyframes (the last one may be shorter).

    ``context`` and ``after``: frames decoded before and after each segment (fewer at the
    ends of the file); ``shift``: pieces start at pts 0 (see :class:`Segment`).
    """
    if seconds <= 0:
        raise ValueError("segment length must be > 0 seconds")
    step = Fraction(seconds).limit_denominator(1_000_000) / scan.time_base
    cuts = [0]
    for k in scan.keyframes:
        if k > 0 and scan.pts[k] - scan.pts[cuts[-1]] >= step:
            cuts.append(k)
    bounds = list(zip(cuts, cuts[1:] + [scan.frames]))
    out = []
    for lo, hi in bounds:
        a, b = max(0, lo - context), min(scan.frames, hi + after)
        out.append(Segment(scan.pts[a:b], a, (lo - a, hi - a), scan.pts[lo] if shift else 0, after))
    return out


def warmup_frames(smoother: Any, levels: float = 0.5) -> int:
    """Frames to feed ``smoother`` before a segment so its state matches a full run to
    within ``levels`` of 8-bit alpha (0 without smoothing, at most :data:`MAX_WARMUP`).

    A smoother may say it itself (an int ``warmup`` attribute); otherwise the kept share
    is ``1 - floor`` (gated EMA) or ``1 - weight`` (plain EMA).
    """
    if smoother is None or type(smoother).__name__ == "NoSmoothing":
        return 0
    own = getattr(smoother, "warmup", None)
    if isinstance(own, int):
        return max(0, own)
    new = getattr(smoother, "floor", getattr(smoother, "weight", None))
    if new is None:
        return DEFAULT_WARMUP
    keep = 1.0 - float(new)
    if keep <= 0.0:
        return 1  # the gated EMA still needs the previous frame for its motion gate
    return max(1, min(MAX_WARMUP, math.ceil(math.log(levels / 255.0) / math.log(keep))))


class SegmentFrames:
    """The pipeline source for one segment: its frames decoded from ``source`` (a
    :class:`~vidmatte.io.sources.VideoSource`), numbered as in the whole file."""

    def __init__(self, source, segment: Segment):
        self.source, self.segment = source, segment
        self.width, self.height = source.width, source.height
        self.fps, self.time_base = source.fps, source.time_base
        self.frame_count = len(segment.pts)

    def __iter__(self) -> Iterator[Any]:
        where = {p: i for i, p in enumerate(self.segment.pts)}
        last, n = self.segment.pts[-1], 0
        for frame in self.source.read_from(self.segment.pts[0]):
            if frame.pts > last:
                break
            i = where.get(frame.pts)
            if i is None:
                raise InputError(f"{self.source.path}: decoding gave a frame at pts {frame.pts} that the container "
                                 "does not list; run without --segment")
            frame.index = self.segment.first_index + i
            n += 1
            yield frame
            if frame.pts == last:
                break
        if n == 0:
            raise InputError(f"{self.source.path}: no frame decoded from pts {self.segment.pts[0]} on")


class SegmentSink:
    """Writes the segment's own frames to ``sink`` (context and look-ahead frames are dropped).

    ``progress(frames_written)`` is called after each frame written.
    On :meth:`close` the frames a look-ahead smoother still holds (``processor.flush()``,
    when it has one) are written first.
    """

    def __init__(self, sink, segment: Segment, processor=None, progress: Optional[Callable[[int], None]] = None):
        self.sink, self.segment, self.processor = sink, segment, processor
        lo, hi = segment.keep
        self._keep = set(segment.pts[lo:hi])
        self._progress = progress
        self.frames = 0

    @property
    def accepts(self):
        return self.sink.accepts

    def write(self, frame) -> None:
        if frame.pts not in self._keep:
            return
        if self.segment.shift:
            frame = dataclasses.replace(frame, pts=frame.pts - self.segment.shift)
        self.sink.write(frame)
        self.frames += 1
        if self._progress is not None:
            self._progress(self.frames)

    def close(self):
        flush = getattr(self.processor, "flush", None)
        if callable(flush):
            for frame in flush():
                self.write(frame)
        if self.frames != len(self._keep):
            self.sink.abort()
            raise InputError(f"segment decoded {self.frames} of its {len(self._keep)} frames; the file may be "
                             "damaged (run without --segment)")
        return self.sink.close()

    def abort(self) -> None:
        self.sink.abort()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.abort() if exc_type is not None else self.close()
