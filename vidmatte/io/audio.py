"""Which streams of an input go into an output container, and how (tables and checks only).

Every audio and subtitle stream is kept when the output container can hold it: a stream copy
(packets muxed untouched) when it takes the codec, else audio is re-encoded (Opus for WebM,
AAC for MP4/MOV). Streams that cannot go in (subtitles the container has no format for,
data tracks, attachments, extra video) are listed so the user is told; a timecode track is
carried as the output video's timecode.
:func:`scan_timing` finds packets whose timestamps repeat or run backwards (a loop seam,
a bad remux) before the long work starts. :mod:`vidmatte.io.passthrough` does the muxing.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

import av

__all__ = ["COPYABLE", "SUBTITLES", "REENCODE_TO", "plan_streams", "describe", "scan_timing", "timecode_of"]

#: audio codecs each output container takes as a stream copy (None: anything)
COPYABLE: dict[str, Optional[frozenset]] = {
    "mp4": frozenset({"aac", "mp3", "opus", "flac", "alac", "ac3", "eac3"}),
    "mov": frozenset({"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_f32le"}),
    "webm": frozenset({"opus", "vorbis"}),
    "matroska": None,
    "nut": None,
    # stream outputs (vidmatte.io.stream): FLV for RTMP, MPEG-TS for SRT/UDP/TCP/RTP, RTSP push
    "flv": frozenset({"aac", "mp3"}),
    "mpegts": frozenset({"aac", "mp3", "mp2", "ac3", "eac3", "opus"}),
    "rtp_mpegts": frozenset({"aac", "mp3", "mp2", "ac3", "eac3", "opus"}),
    "rtsp": frozenset({"aac", "opus"}),
}
#: subtitle codecs each container takes as a stream copy (decoder and codec names both listed)
SUBTITLES: dict[str, frozenset] = {
    "mp4": frozenset({"mov_text"}),
    "mov": frozenset({"mov_text"}),
    "webm": frozenset({"webvtt"}),
    "matroska": frozenset({"subrip", "srt", "ass", "ssa", "webvtt", "text", "dvd_subtitle", "dvdsub",
                           "hdmv_pgs_subtitle", "pgssub", "dvb_subtitle", "dvbsub"}),
}
#: encoder used when an audio copy is impossible
REENCODE_TO = {"mp4": "aac", "mov": "aac", "webm": "libopus", "matroska": "libopus", "nut": "libopus", "flv": "aac",
               "mpegts": "aac", "rtp_mpegts": "aac", "rtsp": "aac"}
_SUB_HINT = {"mp4": "MP4 holds only mov_text subtitles, write .mkv to keep it",
             "mov": "MOV holds only mov_text subtitles, write .mkv to keep it",
             "webm": "WebM holds only WebVTT subtitles, write .mkv to keep it",
             "matroska": "Matroska has no place for this subtitle codec"}


def describe(stream) -> str:
    """``audio #2 (aac, eng)``: how a stream is named in messages."""
    cc = getattr(stream, "codec_context", None)
    codec = cc.name if cc is not None else "unknown codec"
    lang = stream.metadata.get("language")
    extra = f", {lang}" if lang and lang != "und" else ""
    return f"{stream.type} #{stream.index} ({codec}{extra})"


def plan_streams(container, muxer: str) -> tuple[list[tuple[object, str]], list[str]]:
    """``(kept, dropped)`` for the streams of ``container`` besides its first video stream.

    ``kept``: ``(input stream, mode)`` with mode ``"copy"`` or the audio encoder's name;
    ``dropped``: one description per stream that ``muxer`` cannot hold, with the reason.
    """
    kept, dropped = [], []
    first_video = container.streams.video[0] if container.streams.video else None
    for s in container.streams:
        if s is first_video:
            continue
        cc = getattr(s, "codec_context", None)
        name = cc.name if cc is not None else None
        if s.type == "audio" and name:
            allowed = COPYABLE.get(muxer)
            kept.append((s, "copy" if allowed is None or name in allowed else REENCODE_TO.get(muxer, "aac")))
        elif s.type == "subtitle" and name in SUBTITLES.get(muxer, ()):
            kept.append((s, "copy"))
        elif s.type == "subtitle":
            dropped.append(f"{describe(s)}: {_SUB_HINT.get(muxer, 'write .mkv to keep it')}")
        elif s.type == "data" and "timecode" in s.metadata:
            continue  # a tmcd track: carried as the video's timecode (see timecode_of)
        elif s.type == "attachment" and muxer == "matroska":
            continue  # copied with the container's tags (vidmatte.io.carry)
        elif s.type == "attachment":
            dropped.append(f"{describe(s)} ({getattr(s, 'name', '') or 'unnamed'}): only Matroska holds "
                           "attachments, write .mkv to keep it")
        elif s.type == "video":
            dropped.append(f"{describe(s)}: only the first video stream is processed")
        else:
            dropped.append(f"{describe(s)}: {s.type} streams of this kind are not copied")
    return kept, dropped


def timecode_of(container) -> Optional[str]:
    """The start timecode (``"01:00:00:00"``) of the video or its tmcd track, if any; writing it
    as the output video stream's ``timecode`` makes MOV/MP4 write a tmcd track, Matroska a tag."""
    for s in list(container.streams.video[:1]) + list(container.streams.data):
        if s.metadata.get("timecode"):
            return s.metadata["timecode"]
    return None


def scan_timing(path: str, indexes: list[int]) -> dict[int, list[float]]:
    """Times (seconds) where a packet of stream ``i`` does not come after the one before it
    (dts repeated or running backwards), for each ``i`` of ``indexes`` that has any.

    Reads only packets, no decoding; a damaged tail ends the scan quietly.
    """
    found: dict[int, list[float]] = {}
    last: dict[int, int] = {}
    with av.open(path, metadata_errors="ignore") as c:
        streams = [c.streams[i] for i in indexes]
        try:
            for p in c.demux(streams):
                if not p.size or p.dts is None:
                    continue
                i = p.stream.index
                if i in last and p.dts <= last[i]:
                    found.setdefault(i, []).append(float(p.dts * Fraction(p.time_base)))
                last[i] = max(p.dts, last.get(i, p.dts))
        except av.error.FFmpegError:
            pass
    return found
