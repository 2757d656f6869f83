"""Join the encoded pieces of a segmented file into one output, without re-encoding.

The pieces come from one encoder configuration (same codec, size, options), and each
starts with a keyframe, so their packets follow one another as one stream: they are
remuxed in order under the first piece's codec parameters (the join checks that every
piece has the same extradata, i.e. the same SPS/PPS for H.264). Presentation times are
the pieces' own plus the shift each was written with (:class:`~vidmatte.scale.segments.Segment`),
so VFR timing is kept exactly. Decode times only need to rise: where two independently
encoded pieces meet, a decode time that would not is raised by one tick (never past its
presentation time). The audio is copied from the original file once, interleaved as the
video goes (:class:`~vidmatte.io.passthrough.StreamPassthrough`, as ``replace`` does). The output appears only when
complete (:class:`~vidmatte.io.atomic.AtomicTarget`).
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Optional, Sequence, Union

from vidmatte.errors import OutputError

__all__ = ["join_pieces"]

PathLike = Union[str, os.PathLike]


def join_pieces(pieces: Sequence[tuple[PathLike, Fraction]], output: PathLike, *, muxer: str,
                audio_from: Optional[PathLike] = None, overwrite: bool = False) -> int:
    """Remux ``pieces`` (``(file, shift in seconds)``, in order) into ``output``; returns
    the number of video frames written.

    Args:
        muxer: the output's container (``mp4``, ``mov``, ``matroska``, ``webm``).
        audio_from: the file whose audio and subtitle streams are copied (``None``: none).
        overwrite: replace an existing ``output``.
    """
    import av

    from vidmatte.io.atomic import AtomicTarget
    from vidmatte.io.passthrough import StreamPassthrough

    if not pieces:
        raise OutputError(f"no pieces to join into {output}")
    target = AtomicTarget(output, overwrite=overwrite)
    out, audio, frames = None, None, 0
    try:
        out = av.open(str(target.tmp), "w", format=muxer)
        with av.open(os.fspath(pieces[0][0])) as first:
            template = first.streams.video[0]
            extradata = bytes(template.codec_context.extradata or b"")
            tick = template.time_base
            stream = out.add_stream_from_template(template)
        if audio_from is not None:
            audio = StreamPassthrough(audio_from, out, muxer, target=Path(output).name)
        last: Optional[int] = None
        for path, shift in pieces:
            with av.open(os.fspath(path)) as c:
                vs = c.streams.video[0]
                if bytes(vs.codec_context.extradata or b"") != extradata or vs.time_base != tick:
                    raise OutputError(f"piece {Path(path).name} was encoded with other codec settings than the "
                                      f"first; cannot join {output} without re-encoding")
                offset = round(Fraction(shift) / vs.time_base)
                for packet in c.demux(vs):
                    if not packet.size:
                        continue
                    last = _retime(packet, offset, last)
                    if audio is not None:
                        audio.pump(until=float(packet.dts * vs.time_base))
                    packet.stream = stream
                    out.mux(packet)
                    frames += 1
        if audio is not None:
            audio.pump(None)
            audio.close()
        out.close()
        out = None
        target.commit()
    except BaseException as e:
        if audio is not None:
            audio.close()
        if out is not None:
            try:
                out.close()
            except Exception:  # the file is thrown away anyway
                pass
        target.abort()
        if isinstance(e, av.error.FFmpegError):
            raise OutputError(f"joining the pieces of {output} failed: {e.strerror or e}") from None
        raise
    return frames


def _retime(packet, offset: int, last: Optional[int]) -> int:
    """Shift ``packet`` by ``offset`` ticks and keep decode times rising (``last``: the
    previous packet's decode time); returns its decode time. A missing decode time
    (Matroska stores none for some packets) becomes the smallest one allowed."""
    packet.pts += offset
    dts = None if packet.dts is None else packet.dts + offset
    if dts is None:
        dts = packet.pts if last is None else last + 1
    elif last is not None and dts <= last:
        dts = last + 1
    if dts > packet.pts:
        raise OutputError(f"cannot join the pieces: decode time {dts} would pass presentation time {packet.pts}")
    packet.dts = dts
    return dts
