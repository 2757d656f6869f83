"""The look-ahead contract through the Processor and the pipeline: ``delay``, completed frames
only (in order, timing kept), ``flush()`` at the end, ``reset()``, the compositor's frame
index, and the file / live defaults."""

from __future__ import annotations

import argparse
from fractions import Fraction

import numpy as np
import pytest
import torch

from media import disc_frame
from test_pipeline import ListSink
from vidmatte import ChromaKeyMatter, Frame
from vidmatte.defaults import SMOOTHER, SMOOTHER_FILES, SMOOTHER_LIVE
from vidmatte.runtime.pipeline import Pipeline
from vidmatte.runtime.processor import Processor
from vidmatte.temporal import FlowSmoother

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _frames(n, h=48, w=64):
    return [Frame(disc_frame(i, n, (w, h))[0], pts=5 * i, time_base=Fraction(1, 100), index=i) for i in range(n)]


def test_processor_returns_completed_frames_then_flushes_the_rest():
    proc = Processor(ChromaKeyMatter(), format="gray", smoothing="flow")
    assert proc.delay == 2 and Processor(ChromaKeyMatter(), smoothing=None).delay == 0
    frames = _frames(7)
    counts, out = [], []
    for f in frames:
        got = proc.process([f])
        counts.append(len(got))
        out += got
    assert counts == [0, 0, 1, 1, 1, 1, 1]
    out += proc.flush()
    assert [f.pts for f in out] == [f.pts for f in frames] and [f.index for f in out] == list(range(7))
    assert proc.flush() == []
    # the mattes are the smoother's output on the keyer's alpha, in 8 bits
    x = torch.stack([torch.from_numpy(f.image).permute(2, 0, 1) for f in frames]).float() / 255
    alpha = ChromaKeyMatter().predict(np.stack([f.image for f in frames]))
    sm = FlowSmoother(2)
    ref = torch.cat([sm(alpha, x), sm.flush()])
    want = (ref[:, 0] * 255).round().clamp(0, 255).to(torch.uint8).numpy()
    got = np.stack([f.image[..., 0] for f in out])
    assert int(np.abs(got.astype(int) - want).max()) <= 1


def test_batches_reset_and_the_array_api():
    proc = Processor(ChromaKeyMatter(), "#000000", smoothing="flow")
    frames = _frames(6)
    assert [f.pts for f in proc.process(frames[:4])] == [0, 5]
    proc.reset()  # held frames are dropped with the state
    assert proc.flush() == []
    assert len(proc.process(frames[:1])) == 0
    images = np.stack([f.image for f in frames])
    proc.reset()
    first = proc(images[0])
    assert first.shape == (0, 48, 64, 3)  # nothing complete yet: an empty batch
    assert proc(images[1:4]).shape == (2, 48, 64, 3) and proc.alpha.shape == (2, 48, 64)
    assert [f.image.shape for f in proc.flush()] == [(48, 64, 3)] * 2
    causal = Processor(ChromaKeyMatter(), "#000000")  # the library default: causal
    assert causal.delay == 0 and causal(images[0]).shape == (48, 64, 3)


def test_compositor_sees_each_frames_own_index():
    seen = []

    def record(image, alpha, index):
        seen.extend(range(index, index + image.shape[0]))
        return image

    proc = Processor(ChromaKeyMatter(), compositor=record, smoothing="flow")
    for i in range(0, 9, 3):
        proc.process(_frames(9)[i : i + 3])
    proc.flush()
    assert seen == list(range(9))


@pytest.mark.parametrize("batch", [1, 3])
def test_pipeline_writes_every_frame_in_order(batch):
    sink = ListSink()
    proc = Processor(ChromaKeyMatter(), "#000000", fg_estimation="none", smoothing="flow")
    stats = Pipeline(_frames(10), proc, sink, batch_size=batch, queue_size=2, progress=False).run()
    assert stats.frames == 10 and sink.closed and not sink.aborted
    assert [f.pts for f in sink.frames] == [5 * i for i in range(10)]


def test_file_and_live_defaults():
    """Files look ahead (flow), live stays causal (flow-causal), in the library and the CLI."""
    from vidmatte_cli.options import add_smoothing_options, smoothing_from_args

    assert (SMOOTHER_FILES, SMOOTHER_LIVE, SMOOTHER) == ("flow", "flow-causal", "flow-causal")
    for live, want in ((False, "flow"), (True, "flow-causal")):
        p = argparse.ArgumentParser()
        add_smoothing_options(p, live=live)
        assert smoothing_from_args(p.parse_args([])) == {"smoothing": want, "strength": None}
        assert smoothing_from_args(p.parse_args(["--smooth", "0.5"]))["strength"] == 0.5
    p = argparse.ArgumentParser()
    add_smoothing_options(p, live=True)
    with pytest.raises(SystemExit):  # live cannot wait for future frames
        p.parse_args(["--smoother", "flow"])
    import inspect

    from vidmatte.jobs.files import matte, replace
    from vidmatte.jobs.live import webcam

    assert inspect.signature(replace).parameters["smoothing"].default == "flow"
    assert inspect.signature(matte).parameters["smoothing"].default == "flow"
    assert inspect.signature(webcam).parameters["smoothing"].default == "flow-causal"


def test_live_job_refuses_a_lookahead_smoother():
    from vidmatte.errors import InputError
    from vidmatte.jobs.live import webcam

    with pytest.raises(InputError, match="future frames"):
        webcam("lavfi:testsrc2=size=64x48:rate=10", matter=ChromaKeyMatter(), smoothing="flow", preview=True,
               frames=1)
