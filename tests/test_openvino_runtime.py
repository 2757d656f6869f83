"""OpenVINO's own runtime behind OnnxMatter (vidmatte/models/openvino_runtime.py), and the live
CPU default it serves: the bundled int8 MODNet at 384. Skips where the package is absent."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from vidmatte.errors import DeviceError, InputError, WeightsError
from vidmatte.models import openvino_runtime
from vidmatte.models.bundled import BUNDLED_MODNET, BUNDLED_MODNET_INT8
from vidmatte.models.onnx import OnnxMatter
from vidmatte.models.openvino_runtime import OpenVinoRunner, choose_runtime, openvino_available

needs_ov = pytest.mark.skipif(not openvino_available(), reason="the openvino package is not installed")


def _frames(n=3, h=180, w=320):
    """Real-looking frames: samples/talk.mp4 decoded and scaled (people, a room)."""
    import av

    from conftest import ROOT

    with av.open(str(ROOT / "samples" / "talk.mp4")) as c:
        return np.stack([f.to_ndarray(format="rgb24", width=w, height=h) for _, f in zip(range(n), c.decode(video=0))])


@needs_ov
def test_fp32_graph_gives_onnxruntime_results_at_every_size():
    ov = OnnxMatter(BUNDLED_MODNET, preset="modnet", size=256, runtime="openvino")
    ort = OnnxMatter(BUNDLED_MODNET, preset="modnet", size=256, runtime="onnxruntime")
    assert ov.providers[0].startswith("OpenVINO CPU") and ort.providers == ["CPUExecutionProvider"]
    for hw in ((180, 320), (240, 240)):  # two input shapes: compiled once each
        x = _frames(2, *hw)
        assert np.abs(ov.predict_array(x) - ort.predict_array(x)).max() < 1e-3  # f32 pinned: no bf16
    assert len(ov.runner._compiled) == 2


@needs_ov
def test_int8_file_differs_from_fp32_as_onnxruntimes_int8_does():
    x = _frames(3)
    ref = OnnxMatter(BUNDLED_MODNET, preset="modnet", size=384, runtime="onnxruntime").predict_array(x)
    errs = {rt: np.abs(OnnxMatter(BUNDLED_MODNET_INT8, preset="modnet", size=384, runtime=rt).predict_array(x) - ref)
            for rt in ("openvino", "onnxruntime")}
    for rt, e in errs.items():
        assert 0 < e.mean() * 255 < 1.5, rt  # int8 changes the matte, by under 1.5 levels on average
    assert errs["openvino"].mean() < 2 * errs["onnxruntime"].mean() + 0.5 / 255


@needs_ov
def test_threads_give_streams_and_concurrent_calls_agree():
    m = OnnxMatter(BUNDLED_MODNET_INT8, preset="modnet", size=256, runtime="openvino")
    m.set_threads(1)
    import os

    assert m.runner.config()["NUM_STREAMS"] == max(1, os.cpu_count() // 1)
    x = _frames(4)
    serial = [m.predict_array(x[i : i + 1]) for i in range(4)]
    out: dict = {}

    def work(i):
        out[i] = m.predict_array(x[i : i + 1])

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    for i in range(4):  # each thread its own infer request: no result lands in another's frame
        assert np.array_equal(out[i], serial[i])
    m.set_threads(None)
    assert "PERFORMANCE_HINT" in m.runner.config()


def test_runtime_choice_and_its_errors(monkeypatch):
    assert choose_runtime("auto", "cpu") == "onnxruntime"
    assert choose_runtime("onnxruntime", "openvino") == "onnxruntime"
    with pytest.raises(InputError, match="choose one of auto, onnxruntime, openvino"):
        choose_runtime("tflite", "cpu")
    with pytest.raises(DeviceError, match="runs on the CPU"):
        choose_runtime("openvino", "cuda")
    monkeypatch.setattr(openvino_runtime, "openvino_available", lambda: False)
    assert choose_runtime("auto", "openvino") == "onnxruntime"  # providers_for then names what to install
    with pytest.raises(DeviceError, match="pip install openvino"):
        choose_runtime("openvino", "cpu")


@needs_ov
def test_device_openvino_runs_on_openvinos_runtime_without_the_onnxruntime_provider():
    from vidmatte.models.providers import available_providers

    if "OpenVINOExecutionProvider" in available_providers():
        pytest.skip("onnxruntime-openvino is installed: its provider runs instead")
    m = OnnxMatter(BUNDLED_MODNET, preset="modnet", size=256, device="openvino")
    assert m.runtime == "openvino" and m.providers[0].startswith("OpenVINO CPU")


@needs_ov
def test_unreadable_file_is_a_weights_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all")
    with pytest.raises(WeightsError, match="OpenVINO cannot read bad.onnx"):
        OpenVinoRunner(bad)


def test_live_cpu_default_is_the_bundled_int8_at_384():
    from vidmatte.models.factory import load_matter

    live = load_matter("auto", live=True, device="cpu")
    assert live.path == BUNDLED_MODNET_INT8 and max(live.size) == 384
    assert live.runtime == ("openvino" if openvino_available() else "onnxruntime")
    fp32 = load_matter("modnet", live=True, device="cpu", dtype="fp32")
    assert fp32.path == BUNDLED_MODNET and max(fp32.size) == 384
    files = load_matter("modnet", device="cpu")  # file jobs: fp32 at 512 on onnxruntime, as before
    assert files.path == BUNDLED_MODNET and max(files.size) == 512 and files.runtime == "onnxruntime"
    ort = load_matter("auto", live=True, device="cpu", onnx_options={"runtime": "onnxruntime"})
    assert ort.providers == ["CPUExecutionProvider"]


def test_int8_is_refused_for_birefnet_in_one_line():
    import torch

    from vidmatte.models.factory import resolve_dtype

    with pytest.raises(InputError, match="int8 is for the bundled MODNet only"):
        resolve_dtype("int8", torch.device("cpu"))
