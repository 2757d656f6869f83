"""Live sources: a reader thread decodes continuously and only the newest frame is kept.

Spec forms: a camera index (``0`` / ``"0"``: v4l2 ``/dev/video0`` on Linux, avfoundation on
macOS, dshow on Windows), a device path ``/dev/videoN``, ``video=NAME`` (dshow), a URL
(rtsp, http(s), udp, tcp, rtmp, srt), ``lavfi:<graph>`` or a video file. ``read()`` hands out
the newest unseen frame; frames replaced before anyone read them are counted as dropped.
The device is opened by the constructor (errors surface there); decoding starts on
:meth:`start` or the first :meth:`read`.
A live device or stream that fails mid-way is reopened for ``reconnect_s`` seconds, then the
source ends cleanly with :attr:`LiveSource.end_reason` saying why.
"""

from __future__ import annotations

import errno
import threading
import time
from fractions import Fraction
from typing import Optional, Union

import av

from vidmatte.errors import DeviceError, InputError
from vidmatte.frame import Frame
from vidmatte.io.cameras import SourceSpec, list_cameras, parse_source
from vidmatte.io.sources import rotation_of, to_rgb

__all__ = ["LiveSource"]

class LiveSource:
    """Newest-frame-wins reader over a camera, stream, lavfi graph or file.

    Args:
        spec: see :func:`parse_source`.
        width, height, fps: asked of the camera; files and lavfi graphs are rescaled to
            ``width x height`` instead (their pace is their own timestamps).
        pixel_format: camera format, e.g. ``"mjpeg"`` (cheaper USB bandwidth at 1080p).
        realtime: pace files and lavfi graphs to their timestamps like a camera; ``None``
            paces lavfi and not files. Cameras and streams pace themselves.
        threads: ``"slice"`` (default: no added latency), ``"frame"`` or ``"none"``.
        reconnect_s: how long a lost camera/stream is retried before the source ends.
        timeout_s: a URL that sends nothing for this long counts as unreachable / lost.
    """

    def __init__(self, spec: Union[int, str], *, width: Optional[int] = None, height: Optional[int] = None,
                 fps: Optional[float] = None, pixel_format: Optional[str] = None,
                 realtime: Optional[bool] = None, threads: str = "slice", reconnect_s: float = 3.0,
                 timeout_s: float = 5.0):
        self.spec = spec if isinstance(spec, SourceSpec) else parse_source(spec)
        self.asked = {"width": width, "height": height, "fps": fps, "pixel_format": pixel_format}
        self.realtime = (self.spec.kind == "lavfi") if realtime is None else bool(realtime)
        self.threads, self.reconnect_s, self.timeout_s = threads, float(reconnect_s), float(timeout_s)
        self.frames_decoded = self.frames_dropped = 0
        self.end_reason: Optional[str] = None
        self._cond = threading.Condition()
        self._pending: Optional[Frame] = None
        self._error: Optional[BaseException] = None
        self._ended = False
        self._closing = threading.Event()
        self._container = self._open()
        stream = self._container.streams.video[0]
        scaled = not self.spec.live and width and height  # cameras deliver what they agreed to
        self.width = int(width if scaled else stream.codec_context.width)
        self.height = int(height if scaled else stream.codec_context.height)
        rate = stream.average_rate or stream.guessed_rate or fps or 30
        self.fps = float(rate)
        self._thread = threading.Thread(target=self._run, name="vidmatte-capture", daemon=True)
        if not (self.width and self.height):  # some streams only tell with their first picture
            self._learn_size()

    def _learn_size(self) -> None:
        first = self.read(self.timeout_s)
        if first is None:
            self.close()
            raise DeviceError(f"{self.spec.label} sent no picture within {self.timeout_s:g} s; check the stream")
        self.height, self.width = first.image.shape[:2]
        with self._cond:  # hand it out again unless a newer frame already replaced it
            if self._pending is None:
                self._pending = first
            else:
                self.frames_dropped += 1

    def start(self) -> "LiveSource":
        """Start the reader thread (``read`` does it on first use); opening already happened."""
        if self._thread.ident is None and not self._closing.is_set():
            self._thread.start()
        return self

    # -- opening ---------------------------------------------------------------------------
    def _options(self) -> dict:
        a, fmt, opts = self.asked, self.spec.format, {}
        if self.spec.kind == "camera":
            if a["width"] and a["height"]:
                opts["video_size"] = f"{a['width']}x{a['height']}"
            if a["fps"] or fmt == "avfoundation":  # avfoundation's default 29.97 fails on most cameras
                opts["framerate"] = f"{a['fps'] or 30:g}"
            if a["pixel_format"]:
                key = {"v4l2": "input_format", "dshow": "vcodec"}.get(fmt, "pixel_format")
                opts[key] = a["pixel_format"]
        elif self.spec.kind == "url":
            opts["fflags"] = "nobuffer"
        return opts

    def _open(self):
        kwargs = {"format": self.spec.format, "container_options": self._options()}
        if self.spec.kind == "url":
            kwargs["timeout"] = (self.timeout_s, self.timeout_s)
        try:
            container = av.open(self.spec.target, **kwargs)
        except av.FFmpegError as exc:
            raise self._open_error(exc) from None
        if not container.streams.video:
            container.close()
            raise InputError(f"{self.spec.label} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = {"slice": "SLICE", "frame": "FRAME"}.get(self.threads, "SLICE")
        stream.codec_context.thread_count = 1 if self.threads == "none" else 0
        return container

    def _open_error(self, exc: av.FFmpegError) -> Exception:
        code, why, s = exc.errno, exc.strerror or str(exc), self.spec
        if isinstance(exc, av.error.ExitError):  # our open timeout fired
            why = f"no answer within {self.timeout_s:g} s"
        if s.kind == "lavfi":
            return InputError(f"invalid lavfi graph {s.target!r}: {why}")
        if s.kind == "file":
            return InputError(f"cannot read video {s.target!r}: {why}")
        if s.kind == "url":
            return DeviceError(f"could not open stream {s.target}: {why}; check the address, that the stream "
                               "is running and that the network reaches it")
        if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
            found = ", ".join(list_cameras()) or "none"
            return DeviceError(f"no camera at {s.label} (video devices found: {found}); plug one in, or pass "
                               "--source with another index, /dev/videoN, a URL, lavfi:GRAPH or a file")
        if code == errno.EBUSY:
            return DeviceError(f"camera {s.label} is busy: another program (a video call, a browser tab, OBS) "
                               "is using it; close that program and try again")
        if code in (errno.EACCES, errno.EPERM):
            return DeviceError(f"no permission to open camera {s.label}; add your user to the 'video' group "
                               "(sudo usermod -aG video $USER, then log in again)")
        asked = ", ".join(f"{k}={v}" for k, v in self.asked.items() if v)
        if asked:
            return DeviceError(f"camera {s.label} refused {asked} ({why}); try other --width/--height/--fps "
                               "or drop --mjpeg (v4l2-ctl --list-formats-ext lists what it supports)")
        return DeviceError(f"could not open camera {s.label}: {why}")

    # -- reader thread ---------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._closing.is_set():
                failure = self._pump()
                if self._closing.is_set() or not self.spec.live:
                    if failure is not None and not self._closing.is_set():
                        raise InputError(f"decoding {self.spec.label} failed: {failure}")
                    break
                if not self._reconnect():
                    self.end_reason = (f"{self.spec.label} stopped delivering frames ({failure or 'end of stream'})"
                                       f" and did not come back within {self.reconnect_s:g} s")
                    break
        except BaseException as exc:  # handed to the reader of frames
            self._error = exc
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def _pump(self) -> Optional[str]:
        """Decode until end of stream; returns the error text, or ``None`` at a clean end."""
        container, clock = self._container, None
        size = None if self.spec.live else (self.width, self.height)  # no-op at the own size
        try:
            for vf in container.decode(container.streams.video[0]):
                if self._closing.is_set():
                    return None
                if self.realtime and vf.time is not None:
                    clock = self._pace(vf.time, clock)
                image = to_rgb(vf, rotation=rotation_of(vf, container.streams.video[0]), size=size)
                frame = Frame(image=image, pts=vf.pts, time_base=Fraction(vf.time_base) if vf.time_base else None,
                              index=self.frames_decoded,
                              meta={"t_capture": time.perf_counter(), "source": self.spec.label})
                with self._cond:
                    self.frames_dropped += self._pending is not None
                    self._pending = frame
                    self.frames_decoded += 1
                    self._cond.notify_all()
        except av.error.ExitError:
            return f"no data for {self.timeout_s:g} s"
        except av.FFmpegError as exc:
            return exc.strerror or str(exc)
        return None

    def _pace(self, t: float, clock: Optional[tuple]) -> tuple:
        """Sleep until media time ``t`` is due on the wall clock (rebased after a stall)."""
        now = time.perf_counter()
        if clock is None or now - (clock[0] + t - clock[1]) > 0.5:
            return now, t
        self._closing.wait(max(0.0, clock[0] + t - clock[1] - now))
        return clock

    def _reconnect(self) -> bool:
        self._container.close()
        deadline = time.monotonic() + self.reconnect_s
        while not self._closing.is_set() and time.monotonic() < deadline:
            try:
                self._container = self._open()
                return True
            except (DeviceError, InputError):
                self._closing.wait(0.25)
        return False

    # -- consumer side ---------------------------------------------------------------------
    @property
    def ended(self) -> bool:
        """True once the source has nothing more to give (its last frame may still be unread)."""
        return self._ended and self._pending is None

    def read(self, timeout: Optional[float] = None) -> Optional[Frame]:
        """The newest unseen frame; ``None`` on timeout or at the end (see :attr:`ended`).

        Raises the reader's error (DeviceError / InputError) once its frames are consumed.
        """
        if not self._thread.ident:
            self.start()
        with self._cond:
            if not self._cond.wait_for(lambda: self._pending is not None or self._ended, timeout):
                return None
            frame, self._pending = self._pending, None
            if frame is None and self._error is not None:
                err, self._error = self._error, None
                raise err
            return frame

    def close(self) -> None:
        """Stop the reader and release the device (idempotent)."""
        self._closing.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        if not self._thread.is_alive():
            self._container.close()
            with self._cond:
                self._ended = True
                self._pending = None  # a closed source has nothing more to give
                self._cond.notify_all()

    def __enter__(self) -> "LiveSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
