"""More test media made with PyAV: loop seams, damage mid-file, many streams, deep ramps, frames.

Like :mod:`media`, nothing here imports vidmatte, so the helpers can judge its readers and
writers. Every file is small and made in well under a second.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from media import make_clip

__all__ = ["make_loop", "damage_middle", "dts_steps", "make_multistream", "make_ramp10", "ramp_levels",
           "write_frames"]


def make_loop(src, dst, overlap_s: float = 0.0) -> Path:
    """``src`` played twice into Matroska, stream copy, the way ``ffmpeg -stream_loop 1 -c copy``
    builds a loop: the second pass is shifted by the audio's span minus one packet (AAC's
    priming packet is not counted), so its first audio packet lands on the timestamp of the
    first pass's last one; ``overlap_s`` shifts it further back (audio running backwards)."""
    src, dst = str(src), Path(dst)
    with av.open(src) as c:
        s = c.streams.audio[0]
        packets = [p for p in c.demux(s) if p.size]
        shift = (packets[-1].pts - packets[0].pts) * s.time_base - Fraction(overlap_s).limit_denominator(1000)
    with av.open(src) as a, av.open(src) as b, av.open(str(dst), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in a.streams}
        for loop, inp in enumerate((a, b)):
            for p in inp.demux():
                if p.dts is None:
                    continue
                offset = round(loop * shift / p.time_base)
                p.pts += offset
                p.dts += offset
                p.stream = streams[p.stream.index]
                out.mux(p)
    return dst


def dts_steps(path, kind: str = "audio") -> list[tuple[int, int]]:
    """``(previous dts, dts)`` pairs where the first ``kind`` stream's dts does not increase."""
    with av.open(str(path)) as c:
        d = [p.dts for p in c.demux(getattr(c.streams, kind)[0]) if p.size and p.dts is not None]
    return [(a, b) for a, b in zip(d, d[1:]) if b <= a]


def damage_middle(src, dst, fraction: float = 0.15, seed: int = 1) -> Path:
    """Copy of an MP4 with ``fraction`` of its media data, from the middle on, overwritten by
    random bytes (the index stays intact, so the file opens and most frames decode)."""
    data = bytearray(Path(src).read_bytes())
    start = data.index(b"mdat") + 4
    end = start + int.from_bytes(data[start - 8: start - 4], "big") - 8
    n = int((end - start) * fraction)
    mid = (start + end) // 2 - n // 2
    data[mid: mid + n] = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()
    Path(dst).write_bytes(bytes(data))
    return Path(dst)


def make_multistream(path, *, frames: int = 24, subtitles: bool = True) -> Path:
    """A Matroska file: H.264 video, two audio tracks (AAC 440 Hz, FLAC) and SRT subtitles."""
    path = Path(path)
    base = make_clip(path.with_name(path.stem + "_a.mkv"), frames=frames, size=(64, 48), audio=True).path
    second = make_clip(path.with_name(path.stem + "_b.mkv"), frames=frames, size=(64, 48), audio="flac").path
    srt = path.with_name(path.stem + ".srt")
    srt.write_text("1\n00:00:00,000 --> 00:00:00,300\nHello\n\n2\n00:00:00,400 --> 00:00:00,700\nWorld\n")
    with av.open(str(base)) as a, av.open(str(second)) as b, av.open(str(srt)) as s, av.open(str(path), "w") as out:
        plan = [(a, [a.streams.video[0], a.streams.audio[0]]), (b, [b.streams.audio[0]])]
        if subtitles:
            plan.append((s, [s.streams[0]]))
        targets = {(k, st.index): out.add_stream_from_template(st) for k, (_, streams) in enumerate(plan) for st in streams}
        for k, (inp, streams) in enumerate(plan):
            for p in inp.demux(streams):
                if p.size and p.dts is not None:
                    p.stream = targets[(k, p.stream.index)]
                    out.mux(p)
    return path


def make_ramp10(path, *, width: int = 640, height: int = 8, frames: int = 2, first: int = 200) -> Path:
    """Lossless 10-bit grey ramp (FFV1 yuv444p10le, BT.709 limited): column ``x`` has luma
    ``first + x``, so the picture holds ``width`` distinct 10-bit levels."""
    with av.open(str(path), "w") as out:
        vs = out.add_stream("ffv1", rate=24)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv444p10le"
        cc = vs.codec_context
        cc.colorspace = cc.color_primaries = cc.color_trc = cc.color_range = 1
        y = np.broadcast_to((first + np.arange(width)).astype(np.uint16), (height, width))
        for i in range(frames):
            f = av.VideoFrame(width, height, "yuv444p10le")
            for k, value in enumerate((y, 512, 512)):
                plane = f.planes[k]
                np.frombuffer(plane, np.uint16).reshape(plane.height, -1)[:, :width] = value
            f.pts = i
            for p in vs.encode(f):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
    return Path(path)


def ramp_levels(path) -> tuple[int, np.ndarray]:
    """``(distinct luma values in the first frame, luma per column in 10-bit units)``."""
    with av.open(str(path)) as c:
        f = next(c.decode(video=0))
    bits = int("".join(ch for ch in f.format.name.rsplit("p", 1)[-1] if ch.isdigit()) or 8)
    plane = f.planes[0]
    dtype = np.uint16 if bits > 8 else np.uint8
    y = np.frombuffer(plane, dtype).reshape(plane.height, -1)[:, : f.width].astype(np.float64)
    return len(np.unique(y)), y.mean(0) * 2.0 ** (10 - bits)


def write_frames(folder, images, ext: str = "png", *, start: int = 1, pattern: str = "frame_{:06d}") -> Path:
    """``images`` ((H,W,3) uint8/uint16 RGB, or float32 linear for EXR) as numbered stills via
    FFmpeg's encoders: png, tif, exr or dpx. Returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        img = np.ascontiguousarray(img)
        deep = img.dtype == np.uint16
        if ext == "exr":
            codec, fmt, arr_fmt, opts = "exr", "gbrpf32le", "gbrpf32le", {"compression": "zip16"}
        else:
            codec = {"png": "png", "tif": "tiff", "dpx": "dpx"}[ext]
            arr_fmt = "rgb48le" if deep else "rgb24"
            fmt = {"png": "rgb48be"}.get(ext, "rgb48le") if deep else "rgb24"
            opts = {}
        frame = av.VideoFrame.from_ndarray(img, format=arr_fmt)
        if fmt != arr_fmt:
            frame = frame.reformat(format=fmt)
        ctx = av.CodecContext.create(codec, "w")
        ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = img.shape[1], img.shape[0], fmt, Fraction(1, 1)
        ctx.options = opts
        frame.pts = 0
        data = b"".join(bytes(p) for p in list(ctx.encode(frame)) + list(ctx.encode(None)))
        (folder / (pattern.format(i + start) + "." + ext)).write_bytes(data)
    return folder
