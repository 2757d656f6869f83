"""The frame-parallel schedule: model calls side by side, finishing in order, kept honest."""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import numpy as np
import pytest
import torch
from fakes import ListSink, SlowKey, overlapping

from vidmatte import ChromaKeyMatter, Frame
from vidmatte.matting import ReuseAlpha
from vidmatte.runtime.core import Run
from vidmatte.runtime.feeds import FrameFeed
from vidmatte.runtime.schedules.frames import FrameParallel, parallel_safe, room_for_another_call
from vidmatte.runtime.pipeline import Pipeline
from vidmatte.runtime.processor import Processor
from vidmatte.runtime.schedules.auto import choose_policy
from vidmatte.runtime.stats import StageTimes


def _frames(n, h=48, w=64, seed=0):
    """Green-screen frames with a moving grey square (something for the keyer and smoother)."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[..., 1] = 255
        x = (2 * i) % (w - 26)
        img[8:30, x:x + 22] = 128 + rng.integers(-20, 20, (22, 22, 3))
        yield Frame(image=img, pts=2 * i, time_base=Fraction(1, 50), index=i)


def _processor(matter, **kw):
    kw.setdefault("smoothing", "flow")
    return Processor(matter, "#2040ff", refine="none", **kw)


def _run(policy, matter, n=14, batch=1):
    sink = ListSink()
    stats = Pipeline(list(_frames(n)), _processor(matter), sink, batch_size=batch, progress=False,
                     policy=policy).run()
    return stats, sink


@pytest.mark.parametrize("batch", [1, 2])
def test_frames_give_the_same_output_as_inline_in_order(batch):
    """Look-ahead smoothing and compositing see the frames in order: the output is the
    inline run's, frame for frame."""
    s_in, inline = _run("inline", SlowKey(0.02), batch=batch)
    s_fr, frames = _run("frames", SlowKey(0.02), batch=batch)  # a slow model: frames pay
    assert s_fr.policy.startswith("frames") and "then inline" not in s_fr.policy, s_fr.policy
    assert [f.pts for f in frames.frames] == [f.pts for f in inline.frames] == [2 * i for i in range(14)]
    for a, b in zip(inline.frames, frames.frames):
        assert np.array_equal(a.image, b.image)
    assert frames.closed and not frames.aborted


def test_model_calls_overlap_and_finishing_stays_one_at_a_time():
    matter = SlowKey(cost=0.04)
    finishing, overlaps = [], []

    class Watch(Processor):
        busy = threading.Lock()

        def finish(self, frames, x, alpha):
            if not self.busy.acquire(blocking=False):
                overlaps.append(frames[0].index)  # two finishes at once: order would break
                return super().finish(frames, x, alpha)
            try:
                finishing.append(frames[0].index)
                return super().finish(frames, x, alpha)
            finally:
                self.busy.release()

    sink = ListSink()
    stats = Pipeline(list(_frames(16)), Watch(matter, "#2040ff", refine="none", smoothing="flow"), sink,
                     progress=False, policy="frames").run()
    assert stats.frames == 16 and not overlaps
    assert finishing == sorted(finishing) == list(range(16))
    assert overlapping(matter.spans) >= 4, matter.spans  # after calibrating, calls run two at a time


def test_frames_fall_back_to_inline_when_they_lose():
    """Finishing off the main thread costs 60 ms here (a contended machine): the frames'
    pace loses to the inline cycle, and the rest runs inline with nothing lost."""

    class Contended(Processor):
        def finish(self, frames, x, alpha):
            if threading.current_thread() is not threading.main_thread():
                time.sleep(0.06)
            return super().finish(frames, x, alpha)

    sink = ListSink()
    stats = Pipeline(list(_frames(24)), Contended(SlowKey(cost=0.005), "#2040ff", refine="none"), sink,
                     progress=False, policy="frames").run()
    assert [f.pts for f in sink.frames] == [2 * i for i in range(24)]
    assert stats.policy.startswith("frames") and "then inline" in stats.policy and "ms a batch" in stats.policy


def test_frame_parallel_leaves_the_rest_in_the_iterator():
    proc = _processor(ChromaKeyMatter(), smoothing=None)
    feed, sink = FrameFeed(_frames(30)), ListSink()
    run = FrameParallel(Run(feed, proc, [sink]), workers=2, threads_each=1, inline_s=1e-9)
    reason = run.run()
    assert reason and "ms a batch" in reason
    out = sink.frames
    rest = list(iter(feed.take, None))
    assert run.batches_done == len(out) and len(out) + len(rest) == 30
    assert [f.index for f in out] == list(range(len(out)))  # in order, none lost
    assert [b[0].index for b in rest] == list(range(len(out), 30))


def test_a_model_error_stops_the_workers_and_aborts_the_sink():
    sink = ListSink()
    with pytest.raises(RuntimeError, match="model blew up"):
        Pipeline(list(_frames(20)), _processor(SlowKey(cost=0.01, fail_at=9)), sink, progress=False,
                 policy="frames").run()
    assert sink.aborted and not sink.closed


def test_a_stateful_model_never_runs_two_calls_at_once():
    matter = ReuseAlpha(ChromaKeyMatter())
    assert not parallel_safe(matter) and parallel_safe(ChromaKeyMatter())
    stats, sink = _run("frames", matter)
    assert stats.policy.startswith("inline") and "keeps state" in stats.policy, stats.policy
    assert len(sink.frames) == 14
    stats, _ = _run("auto", matter)
    assert not stats.policy.startswith("frames"), stats.policy


def test_choose_policy_frames_rules():
    kw = dict(model_s=0.3, light_s=0.03, model_busy=1.9, light_cpu_s=0.04)
    assert choose_policy(cores=2, threads=2, parallel=True, **kw)[0] == "frames"
    assert choose_policy(cores=2, threads=2, parallel=False, **kw)[0] == "inline"
    assert choose_policy(cores=2, threads=1, parallel=True, **kw)[0] != "frames"  # the user gave the model 1 thread
    assert choose_policy(cores=16, threads=8, parallel=True, **kw)[0] == "threads"  # 8 cores to spare
    assert choose_policy(cores=2, threads=2, parallel=True, model_s=0.01, light_s=0.03)[0] == "threads"
    why = choose_policy(cores=8, threads=8, parallel=True, **kw)[1]
    assert "4 thread(s) each" in why


def test_frame_parallel_checks_its_arguments():
    with pytest.raises(ValueError, match="workers"):
        FrameParallel(None, workers=0)


def test_room_for_another_call_is_a_bool():
    assert room_for_another_call() in (True, False)


def test_stage_times_add_from_many_threads():
    times = StageTimes()

    def hammer():
        for _ in range(20000):
            times.add("model", 1.0)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert times.seconds["model"] == 80000.0


def test_onnx_matter_keeps_a_session_per_thread_count():
    from vidmatte.models.bundled import bundled_model_path
    from vidmatte.models.onnx import OnnxMatter

    m = OnnxMatter(bundled_model_path(), size=64)
    assert parallel_safe(m)
    first = m.runner  # what forward calls (onnxruntime here: m.session itself)
    assert first is m.session
    m.set_threads(1)
    one = m.runner
    assert one is not first and m.threads == 1
    m.set_threads(None)
    assert m.runner is first
    m.set_threads(1)
    assert m.runner is one  # opened once
    alpha = m.predict(np.zeros((1, 64, 64, 3), np.uint8))
    assert isinstance(alpha, torch.Tensor) and alpha.shape == (1, 1, 64, 64)


def test_the_command_line_tunes_the_allocator_before_any_thread(tmp_path):
    """One malloc arena only helps if it is set before threads allocate: the CLI does it first."""
    import subprocess
    import sys

    code = ("import threading, vidmatte_cli.main as m, vidmatte.runtime.tuning as t, sys;"
            "seen = {};"
            "orig = t.tune_allocator;"
            "t.tune_allocator = lambda: (seen.setdefault('threads', threading.active_count()), orig());"
            "rc = m.main(['models', 'list']);"
            "print(seen.get('threads'), t._done, rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    threads, done, rc = out.stdout.split()[-3:]
    assert threads == "1" and rc == "0"
    assert done == ("True" if sys.platform.startswith("linux") else "False")
