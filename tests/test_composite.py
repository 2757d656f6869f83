"""Compositing: the formula, the Compositor with each foreground estimator and background,
RGBA output (straight and premultiplied), errors."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
import torch

from vidmatte.compose import (
    ColorBackground,
    Compositor,
    ImageBackground,
    VideoBackground,
    composite,
    estimate_foreground,
)
from vidmatte.errors import VidmatteError


def soft_scene(h=120, w=160, seed=0):
    """Known F, B, soft alpha (a disc with a 6 px ramp) and I = aF + (1-a)B, as tensors."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    alpha = ((0.35 * h - torch.hypot(yy - h / 2, xx - w / 2)) / 6 + 0.5).clamp(0, 1)[None, None]
    fg = torch.nn.functional.interpolate(torch.rand(1, 3, 4, 5, generator=g), size=(h, w), mode="bicubic").clamp(0, 1)
    bg = torch.nn.functional.interpolate(torch.rand(1, 3, 3, 4, generator=g), size=(h, w), mode="bicubic").clamp(0, 1)
    return fg, bg, alpha, alpha * fg + (1 - alpha) * bg


def test_composite_formula_and_broadcast():
    fg, bg, alpha, _ = soft_scene()
    out = composite(fg, alpha, bg)
    ref = fg.numpy() * alpha.numpy() + bg.numpy() * (1 - alpha.numpy())
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-6)
    colour = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1)
    torch.testing.assert_close(composite(fg, alpha, colour), composite(fg, alpha, colour.expand_as(fg)))
    for bad in [(fg, alpha[:, :, :10], bg), (fg, alpha.expand(-1, 3, -1, -1), bg), (fg, alpha, bg[..., :7])]:
        with pytest.raises(ValueError):
            composite(*bad)


def test_no_estimation_on_a_colour_is_the_plain_lerp():
    fg, _, alpha, image = soft_scene()
    comp = Compositor(ColorBackground("#204080"), fg_estimation="none")
    assert comp.channels == 3
    colour = torch.tensor([0x20, 0x40, 0x80]).view(1, 3, 1, 1) / 255.0
    torch.testing.assert_close(comp(image, alpha), alpha * image + (1 - alpha) * colour)
    assert comp.foreground(image, alpha) is image


def test_blur_compositor_uses_blur_fusion_and_beats_naive(tmp_path):
    fg, _, alpha, image = soft_scene()
    rgb = (np.random.default_rng(1).random((60, 80, 3)) * 255).astype(np.uint8)
    path = tmp_path / "new_bg.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    new_bg = ImageBackground(path)
    comp = Compositor(new_bg, radii=(10, 2))
    out = comp(image, alpha, 0)
    b2 = new_bg(image, 0)
    torch.testing.assert_close(out, composite(estimate_foreground(image, alpha, (10, 2))[0], alpha, b2))
    truth = composite(fg, alpha, b2)
    band = ((alpha > 0.05) & (alpha < 0.95)).expand_as(out)
    naive = Compositor(new_bg, fg_estimation="none")(image, alpha, 0)
    err, err_naive = (out - truth).abs()[band].mean(), (naive - truth).abs()[band].mean()
    assert err < 0.6 * err_naive


@pytest.mark.parametrize("mode", ["straight", "premultiplied"])
def test_rgba_output(mode):
    _, _, alpha, image = soft_scene()
    comp = Compositor(None, fg_estimation="blur", alpha_mode=mode)
    out = comp(image, alpha)
    assert out.shape == (1, 4, 120, 160) and comp.channels == 4
    assert torch.equal(out[:, 3:], alpha)
    fg = comp.foreground(image, alpha)
    torch.testing.assert_close(out[:, :3], fg * alpha if mode == "premultiplied" else fg)
    if mode == "premultiplied":
        assert (out[:, :3] <= out[:, 3:] + 1e-6).all()


def test_video_background_follows_the_frame_index(tmp_path):
    import av
    from fractions import Fraction

    path = tmp_path / "two.mkv"
    with av.open(str(path), "w") as out:
        s = out.add_stream("ffv1", rate=5)
        s.height, s.width, s.pix_fmt = 16, 16, "bgr0"
        for i, c in enumerate([(255, 0, 0), (0, 0, 255)]):
            f = av.VideoFrame.from_ndarray(np.full((16, 16, 3), c, np.uint8), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, 5)
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    comp = Compositor(VideoBackground(path), fg_estimation="none")
    x = torch.rand(3, 3, 16, 16)
    out = comp(x, torch.zeros(3, 1, 16, 16), 1)  # frames 1, 2, 3 → background frames 1, 0, 1
    assert out[0, 2].mean() > 0.99 and out[1, 0].mean() > 0.99 and out[2, 2].mean() > 0.99
    comp.close()


def test_dtype_follows_the_image():
    _, _, alpha, image = soft_scene(64, 64)
    out = Compositor(ColorBackground("white"))(image.double(), alpha)
    assert out.dtype == torch.float64
    out = Compositor(None)(image.double(), alpha.float())
    assert out.dtype == torch.float64


def test_ml_compositor():
    pytest.importorskip("pymatting")
    fg, bg, alpha, image = soft_scene(48, 64)
    comp = Compositor(ColorBackground("black"), fg_estimation="ml")
    out = comp(image, alpha)
    assert out.shape == image.shape
    truth = alpha * fg
    band = ((alpha > 0.05) & (alpha < 0.95)).expand_as(out)
    assert (out - truth).abs()[band].mean() < (alpha * image - truth).abs()[band].mean()


def test_ml_without_pymatting_fails_at_construction(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymatting", None)
    with pytest.raises(VidmatteError, match="vidmatte\\[ml\\]"):
        Compositor(None, fg_estimation="ml")


def test_bad_arguments():
    with pytest.raises(ValueError):
        Compositor(None, fg_estimation="magic")
    with pytest.raises(ValueError):
        Compositor(None, alpha_mode="linear")
    with pytest.raises(TypeError):
        Compositor("#ffffff")  # a spec string, not a Background
    comp = Compositor(ColorBackground("red"))
    with pytest.raises(ValueError):
        comp(torch.rand(1, 3, 8, 8), torch.rand(1, 1, 8, 9))
    with pytest.raises(ValueError):
        comp(torch.rand(1, 4, 8, 8), torch.rand(1, 1, 8, 8))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_cuda(dtype):
    _, _, alpha, image = soft_scene()
    ref = Compositor(ColorBackground("#3366ff"))(image, alpha)
    out = Compositor(ColorBackground("#3366ff"))(image.cuda().to(dtype), alpha.cuda().to(dtype))
    assert out.device.type == "cuda" and out.dtype == dtype
    torch.testing.assert_close(out.float().cpu(), ref, rtol=0, atol=2e-3 if dtype == torch.float16 else 1e-4)
