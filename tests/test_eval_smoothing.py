"""The ground-truth clip generator (vidmatte/eval/synth.py) and the smoother evaluation
(vidmatte/eval/smoothing.py, `vidmatte eval --smoothers`), on small files made here: a
textured foreground with a soft matte over a real H.264 green-screen plate that moves."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from vidmatte.eval.engine import evaluate_video
from vidmatte.eval.files import read_matte, video_frames
from vidmatte.eval.smoothing import evaluate_smoothers
from vidmatte.eval.synth import make_gt_clip, motion_path, read_phases
from vidmatte.matting import ChromaKeyMatter
from vidmatte_cli.main import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_motion_path_phases_speeds_and_continuity():
    names, d = motion_path(60, 200, slow=0.01, fast=0.06)
    assert names == ["still"] * 12 + ["slow"] * 18 + ["fast"] * 18 + ["still"] * 12
    assert len(d) == 61
    assert np.all(d[:13] == 0) and np.all(d[48:] == 0)  # still, and back where it started
    v = np.abs(np.diff(d))
    # peak speed at the top of the foreground: 0.01 and 0.06 frame heights per frame (sampling
    # a sine at whole frames under-reads its peak by at most 1 - cos(pi * cycles / n))
    assert 0.95 * 2.0 <= v[12:30].max() <= 2.0 + 1e-9
    assert 0.9 * 12.0 <= v[30:48].max() <= 12.0 + 1e-9
    assert v.max() <= 12.0 + 1e-9  # continuous: no jump at the phase boundaries
    with pytest.raises(ValueError):
        motion_path(4, 100)


@pytest.fixture(scope="module")
def gt_clip(tmp_path_factory):
    """A 20-frame ground-truth clip: a red/blue textured disc with a soft edge over a green
    plate with sensor noise, through make_gt_clip (H.264)."""
    root = tmp_path_factory.mktemp("synth")
    h, w = 120, 100
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    rho = np.sqrt(((yy - 70) / 48) ** 2 + ((xx - 50) / 40) ** 2)
    matte = np.clip((1 - rho) * 12 + 0.5, 0, 1)  # ~4 px soft edge
    tex = np.stack([200 + 50 * np.sin(xx / 4), 20 + 0 * xx, 150 + 80 * np.cos(yy / 5)], -1)
    cv2.imwrite(str(root / "fg.png"), cv2.cvtColor(tex.clip(0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(root / "matte.png"), (matte * 255).round().astype(np.uint8))
    rng = np.random.default_rng(0)
    with av.open(str(root / "plate.mp4"), "w") as out:
        s = out.add_stream("libx264", rate=Fraction(20))
        s.width, s.height, s.pix_fmt = 128, 96, "yuv420p"
        for _ in range(24):
            img = np.clip(np.array([0, 255, 0]) + rng.normal(0, 6, (96, 128, 3)), 0, 255).astype(np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    clip = make_gt_clip(root / "fg.png", root / "matte.png", root / "plate.mp4", root / "clip", frames=20,
                        fast=0.08)
    return clip, matte


def test_generator_writes_video_truth_and_phases(gt_clip):
    clip, _ = gt_clip
    frames = list(video_frames(clip.video))
    truth = [read_matte(p) for p in sorted(clip.gt.glob("*.png"))]
    assert len(frames) == len(truth) == 20 and clip.size == (128, 96) and clip.fps == 20
    assert frames[0].shape == (96, 128, 3) and truth[0].shape == (96, 128)
    assert read_phases(clip.gt) == clip.phases and clip.phases[:4] == ["still"] * 4 and clip.phases[-1] == "still"
    assert cv2.imread(str(sorted(clip.gt.glob("*.png"))[0]), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    # still phase: the truth does not move; fast phase: it does; soft edges survive
    assert np.abs(truth[1] - truth[0]).max() == 0
    fast = [i for i, p in enumerate(clip.phases) if p == "fast"]
    assert np.abs(truth[fast[2]] - truth[fast[1]]).mean() > 0.01
    assert ((truth[0] > 0.05) & (truth[0] < 0.95)).sum() > 50
    # 0.85 of the height, its bottom 12 % below the frame: the top ~24 lines down, the bottom row covered
    rows = np.nonzero(truth[0].max(1) > 0.5)[0]
    assert 20 <= rows.min() <= 30 and rows.max() == 95
    # the picture is the composite: green where the truth is 0, the foreground where it is 1
    f, a = frames[5].astype(float), truth[5]
    assert f[a == 0][:, 1].mean() > 220 and f[a == 0][:, 0].mean() < 30
    assert f[a > 0.99][:, 1].mean() < 60


def test_smoother_scores_match_the_engine_and_the_cli(gt_clip, capsys):
    clip, _ = gt_clip
    rep = evaluate_smoothers(clip.video, clip.gt, ChromaKeyMatter(), ["none", "gated", "flow-causal", "flow"])
    assert rep.frames == 20 and list(rep.rows) == ["none", "gated", "flow-causal", "flow"]
    ref = evaluate_video(clip.video, clip.gt, matter=ChromaKeyMatter(), metrics=("MAD",))
    assert rep.rows["none"]["MAD"] == pytest.approx(ref.mean["MAD"], rel=1e-9)  # the engine's own numbers
    assert rep.rows["none"]["dtSSD"] == pytest.approx(ref.mean["dtSSD"], rel=1e-9)
    for name, row in rep.rows.items():
        assert {"MAD_still", "MAD_slow", "MAD_fast", "dtSSD_fast"} <= set(row), name
        assert all(math.isfinite(v) for v in row.values())
        assert min(row["MAD_still"], row["MAD_fast"]) <= row["MAD"] <= max(row["MAD_still"], row["MAD_fast"],
                                                                             row["MAD_slow"])
    assert rep.ratios["none"]["MAD"] == 1.0 and rep.ratios["flow"]["dtSSD"] == pytest.approx(
        rep.rows["flow"]["dtSSD"] / rep.rows["none"]["dtSSD"])

    assert main(["eval", "--video", str(clip.video), "--gt", str(clip.gt), "--model", "chroma",
                 "--smoothers", "flow,none", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["smoothers"]) == ["none", "flow"]  # none first, so the ratios exist
    assert out["smoothers"]["flow"]["MAD"] == pytest.approx(rep.rows["flow"]["MAD"], rel=1e-9)
    assert out["frames"] == 20 and set(out["smooth_ms_per_frame"]) == {"none", "flow"}
    assert main(["eval", "--video", str(clip.video), "--gt", str(clip.gt), "--model", "chroma",
                 "--smoothers", "all", "--limit", "8"]) == 0
    table = capsys.readouterr().out
    assert "relative to none:" in table and "flow-causal" in table and "8 frames" in table


def test_smoother_option_errors_are_one_line(gt_clip, capsys):
    clip, _ = gt_clip
    for args, needle in (
        (["--gt", str(clip.gt), "--pred", str(clip.gt), "--video", str(clip.video), "--smoothers", "flow"],
         "--smoothers needs"),
        (["--gt", str(clip.gt), "--video", str(clip.video), "--model", "chroma", "--smoothers", "median"],
         "unknown smoother"),
    ):
        assert main(["eval", *args]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("vidmatte: error:") and needle in err and "\n" not in err


@pytest.mark.shared
def test_bench_temporal_cli(shared, capsys):
    """`vidmatte bench temporal` end to end on one short clip (model size 128 to stay quick)."""
    args = ["bench", "temporal", "--alphamatting", str(shared("data", "alphamatting")), "--videos",
            str(shared("data", "video", "carphone_pristine.mp4")), "--foregrounds", "GT08", "--frames", "12",
            "--model-size", "128", "--smoothers", "gated,flow", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    clip = out["clips"]["carphone_pristine/GT08"]
    assert clip["frames"] == 12 and list(clip["smoothers"]) == ["none", "gated", "flow"]  # none added first
    assert out["mean_ratios"]["none"]["MAD"] == 1.0 and out["mean_ratios"]["flow"]["dtSSD"] > 0
    assert set(out["cost_ms_per_frame_640x360"]) == {"model", "gated", "flow"} and len(out["load"]) == 3
