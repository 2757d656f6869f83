"""LiveSource: lavfi graphs, files at their own pace, a TCP stream that drops and returns."""

from __future__ import annotations

import io
import socket
import threading
import time
from fractions import Fraction

import av
import numpy as np
import pytest

from vidmatte.errors import DeviceError, InputError
from vidmatte.io.capture import LiveSource, parse_source


def drain(src: LiveSource, delay: float = 0.0) -> list:
    """Read until the end, sleeping ``delay`` after each frame (a slow consumer)."""
    frames = []
    while True:
        f = src.read(timeout=2.0)
        if f is None:
            if src.ended:
                return frames
            continue
        frames.append(f)
        time.sleep(delay)


def make_clip(path, n=30, fps=30, size=(96, 160), codec="mpeg4"):
    """A clip whose frame i has grey level 8*i (so drops and order are visible)."""
    with av.open(str(path), "w") as c:
        st = c.add_stream(codec, rate=fps)
        st.height, st.width, st.pix_fmt = size[0], size[1], "yuv420p"
        st.options = {"qscale": "2"} if codec == "mpeg4" else {}
        for i in range(n):
            vf = av.VideoFrame.from_ndarray(np.full((*size, 3), 8 * i, np.uint8), format="rgb24")
            vf.pts = i
            c.mux(st.encode(vf))
        c.mux(st.encode(None))
    return path


def test_lavfi_paced_like_a_camera_then_ends_normally():
    t0 = time.perf_counter()
    with LiveSource("lavfi:testsrc2=size=320x180:rate=30:duration=1") as src:
        assert (src.width, src.height, src.fps, src.realtime) == (320, 180, 30.0, True)
        frames = drain(src)
        elapsed = time.perf_counter() - t0
        assert src.ended and src.end_reason is None
    assert 0.85 <= elapsed < 3.0  # 30 frames at 30 fps, not as fast as the graph can render
    assert len(frames) + src.frames_dropped == src.frames_decoded == 30
    assert all(f.image.shape == (180, 320, 3) and f.image.dtype == np.uint8 for f in frames)
    caps = [f.meta["t_capture"] for f in frames]
    assert caps == sorted(caps) and [f.index for f in frames] == sorted({f.index for f in frames})
    assert frames[0].time_base == Fraction(1, 30)


def test_newest_frame_wins_and_drops_are_counted():
    with LiveSource("lavfi:testsrc2=size=160x90:rate=30:duration=1.5") as src:
        frames = drain(src, delay=0.1)  # 10 fps consumer for a 30 fps camera
    assert src.frames_decoded == 45
    assert src.frames_dropped >= 20
    assert len(frames) + src.frames_dropped == src.frames_decoded
    gaps = np.diff([f.index for f in frames])
    assert gaps.max() >= 2 and gaps.min() >= 1  # indices skip the dropped frames, never repeat


def test_colour_comes_through_rgb():
    with LiveSource("lavfi:color=c=red:size=64x48:rate=30:duration=0.2") as src:
        f = src.read(timeout=2.0)
    assert np.abs(f.image.astype(int) - (255, 0, 0)).max() <= 3


def test_file_plays_at_its_own_pace_only_when_realtime(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4")
    t0 = time.perf_counter()
    with LiveSource(str(clip), realtime=True) as src:
        assert src.realtime is True and src.spec.kind == "file"
        frames = drain(src)
    paced = time.perf_counter() - t0
    assert 0.85 <= paced < 3.0 and len(frames) == 30
    greys = [int(f.image[48, 80, 0]) for f in frames]
    assert np.abs(np.array(greys) - 8 * np.arange(30)).max() <= 6 and np.all(np.diff(greys) > 0)  # all, in order
    t0 = time.perf_counter()
    with LiveSource(str(clip), width=80, height=48) as fast:  # files default to decode speed
        frames = drain(fast)
    assert time.perf_counter() - t0 < paced
    assert frames and all(f.image.shape == (48, 80, 3) for f in frames)
    assert len(frames) + fast.frames_dropped == 30


def test_spec_forms():
    assert parse_source(0, "Linux").target == "/dev/video0" and parse_source("2", "Linux").format == "v4l2"
    assert parse_source("1", "Darwin").format == "avfoundation"
    assert parse_source("video=Cam Link 4K", "Windows").format == "dshow"
    assert parse_source("rtsp://cam.local/stream").kind == "url"
    lav = parse_source("lavfi:testsrc2=rate=5")
    assert (lav.kind, lav.target, lav.format) == ("lavfi", "testsrc2=rate=5", "lavfi")


@pytest.mark.parametrize("spec, kind, text", [
    ("7", DeviceError, "no camera at /dev/video7 (video devices found:"),
    ("/dev/video42", DeviceError, "no camera at /dev/video42"),
    ("lavfi:no_such_filter", InputError, "invalid lavfi graph 'no_such_filter'"),
    ("missing-clip.mp4", InputError, "no such video file or camera: 'missing-clip.mp4'"),
])
def test_open_errors_are_one_line(spec, kind, text):
    if spec[0] in "7/" and not __import__("platform").system() == "Linux":
        pytest.skip("v4l2 device naming is Linux's")
    with pytest.raises(kind) as err:
        LiveSource(spec)
    assert text in str(err.value) and "\n" not in str(err.value)


def _mpegts(n: int, colour) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mpegts") as c:
        st = c.add_stream("mpeg2video", rate=30)
        st.width, st.height, st.pix_fmt = 160, 96, "yuv420p"
        for i in range(n):
            vf = av.VideoFrame.from_ndarray(np.full((96, 160, 3), colour, np.uint8), format="rgb24")
            vf.pts = i
            c.mux(st.encode(vf))
        c.mux(st.encode(None))
    return buf.getvalue()


def _listener():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    return srv, srv.getsockname()[1]


def _serve(srv, data: bytes, seconds: float) -> None:
    conn, _ = srv.accept()
    chunk = 188 * 8
    with conn:
        for i in range(0, len(data), chunk):
            conn.sendall(data[i:i + chunk])
            time.sleep(seconds * chunk / len(data))


def test_stream_that_drops_is_reopened_then_ends_cleanly():
    srv, port = _listener()
    sessions = [(_mpegts(45, (200, 0, 0)), 1.5), (_mpegts(45, (0, 0, 200)), 1.5)]
    server = threading.Thread(target=lambda: [_serve(srv, *s) for s in sessions], daemon=True)
    server.start()
    with LiveSource(f"tcp://127.0.0.1:{port}", reconnect_s=1.0, timeout_s=2.0) as src:
        assert src.spec.live and (src.width, src.height) == (160, 96)
        frames = drain(src)
    server.join(5)
    srv.close()
    reds = [f for f in frames if f.image[48, 80, 0] > 150]
    blues = [f for f in frames if f.image[48, 80, 2] > 150]
    assert reds and blues and blues[0].index > reds[-1].index  # the second session came after the first
    assert "did not come back within 1 s" in src.end_reason


def test_unreachable_and_silent_streams():
    srv, port = _listener()  # accepts, never sends
    with pytest.raises(DeviceError, match=f"could not open stream tcp://127.0.0.1:{port}: no answer within 1 s"):
        LiveSource(f"tcp://127.0.0.1:{port}", timeout_s=1.0)
    srv.close()
    with pytest.raises(DeviceError, match="could not open stream .*check the address"):
        LiveSource(f"tcp://127.0.0.1:{port}", timeout_s=1.0)  # nobody listens now


def test_close_is_idempotent_and_stops_the_reader():
    src = LiveSource("lavfi:testsrc2=size=64x48:rate=30")  # endless
    assert src.read(timeout=2.0) is not None
    src.close()
    src.close()
    assert not src._thread.is_alive() and src.ended
    assert src.read(timeout=0.1) is None
