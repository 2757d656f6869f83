"""Temporal smoothers: flicker (dtSSD) and accuracy (MAD) on a synthetic clip with known
alpha and simulated model flicker; state handling (batches, cuts, resets); errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from vidmatte.temporal import GatedEMA, NoSmoothing, PlainEMA, make_smoother


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# frames 0-11 still, 12-23 slow (1 px/frame), 24-35 fast (9 px/frame), 36-47 still
SPEEDS = [0.0] * 12 + [1.0] * 12 + [9.0] * 12 + [0.0] * 12
FAST = slice(24, 38)  # the fast frames and the two after them (trails would show here)


def _field(rng, h, w, cells, grain):
    base = cv2.resize(rng.random((*cells, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    g = cv2.GaussianBlur(rng.standard_normal((h, w, 3)).astype(np.float32), (0, 0), 1.2)
    return np.clip(0.15 + 0.7 * base + g * grain / g.std(), 0, 1).astype(np.float32)


def _ellipse(h, w, cy, cx, ry, rx):
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    rho = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
    return np.clip((1 - rho) * min(ry, rx) / 2.0 + 0.5, 0, 1)  # ~2 px soft edge


def make_clip(h=160, w=240, seed=0, sensor_noise=2 / 255):
    """A textured ellipse moving over a textured still background, with sensor noise.

    Returns frames ``(T,H,W,3)`` and the true alpha ``(T,H,W)``, float32 in [0, 1].
    """
    rng = np.random.default_rng(seed)
    bg = _field(rng, h, w, (4, 6), 0.06)
    texture = _field(rng, 3 * h, 3 * w, (6, 9), 0.08)  # the object's own texture, moves with it
    cy, cx = 0.55 * h, 60.0
    frames, alphas = [], []
    for speed in SPEEDS:
        cx += speed
        a = _ellipse(h, w, cy, cx, 45, 32)
        oy, ox = int(h - cy), int(1.5 * w - cx)
        fg = texture[oy : oy + h, ox : ox + w]
        img = a[..., None] * fg + (1 - a[..., None]) * bg + rng.normal(0, sensor_noise, (h, w, 3))
        frames.append(np.clip(img, 0, 1))
        alphas.append(a)
    return np.stack(frames).astype(np.float32), np.stack(alphas).astype(np.float32)


def flicker(alphas, seed=1):
    """A model's prediction: the true alpha, shifted by a random sub-pixel amount per frame,
    plus temporally independent blotches near the edges, clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    _, h, w = alphas.shape
    out = []
    for a in alphas:
        dy, dx = rng.normal(0, 0.5, 2)
        shift = np.float32([[1, 0, dx], [0, 1, dy]])
        p = cv2.warpAffine(a, shift, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        edge = cv2.dilate(((a > 0.02) & (a < 0.98)).astype(np.uint8), np.ones((9, 9), np.uint8))
        blot = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 2.5)
        out.append(np.clip(p + 0.25 * blot / blot.std() * edge, 0, 1))
    return np.stack(out).astype(np.float32)


def mad(pred, gt):
    """Mean absolute difference, x1000."""
    return float(np.abs(pred - gt).mean() * 1000)


def dtssd(pred, gt):
    """Temporal coherence error: per frame RMS of (d pred/dt - d gt/dt), averaged, x100."""
    d = (pred[1:] - pred[:-1]) - (gt[1:] - gt[:-1])
    return float(np.sqrt((d**2).mean(axis=(1, 2))).mean() * 100)


def run(smoother, frames, pred, batch=8):
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
    a = torch.from_numpy(pred)[:, None].contiguous()
    out = [smoother(a[i : i + batch], x[i : i + batch]) for i in range(0, len(x), batch)]
    return torch.cat(out)[:, 0].numpy()


@pytest.fixture(scope="module")
def clip():
    frames, gt = make_clip()
    return frames, gt, flicker(gt)


def _scores(out, gt):
    return dtssd(out, gt), mad(out, gt), mad(out[FAST], gt[FAST])


def test_gated_ema_reduces_flicker_without_hurting_accuracy(clip):
    frames, gt, pred = clip
    raw = _scores(pred, gt)
    gated = _scores(run(GatedEMA(), frames, pred), gt)
    print(
        f"\nunsmoothed: dtSSD {raw[0]:.3f} MAD {raw[1]:.2f} fast MAD {raw[2]:.2f}"
        f"\ngated EMA : dtSSD {gated[0]:.3f} ({gated[0] / raw[0]:.2f}x) MAD {gated[1]:.2f} ({gated[1] / raw[1]:.3f}x)"
        f" fast MAD {gated[2]:.2f} ({gated[2] / raw[2]:.3f}x)"
    )
    assert gated[0] <= 0.8 * raw[0]
    assert gated[1] <= 1.02 * raw[1]
    assert gated[2] <= 1.05 * raw[2]


def test_gated_ema_holds_with_more_sensor_noise():
    frames, gt = make_clip(seed=3, sensor_noise=4 / 255)
    pred = flicker(gt, seed=4)
    raw, gated = _scores(pred, gt), _scores(run(GatedEMA(), frames, pred), gt)
    print(f"\nsensor noise 4/255: dtSSD {gated[0] / raw[0]:.2f}x MAD {gated[1] / raw[1]:.3f}x "
          f"fast {gated[2] / raw[2]:.3f}x")
    assert gated[0] <= 0.8 * raw[0] and gated[1] <= 1.02 * raw[1] and gated[2] <= 1.05 * raw[2]


def test_plain_ema_trails_behind_motion(clip):
    """Why gating is the default: an EMA of the same strength smears moving edges."""
    frames, gt, pred = clip
    raw = _scores(pred, gt)
    same_strength = _scores(run(PlainEMA(weight=0.2), frames, pred), gt)
    light = _scores(run(PlainEMA(), frames, pred), gt)  # weight 0.8 on the new frame
    for name, s in (("plain EMA 0.2", same_strength), ("plain EMA 0.8", light)):
        print(f"\n{name}: dtSSD {s[0] / raw[0]:.2f}x MAD {s[1] / raw[1]:.2f}x fast {s[2] / raw[2]:.2f}x", end="")
    assert same_strength[2] > 2.0 * raw[2]
    assert light[2] > 1.2 * raw[2]
    assert same_strength[1] > 1.02 * raw[1]


def test_batches_equal_frame_by_frame(clip):
    frames, _, pred = clip
    np.testing.assert_array_equal(run(GatedEMA(), frames, pred, batch=8), run(GatedEMA(), frames, pred, batch=1))
    np.testing.assert_array_equal(run(PlainEMA(), frames, pred, batch=5), run(PlainEMA(), frames, pred, batch=1))


def test_still_frames_get_the_floor_weight_and_motion_the_new_alpha():
    img = torch.rand(1, 3, 90, 120)
    a0, a1 = torch.rand(1, 1, 90, 120), torch.rand(1, 1, 90, 120)
    sm = GatedEMA(strength=0.75)
    torch.testing.assert_close(sm(a0, img), a0)
    torch.testing.assert_close(sm(a1, img), 0.25 * a1 + 0.75 * a0)  # nothing moved: floor weight
    moved = img.clone()
    moved[..., 30:60, 40:80] = 1.0 - moved[..., 30:60, 40:80]
    a2 = torch.rand(1, 1, 90, 120)
    out = sm(a2, moved)
    torch.testing.assert_close(out[..., 35:55, 45:75], a2[..., 35:55, 45:75])  # moved: the new alpha
    assert not torch.allclose(out[..., :10, :10], a2[..., :10, :10])  # far corner still smoothed


def test_scene_cut_size_change_and_reset_restart_the_state():
    rng = torch.Generator().manual_seed(0)
    a = torch.rand(3, 1, 64, 96, generator=rng)
    img = torch.rand(1, 3, 64, 96, generator=rng).expand(2, -1, -1, -1)
    other = torch.rand(1, 3, 64, 96, generator=rng)
    sm = GatedEMA()
    out = sm(a, torch.cat([img, other]))  # third frame is a different shot
    assert sm.cuts == 1
    torch.testing.assert_close(out[2:], a[2:])
    assert not torch.allclose(out[1:2], a[1:2])
    small = torch.rand(1, 1, 32, 48)
    torch.testing.assert_close(sm(small, torch.rand(1, 3, 32, 48)), small)  # new size
    sm(a[:1], img[:1])
    sm.reset()
    torch.testing.assert_close(sm(a[1:2], img[:1]), a[1:2])
    ema = PlainEMA(0.5)
    ema(a[:1])
    ema.reset()
    torch.testing.assert_close(ema(a[1:2]), a[1:2])


def test_strength_zero_and_no_smoothing_pass_alpha_through(clip):
    frames, _, pred = clip
    np.testing.assert_array_equal(run(GatedEMA(strength=0.0), frames, pred), pred)
    np.testing.assert_array_equal(run(NoSmoothing(), frames, pred), pred)
    assert isinstance(make_smoother("gated", 0.0), NoSmoothing)


def test_make_smoother():
    assert isinstance(make_smoother(), GatedEMA) and make_smoother().floor == pytest.approx(0.2)
    assert make_smoother("gated", 0.5).floor == pytest.approx(0.5)
    assert make_smoother("ema").weight == pytest.approx(0.8)
    assert make_smoother("ema", 0.6).weight == pytest.approx(0.4)
    assert isinstance(make_smoother("none", 0.9), NoSmoothing)
    # full strength keeps 5 % of each new frame: the matte never freezes
    assert make_smoother("gated", 1.0).floor == pytest.approx(0.05)
    assert make_smoother("ema", 1.0).weight == pytest.approx(0.05)
    for bad in [dict(kind="median"), dict(strength=1.5), dict(strength=-0.1)]:
        with pytest.raises(ValueError):
            make_smoother(**bad)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_dtypes(dtype):
    a = torch.rand(4, 1, 40, 60)
    img = torch.rand(1, 3, 40, 60).expand(4, -1, -1, -1)
    ref = GatedEMA()(a, img)
    out = GatedEMA()(a.to(dtype), img.to(dtype))
    assert out.dtype == dtype and out.shape == a.shape
    torch.testing.assert_close(out.float(), ref, rtol=0, atol=1e-2 if dtype == torch.float16 else 1e-6)


@pytest.mark.parametrize(
    "alpha,image",
    [
        (torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)),
        (torch.rand(1, 8, 8), torch.rand(1, 3, 8, 8)),
        (torch.rand(2, 1, 8, 8), torch.rand(1, 3, 8, 8)),
        (torch.rand(1, 1, 8, 8), torch.rand(1, 4, 8, 8)),
        (torch.rand(1, 1, 8, 8), torch.rand(1, 3, 8, 9)),
        (torch.rand(1, 1, 8, 8), None),
    ],
)
def test_bad_inputs_raise_value_error(alpha, image):
    with pytest.raises(ValueError):
        GatedEMA()(alpha, image)


def test_bad_parameters():
    for kwargs in [dict(strength=1.2), dict(strength=-0.5), dict(floor=0.0), dict(noise=0.0), dict(cut=-1)]:
        with pytest.raises(ValueError):
            GatedEMA(**kwargs)
    with pytest.raises(ValueError):
        PlainEMA(0.0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(clip):
    frames, _, pred = clip
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
    a = torch.from_numpy(pred)[:, None].contiguous()
    ref = GatedEMA()(a, x)
    out = GatedEMA()(a.cuda(), x.cuda())
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), ref, rtol=0, atol=1e-4)
