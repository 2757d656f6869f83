"""Carry the audio of an input file into an output container.

Stream copy first: packets are muxed untouched (bit-identical), only their timestamps are
rescaled to the output stream's time base. When the output container cannot hold the
codec (AAC in WebM, say) the audio is decoded and re-encoded: Opus for WebM, AAC for
MP4/MOV. Packets are pumped in step with the video (``pump(until=t)``) so the file is
interleaved as it is written instead of buffering all audio at the end.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Iterator, Optional, Union

import av

from vidmatte.errors import InputError

__all__ = ["AudioPassthrough", "COPYABLE", "REENCODE_TO"]

#: audio codecs each output container takes as a stream copy
COPYABLE: dict[str, Optional[frozenset]] = {
    "mp4": frozenset({"aac", "mp3", "opus", "flac", "alac", "ac3", "eac3"}),
    "mov": frozenset({"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_f32le"}),
    "webm": frozenset({"opus", "vorbis"}),
    "matroska": None,  # anything
}
#: encoder used when a copy is impossible
REENCODE_TO = {"mp4": "aac", "mov": "aac", "webm": "libopus", "matroska": "libopus"}


class AudioPassthrough:
    """The first audio stream of ``source`` added to ``output`` (copy or re-encode).

    Args:
        source: path of the file whose audio is kept.
        output: an open ``av`` output container; the stream is added at construction, so
            create this before the first packet is muxed.
        container: muxer name of ``output`` ("mp4", "mov", "webm", "matroska").

    Attributes:
        mode: "copy", or the encoder name when re-encoding; ``None`` when ``source`` has no audio.
    """

    def __init__(self, source: Union[str, os.PathLike], output, container: str):
        try:
            self._in = av.open(os.fspath(source), metadata_errors="ignore")
        except av.error.FFmpegError as e:
            raise InputError(f"cannot read audio from {source}: {e.strerror or e}") from None
        self.mode: Optional[str] = None
        self._out = output
        self.packets = 0
        if not self._in.streams.audio:
            self.close()
            return
        ins = self._in.streams.audio[0]
        allowed = COPYABLE.get(container)
        name = ins.codec_context.name
        if allowed is None or name in allowed:
            self.mode = "copy"
            self.stream = output.add_stream_from_template(ins)
        else:
            enc = REENCODE_TO.get(container, "aac")
            rate = 48000 if enc == "libopus" else (ins.sample_rate or 48000)
            layout = ins.layout.name if ins.layout and ins.layout.nb_channels <= 2 else "stereo"
            self.mode = enc
            self.stream = output.add_stream(enc, rate=rate, layout=layout)
        self._in_stream = ins
        self._queue: Iterator[av.Packet] = self._produce()
        self._held: Optional[av.Packet] = None

    def _produce(self) -> Iterator[av.Packet]:
        for packet in self._in.demux(self._in_stream):
            if not packet.size:
                continue
            if self.mode == "copy":
                yield packet
                continue
            for frame in self._in_stream.decode(packet):
                yield from self.stream.encode(frame)
        if self.mode != "copy":
            try:
                for frame in self._in_stream.decode(None):
                    yield from self.stream.encode(frame)
            except av.error.EOFError:
                pass
            yield from self.stream.encode(None)

    @staticmethod
    def _time(packet: av.Packet) -> Optional[Fraction]:
        ts = packet.pts if packet.pts is not None else packet.dts
        return None if ts is None or packet.time_base is None else ts * packet.time_base

    def pump(self, until: Optional[float] = None) -> None:
        """Mux audio packets that start at or before ``until`` seconds (all when ``None``)."""
        if self.mode is None:
            return
        while True:
            packet = self._held if self._held is not None else next(self._queue, None)
            self._held = None
            if packet is None:
                return
            t = self._time(packet)
            if until is not None and t is not None and t > until:
                self._held = packet
                return
            packet.stream = self.stream
            self._out.mux(packet)
            self.packets += 1

    def close(self) -> None:
        """Release the input file (idempotent); call :meth:`pump` first to finish the audio."""
        if self._in is not None:
            self._in.close()
            self._in = None
