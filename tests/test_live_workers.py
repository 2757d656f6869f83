"""Live with two frames in flight: capture order kept, model calls side by side, errors out."""

from __future__ import annotations

import pytest
from fakes import ListSink, SlowKey, overlapping

from vidmatte.io.capture import LiveSource
from vidmatte.runtime.schedules.live import choose_workers as live_workers
from vidmatte.matting import ChromaKeyMatter, ReuseAlpha
from vidmatte.runtime.live import LiveRunner
from vidmatte.runtime.processor import Processor

SOURCE = "lavfi:testsrc2=size=96x64:rate=30"


def test_two_workers_keep_capture_order_and_overlap_model_calls():
    matter, sink = SlowKey(0.06), ListSink()
    proc = Processor(matter, "#2040ff", refine="none", smoothing="flow-causal")
    stats = LiveRunner(LiveSource(SOURCE), proc, [sink], frames=12, workers=2).run()
    assert stats.processed == 12 == len(sink.frames) and stats.stopped_by == "frames" and sink.closed == 1
    captured = [f.meta["t_capture"] for f in sink.frames]
    assert captured == sorted(captured) and len(set(captured)) == 12  # capture order, no frame twice
    assert overlapping(matter.spans) >= 4, matter.spans
    assert len(stats.latency_ms) == 12


def test_two_workers_outrun_one_on_a_slow_model():
    """A 60 ms model at 30 fps: one worker tops out near 16 fps, two near 30."""
    fps = {}
    for workers in (1, 2):
        proc = Processor(SlowKey(0.06), "#2040ff", refine="none", smoothing=None)
        stats = LiveRunner(LiveSource(SOURCE, realtime=True), proc, [ListSink()], duration=1.5, workers=workers).run()
        fps[workers] = stats.fps_out
    assert fps[2] > 1.4 * fps[1], fps


def test_a_worker_error_stops_the_run_and_aborts_the_sinks():
    sink = ListSink()
    proc = Processor(SlowKey(0.01, fail_at=5), "#2040ff", refine="none", smoothing=None)
    with pytest.raises(RuntimeError, match="model blew up"):
        LiveRunner(LiveSource(SOURCE), proc, [sink], frames=30, workers=2).run()
    assert sink.aborted == 1 and sink.closed == 0


def test_workers_need_a_processor():
    with pytest.raises(ValueError, match="Processor"):
        LiveRunner(LiveSource(SOURCE), lambda f: f, [ListSink()], workers=2)
    with pytest.raises(ValueError, match=">= 1"):
        LiveRunner(LiveSource(SOURCE), lambda f: f, [ListSink()], workers=0)


def test_live_workers_rules():
    from vidmatte.runtime.threads import cpu_cores

    if cpu_cores() < 2:
        pytest.skip("one core here: two workers would only share it")
    proc = Processor(ChromaKeyMatter(), "#2040ff")
    assert live_workers(proc, preview=False) == 2
    assert live_workers(proc, preview=True) == 1  # the GUI wants one thread
    assert live_workers(proc, preview=False, model_s=0.035, light_s=0.023) == 2
    assert live_workers(proc, preview=False, model_s=0.035, light_s=0.060) == 1  # frames would queue for their turn
    assert live_workers(Processor(ReuseAlpha(ChromaKeyMatter()), "#2040ff"), preview=False) == 1  # keeps state
