"""Quality gates on real data: vidmatte's still-image path must reproduce published scores.

Reference (../shared/README.md): MODNet on the 27 alphamatting.com training images, no
trimap, SAD = Σ|α − gt| / 1000 and MSE = mean (α − gt)² (unscaled): 30.0 / 0.053 with the
long side resized to 512 (INTER_AREA, multiples of 32) and alpha resized back bilinearly.
"""

from __future__ import annotations

import pytest
import torch

from conftest import shared_path
from vidmatte.evaluation import evaluate_folders
from vidmatte.metrics import SCALES
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
