"""The overlapped pipeline: order, completeness, error propagation, no partial output."""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import numpy as np
import pytest

from media import make_clip, read_pts
from vidmatte import ChromaKeyMatter, Frame
from vidmatte.io.sinks import VideoSink
from vidmatte.io.sources import VideoSource
from vidmatte.runtime.pipeline import Pipeline
from vidmatte.runtime.processor import Processor


def _processor(format="rgb24", cls=Processor):
    if format == "gray":
        return cls(ChromaKeyMatter(), format="gray", smoothing=None)
    return cls(ChromaKeyMatter(), "#000000", fg_estimation="none", smoothing=None, format=format)


class ListSink:
    def __init__(self, fail_at=None):
        self.frames, self.closed, self.aborted, self.fail_at = [], False, False, fail_at

    def write(self, frame):
        if self.fail_at is not None and len(self.frames) == self.fail_at:
            raise RuntimeError("disk full")
        self.frames.append(frame)

    def close(self):
        self.closed = True

    def abort(self):
        self.aborted = True


def _frames(n, h=32, w=48):
    rng = np.random.default_rng(0)
    for i in range(n):
        yield Frame(image=rng.integers(0, 255, (h, w, 3), dtype=np.uint8), pts=3 * i, time_base=Fraction(1, 90), index=i)


@pytest.mark.parametrize("batch", [1, 3])
def test_every_frame_in_order_with_timing(batch):
    sink = ListSink()
    stats = Pipeline(list(_frames(10)), _processor(), sink, batch_size=batch, queue_size=2, progress=False).run()
    assert stats.frames == 10 and sink.closed and not sink.aborted
    assert [f.pts for f in sink.frames] == [3 * i for i in range(10)]
    assert all(f.image.shape == (32, 48, 3) and f.image.dtype == np.uint8 for f in sink.frames)
    assert {"decode", "model", "composite", "encode"} <= set(stats.times.seconds)


def test_sink_error_aborts_and_propagates():
    sink = ListSink(fail_at=4)
    with pytest.raises(RuntimeError, match="disk full"):
        Pipeline(list(_frames(20)), _processor(), sink, progress=False).run()
    assert sink.aborted and not sink.closed


def test_source_error_aborts_and_propagates():
    def broken():
        yield from _frames(3)
        raise ValueError("bad packet")

    sink = ListSink()
    with pytest.raises(ValueError, match="bad packet"):
        Pipeline(broken(), _processor(), sink, progress=False).run()
    assert sink.aborted


def test_memory_stays_bounded_by_the_queues():
    """A slow sink must hold back decoding: never more than the queue bounds in flight."""
    produced = []

    def source():
        for f in _frames(40):
            produced.append(f.index)
            yield f

    class SlowSink(ListSink):
        def write(self, frame):
            ahead = len(produced) - len(self.frames)
            self.max_ahead = max(getattr(self, "max_ahead", 0), ahead)
            time.sleep(0.005)
            super().write(frame)

    sink = SlowSink()
    Pipeline(source(), _processor(), sink, queue_size=3, progress=False).run()
    assert len(sink.frames) == 40
    assert sink.max_ahead <= 3 + 2 + 3 + 4  # q_in + q_mid + q_out + frames held by the four stages


def test_real_files_no_output_left_after_failure(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=12, size=(64, 48))
    target = tmp_path / "out.mp4"

    class Boom(Processor):
        def infer(self, frames):
            if frames[0].index == 6:
                raise KeyboardInterrupt
            return super().infer(frames)

    with VideoSource(clip.path) as src:
        sink = VideoSink(target, width=src.width, height=src.height, time_base=src.time_base, fps=src.fps)
        proc = _processor(cls=Boom)
        with pytest.raises(KeyboardInterrupt):
            Pipeline(src, proc, sink, progress=False).run()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_real_files_pipeline_matches_input_timing(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=15, size=(64, 48), vfr=True)
    target = tmp_path / "out.mp4"
    with VideoSource(clip.path) as src, VideoSink(target, width=src.width, height=src.height,
                                                  time_base=src.time_base, fps=src.fps) as sink:
        Pipeline(src, _processor("yuv420p"), sink, progress=False).run()
    assert read_pts(target) == read_pts(clip.path)
