"""FastFinish: the live CPU finishing at a working size, one fused uint8 composite at full size."""

from __future__ import annotations

import numpy as np
import pytest

from vidmatte import ChromaKeyMatter
from vidmatte.compose.fast_finish import FastFinish, blend_u8, fast_finish_for, work_size
from vidmatte.frame import Frame
from vidmatte.runtime.processor import Processor


def test_blend_u8_ends_are_exact_and_middle_rounds():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    assert np.array_equal(blend_u8(img, bg, np.ones((20, 30), np.float32)), img)
    assert np.array_equal(blend_u8(img, bg, np.zeros((20, 30), np.float32)), bg)
    a = rng.random((20, 30), dtype=np.float32)
    ref = a[..., None] * img + (1 - a[..., None]) * bg
    assert np.abs(blend_u8(img, bg, a).astype(float) - ref).max() <= 1.01
    add = np.full((20, 30, 3), 300, np.int16)
    assert (blend_u8(img, bg, a, add) == 255).all()  # clipped, not wrapped


def test_work_size_keeps_aspect_and_never_enlarges():
    assert work_size((720, 1280), 360) == (360, 640)
    assert work_size((1080, 1920), 360) == (360, 640)
    assert work_size((240, 320), 360) == (240, 320)


def _clip(n=6, h=192, w=320):
    """A soft-edged magenta disc moving over a green screen, plus texture."""
    yy, xx = np.mgrid[0:h, 0:w]
    frames = []
    for i in range(n):
        d = np.hypot(yy - h / 2, xx - (w / 3 + 6 * i))
        a = np.clip((60 - d) / 8, 0, 1)[..., None]
        fg = np.stack([200 + 20 * np.sin(xx / 7), 40 + 0 * xx, 180 + 0 * yy], -1)
        green = np.stack([0 * xx, 200 + 0 * xx, 40 + 0 * xx], -1)
        frames.append(np.clip(a * fg + (1 - a) * green, 0, 255).astype(np.uint8))
    return frames


def test_fast_path_matches_the_full_size_path_within_levels():
    bg = (30, 60, 200)
    full = Processor(ChromaKeyMatter(), bg, smoothing="flow-causal", refine="guided")
    fast = Processor(ChromaKeyMatter(), bg, smoothing="flow-causal", refine="guided", work_lines=96)
    assert fast._fast is not None and full._fast is None
    for i, img in enumerate(_clip()):
        a = full.process([Frame(img, index=i)])[0].image
        b = fast.process([Frame(img, index=i)])[0].image
        assert b.shape == a.shape == img.shape and b.dtype == np.uint8
        d = np.abs(a.astype(int) - b.astype(int))
        # the edge band (8 px of 192 lines, ~10% of this small frame) is where they differ
        assert d.mean() < 1.0 and np.percentile(d, 99) <= 20, (d.mean(), np.percentile(d, 99))
        assert (d.max(-1) <= 1).mean() > 0.85
        assert fast.alpha.shape == full.alpha.shape == (1, *img.shape[:2])
    assert {"refine", "smooth", "composite"} <= set(fast.times.seconds)


def test_background_swap_reaches_the_fast_path():
    proc = Processor(ChromaKeyMatter(), (255, 0, 0), smoothing=None, refine="none", work_lines=96)
    img = np.zeros((64, 96, 3), np.uint8)
    img[..., 1] = 255  # all green screen: the output is the background
    assert (proc(img) == (255, 0, 0)).all()
    proc.set_background((0, 0, 255))
    assert (proc(img) == (0, 0, 255)).all()


@pytest.mark.parametrize("kw", [dict(format="rgba", background=None), dict(bgr=True), dict(fg_estimation="ml"),
                                dict(smoothing="flow")])
def test_not_taken_where_it_cannot_do_the_same(kw):
    pytest.importorskip("pymatting") if kw.get("fg_estimation") == "ml" else None
    args = {"background": (0, 0, 0), **kw}
    proc = Processor(ChromaKeyMatter(), args.pop("background"), work_lines=96, **args)
    assert proc._fast is None and fast_finish_for(proc) is None


def test_rejects_a_tiny_working_size():
    with pytest.raises(ValueError, match="16 lines"):
        FastFinish(lines=8)
