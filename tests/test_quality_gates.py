"""Quality gates on real data: vidmatte's still-image path must reproduce published scores.

Reference (../shared/README.md): MODNet on the 27 alphamatting.com training images, no
trimap, SAD = Σ|α − gt| / 1000 and MSE = mean (α − gt)² (unscaled): 30.0 / 0.053 with the
long side resized to 512 (INTER_AREA, multiples of 32) and alpha resized back bilinearly.
"""

from __future__ import annotations

import pytest
import torch

from conftest import shared_path
from vidmatte.eval.engine import evaluate_folders
from vidmatte.eval.metrics import SCALES
from vidmatte.models.onnx import OnnxMatter

torch.set_num_threads(2)


@pytest.mark.shared
@pytest.mark.slow
def test_modnet_alphamatting_reference():
    data = shared_path("data", "alphamatting")
    matter = OnnxMatter(shared_path("models", "modnet_photographic_portrait_matting.onnx"), threads=2)
    assert matter.name == "modnet"  # recognised from the graph, default long side 512
    report = evaluate_folders(data / "gt", images=data / "input", matter=matter, metrics=("SAD", "MSE"))
    assert len(report.rows) == 27 and report.region == "whole image"
    sad = report.mean["SAD"]  # already Σ|α − gt| / 1000
    mse = report.mean["MSE"] / SCALES["MSE"]  # back to the unscaled mean square
    assert 29.0 <= sad <= 31.0, f"mean SAD {sad:.2f} outside 29.0-31.0 (reference 30.0)"
    assert 0.050 <= mse <= 0.055, f"mean MSE {mse:.4f} outside 0.050-0.055 (reference 0.053)"


@pytest.mark.shared
@pytest.mark.slow
def test_eval_and_image_give_the_same_matte(tmp_path):
    """One path: `vidmatte eval --model` scores exactly the matte `vidmatte image` writes."""
    import json
    import subprocess
    import sys

    data = shared_path("data", "alphamatting")
    model = shared_path("models", "modnet_photographic_portrait_matting.onnx")
    cli = [sys.executable, "-m", "vidmatte_cli.main"]
    inputs = sorted(str(p) for p in (data / "input").glob("*.png"))
    res = subprocess.run([*cli, "image", *inputs, "-o", f"{tmp_path}/pngs/", "--model", str(model), "-q"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    scores = {}
    for key, how in (("eval", ["--images", str(data / "input"), "--model", str(model)]),
                     ("image", ["--pred", str(tmp_path / "pngs")])):
        res = subprocess.run([*cli, "eval", "--gt", str(data / "gt"), *how, "--json"], capture_output=True,
                             text=True, timeout=600)
        assert res.returncode == 0, res.stderr
        scores[key] = json.loads(res.stdout)["mean"]
    assert abs(scores["eval"]["SAD"] - scores["image"]["SAD"]) <= 0.05, scores
    assert 29.0 <= scores["image"]["SAD"] <= 31.0 and 0.050 <= scores["image"]["MSE"] / SCALES["MSE"] <= 0.055
