"""The overlapped pipeline: order, completeness, error propagation, no partial output."""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import numpy as np
import pytest

from fakes import ListSink
from media import make_clip, read_pts
from vidmatte import ChromaKeyMatter, Frame
from vidmatte.io.sinks import VideoSink
from vidmatte.io.sources import VideoSource
from vidmatte.runtime.pipeline import POLICIES, Pipeline
from vidmatte.runtime.processor import Processor
from vidmatte.runtime.schedules.auto import choose_policy
from vidmatte.runtime.schedules.overlap import overlap_verdict


def _processor(format="rgb24", cls=Processor):
    if format == "gray":
        return cls(ChromaKeyMatter(), format="gray", smoothing=None)
    return cls(ChromaKeyMatter(), "#000000", fg_estimation="none", smoothing=None, format=format)


def _frames(n, h=32, w=48):
    rng = np.random.default_rng(0)
    for i in range(n):
        yield Frame(image=rng.integers(0, 255, (h, w, 3), dtype=np.uint8), pts=3 * i, time_base=Fraction(1, 90), index=i)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("batch", [1, 3])
def test_every_frame_in_order_with_timing(batch, policy):
    sink = ListSink()
    stats = Pipeline(list(_frames(10)), _processor(), sink, batch_size=batch, queue_size=2, progress=False,
                     policy=policy).run()
    assert stats.frames == 10 and sink.closed and not sink.aborted
    assert stats.policy and (policy == "auto" or stats.policy.startswith(policy)), stats.policy
    assert [f.pts for f in sink.frames] == [3 * i for i in range(10)]
    assert all(f.image.shape == (32, 48, 3) and f.image.dtype == np.uint8 for f in sink.frames)
    assert {"decode", "model", "composite", "encode"} <= set(stats.times.seconds)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("fail_at", [2, 9])  # while calibrating, after choosing
def test_sink_error_aborts_and_propagates(policy, fail_at):
    sink = ListSink(fail_at=fail_at)
    with pytest.raises(RuntimeError, match="disk full"):
        Pipeline(list(_frames(20)), _processor(), sink, progress=False, policy=policy).run()
    assert sink.aborted and not sink.closed


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("good", [3, 9])
def test_source_error_aborts_and_propagates(policy, good):
    def broken():
        yield from _frames(good)
        raise ValueError("bad packet")

    sink = ListSink()
    with pytest.raises(ValueError, match="bad packet"):
        Pipeline(broken(), _processor(), sink, progress=False, policy=policy).run()
    assert sink.aborted


def test_choose_policy_rules():
    assert choose_policy(cores=16, threads=8, model_s=0.3, light_s=0.03)[0] == "threads"  # spare cores
    assert choose_policy(cores=2, threads=2, model_s=0.01, light_s=0.03)[0] == "threads"  # light work dominates
    assert choose_policy(cores=2, threads=2, model_s=0.3, light_s=0.03)[0] == "overlap"
    assert choose_policy(cores=2, threads=2, model_s=0.3, light_s=0.0001)[0] == "inline"
    assert choose_policy(cores=3, threads=2, model_s=0.3, light_s=0.03)[0] == "overlap"  # one spare core is not two
    # measured busy cores: 1.9 of 2 leaves 30 ms of core time per 300 ms batch
    assert choose_policy(cores=2, threads=2, model_s=0.3, light_s=0.03, model_busy=1.9, light_cpu_s=0.04)[0] == "inline"
    assert choose_policy(cores=2, threads=2, model_s=0.3, light_s=0.03, model_busy=1.5, light_cpu_s=0.04)[0] == "overlap"
    assert choose_policy(cores=2, threads=2, model_s=0.3, light_s=0.03, model_busy=1.8, light_cpu_s=0.04)[0] == "inline"
    # idle core time counts every process: another job on the spare core leaves no room
    assert choose_policy(cores=2, threads=2, model_s=0.3, light_s=0.03, model_busy=1.0, light_cpu_s=0.04,
                         idle_s=0.01)[0] == "inline"
    assert choose_policy(cores=2, threads=2, model_s=0.3, light_s=0.03, model_busy=1.9, light_cpu_s=0.04,
                         idle_s=0.2)[0] == "overlap"


def test_idle_core_seconds_moves_with_time():
    from vidmatte.runtime.threads import idle_core_seconds

    a = idle_core_seconds()
    if a is None:
        pytest.skip("no /proc/stat here")
    time.sleep(0.3)
    b = idle_core_seconds()
    assert 0 <= b - a <= 0.3 * len(__import__("os").sched_getaffinity(0)) + 0.05


class SlowHelper(Processor):
    """Finishing costs `cost` s when it runs off the calling thread (a starved or contended helper)."""

    cost, model = 0.0, 0.01

    def infer(self, frames):
        time.sleep(self.model)  # a model that takes a while
        return super().infer(frames)

    def finish(self, frames, x, alpha):
        if threading.current_thread() is not threading.main_thread():
            time.sleep(self.cost)
        return super().finish(frames, x, alpha)


@pytest.mark.parametrize("cost,why", [(0.03, "overlapped cycle"), (0.4, "kept the model waiting")])
def test_overlap_falls_back_to_inline_when_it_stops_paying(cost, why):
    proc = _processor(cls=SlowHelper)
    proc.cost = cost
    sink = ListSink()
    stats = Pipeline(list(_frames(16)), proc, sink, progress=False, policy="overlap").run()
    assert [f.pts for f in sink.frames] == [3 * i for i in range(16)]  # nothing lost or reordered
    assert stats.policy.startswith("overlap") and "then inline" in stats.policy and why in stats.policy, stats.policy


def test_overlap_verdict():
    assert overlap_verdict([0.1] * 4, 0.11, 0.0) is None  # overlapped cycles shorter than inline: keep
    assert overlap_verdict([0.2, 0.3], 0.11, 0.0) is None  # too few cycles to judge
    assert overlap_verdict([0.1, 0.1, 0.5, 0.1], 0.11, 0.0) is None  # one slow cycle is noise (median)
    assert "overlapped cycle 150 ms" in overlap_verdict([0.15] * 4, 0.11, 0.0)
    assert "waiting 0.6 s" in overlap_verdict([], 0.11, 0.6)  # a starved helper: at once


class DelayOne(Processor):
    """A look-ahead processor (delay 1): each call returns the frame held from before, and
    flush() the last one (the interface issue 13's smoothers give the pipeline)."""

    delay = 1

    def finish(self, frames, x, alpha):
        out = super().finish(frames, x, alpha)
        held, self.held = getattr(self, "held", []), []
        ready = held + out
        self.held = ready[-1:]
        return ready[:-1]

    def flush(self):
        held, self.held = getattr(self, "held", []), []
        return held


@pytest.mark.parametrize("policy", POLICIES)
def test_held_back_frames_are_flushed_once_at_the_end(policy):
    sink = ListSink()
    stats = Pipeline(list(_frames(9)), _processor(cls=DelayOne), sink, progress=False, policy=policy).run()
    assert [f.pts for f in sink.frames] == [3 * i for i in range(9)] and stats.frames == 9


def test_inline_runs_the_model_alone_and_the_light_stages_beside_each_other():
    """Inline: decoding and writing happen on side threads, never while the model runs."""
    spans: list = []

    def span(kind, fn, *a):
        t0 = time.perf_counter()
        out = fn(*a)
        spans.append((kind, threading.current_thread().name, t0, time.perf_counter()))
        return out

    class Timed(Processor):
        def infer(self, frames):
            return span("model", super().infer, frames)

    class TimedSink(ListSink):
        def write(self, frame):
            span("write", super().write, frame)

    def source():
        for f in _frames(10):
            yield span("decode", lambda x: x, f)

    sink = TimedSink()
    stats = Pipeline(source(), _processor(cls=Timed), sink, progress=False, policy="inline").run()
    assert [f.pts for f in sink.frames] == [3 * i for i in range(10)] and stats.policy.startswith("inline")
    models = [(a, b) for k, _, a, b in spans if k == "model"]
    others = [(k, t, a, b) for k, t, a, b in spans if k != "model"]
    side = [k for k, t, _, _ in others if t.startswith("vidmatte-side")]
    assert side.count("decode") == 10 and side.count("write") >= 9  # the last frame is written at the end
    assert not [(k, a, b) for k, _, a, b in others for m0, m1 in models if a < m1 and m0 < b]  # never beside it
