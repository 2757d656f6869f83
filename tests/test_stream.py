"""Stream outputs against real receivers on loopback: a system ``ffmpeg`` listening on
``rtmp://``, ``srt://`` (mode=listener), ``udp://``, ``tcp://`` and ``rtsp://`` writes what it receives;
the tests check the frame count, monotonic timestamps and the audio, a receiver killed
mid-stream, and refused ports / unknown hosts (one line, exit 2, no frame processed)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from media import make_clip, read_alpha
from vidmatte import ChromaKeyMatter
from vidmatte.compose import parse_background
from vidmatte.errors import OutputError
from vidmatte.frame import Frame
from vidmatte.io.stream import StreamSink, parse_bitrate, redact, srt_probe, system_ffmpeg
from vidmatte.jobs import matte, replace
from vidmatte_cli.main import main

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="no system ffmpeg to act as the receiver "
                                  "(apt-get install ffmpeg; .ci/run installs it)")
needs_srt = pytest.mark.skipif(FFMPEG is None or system_ffmpeg() is None,
                               reason="no system ffmpeg with the srt protocol (apt-get install ffmpeg)")
GREEN_SCREEN = "lavfi:color=c=0x00FF00:size=160x96:rate=30"


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bound(port: int, udp: bool) -> bool:
    """The port is listening (TCP) / bound (UDP), read from /proc without touching it
    (a probe connection would be the receiver's one and only client). A TCP receiver that has
    already taken its client (a reconnecting sender can be quicker than this poll) closes its
    listening socket: an established connection on the port counts too."""
    table = Path("/proc/net/udp" if udp else "/proc/net/tcp")
    if not table.exists():
        return True
    for line in table.read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and (udp or fields[3] in ("0A", "01")):
            return True
    return False


class Receiver:
    """``ffmpeg -i URL -c copy OUT``, started and waited for until its port is open."""

    def __init__(self, url: str, out: Path, port: int, *, udp: bool = False, pre=(), fmt: str | None = None):
        self.out = out
        cmd = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *pre, "-i", url, "-c", "copy",
               *(["-f", fmt] if fmt else []), str(out)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30  # a loaded machine starts ffmpeg slowly
        while not _bound(port, udp):
            assert self.proc.poll() is None, self.proc.stderr.read()
            assert time.monotonic() < deadline, "the receiver did not open its port"
            time.sleep(0.05)

    def wait(self, timeout: float = 20) -> None:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGINT)  # ffmpeg finishes its file on SIGINT
            self.proc.wait(10)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


def received(path: Path) -> dict:
    """Video packet count and pts (seconds), audio packet count of a received file."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        a = c.streams.audio[0] if c.streams.audio else None
        pts, audio = [], 0
        for p in c.demux(*([v] + ([a] if a is not None else []))):
            if p.size == 0 or p.pts is None:
                continue
            if p.stream is v:
                pts.append(float(p.pts * p.time_base))
            else:
                audio += 1
        codec = v.codec_context.name
    return {"frames": len(pts), "pts": pts, "audio": audio, "codec": codec}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("stream") / "in.mp4", frames=30, size=(96, 64), audio=True)


def _frames(n, size=(96, 64)):
    w, h = size
    for i in range(n):
        yield Frame(np.full((h, w, 3), (i * 7) % 256, np.uint8), pts=i, time_base=Fraction(1, 25),
                    meta={"t_capture": time.perf_counter()})


# -- file jobs to a real receiver ----------------------------------------------------------------
@needs_ffmpeg
def test_replace_to_rtmp_keeps_every_frame_and_the_audio(tmp_path, clip):
    port = free_port()
    rx = Receiver(f"rtmp://127.0.0.1:{port}/live/key", tmp_path / "rx.flv", port, pre=["-listen", "1"])
    replace(clip.path, f"rtmp://127.0.0.1:{port}/live/key", matter=ChromaKeyMatter(),
            background=parse_background("#0000ff"), smoothing=None, progress=False, gop=10, bitrate="400k")
    rx.wait()
    got = received(rx.out)
    assert got["codec"] == "h264"
    assert got["frames"] == 30
    assert all(b > a for a, b in zip(got["pts"], got["pts"][1:])), got["pts"]
    assert got["audio"] > 0  # the AAC audio was copied into the FLV
    assert abs((got["pts"][-1] - got["pts"][0]) - 29 / 24) < 0.01  # the clip's own timing


@needs_srt
def test_replace_to_srt_through_the_system_ffmpeg(tmp_path, clip):
    port = free_port(socket.SOCK_DGRAM)
    rx = Receiver(f"srt://127.0.0.1:{port}?mode=listener", tmp_path / "rx.ts", port, udp=True)
    stats = replace(clip.path, f"srt://127.0.0.1:{port}", matter=ChromaKeyMatter(),
                    background=parse_background("#0000ff"), smoothing=None, progress=False)
    rx.wait()
    got = received(rx.out)
    assert stats.frames == got["frames"] == 30
    assert all(b > a for a, b in zip(got["pts"], got["pts"][1:]))
    assert got["audio"] > 0


@needs_ffmpeg
@pytest.mark.parametrize("scheme", ["udp", "tcp"])
def test_mpegts_over_udp_and_tcp(tmp_path, scheme):
    port = free_port(socket.SOCK_DGRAM if scheme == "udp" else socket.SOCK_STREAM)
    url = (f"udp://127.0.0.1:{port}?timeout=2000000" if scheme == "udp" else f"tcp://127.0.0.1:{port}?listen=1")
    rx = Receiver(url, tmp_path / "rx.ts", port, udp=scheme == "udp", fmt="mpegts")
    with StreamSink(f"{scheme}://127.0.0.1:{port}", width=96, height=64, fps=25, gop=5) as sink:
        for f in _frames(25):
            sink.write(f)
            if scheme == "udp":
                time.sleep(0.005)  # UDP on loopback drops what the receiver's buffer cannot take
    rx.wait()
    got = received(rx.out)
    assert got["frames"] == 25
    assert all(b > a for a, b in zip(got["pts"], got["pts"][1:]))


@needs_ffmpeg
def test_rtsp_push(tmp_path):
    port = free_port()
    rx = Receiver(f"rtsp://127.0.0.1:{port}/live", tmp_path / "rx.mkv", port, pre=["-rtsp_flags", "listen"])
    with StreamSink(f"rtsp://127.0.0.1:{port}/live", width=96, height=64, fps=25, gop=5) as sink:
        for f in _frames(20):
            sink.write(f)
    rx.wait()
    got = received(rx.out)
    assert got["frames"] == 20
    # FFmpeg's RTP demuxer stamps the first frame before the first RTCP sender report (both at 0):
    # from there on the frames keep their 40 ms steps
    assert got["pts"][1] >= got["pts"][0]
    assert np.allclose(np.diff(got["pts"][1:]), 0.04, atol=0.002), got["pts"]


@needs_ffmpeg
def test_matte_webm_with_alpha_over_tcp(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=12, size=(96, 64))
    port = free_port()
    rx = Receiver(f"tcp://127.0.0.1:{port}?listen=1", tmp_path / "rx.webm", port, fmt="webm")
    matte(clip.path, f"tcp://127.0.0.1:{port}", matter=ChromaKeyMatter(), format="webm", smoothing=None,
          progress=False)
    rx.wait()
    alphas = read_alpha(rx.out)
    assert len(alphas) == 12
    a, truth = alphas[5].astype(int), clip.alphas[5]
    assert a[truth == 0].mean() < 10 and a[truth == 255].mean() > 245  # the alpha travelled


# -- the receiver going away, refused ports, unknown hosts -------------------------------------------
@needs_ffmpeg
def test_file_job_stops_with_one_line_when_the_receiver_dies(tmp_path):
    port = free_port()
    rx = Receiver(f"rtmp://127.0.0.1:{port}/live/key", tmp_path / "rx.flv", port, pre=["-listen", "1"])
    sink = StreamSink(f"rtmp://127.0.0.1:{port}/live/key", width=96, height=64, fps=25, gop=5)
    frames = _frames(2000)
    for _ in range(10):
        sink.write(next(frames))
    rx.kill()
    with pytest.raises(OutputError) as err:
        for f in frames:
            sink.write(f)
            time.sleep(0.002)
    sink.abort()
    msg = str(err.value)
    assert "broke after" in msg and "\n" not in msg and "/live/***" in msg and "key" not in msg
    assert 10 <= sink.sent < 2000


@needs_ffmpeg
def test_a_silent_receiver_stops_a_file_job_after_the_stall_timeout(tmp_path):
    """A peer that stops reading without a reset (SIGSTOP: like a pulled cable) blocks FFmpeg's
    write for ever; the watchdog cuts the connection after ``open_timeout`` s of no progress."""
    port = free_port()
    url = f"rtmp://127.0.0.1:{port}/live/key"
    rx = Receiver(url, tmp_path / "a.flv", port, pre=["-listen", "1"])
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(4)]
    sink = StreamSink(url, width=640, height=480, fps=25, gop=25, crf=10, open_timeout=1.0)
    rx.proc.send_signal(signal.SIGSTOP)
    try:
        with pytest.raises(OutputError, match="no progress for 1 s"):
            for i in range(5000):
                sink.write(Frame(noise[i % 4], pts=i, time_base=Fraction(1, 25)))
        assert sink.sent > 0
    finally:
        rx.proc.send_signal(signal.SIGCONT)
        rx.kill()
        sink.abort()


@needs_ffmpeg
def test_live_sink_reconnects_and_counts_the_frames_dropped_meanwhile(tmp_path):
    port = free_port()
    url = f"rtmp://127.0.0.1:{port}/live/key"
    rx = Receiver(url, tmp_path / "a.flv", port, pre=["-listen", "1"])
    sink = StreamSink(url, width=96, height=64, fps=25, gop=5, live=True)
    frames = _frames(10_000)

    def feed(until, timeout=30.0):
        t0 = time.monotonic()
        while not until():
            assert time.monotonic() - t0 < timeout
            sink.write(next(frames))
            time.sleep(0.02)

    feed(lambda: sink.sent >= 10)
    rx.kill()
    with pytest.warns(Warning, match="broke"):
        feed(lambda: sink.dropped >= 20)  # the link is down: frames are dropped and counted
    sent_before = sink.sent
    with pytest.warns(Warning, match="is back"):  # the sink retries in the background: it can be back at once
        rx2 = Receiver(url, tmp_path / "b.flv", port, pre=["-listen", "1"])
        feed(lambda: sink.reconnects == 1 and sink.sent >= sent_before + 15)
    sink.close()
    rx2.wait()
    got = received(rx2.out)
    assert got["frames"] >= 15 and got["audio"] > 0  # a fresh stream, silent AAC included
    assert all(b > a for a, b in zip(got["pts"], got["pts"][1:]))
    assert "1 reconnects" in sink.summary() and f"{sink.dropped} dropped" in sink.summary()


@needs_ffmpeg
@pytest.mark.filterwarnings("ignore:the stream to")  # the receiver is killed at the end: the sender says so
def test_a_stalled_link_drops_frames_at_the_sink_instead_of_queueing_them(tmp_path):
    port = free_port()
    url = f"rtmp://127.0.0.1:{port}/live/key"
    rx = Receiver(url, tmp_path / "a.flv", port, pre=["-listen", "1"])
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(4)]  # ~100 kB per frame
    sink = StreamSink(url, width=640, height=480, fps=25, gop=25, live=True, crf=10, silent_audio=False)
    try:
        rx.proc.send_signal(signal.SIGSTOP)  # the receiver stops reading: the socket buffers fill up
        written = 0
        while sink.dropped < 10:
            assert written < 2000, "no frame was dropped although the receiver reads nothing"
            sink.write(Frame(noise[written % 4], pts=written, time_base=Fraction(1, 25)))
            written += 1
            time.sleep(0.005)
        assert sink.sent < written - 10  # frames were dropped, not queued: at most one waits to be sent
    finally:
        rx.proc.send_signal(signal.SIGCONT)
        rx.kill()
        sink.abort()


@needs_ffmpeg
def test_webcam_streams_to_rtmp_with_a_silent_track(tmp_path, capsys):
    port = free_port()
    rx = Receiver(f"rtmp://127.0.0.1:{port}/live/key", tmp_path / "rx.flv", port, pre=["-listen", "1"])
    code = main(["webcam", "--model", "chroma", "--no-smooth", "--color", "#0000ff", "--source", GREEN_SCREEN,
                 "--frames", "20", "--gop", "10", "-o", f"rtmp://127.0.0.1:{port}/live/key"])
    assert code == 0
    rx.wait()
    got = received(rx.out)
    err = capsys.readouterr().err
    sent = int(err.split("stream rtmp://127.0.0.1")[1].split(" of ")[0].split()[-1])
    assert got["frames"] == sent and 1 <= sent <= 20
    assert got["audio"] > 0
    assert all(b > a for a, b in zip(got["pts"], got["pts"][1:]))
    assert "write ms p50" in err and "key" not in err.replace("--", "")


@pytest.mark.parametrize("url", ["rtmp://127.0.0.1:{port}/live/key", "rtsp://127.0.0.1:{port}/live",
                                 "tcp://127.0.0.1:{port}"])
def test_refused_port_is_one_line_before_any_frame(tmp_path, clip, capsys, url):
    url = url.format(port=free_port())
    out = main(["replace", str(clip.path), "-o", url, "--model", "chroma", "--color", "#0000ff", "-q"])
    err = capsys.readouterr().err.strip()
    assert out == 2
    assert err.startswith("vidmatte: error: cannot stream to") and "\n" not in err
    assert "refused" in err.lower()


@needs_srt
def test_refused_srt_port(capsys, clip):
    with pytest.raises(OutputError, match="connection refused"):
        srt_probe(f"srt://127.0.0.1:{free_port(socket.SOCK_DGRAM)}", timeout=2)


def test_unknown_host_is_one_line(clip, capsys):
    for url in ("rtmp://no-such-host.invalid/live/key", "udp://no-such-host.invalid:5000"):
        assert main(["replace", str(clip.path), "-o", url, "--model", "chroma", "--color", "#0000ff", "-q"]) == 2
        err = capsys.readouterr().err.strip()
        assert "unknown host 'no-such-host.invalid'" in err and "\n" not in err


def test_srt_without_a_system_ffmpeg_names_what_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(OutputError, match="install"):
        StreamSink("srt://127.0.0.1:9", width=64, height=48, fps=25)


def test_alpha_formats_are_refused_where_the_protocol_has_no_alpha():
    for scheme in ("rtmp", "udp", "rtp", "rtsp"):
        with pytest.raises(OutputError, match="--format alpha"):
            StreamSink(f"{scheme}://127.0.0.1:9/x", width=64, height=48, fps=25, format="webm")


def test_bitrate_and_redaction():
    assert parse_bitrate("2500k") == 2_500_000 and parse_bitrate("4M") == 4_000_000
    assert parse_bitrate(800_000) == 800_000 and parse_bitrate("1.5mbps") == 1_500_000
    with pytest.raises(OutputError):
        parse_bitrate("fast")
    assert redact("rtmp://a.example/live/SECRET") == "rtmp://a.example/live/***"
    assert redact("srt://h:1?passphrase=abcdefghij&latency=200") == "srt://h:1?passphrase=***&latency=200"


def test_transparent_replace_streams_only_where_alpha_travels(clip):
    with pytest.raises(OutputError, match="only srt:// and tcp://"):
        replace(clip.path, "rtmp://127.0.0.1:9/live/key", matter=ChromaKeyMatter(), background=None, progress=False)
