"""Carry the audio and subtitle streams of an input file into an output container.

Stream copy first: packets are muxed untouched (bit-identical), only their timestamps are
rescaled to the output stream's time base; audio the container cannot hold as is is
decoded and re-encoded (see :func:`vidmatte.io.audio.plan_streams`). Packets are pumped in
step with the video (``pump(until=t)``) so the file is interleaved as it is written.

Muxers refuse a packet whose dts does not increase ("Invalid argument"), which a loop seam
or a careless remux produces. Such a packet is moved one tick after the previous one when
it overlaps it by less than its own duration, and dropped when it lies wholly in the past
(audio already played), as ``ffmpeg -c copy`` does; the count is said in one warning, and
:func:`vidmatte.io.audio.scan_timing` says it before the work starts. The video is never
lost for it.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Iterator, Optional, Union

import av

from vidmatte.errors import InputError, warn
from vidmatte.io.audio import describe, plan_streams, scan_timing, timecode_of

__all__ = ["StreamPassthrough"]


class _Track:
    """One kept stream: where its packets go, and the timing repairs made on the way."""

    def __init__(self, ins, out, mode: str):
        self.ins, self.out, self.mode = ins, out, mode
        self.last: Optional[int] = None  # last muxed dts, in the output time base
        self.retimed = self.dropped = 0
        self.first_fix: Optional[float] = None

    def fit(self, packet: av.Packet) -> bool:
        """Rescale ``packet`` to the output time base and make its dts increase; False: drop it."""
        otb = Fraction(self.out.time_base)
        itb = Fraction(packet.time_base) if packet.time_base is not None else otb
        if otb != itb:
            pts, dts, dur = (None if v is None else round(v * itb / otb) for v in (packet.pts, packet.dts, packet.duration))
            packet.time_base = otb
            packet.pts, packet.dts = pts, dts
            if dur is not None:
                packet.duration = dur
        dts = packet.dts
        if dts is None:
            return True
        if self.last is not None and dts <= self.last:
            behind = self.last - dts
            if self.first_fix is None:
                self.first_fix = float(dts * otb)
            if (packet.duration and behind >= packet.duration) or (not packet.duration and behind > 0):
                self.dropped += 1
                return False
            shift = self.last + 1 - dts
            packet.dts = dts + shift
            if packet.pts is not None:
                packet.pts += shift
            self.retimed += 1
        self.last = packet.dts
        return True


class StreamPassthrough:
    """Every audio and subtitle stream of ``source`` that fits, added to ``output``.

    Args:
        source: path of the file whose streams are kept.
        output: an open ``av`` output container; streams are added at construction, so
            create this before the first packet is muxed.
        container: muxer name of ``output`` ("mp4", "mov", "webm", "matroska").
        target: the output's name, for messages.

    Attributes:
        mode: the first audio stream's "copy" or encoder name; ``None`` without audio.
        tracks: the kept streams; ``dropped``: descriptions of the streams left out.
        retimed, skipped: packets moved / dropped to keep timestamps increasing.
    """

    def __init__(self, source: Union[str, os.PathLike], output, container: str, target: Optional[str] = None):
        self.source = os.fspath(source)
        try:
            self._in = av.open(self.source, metadata_errors="ignore")
        except av.error.FFmpegError as e:
            raise InputError(f"cannot read audio from {source}: {e.strerror or e}") from None
        self._out, self.packets, self.tracks = output, 0, []
        self._announced, self._held = False, None
        kept, self.dropped = plan_streams(self._in, container)
        self.timecode = timecode_of(self._in)
        if self.timecode and output.streams.video:
            output.streams.video[0].metadata["timecode"] = self.timecode
        for ins, mode in kept:
            if mode == "copy":
                out = output.add_stream_from_template(ins)
            else:
                rate = 48000 if mode == "libopus" else (ins.sample_rate or 48000)
                layout = ins.layout.name if ins.layout and ins.layout.nb_channels <= 2 else "stereo"
                out = output.add_stream(mode, rate=rate, layout=layout)
            self.tracks.append(_Track(ins, out, mode))
        audio = [t for t in self.tracks if t.ins.type == "audio"]
        self.mode: Optional[str] = audio[0].mode if audio else None
        self.stream = audio[0].out if audio else None
        name = os.path.basename(self.source)
        if self.dropped:
            warn(f"{name}: not kept in {target or 'the output'}: " + "; ".join(self.dropped))
        if self.tracks:
            bad = scan_timing(self.source, [t.ins.index for t in self.tracks])
            if bad:
                n, first = sum(map(len, bad.values())), min(min(v) for v in bad.values())
                streams = ", ".join(describe(self._in.streams[i]) for i in bad)
                warn(f"{name}: {n} packet(s) of {streams} repeat or go back in time (first at {first:.2f} s); "
                     "they will be retimed or dropped so the rest is kept")
                self._announced = True
            self._queue: Iterator[tuple[_Track, av.Packet]] = self._produce()
        else:
            self.close()

    def _produce(self) -> Iterator[tuple[_Track, av.Packet]]:
        by_index = {t.ins.index: t for t in self.tracks}
        try:
            for packet in self._in.demux([t.ins for t in self.tracks]):
                if not packet.size:
                    continue
                track = by_index[packet.stream.index]
                if track.mode == "copy":
                    yield track, packet
                    continue
                for frame in track.ins.decode(packet):
                    for p in track.out.encode(frame):
                        yield track, p
        except av.error.FFmpegError:  # a damaged tail: keep what came before (the video reports it)
            pass
        for track in self.tracks:
            if track.mode == "copy":
                continue
            try:
                for frame in track.ins.decode(None):
                    for p in track.out.encode(frame):
                        yield track, p
            except av.error.FFmpegError:
                pass
            for p in track.out.encode(None):
                yield track, p

    @staticmethod
    def _time(packet: av.Packet) -> Optional[Fraction]:
        ts = packet.pts if packet.pts is not None else packet.dts
        return None if ts is None or packet.time_base is None else ts * packet.time_base

    def pump(self, until: Optional[float] = None) -> None:
        """Mux packets that start at or before ``until`` seconds (all when ``None``)."""
        if not self.tracks:
            return
        self._out.start_encoding()  # the header fixes each stream's time base: fit() works in it
        while True:
            item = self._held if self._held is not None else next(self._queue, None)
            self._held = None
            if item is None:
                return
            track, packet = item
            t = self._time(packet)
            if until is not None and t is not None and t > until:
                self._held = item
                return
            packet.stream = track.out
            if track.fit(packet):
                self._out.mux(packet)
                self.packets += 1

    @property
    def retimed(self) -> int:
        return sum(t.retimed for t in self.tracks)

    @property
    def skipped(self) -> int:
        return sum(t.dropped for t in self.tracks)

    def close(self) -> None:
        """Release the input file (idempotent); call :meth:`pump` first to finish the streams."""
        if self._in is None:
            return
        fixed = [t for t in self.tracks if t.retimed or t.dropped]
        if fixed and not self._announced:
            first = min(t.first_fix for t in fixed)
            warn(f"{os.path.basename(self.source)}: {self.retimed} packet(s) retimed and {self.skipped} dropped "
                 f"whose timestamps repeated or went back (first at {first:.2f} s)")
        self._in.close()
        self._in = None

