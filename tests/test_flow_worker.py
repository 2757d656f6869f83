"""DIS off the compute stream (vidmatte/temporal/flow.py worker, FlowSmoother.prefetch): the
smoother's output is bit-identical with and without the worker thread, every request is
taken, prefetched views are used once; on CUDA the smoother never synchronises the stream."""

from __future__ import annotations

import threading

import pytest
import torch

from test_flow_smoother import run_all
from test_temporal import flicker, make_clip
from vidmatte.temporal import FlowSmoother
from vidmatte.temporal.flow import Motion

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def clip():
    frames, gt = make_clip()
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
    return x[:16], torch.from_numpy(flicker(gt))[:16, None].contiguous()


def _prefetched_run(sm, x, a, batch):
    """As the processor drives it on CUDA: prefetch(x) before the model, then sm(alpha, x)."""
    outs = []
    for i in range(0, len(x), batch):
        xb = x[i : i + batch]
        sm.prefetch(xb)
        outs.append(sm(a[i : i + batch], xb))
    rest = sm.flush()
    return torch.cat(outs + ([rest] if rest is not None else []))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("batch", [1, 3])
def test_worker_output_is_bit_identical(clip, causal, batch):
    x, a = clip
    ref = run_all(FlowSmoother(2, causal=causal, worker=False), x, a, batch=batch)
    sm = FlowSmoother(2, causal=causal, worker=True)
    got = run_all(sm, x, a, batch=batch)
    assert torch.equal(got, ref)
    assert sm.motion._pool is not None and not sm.motion._requests  # the worker ran; every request was taken
    pre = FlowSmoother(2, causal=causal, worker=True)
    assert torch.equal(_prefetched_run(pre, x, a, batch), ref)
    assert not pre._prefetched and not pre.motion._requests


def test_dis_runs_on_the_worker_thread_and_not_without_it(clip, monkeypatch):
    x, a = clip
    threads = set()
    real = Motion._dis_flow

    def spy(self, *args):
        threads.add(threading.current_thread().name)
        return real(self, *args)

    monkeypatch.setattr(Motion, "_dis_flow", spy)
    run_all(FlowSmoother(2, worker=True), x[:6], a[:6])
    assert threads and all(t.startswith("vidmatte-flow") for t in threads)
    threads.clear()
    sm = FlowSmoother(2, worker="auto")  # auto: no worker for CPU frames
    run_all(sm, x[:6], a[:6])
    assert threads == {threading.current_thread().name} and sm.motion._pool is None


def test_prefetched_views_are_used_once_and_only_for_their_frames(clip, monkeypatch):
    x, a = clip
    sm = FlowSmoother(2, worker=True)
    calls = []
    real = sm.motion.view
    monkeypatch.setattr(sm.motion, "view", lambda img: calls.append(1) or real(img))
    xb = x[:3].clone()
    sm.prefetch(xb)
    assert len(calls) == 3
    sm(a[:3], xb)
    assert len(calls) == 3 and not sm._prefetched  # taken, not made again
    sm(a[3:5], x[3:5])  # not prefetched: made here
    assert len(calls) == 5
    sm.prefetch(x[5:6].clone())
    sm.reset()  # a new stream forgets what was prefetched and requested
    assert not sm._prefetched and not sm.motion._requests


def test_worker_setting_is_checked():
    with pytest.raises(ValueError, match="flow worker must be"):
        Motion(worker="yes")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_worker_matches_and_never_syncs_the_stream(clip):
    x, a = (t.cuda() for t in clip)
    ref = run_all(FlowSmoother(2, worker=False), x, a, batch=2)
    sm = FlowSmoother(2, worker="auto")
    outs = []
    for i in range(0, len(x), 2):
        xb = x[i : i + 2]
        if i >= 4:  # steady state (DIS, the pool, pinned blocks made): no call may wait for the stream
            torch.cuda.set_sync_debug_mode("error")
        try:
            sm.prefetch(xb)
            outs.append(sm(a[i : i + 2], xb))
        finally:
            torch.cuda.set_sync_debug_mode(0)
    rest = sm.flush()
    got = torch.cat(outs + ([rest] if rest is not None else []))
    assert sm.motion._pool is not None
    # the same greys and DIS calls: equal up to the GPU's own float order (the flows are identical)
    assert (got - ref).abs().max() <= 1e-5


def test_the_worker_thread_ends_with_its_smoother(clip):
    import gc

    x, a = clip
    sm = FlowSmoother(1, worker=True)
    run_all(sm, x[:4], a[:4])
    pool = sm.motion._pool
    assert pool is not None and any(t.name.startswith("vidmatte-flow") for t in threading.enumerate())
    del sm
    gc.collect()
    assert pool._shutdown
