"""LiveRunner on paced lavfi sources: colours, drops, bounded latency, shutdown, hooks."""

from __future__ import annotations

import os
import signal
import threading
import time
from fractions import Fraction

import numpy as np
import pytest
import torch
from fakes import ListSink

from vidmatte.errors import InputError
from vidmatte.frame import Frame
from vidmatte.io.capture import LiveSource
from vidmatte.io.retime import RetimedSink
from vidmatte.matting import ReuseAlpha
from vidmatte.runtime.hotreload import BackgroundWatcher
from vidmatte.runtime.live import LiveRunner
from vidmatte.matting import ChromaKeyMatter
from vidmatte.runtime.processor import Processor

BLUE = torch.tensor([0.0, 0.0, 1.0]).view(1, 3, 1, 1)


class ConstantAlpha:
    """A matter whose alpha the test decides."""

    name, size, device = "constant", (0, 0), torch.device("cpu")

    def __init__(self, value: float):
        self.value, self.calls = value, 0

    def predict(self, images):
        self.calls += 1
        x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images
        b, h, w = (x.shape[0], *x.shape[-2:]) if x.shape[1] == 3 else x.shape[:3]
        return torch.full((b, 1, h, w), self.value)


def over_blue(image, alpha, index=0):
    return alpha * image + (1.0 - alpha) * BLUE


def slow(seconds: float):
    def process(frame: Frame) -> Frame:
        time.sleep(seconds)
        return frame
    return process


def test_controlled_alpha_gives_the_expected_colour():
    sink = ListSink()
    src = LiveSource("lavfi:color=c=red:size=64x48:rate=30")
    proc = Processor(ConstantAlpha(0.25), compositor=over_blue, smoothing=None)
    stats = LiveRunner(src, proc, [sink], frames=5).run()
    assert stats.processed == 5 and stats.stopped_by == "frames" and sink.closed == 1
    for f in sink.frames:
        assert f.image.shape == (48, 64, 3) and f.image.dtype == np.uint8
        assert np.abs(f.image.astype(int) - (64, 0, 191)).max() <= 2  # 0.25 red + 0.75 blue
        assert "t_capture" in f.meta


def test_chroma_keyed_source_shows_the_background():
    sink = ListSink()
    src = LiveSource("lavfi:color=c=0x00FF00:size=64x48:rate=30")  # a pure green screen
    LiveRunner(src, Processor(ChromaKeyMatter(), compositor=over_blue, smoothing=None), [sink], frames=3).run()
    assert all(np.abs(f.image.astype(int) - (0, 0, 255)).max() <= 2 for f in sink.frames)


def test_slow_process_drops_frames_and_the_books_balance():
    sink = ListSink()
    src = LiveSource("lavfi:testsrc2=size=160x90:rate=30")
    stats = LiveRunner(src, slow(0.1), [sink], frames=10).run()
    assert stats.processed == len(sink.frames) == 10
    assert stats.dropped >= 10
    assert stats.captured - 1 <= stats.processed + stats.dropped <= stats.captured  # one may be pending
    assert 20 <= stats.fps_in <= 40 and stats.fps_out < 12


def test_latency_stays_bounded_when_the_model_is_slower_than_the_camera():
    step = 0.1  # model at 10 fps, camera at 30 fps
    stats = LiveRunner(LiveSource("lavfi:testsrc2=size=160x90:rate=30"), slow(step), [ListSink()],
                       duration=3.0).run()
    lat = np.array(stats.latency_ms)
    assert stats.stopped_by == "duration" and len(lat) >= 15
    assert stats.latency(95) <= 2 * 1000 * step + 60
    third = len(lat) // 3
    assert lat[-third:].mean() <= lat[:third].mean() + 40  # not growing: no queue builds up
    assert "latency ms p50" in stats.summary() and "dropped" in stats.summary()


def test_every_sink_gets_every_frame_and_a_sink_can_end_the_run():
    class QuitAfter(ListSink):
        stop_requested = False

        def write(self, frame):
            super().write(frame)
            self.stop_requested = len(self.frames) >= 4

    a, b = ListSink(), QuitAfter()
    stats = LiveRunner(LiveSource("lavfi:testsrc2=size=64x48:rate=30"), slow(0), [a, b]).run()
    assert stats.stopped_by == "window closed"
    assert len(a.frames) == len(b.frames) == 4 and a.closed == b.closed == 1


def test_source_end_and_stats_callback():
    seen = []
    runner = LiveRunner(LiveSource("lavfi:testsrc2=size=64x48:rate=30:duration=1"), slow(0), [ListSink()],
                        stats_interval=0.25, on_stats=lambda st: seen.append(st.processed))
    stats = runner.run()
    assert stats.stopped_by == "end of source" and stats.captured == 30
    assert len(seen) >= 2 and seen == sorted(seen)


def test_stop_from_another_thread_and_sigint_finalise_the_sinks():
    sink = ListSink()
    runner = LiveRunner(LiveSource("lavfi:testsrc2=size=64x48:rate=30"), slow(0), [sink])
    threading.Timer(0.5, runner.stop).start()
    assert runner.run().stopped_by == "stop()" and sink.closed == 1 and sink.aborted == 0

    before = signal.getsignal(signal.SIGINT)
    sink = ListSink()
    src = LiveSource("lavfi:testsrc2=size=64x48:rate=30")
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    stats = LiveRunner(src, slow(0), [sink]).run()
    assert stats.stopped_by == "SIGINT" and sink.closed == 1 and sink.aborted == 0
    assert src.ended and signal.getsignal(signal.SIGINT) is before
    assert len(sink.frames) >= 5


def test_a_failing_stage_aborts_sinks_and_releases_the_source():
    def boom(frame):
        raise RuntimeError("model fell over")

    sink, src = ListSink(), LiveSource("lavfi:testsrc2=size=64x48:rate=30")
    with pytest.raises(RuntimeError, match="fell over"):
        LiveRunner(src, boom, [sink]).run()
    assert sink.aborted == 1 and sink.closed == 0 and src.ended


def test_background_watcher_reloads_on_change_and_survives_a_bad_file(tmp_path):
    path = tmp_path / "bg.txt"
    path.write_text("beach")
    applied, errors = [], []

    def load(p):
        text = open(p).read()
        if not text:
            raise InputError("empty background file")
        return text

    w = BackgroundWatcher(str(path), applied.append, load=load, interval=0.0, on_error=errors.append)
    assert not w.poll() and applied == []  # unchanged: nothing to do
    path.write_text("")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert not w.poll() and not w.poll() and len(errors) == 1  # bad file reported once, old kept
    path.write_text("office")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 2 * 10**9))
    assert w.poll() and applied == ["office"] and w.reloads == 1
    throttled = BackgroundWatcher(str(path), applied.append, load=load, interval=60.0)
    path.write_text("forest")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 3 * 10**9))
    assert throttled.poll() and applied[-1] == "forest"  # the first poll looks at once
    path.write_text("city")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 4 * 10**9))
    assert not throttled.poll() and applied[-1] == "forest"  # then at most once a minute


def test_reuse_alpha_skips_the_model_on_still_frames():
    matter = ConstantAlpha(0.5)
    reuse = ReuseAlpha(matter, threshold=0.01)
    still = np.full((1, 48, 64, 3), 100, np.uint8)
    moved = still.copy()
    moved[:, :, :32] = 200
    for img in (still, still, still + 1, moved, moved):
        out = reuse.predict(img)
        assert out.shape == (1, 1, 48, 64)
    assert matter.calls == 2 and reuse.reused == 3


def test_retimed_sink_uses_media_time_and_survives_a_clock_reset():
    inner = ListSink()
    rs = RetimedSink(inner, fps=30)
    tb = Fraction(1, 30)
    for pts in (100, 101, 105, 3, 4):  # a gap (drops), then the camera restarts its clock
        rs.write(Frame(np.zeros((2, 2, 3), np.uint8), pts=pts, time_base=tb))
    got = [f.pts for f in inner.frames]
    assert got[:3] == [0, 33, 167] and got[3] == 167 + 33 and got[4] == got[3] + 33
    assert all(f.time_base == Fraction(1, 1000) for f in inner.frames)
    rs.close()
    assert inner.closed == 1
