"""The live quality gate (issue 22): on 720p ground-truth clips over busy backgrounds
(patterned wall, bookshelf, plants; real alphamatting foregrounds and mattes; still, slow and
fast motion), a live CPU configuration's MAD must be at most 1.03x that of MODNet at long
side 512. Built from ../shared at test time; slow (MODNet-512 on 720p frames).

Status (docs/live.md): the live default (MODNet 256) does NOT hold it reliably. It measured
1.011x on 20-frame clips and 1.10x on these 12-frame ones, where the motion is faster. So its
test is a strict xfail that records the gap. MODNet at 384 holds it (0.96x on 20 frames); int8
makes 384 cost what fp32 256 costs, but int8 is not bundled yet."""

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


@pytest.mark.xfail(strict=True, reason="MODNet at 256 measured 1.10x MODNet-512 on these clips (gate 1.03x); "
                                       "docs/live.md")
def test_live_default_within_gate_of_modnet_512(busy):
    from vidmatte.models.factory import load_matter

    live = load_matter("auto", live=True)
    assert live.size == (256, 256)  # the live CPU default this gate is about
    ratio = _ratio(busy, live)
    assert ratio <= GATE, f"live default MAD is {ratio:.3f}x MODNet-512's"


def test_modnet_384_live_within_gate_of_modnet_512(busy):
    from vidmatte.models.factory import load_matter

    ratio = _ratio(busy, load_matter("modnet", size=384))
    assert ratio <= GATE, f"MODNet-384 live MAD is {ratio:.3f}x MODNet-512's"
