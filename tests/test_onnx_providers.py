"""onnxruntime execution providers: --device → providers, what the session really uses, the
one-line fallback warning, and `models list`. Accelerators absent here are covered by the
provider-selection rules; OpenVINO runs for real where onnxruntime-openvino is installed."""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pytest

from vidmatte.errors import DeviceError, VidmatteWarning
from vidmatte.models.factory import bundled_model_path, load_matter
from vidmatte.models.onnx import OnnxMatter
from vidmatte.models.providers import CPU, available_providers, check_session, provider_table, providers_for
from vidmatte_cli.main import main

CUDA, TRT, OV = "CUDAExecutionProvider", "TensorrtExecutionProvider", "OpenVINOExecutionProvider"


def test_each_device_asks_for_its_providers_with_the_cpu_last():
    assert providers_for("cpu", [CPU]) == [CPU]
    assert providers_for("cuda", [CUDA, CPU]) == [CUDA, CPU]
    assert providers_for("cuda:1", [CUDA, CPU]) == [(CUDA, {"device_id": "1"}), CPU]
    assert providers_for("tensorrt", [TRT, CUDA, CPU]) == [TRT, CUDA, CPU]
    assert providers_for("tensorrt", [CUDA, CPU]) == [CUDA, CPU]  # TensorRT missing: CUDA still
    assert providers_for("openvino", [OV, CPU]) == [OV, CPU]


def test_a_missing_accelerator_names_the_package_to_install():
    with pytest.raises(DeviceError, match="pip install openvino"):
        providers_for("openvino", [CPU])
    with pytest.raises(DeviceError, match="onnxruntime-gpu"):
        providers_for("tensorrt", [CPU])
    with pytest.raises(DeviceError, match="choose one of"):
        providers_for("vulkan", [CPU])


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="DirectML/CoreML exist on their own OS")
def test_os_bound_providers_say_which_os():
    with pytest.raises(DeviceError, match="needs Windows"):
        providers_for("directml", [CPU])
    with pytest.raises(DeviceError, match="needs macOS"):
        providers_for("coreml", [CPU])


def test_cuda_without_its_provider_warns_and_runs_on_the_cpu():
    with pytest.warns(VidmatteWarning, match="no CUDA provider"):
        assert providers_for("cuda", [CPU]) == [CPU]


@pytest.mark.skipif(CUDA in available_providers(), reason="this onnxruntime has CUDA: no fallback to see")
def test_the_session_s_real_providers_and_the_fallback_warning():
    """Asking onnxruntime for CUDA where it cannot start it: the session runs on the CPU
    (``get_providers()``), and one warning line says so (the available list is not trusted)."""
    with pytest.warns(VidmatteWarning, match="could not start CUDAExecutionProvider and runs on CPUExecutionProvider"):
        m = OnnxMatter(bundled_model_path(), providers=[CUDA, CPU])
    assert m.providers == [CPU]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = OnnxMatter(bundled_model_path())
    assert m.providers == [CPU] and "CPUExecutionProvider" in repr(m)
    assert check_session(m.session, [CPU]) == [CPU]


def test_accelerator_devices_are_for_onnx_models_only():
    with pytest.raises(DeviceError, match="ONNX models only"):
        load_matter("chroma", device="openvino")


@pytest.mark.skipif(OV in available_providers(), reason="onnxruntime-openvino is installed here")
def test_auto_with_an_absent_accelerator_is_one_error(monkeypatch):
    from vidmatte.models import openvino_runtime

    monkeypatch.setattr(openvino_runtime, "openvino_available", lambda: False)  # neither runtime has it
    with pytest.raises(DeviceError, match="pip install openvino"):
        load_matter("auto", device="openvino")


@pytest.mark.skipif(OV not in available_providers(), reason="onnxruntime-openvino is not installed")
def test_openvino_runs_modnet_like_the_cpu():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (1, 256, 320, 3), dtype=np.uint8)
    ov = OnnxMatter(bundled_model_path(), device="openvino", size=256)
    cpu = OnnxMatter(bundled_model_path(), device="cpu", size=256)
    assert ov.providers[0] == OV
    assert np.abs(ov.predict_array(img) - cpu.predict_array(img)).max() < 0.02


def test_models_list_shows_the_providers_of_this_machine(capsys):
    assert main(["models", "list", "--json"]) == 0
    rows = {r["device"]: r["status"] for r in json.loads(capsys.readouterr().out)["onnx_devices"]}
    assert rows["cpu"] == "yes"
    for device, provider in (("cuda", CUDA), ("openvino", OV)):  # the wheels' metadata agrees with onnxruntime
        assert (rows[device] == "yes") == (provider in available_providers())
    assert set(rows) == {"cpu", "cuda", "tensorrt", "openvino", "directml", "coreml"}
    assert "onnxruntime" in provider_table()[-1][2]
    table = {d: s for d, _, s in provider_table(["CPUExecutionProvider", OV])}
    assert table["openvino"] == "yes" and table["cuda"].startswith("missing: ")
