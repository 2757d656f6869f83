"""Video file sinks: H.264, ProRes 4444, VP9 WebM with alpha, greyscale matte.

Timing is passed through: each frame's ``pts`` (rescaled only if it comes in another time
base) is encoded in the sink's ``time_base`` (give the input stream's), so VFR stays VFR and
frames are never renumbered. A non-increasing pts is bumped by one tick (counted in
``pts_adjusted``). Output goes to a hidden temporary file beside the target and is renamed
into place by :meth:`VideoSink.close`; :meth:`abort`, or any exception (Ctrl-C included)
inside ``with VideoSink(...)``, deletes it.

The input's audio and subtitle streams travel along (:mod:`vidmatte.io.passthrough`); a
fault in them is a warning and ends only them, never the video. H.264 (4:2:0) cannot code
odd sizes: such frames are padded by one row/column, and a warning says so.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Optional, Union

import av

from vidmatte.defaults import ALPHA_MODES
from vidmatte.errors import OutputError, warn
from vidmatte.frame import Frame
from vidmatte.io.atomic import AtomicSink, AtomicTarget, check_output_path, write_failed
from vidmatte.io.passthrough import StreamPassthrough
from vidmatte.io.formats import DEFAULT_PRESET, MUXERS, PRESETS, alpha_mode_for, codec_options
from vidmatte.io.packing import even_size, output_pts, pack_frame

__all__ = ["VideoSink"]

PathLike = Union[str, os.PathLike]


def _is_epipe(e: BaseException) -> bool:
    import errno

    return isinstance(e, BrokenPipeError) or getattr(e, "errno", None) == errno.EPIPE


def _source_path(src) -> Optional[Path]:
    if src is None:
        return None
    return Path(getattr(src, "path", src))


class _Stdout:
    """The target of ``-o -``: FFmpeg writes to fd 1 (``pipe:1``, never seeking); nothing to
    rename on success, nothing to delete on failure (the reader gets a stream cut short)."""

    tmp = "pipe:1"
    target = Path("-")

    def commit(self) -> Path:
        return self.target

    def abort(self) -> None:
        pass


def _pipe_failed(e: BaseException) -> OutputError:
    return OutputError("stdout was closed by the reader (broken pipe); the output stops there")


class VideoSink(AtomicSink):
    """Encode frames to a video file.

    Args:
        path: target file; the extension picks the container (.mp4/.m4v/.mov/.mkv/.webm).
        width, height: frame size (odd sizes are padded to even for H.264, see ``coded_size``).
        time_base: pts unit (the input stream's); defaults to ``1/fps``.
        fps: nominal (average) rate, used by rate control; defaults to ``1/time_base``.
        preset: "h264", "prores" (4444 + alpha), "webm" (VP9 + alpha) or "alpha" (matte);
            ``None`` picks by extension (.webm → webm, others → h264).
        alpha_mode: "straight" or "premultiplied" colour in alpha formats (``None``: straight).
        audio_from: path (or source with ``.path``) whose audio and subtitle streams are kept.
        crf, codec_preset: quality and speed (x264 names; mapped for VP9, ignored by ProRes).
        overwrite: replace an existing target.
        input_path: the video being processed, refused as the target.
        sample_aspect_ratio: the input's pixel aspect (kept: non-square pixels stay so).
        container: with ``path="-"``: the muxer of the stream written to stdout.
        hw_encode: for the H.264 presets, use NVENC when it opens here (see
            :mod:`vidmatte.io.encoders`); ``encoder`` then names what is used.
    """

    def __init__(self, path: PathLike, *, width: int, height: int, time_base=None, fps=None,
                 preset: Optional[str] = None, alpha_mode: Optional[str] = None, audio_from=None, crf: int = 18,
                 codec_preset: str = "medium", overwrite: bool = False, threads: int = 0, input_path=None,
                 hw_encode: bool = False, container: Optional[str] = None, sample_aspect_ratio=None):
        self.path = Path(path)
        self.to_stdout = os.fspath(path) == "-"
        ext = self.path.suffix.lower()
        if self.to_stdout:  # a streamable container on fd 1 (see vidmatte.io.pipes)
            from vidmatte.io.pipes import PIPE_EXTENSION, check_stdout

            check_stdout()
            muxer = container or "matroska"
            ext = PIPE_EXTENSION[muxer]
        elif ext not in MUXERS:
            raise OutputError(f"cannot write {ext or 'files without an extension'} video; use {', '.join(MUXERS)}")
        preset = preset or DEFAULT_PRESET.get(ext, "h264")
        if preset not in PRESETS:
            raise OutputError(f"unknown video format {preset!r}; choose one of {', '.join(PRESETS)}")
        alpha_mode = alpha_mode or alpha_mode_for(preset)
        if alpha_mode not in ALPHA_MODES:
            raise OutputError(f"alpha mode must be 'straight' or 'premultiplied', not {alpha_mode!r}")
        self.preset = PRESETS[preset]
        if ext not in self.preset.extensions and not self.to_stdout:  # pipes: checked by pipe_format
            raise OutputError(f"format {preset} cannot be written to {ext or 'a name without extension'}; use {' or '.join(self.preset.extensions)}")
        if time_base is None and fps is None:
            raise ValueError("give time_base or fps")
        self.fps = Fraction(fps if fps is not None else 1 / Fraction(time_base)).limit_denominator(1_000_000)
        self.time_base = Fraction(time_base) if time_base is not None else 1 / self.fps
        self.width, self.height, self.alpha_mode = int(width), int(height), alpha_mode
        self.coded_size = even_size(self.width, self.height) if self.preset.even else (self.width, self.height)
        if self.coded_size != (self.width, self.height):
            warn(f"{self.path.name}: {self.width}x{self.height} is written as {self.coded_size[0]}x{self.coded_size[1]}: "
                 "H.264 4:2:0 needs even sizes, so the last column/row is repeated")
        audio_path = _source_path(audio_from)
        if self.to_stdout:
            self._target = _Stdout()
        else:
            muxer = MUXERS[ext]
            check_output_path(self.path, overwrite=overwrite, inputs=(audio_path, _source_path(input_path)))
            self._target = AtomicTarget(self.path, overwrite=overwrite)
        self._container, self.audio, self.frames, self.pts_adjusted = None, None, 0, 0
        self._last_pts: Optional[int] = None
        self._step = max(1, round(1 / (self.fps * self.time_base)))
        self._hw_encode = hw_encode
        self.sample_aspect_ratio = Fraction(sample_aspect_ratio) if sample_aspect_ratio else None
        self._input_path = _source_path(input_path)
        try:
            self._open(muxer, crf, codec_preset, threads, audio_path)
        except BaseException as e:
            self.abort()
            if isinstance(e, av.error.FFmpegError):
                raise OutputError(f"cannot create {self.path}: {e.strerror or e}") from None
            if isinstance(e, ValueError) and self.to_stdout:  # a codec the stream container refuses
                raise OutputError(f"cannot write to stdout: {e}") from None
            raise

    def _open(self, muxer: str, crf: int, speed: str, threads: int, audio_path: Optional[Path]) -> None:
        self._container = av.open(str(self._target.tmp), "w", format=muxer)
        self.muxer = muxer
        codec, options = self.preset.codec, codec_options(self.preset, crf, speed)
        if self._hw_encode:
            from vidmatte.io.encoders import hardware_encoder, nvenc_options

            hw = hardware_encoder(codec)
            if hw is not None:
                codec, options = hw, nvenc_options(crf, speed)
        self.encoder = codec
        vs = self._container.add_stream(codec, rate=self.fps, options=options)
        vs.width, vs.height = self.coded_size
        vs.pix_fmt = self.preset.pix_fmt
        vs.time_base = self.time_base
        cc = vs.codec_context
        cc.time_base = self.time_base
        cc.colorspace = cc.color_primaries = cc.color_trc = 1  # BT.709
        cc.color_range = 1  # limited
        cc.thread_count = threads
        if self.sample_aspect_ratio and self.sample_aspect_ratio != 1:  # non-square pixels stay non-square
            cc.sample_aspect_ratio = self.sample_aspect_ratio
            try:  # the muxer's copy (MOV's pasp atom comes from it)
                vs.sample_aspect_ratio = self.sample_aspect_ratio
            except (AttributeError, TypeError):
                pass
        self.stream = vs
        if self._input_path is not None and self._input_path.is_file():
            from vidmatte.io.carry import carry_info

            carry_info(self._input_path, self._container, vs, muxer, target=self.path.name)
        if audio_path is not None:
            self.audio = StreamPassthrough(audio_path, self._container, muxer, target=self.path.name)

    @property
    def accepts(self) -> tuple[str, ...]:
        """Frame pixel formats this sink encodes (see :mod:`vidmatte.frame`), preferred first."""
        return self.preset.accepts

    def _pts(self, frame: Frame) -> int:
        pts, moved = output_pts(frame, self.time_base, self._last_pts, self._step)
        self.pts_adjusted += moved
        self._last_pts = pts
        return pts

    def write(self, frame: Frame) -> None:
        """Encode one frame (RGB, RGBA or :class:`~vidmatte.ops.color.Yuv420` in ``frame.image``)."""
        if self._container is None:
            raise RuntimeError("write() on a closed VideoSink")
        h, w = frame.size
        if (w, h) != (self.width, self.height):
            raise ValueError(f"frame is {w}x{h}, the sink was opened for {self.width}x{self.height}")
        vf = pack_frame(frame.image, self.preset, alpha_mode=self.alpha_mode, alpha=frame.alpha)
        vf.pts = self._pts(frame)
        vf.time_base = self.time_base
        try:
            for packet in self.stream.encode(vf):
                self._container.mux(packet)
        except (av.error.FFmpegError, BrokenPipeError) as e:
            if self.to_stdout and _is_epipe(e):
                raise _pipe_failed(e) from None
            raise write_failed(self.path, e) from e
        self._pump(float(vf.pts * self.time_base))
        self.frames += 1

    def _pump(self, until: Optional[float]) -> None:
        """Mux the other streams up to ``until``; a fault there ends them, not the video."""
        if self.audio is None:
            return
        try:
            self.audio.pump(until=until)
        except av.error.FFmpegError as e:
            if self.to_stdout and _is_epipe(e):
                raise _pipe_failed(e) from None
            warn(f"{self.path.name}: the audio/subtitles of {Path(self.audio.source).name} stop at "
                 f"{until or 0:.2f} s: muxing them failed ({e.strerror or e}); the video is complete")
            self.audio.close()
            self.audio = None

    def close(self) -> Path:
        """Flush, mux the rest of the audio, finish the file and move it into place."""
        if self._container is None:
            return self.path
        try:
            for packet in self.stream.encode(None):
                self._container.mux(packet)
            self._pump(None)
            if self.audio is not None:
                self.audio.close()
            self._container.close()
            self._container = None
            if self.frames == 0:
                raise OutputError(f"no frames were written to {self.path}; nothing to save")
            return self._target.commit()
        except BaseException as e:
            self.abort()
            if isinstance(e, (av.error.FFmpegError, BrokenPipeError)):
                if self.to_stdout and _is_epipe(e):
                    raise _pipe_failed(e) from None
                raise write_failed(self.path, e) from e
            raise

    def abort(self) -> None:
        """Stop and delete the partial output (idempotent)."""
        if self.audio is not None:
            self.audio.close()
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # the file is being thrown away anyway
                pass
            self._container = None
        self._target.abort()
