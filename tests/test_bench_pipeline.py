"""`vidmatte bench pipeline` on the CPU: every stage measured, ratios from side-by-side runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vidmatte import ChromaKeyMatter
from vidmatte.bench.pipeline import bench_pipeline

STAGES = {"decode", "to_tensor", "model", "smooth", "composite", "to_yuv", "encode"}


def test_bench_pipeline_reports_all_stages_and_ratios(tmp_path):
    res = bench_pipeline(ChromaKeyMatter(), "#3366ff", smoothing="gated", width=160, height=96, frames=10,
                         workdir=tmp_path)
    assert res.frames == 10 and (res.width, res.height) == (160, 96)
    assert STAGES <= set(res.stage_ms), res.stage_ms
    assert all(v > 0 for v in res.stage_ms.values())
    for fps in (res.model_only_fps, res.naive_fps, res.pipeline_fps, res.decode_fps, res.encode_fps):
        assert fps > 0
    assert res.ratio_vs_model == pytest.approx(res.pipeline_fps / res.model_only_fps)
    assert res.ratio_vs_naive == pytest.approx(res.pipeline_fps / res.naive_fps)
    assert "pipeline / model-only" in res.summary()
    assert res.policy and res.policy in res.summary() and "cores" in res.threads  # what ran, and on what
    assert {k: len(v) for k, v in res.runs_fps.items()} == {"model-only": 2, "naive": 2, "pipeline": 2}
    assert res.pipeline_fps == max(res.runs_fps["pipeline"])
    assert list(tmp_path.iterdir()) == []  # its clip and outputs are cleaned up


def test_bench_pipeline_all_policies_side_by_side(tmp_path):
    res = bench_pipeline(ChromaKeyMatter(), "#3366ff", width=96, height=64, frames=8, workdir=tmp_path,
                         naive=False, rounds=1, policy="all")
    assert set(res.runs_fps) == {"model-only", "naive", "pipeline", "pipeline inline", "pipeline overlap",
                                 "pipeline threads"}
    assert all(v[0] > 0 for k, v in res.runs_fps.items() if k != "naive")
    assert "pipeline overlap" in res.summary()


def test_bench_pipeline_cli_json(tmp_path):
    out = subprocess.run([sys.executable, "-m", "vidmatte_cli.main", "bench", "pipeline", "--model", "chroma",
                          "--resolution", "64x96", "--frames", "6", "--json", "--no-naive"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["frames"] == 6 and data["naive_fps"] == 0.0
    assert data["ratio_pipeline_vs_model_only"] > 0 and data["policy"]
    assert STAGES <= set(data["stage_ms"])


def test_bench_startup_times_every_command_against_import_torch():
    from vidmatte.bench.startup import BASELINE, COMMANDS, bench_startup

    res = bench_startup(runs=1)
    assert set(res.runs_s) == {BASELINE, *COMMANDS}
    assert all(len(v) == 1 and v[0] > 0 for v in res.runs_s.values())
    assert set(res.as_dict()["ratio_vs_import_torch"]) == set(COMMANDS)
    assert "x import torch" in res.summary()
