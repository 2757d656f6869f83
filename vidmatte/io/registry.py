"""Sources and sinks by name: the two interfaces and one registry for each.

A **source** is an iterable of :class:`~vidmatte.frame.Frame` with ``width``, ``height``,
``fps``, ``time_base`` and ``frame_count`` (``None`` when unknown), a context manager with an
idempotent ``close()``. A **sink** has ``accepts`` (the pixel formats it takes),
``write(frame)``, ``close()`` (finish and keep) and ``abort()`` (throw away), and is a
context manager that aborts on an exception.

Kinds are registered by name with a ``matches(spec)`` test (pyvirtualcam's backend style);
:func:`open_source` / :func:`open_sink` try every kind whose test accepts the spec, in
registration order, and when none opens raise one error that lists what was tried::

    register_sink("myserver", MySink, lambda spec: str(spec).startswith("myserver://"))
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Protocol, Union, runtime_checkable

from vidmatte.errors import InputError, OutputError, VidmatteError

__all__ = ["Source", "Sink", "register_source", "register_sink", "open_source", "open_sink", "check_source",
           "SOURCES", "SINKS"]

PathLike = Union[str, os.PathLike]


@runtime_checkable
class Source(Protocol):
    width: int
    height: int

    def __iter__(self) -> Iterator[Any]: ...

    def close(self) -> None: ...


@runtime_checkable
class Sink(Protocol):
    accepts: tuple[str, ...]

    def write(self, frame: Any) -> None: ...

    def close(self) -> Any: ...

    def abort(self) -> None: ...


@dataclass(frozen=True)
class Kind:
    """One registered source or sink kind."""

    name: str
    open: Callable[..., Any]
    matches: Callable[[str], bool]
    describe: str = ""
    needs_path: bool = False  # the spec names a file or folder that must exist (checked up front)


SOURCES: dict[str, Kind] = {}
SINKS: dict[str, Kind] = {}


def _register(table: dict[str, Kind], kind: Kind, first: bool) -> None:
    table.pop(kind.name, None)
    items = [(kind.name, kind)] + list(table.items()) if first else list(table.items()) + [(kind.name, kind)]
    table.clear()
    table.update(items)


def register_source(name: str, opener: Callable[..., Any], matches: Callable[[str], bool], describe: str = "",
                    *, first: bool = True, needs_path: bool = False) -> None:
    """Add (or replace) a source kind: ``opener(spec, **kw)`` is used when ``matches(spec)``.

    New kinds are tried before the ones already registered (``first=False``: after).
    ``needs_path``: the spec is a local file or folder, refused up front when it is missing
    (:func:`check_source`); otherwise the kind's own opener judges the spec."""
    _register(SOURCES, Kind(name, opener, matches, describe or name, needs_path), first)


def register_sink(name: str, opener: Callable[..., Any], matches: Callable[[str], bool], describe: str = "",
                  *, first: bool = True) -> None:
    """Add (or replace) a sink kind: ``opener(spec, **kw)`` is used when ``matches(spec)``.

    New kinds are tried before the ones already registered (``first=False``: after)."""
    _register(SINKS, Kind(name, opener, matches, describe or name), first)


def _open(table: dict[str, Kind], spec: PathLike, what: str, error: type, kind: Optional[str], **kw) -> Any:
    text = os.fspath(spec)
    if kind is not None:
        if kind not in table:
            raise error(f"unknown {what} kind {kind!r}; registered: {', '.join(table)}")
        return table[kind].open(text, **kw)
    tried = []
    for entry in table.values():
        if not entry.matches(text):
            continue
        try:
            return entry.open(text, **kw)
        except VidmatteError as exc:
            if len([e for e in table.values() if e.matches(text)]) == 1:
                raise  # the only candidate: its own message says it best
            tried.append(f"{entry.describe} ({exc})")
    if not tried:
        tried = [f"{e.describe}" for e in table.values()]
        raise error(f"cannot open {what} {text}: it is none of: {'; '.join(tried)}")
    raise error(f"cannot open {what} {text}; tried: {'; '.join(tried)}")


def check_source(spec: PathLike) -> None:
    """Raise the one-line :class:`InputError` when ``spec`` is a missing file or folder and no
    registered kind that takes other specs (a frame pattern, a camera, a URL, ``lavfi:``, a
    plugin's scheme) matches it. Cheap (no codec, no model), so commands call it before
    loading a model."""
    text = os.fspath(spec)
    if Path(text).exists() or any(k.matches(text) and not k.needs_path for k in SOURCES.values()):
        return
    kinds = sorted(SOURCES.values(), key=lambda k: not k.needs_path)  # the file kinds first
    tried = ", ".join(k.describe for k in kinds)
    raise InputError(f"cannot open {text}: no such file or folder (tried: {tried})")


def open_source(spec: PathLike, *, kind: Optional[str] = None, **kw) -> Any:
    """Open ``spec`` with the first registered source kind that takes it (or ``kind``)."""
    if kind is None:
        check_source(spec)
    return _open(SOURCES, spec, "input", InputError, kind, **kw)


def open_sink(spec: PathLike, *, kind: Optional[str] = None, **kw) -> Any:
    """Open ``spec`` with the first registered sink kind that takes it (or ``kind``)."""
    return _open(SINKS, spec, "output", OutputError, kind, **kw)


# -- the built-in kinds (classes imported when used) ---------------------------------------
_PRINTF = re.compile(r"%0?\d*d")


def _is_sequence(text: str) -> bool:
    """A folder or a frame pattern (an existing file is itself, whatever its name holds)."""
    p = Path(text)
    return p.is_dir() or (not p.is_file() and (bool(_PRINTF.search(text)) or any(ch in p.name for ch in "*?[")))


def _image_ext(text: str) -> bool:
    from vidmatte.io.formats import IMAGE_EXTENSIONS

    return Path(text).suffix.lower() in IMAGE_EXTENSIONS


def _open_sequence(text: str, **kw):
    from vidmatte.io.image_sources import ImageSequenceSource

    return ImageSequenceSource(text, **kw)


def _open_still(text: str, **kw):
    from vidmatte.io.image_sources import ImageSource

    return ImageSource(text, **{k: v for k, v in kw.items() if k == "with_alpha"})


def _open_video(text: str, **kw):
    from vidmatte.io.sources import VideoSource

    kw.pop("fps", None)  # a video keeps its own timing
    return VideoSource(text, **kw)


def _open_live(text: str, **kw):
    import inspect

    from vidmatte.io.capture import LiveSource

    takes = inspect.signature(LiveSource).parameters  # file-job options (deep, strict, ...) do not apply
    return LiveSource(text, **{k: v for k, v in kw.items() if k in takes})


def _is_live(text: str) -> bool:
    from vidmatte.io.cameras import is_live_spec

    return is_live_spec(text)


def _open_stdin(text: str, **kw):
    from vidmatte.io.pipes import StdinSource

    kw.pop("fps", None)
    return StdinSource(**kw)


register_source("sequence", _open_sequence, _is_sequence,
                "image folder, frame pattern such as frames/%06d.png or *.png", first=False)
register_source("video", _open_video,
                lambda t: t != "-" and not _is_sequence(t) and not _image_ext(t) and not _is_live(t),
                "video file", first=False, needs_path=True)
register_source("image", _open_still, lambda t: _image_ext(t) and not _is_sequence(t), "image file", first=False,
                needs_path=True)
register_source("live", _open_live, _is_live, "camera index / URL / lavfi:GRAPH", first=False)
register_source("stdin", _open_stdin, lambda t: t == "-", "stdin (-)", first=False)


def _sequence_sink_spec(text: str, format: Optional[str]) -> bool:
    from vidmatte.io.formats import SEQUENCE_EXTENSIONS

    p = Path(text)
    ext = p.suffix.lower().lstrip(".")
    return (format in SEQUENCE_EXTENSIONS or p.is_dir() or text.endswith(("/", os.sep)) or "%" in p.name
            or ext in SEQUENCE_EXTENSIONS or not ext)


def _open_sequence_sink(text: str, format: Optional[str] = None, **kw):
    from vidmatte.io.sequence import ImageSequenceSink, sequence_target

    ext = Path(text).suffix.lower().lstrip(".")
    folder, pattern, fmt = sequence_target(text, format or ext or "png")
    keep = {k: kw[k] for k in ("alpha_mode", "overwrite", "input_path") if k in kw}
    return ImageSequenceSink(folder, format=fmt, pattern=pattern, **keep)


def _open_video_sink(text: str, format: Optional[str] = None, **kw):
    from vidmatte.io.formats import DEFAULT_PRESET
    from vidmatte.io.sinks import VideoSink

    ext = Path(text).suffix.lower()
    if ext not in DEFAULT_PRESET:
        supported = ", ".join(list(DEFAULT_PRESET) + ["a folder or frame_%06d.png/.exr for image sequences"])
        raise OutputError(f"cannot write {ext or 'files without an extension'} output; supported: {supported}")
    return VideoSink(text, preset=format or DEFAULT_PRESET[ext], **kw)


def _open_virtualcam(text: str, **kw):
    from vidmatte.io.virtualcam import VirtualCamSink

    device = text.partition(":")[2] or None
    return VirtualCamSink(kw["width"], kw["height"], kw.get("fps") or 30, device=device, backend=kw.get("backend"))


def _open_preview(text: str, **kw):
    from vidmatte.io.preview import PreviewSink

    return PreviewSink(kw.get("title", "vidmatte"), keys=kw.get("keys"))


register_sink("virtualcam", _open_virtualcam, lambda t: t == "virtualcam" or t.startswith("virtualcam:"),
              "virtual camera (virtualcam[:DEVICE])", first=False)
register_sink("preview", _open_preview, lambda t: t == "preview", "preview window", first=False)
_SPECIAL = ("virtualcam", "preview")


def _is_stream(text: str) -> bool:
    from vidmatte.io.stream_net import is_stream_url

    return is_stream_url(text)


def _open_stream(text: str, **kw):
    from vidmatte.io.stream import open_stream_sink

    return open_stream_sink(text, **kw)


register_sink("stream", _open_stream, _is_stream,
              "stream (rtmp://, srt://, udp://, rtp://, rtsp://, tcp://)", first=False)
def _open_stdout_sink(text: str, format: Optional[str] = None, **kw):
    from vidmatte.io.sinks import VideoSink

    return VideoSink("-", preset=format, **kw)


register_sink("stdout", _open_stdout_sink, lambda t: t == "-", "stdout (-: a Matroska, NUT, MPEG-TS or WebM stream)",
              first=False)
register_sink("sequence", lambda t, **kw: _open_sequence_sink(t, **kw),
              lambda t: t != "-" and not t.startswith(_SPECIAL) and not _is_stream(t) and _sequence_sink_spec(t, None),
              "image sequence (folder or frame_%06d.png/.exr)", first=False)
register_sink("video", _open_video_sink,
              lambda t: t != "-" and not t.startswith(_SPECIAL) and not _is_stream(t) and not _sequence_sink_spec(t, None),
              "video file (.mp4, .mov, .mkv, .webm)", first=False)
