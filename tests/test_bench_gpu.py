"""`vidmatte bench gpu` runs every step (on a CPU at tiny sizes: the steps work; GPUs time them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_bench_gpu_quick_on_cpu_runs_every_step(tmp_path):
    out = tmp_path / "gpu.json"
    res = subprocess.run([sys.executable, "-m", "vidmatte_cli.main", "bench", "gpu", "--device", "cpu", "--quick",
                          "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    data = json.loads(out.read_text())
    for step in ("model_only", "end_to_end", "encoder", "parts", "encode_speed", "memory", "two_pipelines", "live"):
        assert "error" not in data[step], data[step]
    assert data["model_only"]["ours_eager_ms"] > 0
    assert data["end_to_end"]["pipeline_fps"] > 0 and data["end_to_end"]["encoder"] == "libx264"
    assert data["memory"]["frames"] == 4 and len(data["two_pipelines"]["each_fps"]) == 2
    assert data["live"]["fps_out"] > 0
    enc = data["encoder"]  # the encoder's own fps beside the model's
    assert enc["threaded"]["encode_fps"] > 0 and enc["plain"]["fps"] > 0 and enc["model_fps"] > 0
    assert enc["threaded"]["threads"] == 1 and enc["plain"]["encoder"] == "libx264"
    assert data["end_to_end"]["encoder_fps"] > 0
    parts = data["parts"]  # the issue-27 building blocks, timed beside the host path
    assert parts["to_rgb_device_ms"] > 0 and parts["to_yuv_device_ms"] > 0 and parts["to_rgb_max_diff_vs_host"] <= 3
    assert set(parts["model_smooth_compose_ms"]) == {"dis_on_compute_thread", "dis_on_worker"}


def test_bench_gpu_saves_after_each_step_and_refuses_unknown_steps(tmp_path):
    from vidmatte.bench.gpu import bench_gpu
    from vidmatte.errors import VidmatteError

    with pytest.raises(VidmatteError, match="unknown bench gpu step modle_only"):
        bench_gpu(device="cpu", quick=True, steps=("modle_only",))
    saved = []
    res = bench_gpu(device="cpu", quick=True, steps=("encoder",), log=lambda _: None,
                    save=lambda r: saved.append(json.loads(json.dumps(r, default=str))))
    assert len(saved) == 1 and saved[0]["encoder"]["threaded"]["encode_fps"] > 0
    assert "model_fps" not in res["encoder"]  # no model_only step ran: nothing to compare with


def test_official_loader_refuses_a_folder_that_is_not_a_checkout(tmp_path):
    from vidmatte.bench.official import load_official_birefnet

    with pytest.raises(FileNotFoundError, match="not a checkout"):
        load_official_birefnet(tmp_path)


def test_official_loader_patches_only_its_copy(tmp_path):
    """The backbone index is changed in a temporary copy, never in the checkout given."""
    from vidmatte.bench.official import _patch_backbone

    cfg = tmp_path / "config.py"
    cfg.write_text("class Config:\n    def __init__(self):\n        self.bb = [\n            'a', 'swin_v1_l',\n"
                   "            'swin_v1_t',\n        ][1]\n")
    _patch_backbone(cfg, "swin_v1_t")
    assert "][2]" in cfg.read_text()
    with pytest.raises(RuntimeError, match="not among"):
        _patch_backbone(cfg, "swin_v1_x")
