"""The encoder on its own thread (vidmatte/io/threaded.py): a real H.264 VideoSink behind a queue
keeps order and output, errors surface on the next write/close with the partial deleted,
abort and exceptions leave nothing, and the queue is bounded."""

from __future__ import annotations

import threading
from fractions import Fraction

import numpy as np
import pytest
from fakes import ListSink
from media import disc_frame, read_frames, read_pts

from vidmatte.frame import Frame
from vidmatte.io.sinks import VideoSink
from vidmatte.io.threaded import ThreadedSink, encoder_threads
from vidmatte.ops.color import rgb_to_yuv420

SIZE = (96, 64)


def _frames(n=12, yuv=False):
    out = []
    for i in range(n):
        rgb = disc_frame(i, n, SIZE)[0]
        image = rgb_to_yuv420(rgb.transpose(2, 0, 1)[None]).unbind()[0] if yuv else rgb
        out.append(Frame(image, pts=2 * i, time_base=Fraction(1, 48), index=i, format="yuv420p" if yuv else "rgb24"))
    return out


def _sink(path, **kw):
    return VideoSink(path, width=SIZE[0], height=SIZE[1], time_base=Fraction(1, 48), fps=24,
                     codec_preset="ultrafast", threads=2, **kw)


@pytest.mark.parametrize("yuv", [False, True])
def test_same_file_as_the_plain_sink_in_order(tmp_path, yuv):
    frames = _frames(yuv=yuv)
    with _sink(tmp_path / "plain.mp4") as plain:
        for f in frames:
            plain.write(f)
    with ThreadedSink(_sink(tmp_path / "threaded.mp4"), depth=3) as sink:
        assert sink.accepts == plain.accepts and sink.encoder == "libx264"  # the inner sink's face
        for f in frames:
            sink.write(f)
    assert sink.encoded == 12 and sink.encode_fps > 0 and sink.frames == 12
    times, n = read_pts(tmp_path / "threaded.mp4")
    assert n == 12 and times == [Fraction(i, 24) for i in range(12)]
    for a, b in zip(read_frames(tmp_path / "plain.mp4"), read_frames(tmp_path / "threaded.mp4")):
        assert np.array_equal(a, b)  # x264 is deterministic for the same settings: same frames, same order


def test_encoder_error_surfaces_on_the_next_write_and_deletes_the_partial(tmp_path):
    target = tmp_path / "out.mp4"
    sink = ThreadedSink(_sink(target), depth=2)
    frames = _frames(6)
    bad = Frame(np.zeros((10, 10, 3), np.uint8), pts=100, time_base=Fraction(1, 48))
    for f in frames[:3]:
        sink.write(f)
    sink.write(bad)  # queued: the worker fails on it
    with pytest.raises(ValueError, match="the sink was opened for 96x64"):
        for f in frames[3:]:
            sink.write(f)
        sink.close()
    assert not target.exists() and list(tmp_path.iterdir()) == []  # no partial left behind
    with pytest.raises(ValueError, match="opened for"):  # and it keeps saying so
        sink.close()


def test_abort_and_exceptions_leave_nothing(tmp_path):
    target = tmp_path / "out.mp4"
    sink = ThreadedSink(_sink(target))
    for f in _frames(5):
        sink.write(f)
    sink.abort()
    sink.abort()  # idempotent
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(KeyboardInterrupt):
        with ThreadedSink(_sink(target)) as sink:
            for f in _frames(4):
                sink.write(f)
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with ThreadedSink(_sink(target)) as sink:
        sink.write(_frames(1)[0])
    sink.abort()  # after a clean close: the output stays
    assert target.exists()


def test_write_blocks_only_while_the_queue_is_full():
    gate = threading.Event()

    class Gated(ListSink):
        def write(self, frame):
            gate.wait(5)
            super().write(frame)

    inner = Gated()
    sink = ThreadedSink(inner, depth=2)
    done = []
    writer = threading.Thread(target=lambda: [sink.write(i) or done.append(i) for i in range(6)])
    writer.start()
    writer.join(0.5)
    # the worker holds frame 0, the queue holds 1 and 2: the writer waits on frame 3
    assert writer.is_alive() and done == [0, 1, 2]
    gate.set()
    writer.join(5)
    sink.close()
    assert inner.frames == list(range(6)) and inner.closed == 1 and inner.aborted == 0


def test_a_failing_worker_never_leaves_the_writer_blocked():
    inner = ListSink(fail_at=0)
    sink = ThreadedSink(inner, depth=1)
    with pytest.raises(RuntimeError, match="disk full"):
        for i in range(50):
            sink.write(i)
    assert inner.aborted == 1


def test_encoder_threads_follow_the_frame_size():
    assert encoder_threads(1920, 1080, cores=16) == 14
    assert encoder_threads(1920, 1080, cores=64) == 16
    assert encoder_threads(640, 360, cores=16) == 5
    assert encoder_threads(1280, 720, cores=8) == 6
    assert encoder_threads(96, 64, cores=16) == 1 and encoder_threads(1920, 1080, cores=2) == 1
    assert 1 <= encoder_threads(1920, 1080) <= 16
