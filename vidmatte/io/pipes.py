"""``-`` as input (stdin) and output (stdout): ``ffmpeg … | vidmatte replace - -o - | ffplay -``.

**Input.** Standard input is spooled to a temporary file (in ``$TMPDIR``, deleted when the
source closes) and then read like any video file. So every container FFmpeg reads works
from a pipe, including MP4/MOV whose index comes last, the audio and subtitles are kept as
for a file, and the input can be read twice (look-ahead, retries). The price: the work
starts when the writer closes the pipe, and the input takes its size in ``$TMPDIR``.

**Output.** Standard output gets a streamable container (written by FFmpeg to fd 1, never
seeking): Matroska (default), NUT or MPEG-TS, or WebM for VP9. ``--format`` picks either a
container (``mkv``, ``nut``, ``ts``, ``webm``) or a codec preset (``h264``, ``prores``,
``webm``, ``alpha``) and the other half follows (:func:`pipe_format`). MP4 and MOV write
their index at the end and cannot stream: one line says so (exit 2). A stream cannot be
renamed into place, so ``--overwrite`` does not apply; a run that fails or is interrupted
leaves the reader with a stream cut short and exits non-zero. Nothing else is written to
stdout: logs, progress and the summary go to stderr.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Optional

from vidmatte.errors import InputError, OutputError

__all__ = ["STDIO", "is_stdio", "PIPE_CONTAINERS", "CONTAINER_CHOICES", "pipe_format", "StdinSource", "spool_stdin",
           "check_stdout"]

#: the name that means stdin (as input) or stdout (as output)
STDIO = "-"
#: ``--format`` container names for ``-o -`` → FFmpeg muxer
PIPE_CONTAINERS = {"mkv": "matroska", "matroska": "matroska", "nut": "nut", "ts": "mpegts", "mpegts": "mpegts",
                   "webm": "webm"}
#: containers that cannot be written to a pipe, and why
NOT_STREAMABLE = {"mp4": "MP4", "m4v": "MP4", "mov": "MOV"}
#: container names ``--format`` takes besides the codecs (mp4/mov are refused with -o -, saying why)
CONTAINER_CHOICES = ("mkv", "nut", "ts", "mp4", "mov")
#: muxer → presets it can stream (FFmpeg refuses the others)
_PRESETS_IN = {"matroska": ("h264", "prores", "webm", "alpha"), "nut": ("h264", "alpha"),
               "mpegts": ("h264", "alpha"), "webm": ("webm",)}
#: the extension standing for each muxer (the tables of :mod:`vidmatte.io.formats` go by extension)
PIPE_EXTENSION = {"matroska": ".mkv", "nut": ".nut", "mpegts": ".ts", "webm": ".webm"}


def is_stdio(spec) -> bool:
    return isinstance(spec, (str, os.PathLike)) and os.fspath(spec) == STDIO


def pipe_format(format: Optional[str], product: str) -> tuple[str, str]:
    """``(preset, muxer)`` written to stdout for ``--format`` and the product
    (``composite``, ``rgba`` or ``alpha``); :class:`OutputError` for what cannot stream."""
    f = (format or "").lower()
    if f in NOT_STREAMABLE:
        raise OutputError(f"{NOT_STREAMABLE[f]} cannot be written to a pipe (its index is written at the end); "
                          "use --format mkv, nut or ts with -o -, or write a file")
    if f in ("png", "tiff", "tif", "exr"):
        raise OutputError(f"{f} image sequences cannot be written to stdout; give a folder with -o, or use "
                          "--format prores/webm with -o -")
    default_preset = {"composite": "h264", "rgba": "prores", "alpha": "alpha"}[product]
    if f in PIPE_CONTAINERS:
        muxer = PIPE_CONTAINERS[f]
        preset = "webm" if muxer == "webm" else default_preset
    else:
        preset = f or default_preset
        muxer = "webm" if preset == "webm" else "matroska"
    if preset not in _PRESETS_IN.get(muxer, ()):
        ok = [name for name in ("mkv", "nut", "ts", "webm") if preset in _PRESETS_IN[PIPE_CONTAINERS[name]]]
        raise OutputError(f"{preset} cannot stream in {muxer}; use --format {' or '.join(ok)} with -o -")
    return preset, muxer


def check_stdout() -> None:
    """Refuse ``-o -`` when stdout is a terminal (video bytes would flood it)."""
    try:
        tty = os.isatty(sys.stdout.fileno())
    except (AttributeError, ValueError, OSError):
        tty = False
    if tty:
        raise OutputError("-o - writes video to stdout, which is a terminal here; redirect it (> out.mkv) "
                          "or pipe it (| ffplay -)")


def spool_stdin(suffix: str = "") -> Path:
    """Copy all of stdin into a temporary file; the caller deletes it. One-line errors for a
    terminal or an empty stdin."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise InputError("input - means stdin, but this process has none; give a file")
    try:
        if os.isatty(stream.fileno()):
            raise InputError("input - reads the video from stdin, which is a terminal here; pipe a video in "
                             "(ffmpeg … -f matroska - | vidmatte replace - …) or give a file")
    except (AttributeError, ValueError, OSError):
        pass
    folder = Path(tempfile.mkdtemp(prefix="vidmatte-stdin-"))
    path = folder / f"stdin{suffix}"  # messages that name the input's file say "stdin"
    try:
        with open(path, "wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
    except BaseException as exc:
        _remove(path)
        if isinstance(exc, OSError):
            raise InputError(f"reading stdin failed: {exc.strerror or exc} (is there space in {tempfile.gettempdir()}?)") from None
        raise
    if path.stat().st_size == 0:
        _remove(path)
        raise InputError("nothing came on stdin (0 bytes); pipe a video into vidmatte with input -")
    return path


def _remove(spool: Path) -> None:
    """Delete a spool file and its private folder."""
    spool.unlink(missing_ok=True)
    try:
        spool.parent.rmdir()
    except OSError:
        pass


def StdinSource(**kw):
    """A :class:`~vidmatte.io.sources.VideoSource` of what comes on stdin (spooled first);
    the spool file is deleted when the source closes. Messages name the input ``stdin``."""
    from vidmatte.io.sources import VideoSource

    class _StdinSource(VideoSource):
        def close(self) -> None:
            super().close()
            spool = getattr(self, "_spool", None)
            if spool is not None:
                _remove(spool)

        def __repr__(self) -> str:
            return f"StdinSource({self.width}x{self.height}, fps={self.fps})"

    spool = spool_stdin()
    try:
        src = _StdinSource.__new__(_StdinSource)
        src._spool = spool
        try:
            VideoSource.__init__(src, spool, **kw)
        except InputError as exc:
            raise InputError(str(exc).replace(str(spool), "stdin")) from None
    except BaseException:
        _remove(spool)
        raise
    src.name = "stdin"
    return src
