"""Test media made on the fly with PyAV: small real clips with known alpha, and broken files.

Every test of the project builds its inputs here instead of shipping binaries::

    from media import make_clip
    clip = make_clip(tmp_path / "in.mp4", frames=12, audio=True, with_alpha=True)
    clip.alphas[3]   # (H, W) uint8 ground truth of frame 3

The default picture (``pattern="disc"``) is a textured magenta/blue/red disc moving over a
pure-green (0, 255, 0) plate, so ``ChromaKeyMatter`` recovers the alpha (a hard disc).
Nothing here imports vidmatte: the helpers read files back with PyAV directly, so they can
judge the library's own readers and writers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Optional

import av
import numpy as np

__all__ = [
    "Clip",
    "disc_frame",
    "make_clip",
    "make_audio_only",
    "make_corrupt",
    "make_truncated",
    "make_no_frames",
    "make_undecodable",
    "make_empty",
    "read_frames",
    "read_alpha",
    "read_pts",
    "read_audio_packets",
    "audio_duration",
    "file_count",
    "compare_videos",
    "VFR_STEPS_MS",
]

GREEN = (0, 255, 0)
AUDIO_RATE = 48000
#: irregular frame intervals (milliseconds) cycled by ``vfr=True`` clips
VFR_STEPS_MS = (33, 50, 41, 67, 25, 40, 83, 34)


@dataclass
class Clip:
    """What :func:`make_clip` wrote: the file and the truth about it."""

    path: Path
    size: tuple[int, int]  # (W, H)
    fps: Fraction
    time_base: Fraction  # of the pts below (the encoder's time base)
    pts: list[int] = field(default_factory=list)
    alphas: Optional[list[np.ndarray]] = None  # (H, W) uint8, 255 = disc
    images: Optional[list[np.ndarray]] = None  # (H, W, 3) uint8 RGB as encoded

    @property
    def times(self) -> list[Fraction]:
        return [p * self.time_base for p in self.pts]


def disc_frame(i: int, n: int, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``i`` of ``n``: ``(rgb (H,W,3) uint8, alpha (H,W) uint8)``; the disc moves left→right."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 0.3 * min(w, h)
    cx = r + (w - 2 * r) * (i / max(n - 1, 1))
    cy = h / 2 + 0.1 * h * np.sin(i / 3.0)
    inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    # texture far from green everywhere: G stays low, R/B vary with position and time
    red = 150 + 90 * np.sin(xx / 3.0 + i)
    blue = 150 + 90 * np.cos(yy / 4.0 - i)
    green = 30 + 30 * np.sin((xx + yy) / 5.0)
    tex = np.stack([red, green, blue], -1).round().clip(0, 255).astype(np.uint8)
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[...] = GREEN
    rgb[inside] = tex[inside]
    return rgb, inside.astype(np.uint8) * 255


def _gradient_frame(i: int, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    w, h = size
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None].repeat(w, 1)
    rgb = np.stack([x, y, np.clip((x + y) / 2 + 8 * i, 0, 255)], -1).round().astype(np.uint8)
    return rgb, np.full((h, w), 255, np.uint8)


_DEFAULT_OPTIONS = {
    "libx264": {"preset": "ultrafast", "crf": "12"},
    "libvpx-vp9": {"crf": "12", "b": "0", "deadline": "realtime", "cpu-used": "8"},
}


def _pix_fmt(codec: str, with_alpha: bool) -> str:
    if codec == "prores_ks":
        return "yuva444p10le" if with_alpha else "yuv422p10le"
    if codec in ("libvpx-vp9", "libvpx"):
        return "yuva420p" if with_alpha else "yuv420p"
    if codec == "png":
        return "rgba" if with_alpha else "rgb24"
    if with_alpha:
        raise ValueError(f"{codec} cannot carry alpha here")
    return "yuv420p"


def _video_frame(rgb: np.ndarray, alpha: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    """RGB(+alpha) → frame in ``pix_fmt``; the alpha plane is written directly (no swscale)."""
    if pix_fmt in ("rgb24", "rgba"):
        data = rgb if pix_fmt == "rgb24" else np.dstack([rgb, alpha])
        return av.VideoFrame.from_ndarray(np.ascontiguousarray(data), format=pix_fmt)
    base = pix_fmt.replace("yuva", "yuv")
    src = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    yuv = src.reformat(format=base, dst_colorspace="ITU709", dst_color_range="MPEG")
    if base == pix_fmt:
        return yuv
    out = av.VideoFrame(rgb.shape[1], rgb.shape[0], pix_fmt)
    for k in range(3):  # row by row: the two frames' line sizes may differ (PyAV 18.1.1 pads reformat output)
        src, dst = yuv.planes[k], out.planes[k]
        w = min(src.line_size, dst.line_size)
        np.frombuffer(dst, np.uint8).reshape(dst.height, dst.line_size)[:, :w] = \
            np.frombuffer(src, np.uint8).reshape(src.height, src.line_size)[:, :w]
    plane = out.planes[3]
    if pix_fmt.endswith("10le"):
        a = np.frombuffer(plane, np.uint16).reshape(plane.height, -1)
        a[:, : rgb.shape[1]] = (alpha.astype(np.uint32) * 1023 + 127) // 255
    else:
        np.frombuffer(plane, np.uint8).reshape(plane.height, -1)[:, : rgb.shape[1]] = alpha
    return out


def _tone(seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(round(seconds * AUDIO_RATE)), dtype=np.float32) / AUDIO_RATE
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)[None, :]  # (1, n) mono


def _audio_codec(path: Path, audio: str | bool) -> str:
    if isinstance(audio, str):
        return audio
    return "libopus" if path.suffix.lower() == ".webm" else "aac"


def make_clip(
    path,
    *,
    frames: int = 24,
    size: tuple[int, int] = (64, 48),
    fps: int | Fraction = 24,
    codec: str = "libx264",
    audio: bool | str = False,
    vfr: bool = False,
    pattern: str = "disc",
    with_alpha: bool = False,
    rotation: int = 0,
    keep_images: bool = False,
    options: Optional[dict] = None,
    container_options: Optional[dict] = None,
) -> Clip:
    """Write a small real clip and return its ground truth.

    Args:
        path: output file; its extension picks the container (.mp4/.mov/.mkv/.webm).
        size: ``(W, H)``.
        audio: ``True`` adds a 440 Hz sine at 48 kHz (AAC, or Opus in .webm) as long as the
            video; a string names the audio encoder ("aac", "libopus", "flac", ...).
        vfr: irregular pts (time base 1/1000, intervals cycled from :data:`VFR_STEPS_MS`).
        pattern: "disc" (chroma-keyable moving disc) or "gradient" (smooth colours).
        with_alpha: encode the alpha plane too (prores_ks 4444, libvpx-vp9 yuva420p, png).
        rotation: display-matrix rotation in degrees counter-clockwise (0/90/180/-90).
        keep_images: also return the RGB frames that were encoded.
    """
    path = Path(path)
    fps = Fraction(fps)
    tb = Fraction(1, 1000) if vfr else 1 / fps
    pix_fmt = _pix_fmt(codec, with_alpha)
    clip = Clip(path=path, size=tuple(size), fps=fps, time_base=tb, alphas=[], images=[] if keep_images else None)
    with av.open(str(path), "w", options=container_options or {}) as out:
        opts = {**_DEFAULT_OPTIONS.get(codec, {}), **(options or {})}
        if codec == "prores_ks":
            opts.setdefault("profile", "4444" if with_alpha else "2")
        vs = out.add_stream(codec, rate=fps, options=opts)
        vs.width, vs.height = size
        vs.pix_fmt = pix_fmt
        vs.codec_context.time_base = tb
        if pix_fmt.startswith("yuv"):  # tag what _video_frame encodes: BT.709 limited range
            cc = vs.codec_context
            cc.colorspace = cc.color_primaries = cc.color_trc = cc.color_range = 1
        if rotation:
            vs.set_display_rotation(rotation)
        aus = None
        if audio:
            aus = out.add_stream(_audio_codec(path, audio), rate=AUDIO_RATE, layout="mono")
        pts = 0
        for i in range(frames):
            rgb, alpha = disc_frame(i, frames, size) if pattern == "disc" else _gradient_frame(i, size)
            vf = _video_frame(rgb, alpha, pix_fmt)
            vf.pts = pts
            clip.pts.append(pts)
            clip.alphas.append(alpha)
            if keep_images:
                clip.images.append(rgb)
            for p in vs.encode(vf):
                out.mux(p)
            pts += VFR_STEPS_MS[i % len(VFR_STEPS_MS)] if vfr else 1
        for p in vs.encode():
            out.mux(p)
        if aus is not None:
            seconds = float(pts * tb)
            af = av.AudioFrame.from_ndarray(_tone(seconds), format="flt", layout="mono")
            af.sample_rate = AUDIO_RATE
            af.pts = 0
            af.time_base = Fraction(1, AUDIO_RATE)
            for p in aus.encode(af):
                out.mux(p)
            for p in aus.encode():
                out.mux(p)
    return clip


def make_audio_only(path, seconds: float = 1.0, codec: str = "aac") -> Path:
    """An audio-only file (e.g. ``.m4a`` with AAC): a valid media file without video."""
    path = Path(path)
    with av.open(str(path), "w") as out:
        aus = out.add_stream(codec, rate=AUDIO_RATE, layout="mono")
        af = av.AudioFrame.from_ndarray(_tone(seconds), format="flt", layout="mono")
        af.sample_rate, af.pts, af.time_base = AUDIO_RATE, 0, Fraction(1, AUDIO_RATE)
        for p in list(aus.encode(af)) + list(aus.encode()):
            out.mux(p)
    return path


def make_corrupt(path, nbytes: int = 4096, seed: int = 0) -> Path:
    """Random bytes under a media name (e.g. ``bad.mp4``)."""
    path = Path(path)
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8).tobytes())
    return path


def make_empty(path) -> Path:
    path = Path(path)
    path.write_bytes(b"")
    return path


def make_no_frames(path, size: tuple[int, int] = (64, 48)) -> Path:
    """A container with a video stream header but not a single frame in it."""
    path = Path(path)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=24)
        vs.width, vs.height = size
        vs.pix_fmt = "yuv420p"
        out.start_encoding()
    return path


def make_undecodable(path, seed: int = 0, **clip_kw) -> Path:
    """A well-formed MP4 whose every frame payload is noise: it opens, yet no frame decodes."""
    path = Path(path)
    make_clip(path, **clip_kw)
    data = bytearray(path.read_bytes())
    start = data.index(b"mdat") + 4
    end = start + int.from_bytes(data[start - 8 : start - 4], "big") - 8
    rng = np.random.default_rng(seed)
    data[start:end] = rng.integers(0, 256, end - start, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def make_truncated(path, dst=None, fraction: float = 0.5) -> Path:
    """Copy of ``path`` cut to ``fraction`` of its bytes (in place when ``dst`` is None)."""
    path = Path(path)
    data = path.read_bytes()
    dst = Path(dst) if dst is not None else path
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


# ---- read-back helpers (PyAV only) ---------------------------------------------------


def read_frames(path, *, fmt: str = "rgb24") -> list[np.ndarray]:
    """Every decoded frame of the first video stream as ``fmt`` arrays (native decoder)."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format=fmt) for f in c.decode(video=0)]


def read_pts(path) -> tuple[list[Fraction], int]:
    """``(presentation times in seconds as Fractions, frame count)`` of the first video stream."""
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        times = [f.pts * vs.time_base for f in c.decode(vs)]
    return times, len(times)


def _plane_to_8bit(frame: av.VideoFrame, index: int) -> np.ndarray:
    plane = frame.planes[index]
    name = frame.format.name
    digits = "".join(ch for ch in name.rsplit("p", 1)[-1] if ch.isdigit())
    if digits:  # 10/12/16-bit little endian
        bits = int(digits)
        a = np.frombuffer(plane, np.uint16).reshape(plane.height, -1)[:, : frame.width]
        return np.round(a.astype(np.float64) * 255.0 / ((1 << bits) - 1)).astype(np.uint8)
    return np.frombuffer(plane, np.uint8).reshape(plane.height, -1)[:, : frame.width].copy()


def read_alpha(path) -> list[np.ndarray]:
    """The alpha plane of every frame, 8-bit; VP9/VP8 go through libvpx so alpha survives."""
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        name = vs.codec_context.name
        if name in ("vp9", "vp8"):
            dec = av.CodecContext.create("libvpx-vp9" if name == "vp9" else "libvpx", "r")
            frames = [f for p in c.demux(vs) if p.size for f in dec.decode(p)] + list(dec.decode(None))
        else:
            frames = list(c.decode(vs))
    out = []
    for f in frames:
        if not f.format.name.startswith(("yuva", "gbrap", "rgba")):
            raise AssertionError(f"{path}: decoded format {f.format.name} has no alpha")
        if f.format.name == "rgba":
            out.append(f.to_ndarray()[..., 3].copy())
        else:
            out.append(_plane_to_8bit(f, 3))
    return out


def read_audio_packets(path) -> list[tuple[Fraction, bytes]]:
    """``(time in seconds, payload bytes)`` of every packet of the first audio stream."""
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        return [(p.pts * s.time_base if p.pts is not None else None, bytes(p)) for p in c.demux(s) if p.size]


def audio_duration(path) -> float:
    """Seconds of decoded audio (samples / rate) in the first audio stream."""
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        n = sum(f.samples for f in c.decode(s))
        return n / s.sample_rate


def file_count(folder) -> int:
    """Files (hidden temp files included) in ``folder``."""
    return len(os.listdir(folder))


def compare_videos(ref, out) -> dict:
    """How far ``out`` is from ``ref``: ``frames`` (both counts), ``time_error`` (largest
    frame-time difference, seconds), ``mean`` and ``worst_frame`` (mean absolute 8-bit RGB
    difference over all frames, and of the worst frame)."""
    (ta, na), (tb, nb) = read_pts(ref), read_pts(out)
    diffs = [float(np.abs(a.astype(np.int16) - b).mean()) for a, b in zip(read_frames(ref), read_frames(out))]
    return {"frames": (na, nb), "time_error": max((abs(float(x - y)) for x, y in zip(ta, tb)), default=0.0),
            "mean": float(np.mean(diffs)) if diffs else 0.0, "worst_frame": max(diffs, default=0.0)}
