"""Where live frames come from: camera indices, device paths, stream URLs and lavfi graphs.

Spec forms: a camera index (``0`` / ``"0"``: v4l2 ``/dev/video0`` on Linux, avfoundation on
macOS, dshow on Windows), a device path ``/dev/videoN``, ``video=NAME`` (dshow), a URL
(rtsp, http(s), udp, tcp, rtmp, srt), ``lavfi:<graph>`` or a video file.
"""

from __future__ import annotations

import glob
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from vidmatte.errors import DeviceError, InputError

__all__ = ["SourceSpec", "parse_source", "list_cameras", "is_live_spec", "URL_SCHEMES"]

URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt")


@dataclass(frozen=True)
class SourceSpec:
    """What ``av.open`` gets: ``target`` with ``format``; ``kind`` is camera|url|lavfi|file."""

    kind: str
    target: str
    format: Optional[str]
    label: str

    @property
    def live(self) -> bool:
        return self.kind in ("camera", "url")


def list_cameras() -> list[str]:
    """``/dev/video*`` nodes present (Linux); empty elsewhere."""
    return sorted(glob.glob("/dev/video*"), key=lambda p: (len(p), p))


def parse_source(spec: Union[int, str], system: Optional[str] = None) -> SourceSpec:
    """Classify a ``--source`` value (see the module docstring for the forms)."""
    system = system or platform.system()
    text = str(spec).strip()
    if text.isdigit():
        if system == "Darwin":
            return SourceSpec("camera", f"{text}:none", "avfoundation", f"camera {text} (avfoundation)")
        if system == "Windows":
            return SourceSpec("camera", _dshow_name(int(text)), "dshow", f"camera {text} (dshow)")
        return SourceSpec("camera", f"/dev/video{text}", "v4l2", f"/dev/video{text}")
    if text.startswith("lavfi:"):
        return SourceSpec("lavfi", text[6:], "lavfi", text)
    if text.startswith("video=") and system == "Windows":
        return SourceSpec("camera", text, "dshow", text)
    if text.startswith("/dev/video"):
        return SourceSpec("camera", text, "v4l2", text)
    if text.split("://", 1)[0].lower() in URL_SCHEMES and "://" in text:
        return SourceSpec("url", text, None, text)
    if not Path(text).is_file():
        raise InputError(f"no such video file or camera: {text!r} (use a camera index such as 0, /dev/videoN, "
                         "a URL, lavfi:GRAPH or an existing video file)")
    return SourceSpec("file", text, None, text)


def _dshow_name(index: int) -> str:
    """The ``video=NAME`` of the index-th DirectShow camera, from FFmpeg's device list."""
    import av  # only here: spec parsing stays free of codecs (input errors answer at once)

    with av.logging.Capture() as logs:
        try:
            av.open("dummy", format="dshow", options={"list_devices": "true"}).close()
        except av.FFmpegError:
            pass
    names = [m.split('"')[1] for _, _, m in logs if m.count('"') >= 2 and "(video)" in m]
    if index >= len(names):
        raise DeviceError(f"no camera at index {index} (DirectShow cameras found: {', '.join(names) or 'none'}); "
                          'pass --source "video=NAME" with one of them')
    return f"video={names[index]}"


def is_live_spec(text: str) -> bool:
    """Whether ``text`` names a camera, a stream URL or a lavfi graph (not a file)."""
    t = str(text).strip()
    scheme = t.split("://", 1)[0].lower()
    return (t.isdigit() or t.startswith(("lavfi:", "/dev/video", "video=")) or ("://" in t and scheme in URL_SCHEMES))
