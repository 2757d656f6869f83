"""Recurrent (RVM-style) ONNX models: the state is carried between frames, reset by the
Processor between clips and on size changes, never run two-at-once; live and offline.

The tiny model is written here byte by byte (the `onnx` package is not a dependency):
``pha = 0.5 grey(src) + 0.5 r1i``, ``r1o = mean(src)``, ``r2o = r2i + 1``,
``r4o = 0 r4i + downsample_ratio``: frame t's matte shows frame t-1's mean, r2 counts the
frames since the last reset and r4 holds the ratio that was fed."""

from __future__ import annotations

import numpy as np
import pytest

from vidmatte.frame import Frame
from vidmatte.models.factory import load_matter
from vidmatte.models.recurrent import RecurrentOnnxMatter, auto_downsample
from vidmatte.runtime.schedules.frames import parallel_safe
from vidmatte.runtime.processor import Processor
from onnxwriter import _int, _msg, _value_info


def _node(op: str, inputs, outputs, axes=None) -> bytes:
    body = b"".join(_msg(1, i) for i in inputs) + b"".join(_msg(2, o) for o in outputs) + _msg(4, op)
    if axes is not None:
        body += _msg(5, _msg(1, "axes") + b"".join(_int(8, a) for a in axes) + _int(20, 7))
        body += _msg(5, _msg(1, "keepdims") + _int(3, 1) + _int(20, 2))
    return _msg(1, body)


def _const(name: str, value: float) -> bytes:
    return _msg(5, _int(1, 1) + _int(2, 1) + _msg(8, name) + _msg(9, np.float32([value]).tobytes()))


def write_tiny_rvm(path):
    nodes = b"".join([
        _node("Identity", ["src"], ["fgr"]),
        _node("ReduceMean", ["src"], ["grey"], axes=[1]),
        _node("Mul", ["grey", "half"], ["g2"]),
        _node("Mul", ["r1i", "half"], ["r2"]),
        _node("Add", ["g2", "r2"], ["pha"]),
        _node("ReduceMean", ["src"], ["r1o"], axes=[1, 2, 3]),
        _node("Add", ["r2i", "one"], ["r2o"]),
        _node("Identity", ["r3i"], ["r3o"]),
        _node("Mul", ["r4i", "zero"], ["r4z"]),
        _node("Add", ["r4z", "downsample_ratio"], ["r4o"]),
    ])
    ins = [("src", [1, 3, "h", "w"])] + [(f"r{i}i", [1, 1, f"a{i}", f"b{i}"]) for i in range(1, 5)]
    ins.append(("downsample_ratio", [1]))
    outs = [("fgr", [1, 3, "h", "w"]), ("pha", [1, 1, "h", "w"])] + [(f"r{i}o", [1, 1, f"c{i}", f"d{i}"])
                                                                     for i in range(1, 5)]
    graph = (nodes + _msg(2, "tiny_rvm") + _const("half", 0.5) + _const("one", 1.0) + _const("zero", 0.0)
             + b"".join(_msg(11, _value_info(n, d)) for n, d in ins)
             + b"".join(_msg(12, _value_info(n, d)) for n, d in outs))
    path.write_bytes(_int(1, 7) + _msg(8, _int(2, 13)) + _msg(7, graph))
    return path


@pytest.fixture
def rvm(tmp_path):
    return write_tiny_rvm(tmp_path / "tiny_rvm.onnx")


def _frames(n, h=24, w=32, seed=0):
    """One shot: a fixed picture with a little noise per frame."""
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 216, (h, w, 3))
    return [np.clip(base + rng.integers(-8, 9, (h, w, 3)), 0, 255).astype(np.uint8) for _ in range(n)]


def test_state_is_carried_between_frames_and_reset(rvm):
    m = load_matter(str(rvm))
    assert isinstance(m, RecurrentOnnxMatter) and not parallel_safe(m) and m.size == (0, 0)
    f0, f1, f2 = _frames(3)
    grey = [f.astype(np.float32).mean(-1) / 255 for f in (f0, f1, f2)]
    a0 = m.predict_array(f0)[0, 0]
    np.testing.assert_allclose(a0, 0.5 * grey[0], atol=1e-5)  # zero state
    a1 = m.predict_array(f1)[0, 0]
    np.testing.assert_allclose(a1, 0.5 * grey[1] + 0.5 * grey[0].mean(), atol=1e-5)  # frame 0 carried
    assert float(m._state[1].ravel()[0]) == 2.0 and float(m._state[3].ravel()[0]) == auto_downsample((24, 32))
    m.reset_state()
    np.testing.assert_allclose(m.predict_array(f2)[0, 0], 0.5 * grey[2], atol=1e-5)
    # a batch is frames in time order
    both = m.predict_array(np.stack([f0, f1]))
    assert both.shape == (2, 1, 24, 32)
    np.testing.assert_allclose(both[1, 0], 0.5 * grey[1] + 0.5 * grey[0].mean(), atol=1e-5)


def test_processor_resets_it_between_clips_and_on_size_changes(rvm):
    m = RecurrentOnnxMatter(rvm, downsample=0.5)
    proc = Processor(m, (0, 0, 255), smoothing=None, refine="auto")
    for i, f in enumerate(_frames(3)):
        proc.process([Frame(f, index=i)])
    assert float(m._state[1].ravel()[0]) == 3.0 and float(m._state[3].ravel()[0]) == 0.5
    proc.reset()  # between clips
    assert m._state is None
    proc.process([Frame(_frames(1)[0], index=0)])
    assert float(m._state[1].ravel()[0]) == 1.0
    proc.process([Frame(_frames(1, h=40, w=48)[0], index=1)])  # another size: a fresh state
    assert float(m._state[1].ravel()[0]) == 1.0 and m.resets == 2


def test_processor_resets_it_on_a_cut(rvm):
    m = RecurrentOnnxMatter(rvm)
    proc = Processor(m, (0, 0, 255), smoothing=None, refine="none")
    dark = np.full((24, 32, 3), 20, np.uint8)
    for i in range(3):
        proc.process([Frame(dark, index=i)])
    assert float(m._state[1].ravel()[0]) == 3.0
    proc.process([Frame(np.full((24, 32, 3), 230, np.uint8), index=3)])  # another shot
    assert float(m._state[1].ravel()[0]) == 1.0


def test_runs_live_with_one_worker_and_offline(rvm, tmp_path):
    from media import make_clip, read_frames

    from vidmatte.jobs import replace
    from vidmatte.jobs.live import webcam

    stats = webcam("lavfi:testsrc2=size=64x48:rate=30", matter=str(rvm), background="#0000ff",
                   output=tmp_path / "live.mp4", frames=6)
    assert stats.processed == 6 and stats.workers == 1  # stateful: never two frames at once
    assert len(read_frames(tmp_path / "live.mp4")) == 6
    clip = make_clip(tmp_path / "in.mp4", frames=8, size=(64, 48))
    replace(clip.path, tmp_path / "out.mp4", background="#0000ff", matter=str(rvm))
    assert len(read_frames(tmp_path / "out.mp4")) == 8


def test_bad_files(tmp_path):
    from vidmatte.errors import InputError, WeightsError

    with pytest.raises(InputError, match=r"\(0, 1\]"):
        RecurrentOnnxMatter(write_tiny_rvm(tmp_path / "a.onnx"), downsample=2.0)
    with pytest.raises(WeightsError, match="not found"):
        RecurrentOnnxMatter(tmp_path / "missing.onnx")
