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
    for fps in (res.model_only_fps, res.naive_fps, res.same_work_fps, res.pipeline_fps, res.decode_fps, res.encode_fps):
        assert fps > 0
    assert res.ratio_vs_model == pytest.approx(res.pipeline_fps / res.model_only_fps)
    assert res.ratio_vs_naive == pytest.approx(res.pipeline_fps / res.naive_fps)
    assert res.ratio_vs_same_work == pytest.approx(res.pipeline_fps / res.same_work_fps)
    assert "naive same work" in res.summary() and "smoothing: gated" in res.summary()
    assert "pipeline / model-only" in res.summary()
    assert res.policy and res.policy in res.summary() and "cores" in res.threads  # what ran, and on what
    assert {k: len(v) for k, v in res.runs_fps.items()} == {"model-only": 2, "model-two": 2, "naive": 2,
                                                                 "same-work": 2, "pipeline": 2}
    assert res.model_two_fps == max(res.runs_fps["model-two"]) > 0 and "2 at once" in res.summary()
    assert res.pipeline_fps == max(res.runs_fps["pipeline"])
    assert list(tmp_path.iterdir()) == []  # its clip and outputs are cleaned up


def test_bench_pipeline_all_policies_side_by_side(tmp_path):
    res = bench_pipeline(ChromaKeyMatter(), "#3366ff", width=96, height=64, frames=8, workdir=tmp_path,
                         naive=False, rounds=1, policy="all")
    assert set(res.runs_fps) == {"model-only", "model-two", "naive", "same-work", "pipeline", "pipeline inline",
                                 "pipeline overlap", "pipeline frames", "pipeline threads"}
    assert all(v[0] > 0 for k, v in res.runs_fps.items() if k not in ("naive", "same-work"))
    assert "pipeline overlap" in res.summary()


def test_bench_pipeline_cli_json(tmp_path):
    out = subprocess.run([sys.executable, "-m", "vidmatte_cli.main", "bench", "pipeline", "--model", "chroma",
                          "--resolution", "96x64", "--frames", "6", "--json", "--no-naive"],
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


def test_same_work_loop_writes_every_frame_with_a_look_ahead_smoother(tmp_path):
    """The same-work baseline flushes what the look-ahead smoother holds back: all frames out."""
    import av

    from vidmatte.bench.baselines import same_work_loop
    from vidmatte.bench.pipeline import make_bench_clip
    from vidmatte.runtime.processor import Processor

    clip = make_bench_clip(tmp_path / "c.mp4", 96, 64, 9)
    fps = same_work_loop(clip, tmp_path / "o.mp4", Processor(ChromaKeyMatter(), "#3366ff", smoothing="flow"))
    with av.open(str(tmp_path / "o.mp4")) as c:
        assert fps > 0 and sum(1 for _ in c.decode(video=0)) == 9
