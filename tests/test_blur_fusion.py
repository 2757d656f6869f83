"""Blur fusion (and the pymatting ML estimator): agreement with an OpenCV reference of the
same algorithm, quality on synthetic composites with known F, B and alpha, shapes, errors."""

from __future__ import annotations

import sys
import time

import cv2
import numpy as np
import pytest
import torch

from vidmatte.compose.blur_fusion import BlurFusion, blur_fusion_radii, estimate_foreground
from vidmatte.compose.ml_foreground import estimate_foreground_ml
from vidmatte.errors import VidmatteError



# ---------------------------------------------------------------- synthetic material
def colour_field(rng, h, w, cells=(5, 8), texture=0.08):
    """Smooth random colours (bicubic from a coarse grid) plus fine grain, (H,W,3) float32."""
    base = cv2.resize(rng.random((*cells, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    grain = cv2.GaussianBlur(rng.standard_normal((h, w, 3)).astype(np.float32), (0, 0), 1.5)
    return np.clip(0.1 + 0.8 * base + grain * (texture / grain.std()), 0, 1).astype(np.float32)


def hairy_alpha(h, w, radius):
    """A soft-edged disc with thin, wavy, semi-transparent strands around it, (H,W) float32."""
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    rho = np.hypot(yy - h / 2, xx - w / 2)
    theta = np.arctan2(yy - h / 2, xx - w / 2)
    disc = np.clip((radius - rho) / 4.0 + 0.5, 0, 1)
    strands = np.clip((np.cos(70 * theta + 0.35 * np.sin(rho / 9.0 + 3 * theta)) - 0.6) / 0.4, 0, 1) ** 1.5
    fade = np.clip(1 - (rho - radius) / (0.25 * radius), 0, 1) * (rho > radius - 2)
    a = cv2.GaussianBlur(np.maximum(disc, 0.85 * strands * fade), (0, 0), 0.8)
    return np.clip(a, 0, 1).astype(np.float32)


def synthetic(h, w, seed=0):
    """``I = aF + (1-a)B`` with known F, B, a, and a second background B2 to re-composite on."""
    rng = np.random.default_rng(seed)
    fg, bg, bg2 = colour_field(rng, h, w), colour_field(rng, h, w, (4, 6)), colour_field(rng, h, w, (3, 5))
    a = hairy_alpha(h, w, 0.3 * h)
    image = (a[..., None] * fg + (1 - a[..., None]) * bg).astype(np.float32)
    return image, fg, bg, bg2, a


def t3(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1).unsqueeze(0)


def t1(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))[None, None]


def band_error(fg_est: np.ndarray, fg: np.ndarray, bg2: np.ndarray, a: np.ndarray) -> float:
    """Mean abs composite error (8-bit levels) on B2 where 0.05 < a < 0.95."""
    a3 = a[..., None]
    err = np.abs((a3 * fg_est + (1 - a3) * bg2) - (a3 * fg + (1 - a3) * bg2)).mean(-1)
    return float(err[(a > 0.05) & (a < 0.95)].mean() * 255)


# ---------------------------------------------------------------- OpenCV reference
def reference_blur_fusion(image, a, radii):
    """The same algorithm written independently with cv2.blur (float32, reflect-101)."""

    def box(x, r):
        return cv2.blur(x, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT_101)

    a3 = a[..., None]
    fg, bg = image, image
    for r in radii:
        mean_a = np.clip(box(a, r), 0, 1)[..., None]
        f_blur = box(fg * a3, r) / (mean_a + 1e-5)
        b_blur = box(bg * (1 - a3), r) / (1 - mean_a + 1e-5)
        fg = np.clip(f_blur + a3 * (image - a3 * f_blur - (1 - a3) * b_blur), 0, 1)
        bg = b_blur
    return fg


@pytest.mark.parametrize("backend", ["torch", "auto"])
@pytest.mark.parametrize("radii", [(45, 3), (1200, 2)], ids=["r45-3", "r-wider-than-image"])
def test_composite_matches_opencv_reference(radii, backend):
    image, _, _, bg2, a = synthetic(540, 960, seed=1)
    ref = reference_blur_fusion(image, a, radii)
    fg, bg = estimate_foreground(t3(image), t1(a), radii, backend=backend, half_first=False)
    fg = fg[0].permute(1, 2, 0).numpy()
    a3 = a[..., None]
    comp, comp_ref = a3 * fg + (1 - a3) * bg2, a3 * ref + (1 - a3) * bg2
    worst = np.abs(comp - comp_ref).max() * 255
    print(f"\nblur fusion ({backend} box) vs OpenCV reference, radii {radii}: max composite diff {worst:.4f} levels")
    assert worst <= 0.05
    assert bg.shape == (1, 3, 540, 960)


@pytest.mark.parametrize("hw", [(540, 960), (361, 643)], ids=["even", "odd"])
def test_half_size_first_pass_stays_close_to_full_size(hw):
    """The first pass's box means at half size move the composite by well under a level."""
    image, _, _, bg2, a = synthetic(*hw, seed=3)
    a3 = a[..., None]
    comps = {}
    for half in (False, True):
        fg, _ = estimate_foreground(t3(image), t1(a), half_first=half)
        comps[half] = (a3 * fg[0].permute(1, 2, 0).numpy() + (1 - a3) * bg2) * 255
    diff = np.abs(comps[True] - comps[False])
    print(f"\nhalf-size first pass, {hw}: composite diff mean {diff.mean():.4f}, max {diff.max():.3f} levels")
    assert diff.mean() <= 0.05 and diff.max() <= 2.0
    assert diff.max() > 0  # the half-size path really ran


@pytest.mark.parametrize("half", [True, False])
def test_numpy_backend_equals_torch_backend(half):
    from vidmatte.compose.blur_fusion_np import estimate_foreground_np

    image, _, _, _, a = synthetic(271, 480, seed=7)
    x, al = torch.cat([t3(image), t3(image[::-1].copy())]), torch.cat([t1(a), t1(a[::-1].copy())])
    ref, ref_bg = estimate_foreground(x, al, backend="torch", half_first=half)
    auto, auto_bg = estimate_foreground(x, al, half_first=half)  # CPU: the numpy code
    # F is only defined where alpha > 0 (F~ divides by the local alpha mean): compare a F
    torch.testing.assert_close(auto * al, ref * al, rtol=0, atol=2e-5)
    torch.testing.assert_close(auto_bg * (1 - al), ref_bg * (1 - al), rtol=0, atol=2e-5)  # B: where a < 1
    f, b = estimate_foreground_np(image, a, half_first=half)  # and called directly, torch-free
    np.testing.assert_allclose(f, auto[0].permute(1, 2, 0).numpy(), rtol=0, atol=1e-6)
    assert f.shape == b.shape == image.shape and f.dtype == np.float32
    with pytest.raises(ValueError):
        estimate_foreground_np(image, a[:-1])
    with pytest.raises(ValueError):
        estimate_foreground(x, al, backend="cv2")


def test_beats_naive_by_40_percent_in_the_soft_band():
    image, fg, _, bg2, a = synthetic(360, 640)
    naive = band_error(image, fg, bg2, a)
    est, _ = estimate_foreground(t3(image), t1(a))  # default radii for 360 lines: (30, 2)
    blur = band_error(est[0].permute(1, 2, 0).numpy(), fg, bg2, a)
    print(f"\nsoft band composite error: naive F=I {naive:.2f} levels, "
          f"blur fusion {blur:.2f} ({1 - blur / naive:.0%} less)")
    assert blur <= 0.6 * naive


def test_default_radii_scale_with_height():
    assert blur_fusion_radii(1080) == (90, 6)
    assert blur_fusion_radii(540) == (45, 3)
    assert blur_fusion_radii(2160) == (180, 12)
    assert blur_fusion_radii(90) == (8, 1)
    assert blur_fusion_radii(1) == (1, 1)
    with pytest.raises(ValueError):
        blur_fusion_radii(0)


def test_opaque_pixels_keep_the_image_and_output_is_bounded():
    image, _, _, _, a = synthetic(120, 200, seed=4)
    fg, bg = estimate_foreground(t3(image), t1(a))
    opaque = torch.from_numpy(a == 1.0)
    torch.testing.assert_close(fg[0][:, opaque], t3(image)[0][:, opaque], rtol=0, atol=1e-5)
    assert fg.min() >= 0 and fg.max() <= 1 and torch.isfinite(bg).all()
    # all-transparent and all-opaque mattes stay finite
    for const in (0.0, 1.0):
        f, b = estimate_foreground(t3(image), torch.full((1, 1, 120, 200), const))
        assert torch.isfinite(f).all() and torch.isfinite(b).all()


def test_batch_dtypes_and_module():
    image, _, _, _, a = synthetic(96, 128, seed=5)
    x = torch.cat([t3(image), t3(image[::-1].copy())])
    al = torch.cat([t1(a), t1(a[::-1].copy())])
    fg, bg = estimate_foreground(x, al, (8, 2))
    assert fg.shape == bg.shape == (2, 3, 96, 128) and fg.dtype == torch.float32
    single, _ = estimate_foreground(x[1:], al[1:], (8, 2))
    torch.testing.assert_close(fg[1:], single)
    f64, _ = estimate_foreground(x.double(), al.double(), (8, 2))
    assert f64.dtype == torch.float64
    # F is only defined where alpha > 0: compare the premultiplied colour
    torch.testing.assert_close(f64.float() * al, fg * al, rtol=0, atol=1e-4)
    f16, _ = estimate_foreground(x.half(), al.half(), (8, 2))
    assert f16.dtype == torch.float16
    torch.testing.assert_close(f16.float() * al, fg * al, rtol=0, atol=2e-2)
    module = BlurFusion((8, 2))
    assert "radii=(8, 2)" in repr(module)
    assert torch.equal(module(x, al)[0], fg)
    assert torch.equal(BlurFusion()(x, al)[0], estimate_foreground(x, al)[0])
    forced = estimate_foreground(x, al, (8, 2), backend="torch")[0]
    assert torch.equal(BlurFusion((8, 2), backend="torch")(x, al)[0], forced)


@pytest.mark.parametrize(
    "image,alpha,radii",
    [
        (torch.rand(1, 4, 8, 8), torch.rand(1, 1, 8, 8), None),
        (torch.rand(3, 8, 8), torch.rand(1, 8, 8), None),
        (torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), None),
        (torch.rand(1, 3, 8, 8), torch.rand(1, 1, 8, 9), None),
        (torch.rand(2, 3, 8, 8), torch.rand(1, 1, 8, 8), None),
        (torch.rand(1, 3, 8, 8), torch.rand(1, 1, 8, 8), (0,)),
        (torch.rand(1, 3, 8, 8), torch.rand(1, 1, 8, 8), ()),
    ],
)
def test_bad_shapes_raise_value_error(image, alpha, radii):
    with pytest.raises(ValueError):
        estimate_foreground(image, alpha, radii)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_cuda_matches_cpu(dtype):
    image, _, _, bg2, a = synthetic(270, 480, seed=6)
    ref, _ = estimate_foreground(t3(image), t1(a), backend="torch")
    fg, _ = estimate_foreground(t3(image).cuda().to(dtype), t1(a).cuda().to(dtype))
    assert fg.device.type == "cuda" and fg.dtype == dtype
    a3 = t1(a)
    diff = (a3 * (fg.float().cpu() - ref)).abs().max().item() * 255
    assert diff < (0.05 if dtype == torch.float32 else 1.0)


# ---------------------------------------------------------------- ML (pymatting)
def test_ml_estimator_beats_naive_and_report_speed():
    pytest.importorskip("pymatting")
    image, fg, _, bg2, a = synthetic(180, 320, seed=2)
    x, al = t3(image), t1(a)
    estimate_foreground_ml(x[..., :32, :32], al[..., :32, :32])  # numba compiles on first use

    def best_of_3(fn):
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            out = fn(x, al)
            times.append(time.perf_counter() - t0)
        return out, min(times)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # timings comparable on a busy machine
    try:
        (est, bg), t_ml = best_of_3(estimate_foreground_ml)
        (est_blur, _), t_blur = best_of_3(estimate_foreground)
    finally:
        torch.set_num_threads(threads)
    assert est.shape == bg.shape == x.shape and est.dtype == x.dtype
    naive = band_error(image, fg, bg2, a)
    ml = band_error(est[0].permute(1, 2, 0).numpy(), fg, bg2, a)
    blur = band_error(est_blur[0].permute(1, 2, 0).numpy(), fg, bg2, a)
    print(
        f"\n180x320 soft band error: naive {naive:.2f}, ml {ml:.2f}, blur fusion {blur:.2f} levels; "
        f"time ml {t_ml * 1000:.0f} ms, blur fusion {t_blur * 1000:.1f} ms (1 torch thread)"
    )
    assert ml <= 0.6 * naive


def test_ml_estimator_without_pymatting_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymatting", None)  # makes `import pymatting` fail
    with pytest.raises(VidmatteError, match=r"pip install .*vidmatte\[ml\]"):
        estimate_foreground_ml(torch.rand(1, 3, 8, 8), torch.rand(1, 1, 8, 8))
