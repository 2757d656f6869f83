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

The receiver is reached when the sink opens, before any frame is processed: a refused
connection or an unknown host is an :class:`~vidmatte.errors.OutputError` (exit 2). (UDP and
RTP are connectionless: only an unknown host can be found out; for SRT a handshake is tried
first, see :func:`srt_probe`.)

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
import contextlib
import os
import shutil
import socket
import struct
import subprocess
import threading
import time
from fractions import Fraction
from typing import Optional
from urllib.parse import urlsplit

import av
import numpy as np

from vidmatte.errors import OutputError, warn
from vidmatte.frame import Frame
from vidmatte.io.formats import PRESETS, codec_options
from vidmatte.io.packing import even_size, pack_frame

__all__ = ["SCHEMES", "is_stream_url", "StreamSink", "open_stream_sink", "srt_probe", "system_ffmpeg"]

#: URL scheme → muxer of the H.264 stream
SCHEMES = {"rtmp": "flv", "rtmps": "flv", "srt": "mpegts", "udp": "mpegts", "rtp": "rtp_mpegts",
           "rtsp": "rtsp", "tcp": "mpegts"}
#: schemes that carry a byte stream, where Matroska/WebM (alpha) can travel
_BYTE_STREAMS = ("srt", "tcp")
_ALPHA_MUXERS = {"webm": "webm", "prores": "matroska"}
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)


def is_stream_url(text) -> bool:
    """True for ``rtmp://``, ``rtmps://``, ``srt://``, ``udp://``, ``rtp://``, ``rtsp://``, ``tcp://`` specs."""
    text = os.fspath(text) if not isinstance(text, str) else text
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


def redact(url: str) -> str:
    """``url`` for messages: an RTMP stream key (the last path part) and SRT passphrases hidden."""
    parts = urlsplit(url)
    path = parts.path
    if parts.scheme.lower().startswith("rtmp") and path.count("/") >= 2:
        path = path.rsplit("/", 1)[0] + "/***"
    query = "&".join(("passphrase=***" if q.lower().startswith("passphrase=") else q)
                     for q in parts.query.split("&")) if parts.query else ""
    return f"{parts.scheme}://{parts.netloc}{path}" + (f"?{query}" if query else "")


def system_ffmpeg() -> Optional[str]:
    """The system ``ffmpeg`` when it is installed and has the ``srt`` protocol, else ``None``."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "-hide_banner", "-protocols"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    outputs = out.split("Output:", 1)[-1].split()
    return exe if "srt" in outputs else None


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise OutputError(f"{redact(url)}: give the receiver as {parts.scheme}://HOST:PORT")
    return parts.hostname, port


def _resolve(url: str, host: str, port: int, kind=socket.SOCK_DGRAM):
    try:
        return socket.getaddrinfo(host, port, type=kind)[0]
    except socket.gaierror as e:
        raise OutputError(f"cannot stream to {redact(url)}: unknown host {host!r} ({e.strerror}); check the address") from None


def srt_probe(url: str, timeout: float = 3.0) -> None:
    """Check that an SRT listener answers at ``url``'s host and port, without connecting.

    Sends one SRT *induction* handshake (the first, stateless step: a listener answers with a
    cookie and keeps nothing) and waits for the reply. Raises :class:`OutputError` for an
    unknown host, a refused port (ICMP port unreachable) or no answer within ``timeout``.
    ``mode=listener`` / ``mode=rendezvous`` URLs are not probed (nobody is there to answer yet).
    """
    mode = dict(q.partition("=")[::2] for q in urlsplit(url).query.split("&") if q).get("mode", "caller")
    if mode != "caller":
        return
    host, port = _host_port(url)
    family, kind, proto, _, addr = _resolve(url, host, port)
    # header: control bit + type 0 (handshake), type-specific 0, timestamp 0, destination socket 0;
    # CIF: version 4, encryption 0, extension 2, ISN, MTU 1500, flow window 8192, type 1 (induction),
    # socket id, SYN cookie 0, peer IP (16 bytes)
    sid = int.from_bytes(os.urandom(4), "big") & 0x3FFFFFFF
    packet = struct.pack("!IIII", 0x80000000, 0, 0, 0) + struct.pack(
        "!IHHIIIiII16s", 4, 0, 2, int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF, 1500, 8192, 1, sid, 0, bytes(16))
    with socket.socket(family, kind, proto) as s:
        s.settimeout(timeout)
        try:
            s.connect(addr)
            s.send(packet)
            reply = s.recv(2048)
        except ConnectionRefusedError:
            raise OutputError(f"cannot stream to {redact(url)}: connection refused (no SRT listener on port {port}); "
                              "start the receiver first") from None
        except socket.timeout:
            raise OutputError(f"cannot stream to {redact(url)}: no SRT listener answered within {timeout:g} s; "
                              "check the address and that the receiver listens (mode=listener)") from None
        except OSError as e:
            raise OutputError(f"cannot stream to {redact(url)}: {e.strerror or e}") from None
    if len(reply) < 16 or not reply[0] & 0x80:
        raise OutputError(f"cannot stream to {redact(url)}: the answer on port {port} is not SRT")


class _Relay:
    """A system ``ffmpeg`` that reads MPEG-TS/Matroska on stdin and sends it to ``url`` (``-c copy``)."""

    def __init__(self, exe: str, url: str, muxer: str):
        self.url = url
        if "linger=" not in url:  # live-mode SRT drops what is unsent at close (linger 0): let the tail go out
            url += ("&" if "?" in url else "?") + "linger=2"
        cmd = [exe, "-hide_banner", "-nostats", "-loglevel", "error", "-fflags", "nobuffer",
               "-probesize", "32", "-analyzeduration", "0", "-f", muxer, "-i", "pipe:0",
               "-map", "0", "-c", "copy", "-f", muxer, url]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.errors: collections.deque = collections.deque(maxlen=5)
        self._reader = threading.Thread(target=self._drain, name="vidmatte-srt-stderr", daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        for line in iter(self.proc.stderr.readline, b""):
            text = line.decode(errors="replace").strip()
            if text:
                self.errors.append(text)

    @property
    def stdin(self):
        return self.proc.stdin

    def reason(self) -> str:
        self.proc.poll()
        last = self.errors[-1] if self.errors else ""
        return (f"ffmpeg exited with {self.proc.returncode}" if self.proc.returncode is not None else "ffmpeg is gone") + (
            f": {last}" if last else "")

    def close(self, wait: float = 5.0) -> int:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


class _Connection:
    """One open connection: the container, its streams and the pts origin."""

    def __init__(self, sink: "StreamSink"):
        self.sink, self.relay, self.container = sink, None, None
        self.origin: Optional[int] = None
        self.audio_samples = 0
        self.passthrough = None
        url, muxer = sink.url, sink.muxer
        try:
            if sink.relay_exe is not None:
                self.relay = _Relay(sink.relay_exe, url, muxer)
                self.container = av.open(self.relay.stdin, "w", format=muxer, buffer_size=4096,
                                         options={"flush_packets": "1"})
            else:
                if sink.scheme == "udp" and "pkt_size=" not in url:  # 7 TS packets a datagram, as receivers expect
                    url += ("&" if "?" in url else "?") + "pkt_size=1316"
                self.container = av.open(url, "w", format=muxer, options=sink.muxer_options,
                                         timeout=sink.open_timeout)
            self._add_streams()
            self.container.start_encoding()  # RTSP connects here; every muxer writes its header now
        except BaseException:
            self.close(failed=True)
            raise

    def _add_streams(self) -> None:
        sink = self.sink
        vs = self.container.add_stream(sink.codec, rate=sink.fps, options=sink.codec_options)
        vs.width, vs.height = sink.coded_size
        vs.pix_fmt = sink.preset.pix_fmt
        vs.time_base = sink.time_base
        cc = vs.codec_context
        cc.time_base = sink.time_base
        cc.colorspace = cc.color_primaries = cc.color_trc = 1  # BT.709
        cc.color_range = 1
        if sink.bit_rate:
            cc.bit_rate = sink.bit_rate
        self.video = vs
        self.audio = None
        if sink.audio_from is not None:
            from vidmatte.io.passthrough import StreamPassthrough

            self.passthrough = StreamPassthrough(sink.audio_from, self.container, sink.muxer, target=redact(sink.url))
            if not self.passthrough.tracks:
                self.passthrough = None
        elif sink.silent_audio:
            self.audio = self.container.add_stream("aac", rate=48000, layout="stereo")
            self.audio.bit_rate = 64000

    def send(self, vf: av.VideoFrame) -> None:
        if self.origin is None:
            self.origin = vf.pts
        vf.pts -= self.origin  # each connection starts at 0
        for packet in self.video.encode(vf):
            self.container.mux(packet)
        t = float(vf.pts * self.sink.time_base)
        if self.passthrough is not None:
            self.passthrough.pump(until=t)
        if self.audio is not None:
            self._silence(t)

    def _silence(self, until: float) -> None:
        """Silent AAC up to ``until`` seconds (1024-sample frames at 48 kHz)."""
        while self.audio_samples <= until * 48000:
            af = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp", layout="stereo")
            af.sample_rate, af.pts, af.time_base = 48000, self.audio_samples, Fraction(1, 48000)
            self.audio_samples += 1024
            for packet in self.audio.encode(af):
                self.container.mux(packet)

    def finish(self) -> None:
        for packet in self.video.encode(None):
            self.container.mux(packet)
        if self.passthrough is not None:
            self.passthrough.pump(None)
        if self.audio is not None:
            for packet in self.audio.encode(None):
                self.container.mux(packet)
        self.close(failed=False)

    def close(self, failed: bool) -> None:
        if self.passthrough is not None:
            self.passthrough.close()
            self.passthrough = None
        if self.container is not None:
            try:
                self.container.close()
            except Exception:
                if not failed:
                    raise
            finally:
                self.container = None
        if self.relay is not None:
            code = self.relay.close(wait=2.0 if failed else 10.0)
            relay, self.relay = self.relay, None
            if code and not failed:
                raise OSError(relay.reason())


_DEFAULT_PORTS = {"rtmp": 1935, "rtmps": 443, "rtsp": 554}


def _peer_addresses(url: str) -> set:
    """``(ip, port)`` pairs a TCP connection to ``url`` can have as its peer (empty for UDP)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("udp", "rtp") or not parts.hostname:
        return set()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError):
        return set()
    return {(info[4][0], info[4][1]) for info in infos}


def _shutdown_sockets(peers: set) -> int:
    """Shut down this process's TCP sockets connected to one of ``peers`` (a blocked FFmpeg
    ``send`` then fails with EPIPE). POSIX only (``/dev/fd``); returns how many."""
    import stat

    if not peers or not os.path.isdir("/dev/fd"):
        return 0
    n = 0
    for name in os.listdir("/dev/fd"):
        try:
            fd = int(name)
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            s = socket.socket(fileno=os.dup(fd))
        except (ValueError, OSError):
            continue
        try:
            if s.type == socket.SOCK_STREAM and tuple(s.getpeername()[:2]) in peers:
                s.shutdown(socket.SHUT_RDWR)
                n += 1
        except OSError:
            pass
        finally:
            s.close()  # the duplicate only
    return n


def _failure(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


class StreamSink:
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
                                  "send it over srt:// or tcp:// (as Matroska/WebM), or stream the matte itself "
                                  "with --format alpha")
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
        self._conn: Optional[_Connection] = None
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

    # -- connecting ---------------------------------------------------------------------------
    def _connect(self, first: bool) -> _Connection:
        try:
            return _Connection(self)
        except (av.error.FFmpegError, OSError) as e:
            if not first:
                raise
            raise OutputError(f"cannot stream to {redact(self.url)}: {_failure(e)}; check that the receiver is "
                              "running and the address is right") from None

    @property
    def accepts(self) -> tuple[str, ...]:
        return self.preset.accepts

    # -- writing -------------------------------------------------------------------------------
    def _pack(self, frame: Frame) -> av.VideoFrame:
        h, w = frame.size
        if (w, h) != (self.width, self.height):
            raise ValueError(f"frame is {w}x{h}, the sink was opened for {self.width}x{self.height}")
        vf = pack_frame(frame.image, self.preset, alpha_mode=self.alpha_mode, alpha=frame.alpha)
        if frame.pts is None:
            pts = 0 if self._last_pts is None else self._last_pts + max(1, round(1 / (self.fps * self.time_base)))
        elif frame.time_base is not None and Fraction(frame.time_base) != self.time_base:
            pts = round(frame.pts * Fraction(frame.time_base) / self.time_base)
        else:
            pts = int(frame.pts)
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
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

    def _watch(self) -> None:
        """Cut a connection whose send makes no progress for ``stall_timeout`` s (a link that
        went silent without a reset: FFmpeg's writes through ``avio_open`` have no timeout), so
        the blocked write fails: a file job stops with one line, a live one reconnects."""
        while not (self._closed and self._conn is None and self._watched is None):
            time.sleep(0.25)
            watched = self._watched
            if watched is None or time.monotonic() - watched[0] < self.stall_timeout:
                continue
            self._stalled = True
            relay = watched[1].relay
            if relay is not None:
                relay.proc.kill()
            else:
                _shutdown_sockets(self._peers)
            while self._watched is watched:  # wait for that write to fail
                time.sleep(0.05)

    @contextlib.contextmanager
    def _guard(self, conn):
        watched = (time.monotonic(), conn)
        self._watched = watched
        try:
            yield
        finally:
            if self._watched is watched:
                self._watched = None

    def _drop_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                with self._guard(conn):
                    conn.close(failed=True)
            except Exception:
                pass

    # -- the live sender -------------------------------------------------------------------------
    def _sender(self) -> None:
        try:
            while True:
                with self._cv:
                    while self._slot is None and not self._closed:
                        self._cv.wait()
                    if self._slot is None:
                        return
                    (vf, t_cap), self._slot = self._slot, None
                    self._busy = True
                try:
                    if self._conn is None:
                        self._reconnect()
                        continue
                    self._send(vf, t_cap)
                except (av.error.FFmpegError, OSError) as e:
                    reason = self._conn.relay.reason() if self._conn and self._conn.relay else _failure(e)
                    if self._stalled:
                        reason, self._stalled = f"no progress for {self.stall_timeout:g} s", False
                    self._drop_connection()
                    with self._cv:
                        self._down_since = time.perf_counter()
                    warn(f"the stream to {redact(self.url)} broke ({reason}); reconnecting, frames are dropped meanwhile")
                    self._reconnect()
                finally:
                    with self._cv:
                        self._busy = False
                        self._cv.notify_all()
        except BaseException as e:  # noqa: BLE001 - handed to the caller's next write()
            self._error = e

    def _reconnect(self) -> None:
        """Try again with backoff until connected or closed."""
        tries, dropped0, t0 = 0, self.dropped, time.perf_counter()
        while not self._closed:
            delay = BACKOFF_S[min(tries, len(BACKOFF_S) - 1)]
            with self._cv:
                self._cv.wait_for(lambda: self._closed, timeout=delay)
            if self._closed:
                return
            tries += 1
            if self.scheme == "srt":
                try:
                    srt_probe(self.url, timeout=1.0)
                except OutputError:
                    continue
            try:
                self._conn = _Connection(self)
            except (av.error.FFmpegError, OSError):
                continue
            self.reconnects += 1
            with self._cv:
                self._down_since, self._slot = None, None
            warn(f"the stream to {redact(self.url)} is back after {time.perf_counter() - t0:.1f} s "
                 f"({tries} tries, {self.dropped - dropped0} frames dropped meanwhile)")
            return

    # -- finishing ------------------------------------------------------------------------------
    def summary(self) -> str:
        """One line: frames sent / dropped at the sink, reconnects, network write and on-air latency."""
        def q(values, p):
            return float(np.percentile(list(values), p)) if values else float("nan")

        line = (f"stream {redact(self.url)}: {self.sent} of {self.frames} frames sent, {self.dropped} dropped at the "
                f"sink, {self.reconnects} reconnects; write ms p50 {q(self.write_ms, 50):.1f} "
                f"p95 {q(self.write_ms, 95):.1f}")
        if self.latency_ms:
            line += f"; capture-to-sent ms p50 {q(self.latency_ms, 50):.1f} p95 {q(self.latency_ms, 95):.1f}"
        return line

    def _stop_thread(self) -> None:
        if not self.live:
            return
        with self._cv:  # let the last frame go out
            self._cv.wait_for(lambda: (self._slot is None and not self._busy) or self._down_since is not None
                              or self._error is not None, timeout=5.0)
            self._closed = True
            self._cv.notify_all()
        self._thread.join(timeout=10)

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

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


def parse_bitrate(value) -> int:
    """``"2.5M"`` → 2500000, ``"800k"`` → 800000, ``3000000`` → 3000000."""
    if isinstance(value, (int, float)):
        rate = float(value)
    else:
        text = str(value).strip().lower().rstrip("bps").rstrip("/")
        mult = {"k": 1e3, "m": 1e6, "g": 1e9}.get(text[-1:], 1.0)
        try:
            rate = float(text[:-1] if text[-1:] in "kmg" else text) * mult
        except ValueError:
            raise OutputError(f"bitrate {value!r}: give bits per second such as 2500k or 4M") from None
    if rate < 1000:
        raise OutputError(f"bitrate {value!r} is too low; give bits per second such as 2500k or 4M")
    return int(rate)


def open_stream_sink(url: str, **kw) -> StreamSink:
    """The registry's opener (see :func:`vidmatte.io.registry.open_sink`)."""
    keep = {k: kw[k] for k in ("width", "height", "fps", "time_base", "format", "gop", "bitrate", "live", "audio_from",
                               "silent_audio", "crf", "codec_preset", "open_timeout", "alpha_mode") if k in kw}
    return StreamSink(url, **keep)
