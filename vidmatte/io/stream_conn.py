"""One connection of a :class:`~vidmatte.io.stream.StreamSink`: the container and its streams
(:class:`Connection`), and the system ``ffmpeg`` that sends SRT (:class:`Relay`)."""

from __future__ import annotations

import collections
import subprocess
import threading
from fractions import Fraction
from typing import TYPE_CHECKING, Optional

import av
import numpy as np

from vidmatte.io.stream_net import redact

if TYPE_CHECKING:
    from vidmatte.io.stream import StreamSink

__all__ = ["Connection", "Relay"]


class Relay:
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


class Connection:
    """One open connection: the container, its streams and the pts origin."""

    def __init__(self, sink: "StreamSink"):
        self.sink, self.relay, self.container = sink, None, None
        self.origin: Optional[int] = None
        self.audio_samples = 0
        self.passthrough = None
        url, muxer = sink.url, sink.muxer
        try:
            if sink.relay_exe is not None:
                self.relay = Relay(sink.relay_exe, url, muxer)
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
