"""Stream sinks: send the result to an RTMP / SRT / UDP / RTP / RTSP / TCP receiver.

``-o rtmp://HOST/APP/KEY`` (FLV), ``srt://HOST:PORT`` and ``udp://HOST:PORT`` (MPEG-TS),
``rtp://HOST:PORT`` (RTP carrying MPEG-TS), ``rtsp://HOST:PORT/PATH`` (RTSP push, ANNOUNCE/RECORD),
``tcp://HOST:PORT`` (MPEG-TS). Video is low-latency H.264 (x264 ``tune=zerolatency``, no
B-frames, a keyframe every ``gop`` frames, CBR-like ``bitrate`` when given, else CRF); the
greyscale matte (``matte --format alpha``) is H.264 too. Alpha (``matte --format webm|prores``)
needs a container that holds it: Matroska/WebM, sent only over the byte-stream protocols
``srt://`` and ``tcp://``; FLV, MPEG-TS and RTP have no place for alpha, so they are refused.

The FFmpeg inside PyAV's wheels has no ``srt`` protocol (no libsrt): for ``srt://`` the muxed
stream is piped into a system ``ffmpeg`` (``-c copy``), which sends it. Without one, the sink
refuses in one line naming what to install.

The receiver is reached when the sink opens, before any frame: a refused connection or an
unknown host is an :class:`~vidmatte.errors.OutputError` (exit 2); UDP/RTP are connectionless,
SRT is probed first (:func:`srt_probe`). A stalled write is cut (:mod:`~vidmatte.io.stream_live`).

Two behaviours (``live``):

* file jobs (``live=False``): every frame is encoded and sent in the caller's thread; the
  receiver going away mid-stream stops the job with one line.
* live jobs (``live=True``, ``vidmatte webcam``): a sender thread encodes and sends; the
  caller only hands over the newest frame. A frame that arrives while the previous one is
  still being sent replaces it (a slow link drops frames here instead of queueing latency),
  and while the receiver is gone the sink reconnects with backoff (0.5, 1, 2, 4, 8 s …),
  counting the frames dropped meanwhile. :meth:`StreamSink.summary` gives the network write
  time per frame (encode + mux + socket write) and the capture-to-sent latency.

Audio: a file job keeps the input's audio (copied when the container takes the codec,
else re-encoded to AAC, :mod:`vidmatte.io.passthrough`); a live job sends a silent AAC track
to RTMP, whose ingest servers (YouTube, Twitch) expect one (``silent_audio``).
"""

from __future__ import annotations

import collections
import os
import threading
import time
from fractions import Fraction
from typing import Optional
from urllib.parse import urlsplit

import av

from vidmatte.errors import OutputError, warn
from vidmatte.frame import Frame
from vidmatte.io.atomic import AtomicSink
from vidmatte.io.formats import PRESETS, codec_options
from vidmatte.io.packing import even_size, output_pts, pack_frame
from vidmatte.io.stream_conn import Connection
from vidmatte.io.stream_live import BACKOFF_S, LiveSending
from vidmatte.io.stream_net import (_ALPHA_MUXERS, _BYTE_STREAMS, SCHEMES, _failure, _peer_addresses, _resolve,
                                    is_stream_url, parse_bitrate, redact, srt_probe, system_ffmpeg)

__all__ = ["SCHEMES", "BACKOFF_S", "is_stream_url", "redact", "parse_bitrate", "StreamSink", "open_stream_sink",
           "srt_probe", "system_ffmpeg"]


class StreamSink(LiveSending, AtomicSink):
    """Encode frames and send them to a stream receiver (see the module doc).

    Args:
        url: ``rtmp://``, ``rtmps://``, ``srt://``, ``udp://``, ``rtp://``, ``rtsp://`` or ``tcp://``.
        width, height: frame size (H.264 pads odd sizes by one row/column).
        fps, time_base: nominal rate and the pts unit of the frames written (one of them).
        format: ``h264`` (default), ``alpha`` (greyscale matte), or ``webm``/``prores`` with
            alpha (``srt://`` and ``tcp://`` only, in WebM/Matroska).
        gop: frames between keyframes (default: 2 s worth).
        bitrate: target bits per second (``"2.5M"``, ``"800k"`` or a number); ``None``: CRF ``crf``.
        live: send from a thread, drop frames while busy, reconnect (see the module doc).
        audio_from: a file (or source with ``.path``) whose audio is sent along.
        silent_audio: send a silent AAC track (``None``: for RTMP when live).
        codec_preset: x264 speed preset (default ``veryfast``).
        open_timeout: seconds to wait for the receiver when opening.
    """

    def __init__(self, url: str, *, width: int, height: int, fps=None, time_base=None, format: Optional[str] = None,
                 gop: Optional[int] = None, bitrate=None, live: bool = False, audio_from=None,
                 silent_audio: Optional[bool] = None, crf: int = 23, codec_preset: Optional[str] = None,
                 open_timeout: float = 5.0, alpha_mode: Optional[str] = None, **_ignored):
        self.url = os.fspath(url)
        scheme = self.url.partition("://")[0].lower()
        if scheme not in SCHEMES:
            raise OutputError(f"{redact(self.url)}: not a stream URL; use one of {', '.join(s + '://' for s in SCHEMES)}")
        self.scheme = scheme
        preset = format or "h264"
        if preset not in PRESETS:
            raise OutputError(f"cannot stream {preset!r} frames to {redact(self.url)}: choose h264 or alpha "
                              "(or webm/prores over srt:// or tcp://)")
        self.preset = PRESETS[preset]
        if self.preset.alpha:
            if scheme not in _BYTE_STREAMS:
                raise OutputError(f"{scheme}:// cannot carry {preset} with alpha (FLV, MPEG-TS and RTP hold no alpha): "
                                  "send it over srt:// or tcp:// (as Matroska/WebM), or stream H.264 (replace: --format "
                                  "h264; matte: --format alpha)")
            self.muxer = _ALPHA_MUXERS[preset]
        else:
            self.muxer = SCHEMES[scheme]
        if time_base is None and fps is None:
            raise ValueError("give time_base or fps")
        self.fps = Fraction(fps if fps is not None else 1 / Fraction(time_base)).limit_denominator(1_000_000)
        self.time_base = Fraction(time_base) if time_base is not None else 1 / self.fps
        self.width, self.height = int(width), int(height)
        self.coded_size = even_size(self.width, self.height) if self.preset.even else (self.width, self.height)
        self.alpha_mode = alpha_mode or "straight"
        self.gop = int(gop) if gop else max(1, round(2 * float(self.fps)))
        self.bit_rate = parse_bitrate(bitrate) if bitrate is not None else None
        self.codec = self.preset.codec
        self.codec_options = self._options(crf, codec_preset or "veryfast")
        self.live = live
        self.audio_from = None if audio_from is None else os.fspath(getattr(audio_from, "path", audio_from))
        self.silent_audio = (live and self.muxer == "flv") if silent_audio is None else silent_audio
        self.muxer_options = {"flush_packets": "1"} if self.muxer != "rtsp" else {"rtsp_transport": "tcp"}
        if self.muxer == "flv":
            self.muxer_options["flvflags"] = "no_duration_filesize"
        self.open_timeout = open_timeout
        self.relay_exe = None
        if scheme == "srt":
            self.relay_exe = system_ffmpeg()
            if self.relay_exe is None:
                raise OutputError("srt:// needs a system ffmpeg with SRT (PyAV's FFmpeg has no libsrt): install one, "
                                  "e.g. `apt-get install ffmpeg` or `brew install ffmpeg`, or stream to udp:// or rtmp://")
            srt_probe(self.url, timeout=open_timeout)
        else:  # an unknown host is said as such (FFmpeg says "Input/output error" for RTMP)
            parts = urlsplit(self.url)
            if not parts.hostname:
                raise OutputError(f"{redact(self.url)}: no host in the URL; give {scheme}://HOST:PORT/…")
            try:
                port = parts.port or 0
            except ValueError:
                raise OutputError(f"{redact(self.url)}: the port is not a number") from None
            if scheme in ("udp", "rtp", "tcp") and not port:
                raise OutputError(f"{redact(self.url)}: give the receiver's port, {scheme}://HOST:PORT")
            _resolve(self.url, parts.hostname, port)
        # counters
        self.frames = self.sent = self.dropped = self.reconnects = 0
        self.write_ms: collections.deque = collections.deque(maxlen=2000)
        self.latency_ms: collections.deque = collections.deque(maxlen=2000)
        self._last_pts: Optional[int] = None
        self._conn: Optional[Connection] = None
        self.stall_timeout = max(1.0, float(open_timeout))
        self._watched: Optional[tuple] = None  # (since, connection) while a write may block
        self._stalled = False
        self._peers = _peer_addresses(self.url) if self.relay_exe is None else set()
        self._closed = False
        self._conn = self._connect(first=True)
        self._watchdog = threading.Thread(target=self._watch, name="vidmatte-stream-watchdog", daemon=True)
        self._watchdog.start()
        if live:
            self._slot: Optional[tuple] = None
            self._busy = False
            self._cv = threading.Condition()
            self._down_since: Optional[float] = None
            self._error: Optional[BaseException] = None
            self._thread = threading.Thread(target=self._sender, name="vidmatte-stream", daemon=True)
            self._thread.start()

    def _options(self, crf: int, speed: str) -> dict:
        opts = codec_options(self.preset, crf, speed)
        if self.codec == "libx264":
            opts.update({"tune": "zerolatency", "g": str(self.gop), "keyint_min": str(self.gop),
                         "sc_threshold": "0", "bf": "0"})
            if self.bit_rate:
                opts.pop("crf", None)
                opts.update({"b": str(self.bit_rate), "maxrate": str(self.bit_rate), "bufsize": str(self.bit_rate)})
        elif self.codec == "libvpx-vp9":
            opts.update({"deadline": "realtime", "lag-in-frames": "0", "g": str(self.gop)})
            if self.bit_rate:
                opts.update({"b": str(self.bit_rate)})
                opts.pop("crf", None)
        return opts

    def _connect(self, first: bool) -> Connection:
        try:
            return Connection(self)
        except (av.error.FFmpegError, OSError) as e:
            if not first:
                raise
            raise OutputError(f"cannot stream to {redact(self.url)}: {_failure(e)}; check that the receiver is "
                              "running and the address is right") from None

    @property
    def accepts(self) -> tuple[str, ...]:
        return self.preset.accepts

    def _pack(self, frame: Frame) -> av.VideoFrame:
        h, w = frame.size
        if (w, h) != (self.width, self.height):
            raise ValueError(f"frame is {w}x{h}, the sink was opened for {self.width}x{self.height}")
        vf = pack_frame(frame.image, self.preset, alpha_mode=self.alpha_mode, alpha=frame.alpha)
        pts, _ = output_pts(frame, self.time_base, self._last_pts, max(1, round(1 / (self.fps * self.time_base))))
        self._last_pts = pts
        vf.pts, vf.time_base = pts, self.time_base
        return vf

    def write(self, frame: Frame) -> None:
        """Send one frame (file jobs), or hand it to the sender thread (live: may drop it)."""
        if self._closed:
            raise RuntimeError("write() on a closed StreamSink")
        self.frames += 1
        t_cap = frame.meta.get("t_capture") if frame.meta else None
        if not self.live:
            vf = self._pack(frame)
            self._send(vf, t_cap)
            return
        if self._error is not None:
            raise self._error
        if self._down_since is not None:  # reconnecting: the frame is lost, counted
            self.dropped += 1
            return
        vf = self._pack(frame)
        with self._cv:
            if self._slot is not None:  # the link is slower than the frames: drop here, keep latency flat
                self.dropped += 1
            self._slot = (vf, t_cap)
            self._cv.notify_all()

    def _send(self, vf: av.VideoFrame, t_cap: Optional[float]) -> None:
        t0 = time.perf_counter()
        try:
            with self._guard(self._conn):  # the watchdog ends a send that makes no progress
                self._conn.send(vf)
        except (av.error.FFmpegError, OSError) as e:
            if self.live:
                raise
            reason = _failure(e)
            if self._conn is not None and self._conn.relay is not None:
                reason = self._conn.relay.reason()
            if self._stalled:
                reason = f"no progress for {self.stall_timeout:g} s"
            self._drop_connection()
            raise OutputError(f"the stream to {redact(self.url)} broke after {self.sent} frames ({reason}); "
                              "the receiver went away or the network failed") from None
        t1 = time.perf_counter()
        self.sent += 1
        self.write_ms.append(1000.0 * (t1 - t0))
        if t_cap is not None:
            self.latency_ms.append(1000.0 * (t1 - t_cap))

    def close(self) -> str:
        """Flush the encoder, end the stream, close the connection; returns the URL."""
        if self._closed and self._conn is None:
            return self.url
        self._stop_thread()
        self._closed = True
        conn = self._conn
        if conn is not None:
            try:
                with self._guard(conn):
                    conn.finish()
            except (av.error.FFmpegError, OSError) as e:
                try:
                    conn.close(failed=True)  # the relay process too
                except Exception:
                    pass
                if not self.live:
                    raise OutputError(f"the stream to {redact(self.url)} failed at its end ({_failure(e)})") from None
                warn(f"the stream to {redact(self.url)} failed at its end ({_failure(e)})")
            finally:
                self._conn = None
        if self.frames and not self.sent and not self.live:
            raise OutputError(f"no frames were sent to {redact(self.url)}")
        return self.url

    def abort(self) -> None:
        """Stop sending now (idempotent)."""
        if self.live and not self._closed:
            with self._cv:
                self._closed = True
                self._cv.notify_all()
            self._thread.join(timeout=2 * self.open_timeout)
            if self._thread.is_alive():  # stuck in a write: leave the connection to it (daemon thread)
                return
        self._closed = True
        self._drop_connection()



def open_stream_sink(url: str, **kw) -> StreamSink:
    """The registry's opener (see :func:`vidmatte.io.registry.open_sink`)."""
    keep = {k: kw[k] for k in ("width", "height", "fps", "time_base", "format", "gop", "bitrate", "live", "audio_from",
                               "silent_audio", "crf", "codec_preset", "open_timeout", "alpha_mode") if k in kw}
    return StreamSink(url, **keep)
