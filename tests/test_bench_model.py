"""`vidmatte bench model`: timing protocol, memory report, JSON output and its errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from vidmatte.bench.model import bench_model, current_rss_mb
from vidmatte.errors import DeviceError, InputError

torch.set_num_threads(2)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="2")
    return subprocess.run([sys.executable, "-m", "vidmatte_cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.mark.parametrize("plain", [False, True])
def test_bench_model_times_every_run(plain):
    res = bench_model("lite", size=70, runs=2, warmup=1, threads=2, plain=plain)
    assert res.size == (64, 64), "sizes round to multiples of 32"
    assert len(res.runs_ms) == 2 and all(t > 0 for t in res.runs_ms)
    assert res.min_ms == min(res.runs_ms) and res.min_ms <= res.median_ms <= max(res.runs_ms)
    assert res.mode == ("plain" if plain else "optimised") and res.threads == 2 and res.device == "cpu"
    assert res.memory_kind == "rss" and res.memory_mb >= res.rss_before_model_mb > 0
    # the reported peak is the process high-water mark at the end of the bench: it cannot
    # exceed the high-water mark read afterwards (monotonic), and is well above zero
    import resource

    assert 0 < res.memory_mb <= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + 1
    assert current_rss_mb() > 0


def test_bench_batch_reports_per_frame_time():
    res = bench_model("lite", size=64, runs=1, warmup=0, batch=2, threads=2)
    assert res.batch == 2 and len(res.runs_ms) == 1


def test_bench_rejects_bad_arguments():
    with pytest.raises(InputError):
        bench_model(runs=0)
    with pytest.raises(DeviceError, match="fp16 is not supported on CPU"):
        bench_model(size=64, dtype="fp16", device="cpu", runs=1, warmup=0)


def test_cli_bench_model_json():
    res = run_cli("bench", "model", "--size", "96x64", "--runs", "2", "--warmup", "1", "--threads", "2", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["size"] == [64, 96] and data["variant"] == "lite" and len(data["runs_ms"]) == 2
    assert data["median_ms"] > 0 and data["memory_kind"] == "rss" and data["memory_mb"] > 0


def test_cli_bench_model_errors_are_one_line():
    res = run_cli("bench", "model", "--size", "64", "--dtype", "fp16", "--device", "cpu", "--runs", "1")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().startswith("vidmatte: error:") and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
def test_bench_model_cuda_reports_allocated_memory(dtype):
    res = bench_model("lite", size=512, device="cuda", dtype=dtype, runs=3, warmup=2)
    assert res.memory_kind == "cuda_allocated" and res.memory_mb > 80  # fp16 lite weights alone are ~88 MB
    assert res.median_ms > 0


@pytest.mark.slow
def test_bench_backends_side_by_side(tmp_path):
    """torch, onnxruntime fp32 and int8 on one input in turns; OpenVINO reported when absent."""
    pytest.importorskip("onnx")
    import cv2
    import numpy as np

    from vidmatte.bench.backends import bench_backends

    rng = np.random.default_rng(0)
    images = []
    for i in range(2):
        p = tmp_path / f"im{i}.png"
        cv2.imwrite(str(p), rng.integers(0, 255, (48, 80, 3), dtype=np.uint8))
        images.append(p)
    res = bench_backends(["torch", "onnx", "onnx-int8", "openvino"], size=64, runs=2, warmup=1, threads=2,
                         images=images, workdir=str(tmp_path))
    rows = {r.backend: r for r in res.rows}
    assert [r.backend for r in res.rows] == ["torch", "onnx", "onnx-int8", "openvino"]
    for b in ("torch", "onnx", "onnx-int8"):
        r = rows[b]
        assert r.status == "ok" and len(r.runs_ms) == 2 and 0 < r.min_ms <= r.median_ms, r
        assert r.vs_torch == pytest.approx(r.min_ms / rows["torch"].min_ms, rel=1e-2)
    d = rows["onnx-int8"].alpha_vs_onnx
    assert d["images"] == 2 and 0 < d["mean_abs"] <= d["max_abs"] < 1   # int8 changes the output, a little
    ov = rows["openvino"]
    assert ov.status == "ok" or "OpenVINOExecutionProvider" in ov.status
    if ov.status == "ok":  # OpenVINO ran the same fp32 file: same alpha
        assert ov.alpha_vs_onnx["max_abs"] < 1e-3 and len(ov.runs_ms) == 2
    assert res.load_before and res.load_after and "random init" in res.weights
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == []  # the temporary ONNX files are gone
    assert "onnx-int8" in res.summary() and "alpha vs onnx fp32" in res.summary()


def test_cli_bench_unknown_backend_is_one_line():
    res = run_cli("bench", "model", "--backend", "torch,tflite", "--size", "64")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    err = res.stderr.strip()
    assert err.startswith("vidmatte: error: unknown --backend tflite") and len(err.splitlines()) == 1
