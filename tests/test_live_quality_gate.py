"""The live quality gate: on 720p ground-truth clips over busy backgrounds (patterned wall,
bookshelf, plants; real alphamatting foregrounds and mattes; still, slow and fast motion), the
live CPU default's MAD must be at most 1.03x that of MODNet at long side 512. Built from
../shared at test time; slow (MODNet-512 on 720p frames).

The live default is the bundled int8 MODNet at 384 (docs/live.md): it runs on OpenVINO when that
is installed, else on onnxruntime, and the gate must hold on both. MODNet fp32 at 256 (the
default before) measured 1.10x here, and is kept as a check that the gate can fail."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import shared_path

pytestmark = pytest.mark.slow
GATE = 1.03


@pytest.fixture(scope="module")
def busy(tmp_path_factory):
    root = shared_path("data", "alphamatting")
    from vidmatte.eval.busy import busy_clips, clip_mad, load_clip
    from vidmatte.models.factory import load_matter
    from vidmatte.runtime.processor import Processor

    m512 = load_matter("modnet", size=512)
    clips = [load_clip(c) for _, c in busy_clips(root, tmp_path_factory.mktemp("busy"), frames=12)]
    assert len(clips) == 6 and all(imgs[0].shape == (720, 1280, 3) and len(g) == 12 for imgs, g in clips)
    ref = [clip_mad(lambda: Processor(m512, (0, 0, 255), smoothing=None, refine="auto"), *c) for c in clips]
    assert 0 < np.mean(ref) < 0.05  # the clips are mattable at all
    return clips, float(np.mean(ref))


def _ratio(busy, matter) -> float:
    from vidmatte.eval.busy import clip_mad
    from vidmatte.runtime.processor import Processor

    clips, ref = busy

    def live():  # what `vidmatte webcam` runs on a CPU, with this model
        return Processor(matter, (0, 0, 255), smoothing="flow-causal", refine="auto", work_lines=360)

    return float(np.mean([clip_mad(live, *c) for c in clips])) / ref


def test_live_default_within_gate_of_modnet_512(busy):
    from vidmatte.models.factory import load_matter

    live = load_matter("auto", live=True)
    assert live.size == (384, 384) and live.path.name.endswith("_int8.onnx")  # the default this gate is about
    ratio = _ratio(busy, live)
    assert ratio <= GATE, f"live default ({live.providers[0]}) MAD is {ratio:.3f}x MODNet-512's"


def test_live_default_on_onnxruntime_within_gate(busy):
    from vidmatte.models.factory import load_matter

    live = load_matter("auto", live=True, onnx_options={"runtime": "onnxruntime"})
    assert live.providers == ["CPUExecutionProvider"]
    ratio = _ratio(busy, live)
    assert ratio <= GATE, f"live default on onnxruntime: MAD {ratio:.3f}x MODNet-512's"


def test_gate_fails_the_old_default(busy):
    """MODNet fp32 at 256 leaks the bookshelf: the gate must see it."""
    from vidmatte.models.factory import load_matter

    assert _ratio(busy, load_matter("modnet", size=256, dtype="fp32")) > GATE
