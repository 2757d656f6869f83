"""Stream URLs without a codec in sight: schemes, redaction, bitrates, resolving, the SRT
probe, finding a system ffmpeg, and cutting a stalled TCP connection (see :mod:`vidmatte.io.stream`).

Light on purpose (sockets and the standard library only): the CLI checks ``--bitrate`` and
recognises URLs before torch, PyAV or a model loads.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
from typing import Optional
from urllib.parse import urlsplit

from vidmatte.errors import OutputError

__all__ = ["SCHEMES", "is_stream_url", "redact", "parse_bitrate", "system_ffmpeg", "srt_probe"]

#: URL scheme → muxer of the H.264 stream
SCHEMES = {"rtmp": "flv", "rtmps": "flv", "srt": "mpegts", "udp": "mpegts", "rtp": "rtp_mpegts",
           "rtsp": "rtsp", "tcp": "mpegts"}
#: schemes that carry a byte stream, where Matroska/WebM (alpha) can travel
_BYTE_STREAMS = ("srt", "tcp")
_ALPHA_MUXERS = {"webm": "webm", "prores": "matroska"}


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
