"""Deinterlacing on decode: frames flagged interlaced go through FFmpeg's ``bwdif``.

``bwdif`` in ``send_frame`` mode gives one frame per frame (the frame count and every pts stay
as they were, so audio and timing are untouched); ``deint=interlaced`` passes progressive
frames of a mixed stream as they are; the field order comes from each frame (``parity=auto``).
Nothing is built for a progressive stream.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable, Iterator

import av

__all__ = ["deinterlaced", "field_order"]

_ORDER = {2: "top field first", 3: "bottom field first", 4: "top field first", 5: "bottom field first"}


def field_order(stream) -> str:
    """``top field first`` / ``bottom field first`` as the stream declares it, else ``interlaced``."""
    return _ORDER.get(int(getattr(stream.codec_context, "field_order", 0) or 0), "interlaced")


def deinterlaced(frames: Iterator[av.VideoFrame], time_base: Fraction,
                 started: Callable[[], None] = lambda: None) -> Iterator[av.VideoFrame]:
    """``frames`` with the interlaced ones deinterlaced, in order, each keeping its pts;
    ``started()`` is called when the first interlaced frame appears."""
    graph, pending = None, []

    def drain():
        while True:
            try:
                out = graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return
            if pending:
                out.pts = pending.pop(0)
            yield out

    for f in frames:
        if graph is None and not f.interlaced_frame:
            yield f
            continue
        if graph is None:
            graph = av.filter.Graph()
            buf = graph.add_buffer(width=f.width, height=f.height, format=f.format.name, time_base=time_base)
            bw = graph.add("bwdif", "mode=send_frame:parity=auto:deint=interlaced")
            sink = graph.add("buffersink")
            buf.link_to(bw)
            bw.link_to(sink)
            graph.configure()
            started()
        pending.append(f.pts)
        graph.push(f)
        yield from drain()
    if graph is not None:
        graph.push(None)
        yield from drain()
