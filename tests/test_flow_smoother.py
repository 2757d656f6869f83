"""The motion-compensated smoother (vidmatte/temporal/{flow,lookahead}.py): accuracy on the
synthetic flicker clip of test_temporal.py, the look-ahead contract (delay, completed frames
only, flush), blotches voted out, no trails behind motion, scene cuts, state and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from test_temporal import FAST, dtssd, flicker, mad, make_clip
from vidmatte.temporal import FlowSmoother, NoSmoothing, make_smoother
from vidmatte.temporal.flow import Motion, flow_size
from vidmatte.temporal.lookahead import trimmed_mean

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _textured(h=72, w=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(1, 3, h // 8, w // 8, generator=g)
    return torch.nn.functional.interpolate(small, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)


def run_all(smoother, frames, alphas, batch=8):
    """Feed ``(T,3,H,W)`` / ``(T,1,H,W)`` in batches, then flush: the whole smoothed clip."""
    outs = [smoother(alphas[i : i + batch], frames[i : i + batch]) for i in range(0, len(frames), batch)]
    rest = smoother.flush()
    return torch.cat(outs + ([rest] if rest is not None else []))


@pytest.fixture(scope="module")
def clip():
    frames, gt = make_clip()
    pred = flicker(gt)
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
    return x, torch.from_numpy(pred)[:, None].contiguous(), gt, pred


@pytest.mark.parametrize("causal", [False, True])
def test_flow_smoothing_cuts_flicker_and_error(clip, causal):
    """Measured 0.46x / 0.72x (look-ahead) and 0.76x / 0.87x (causal) dtSSD / MAD, fast phase
    0.82x / 0.91x MAD; the gated EMA gets 0.60x / 0.93x and 1.00x in the fast phase."""
    x, a, gt, pred = clip
    out = run_all(FlowSmoother(2, causal=causal), x, a)[:, 0].numpy()
    assert out.shape == pred.shape
    raw = (dtssd(pred, gt), mad(pred, gt), mad(pred[FAST], gt[FAST]))
    got = (dtssd(out, gt), mad(out, gt), mad(out[FAST], gt[FAST]))
    print(f"\n{'causal' if causal else 'look-ahead'}: " + ", ".join(f"{g / r:.3f}x" for g, r in zip(got, raw)))
    assert got[0] <= (0.85 if causal else 0.55) * raw[0]
    assert got[1] <= (0.92 if causal else 0.8) * raw[1] and got[2] <= 0.95 * raw[2]


def test_lookahead_returns_completed_frames_in_order_and_flush_the_rest(clip):
    x, a, _, _ = clip
    sm = FlowSmoother(2)
    assert sm.delay == 2 and FlowSmoother(2, causal=True).delay == 0
    counts = [sm(a[i : i + 1], x[i : i + 1]).shape[0] for i in range(10)]
    assert counts == [0, 0] + [1] * 8
    rest = sm.flush()
    assert rest.shape == (2, 1, *a.shape[-2:])
    assert sm.flush() is None  # flushed state is empty
    whole = run_all(FlowSmoother(2), x[:10], a[:10], batch=1)
    torch.testing.assert_close(run_all(FlowSmoother(2), x[:10], a[:10], batch=4), whole)
    torch.testing.assert_close(run_all(FlowSmoother(2), x[:10], a[:10], batch=10), whole)
    causal = FlowSmoother(2, causal=True)
    assert [causal(a[i : i + 3], x[i : i + 3]).shape[0] for i in (0, 3, 6)] == [3, 3, 3]
    assert causal.flush() is None


def test_one_frame_blotch_is_voted_out_not_spread():
    """A still picture whose matte has a blotch in one frame: looking ahead every output frame
    is clean (a plain mean would move a fifth of the blotch into four frames); causally the
    blotch is halved in its own frame (the current frame counts twice) and absent after it."""
    img = _textured().expand(7, -1, -1, -1).contiguous()
    alpha = torch.zeros(7, 1, 72, 96)
    alpha[..., 20:60, 30:70] = 1.0
    truth = alpha.clone()
    alpha[3, :, 5:20, 5:25] = 0.9  # blotch in frame 3
    out = run_all(FlowSmoother(2), img, alpha)
    torch.testing.assert_close(out, truth, atol=1e-6, rtol=0)
    out = run_all(FlowSmoother(2, causal=True), img, alpha)
    torch.testing.assert_close(out[4:], truth[4:], atol=1e-6, rtol=0)
    torch.testing.assert_close(out[3], (alpha[3] + truth[3]) / 2, atol=1e-6, rtol=0)


def test_moving_object_leaves_no_trail():
    """A textured square moving 5 px a frame over a textured background, exact mattes: the
    output keeps the current frame's matte (warps align or are distrusted)."""
    bg, fg = _textured(seed=1), _textured(seed=2)
    frames, alphas = [], []
    for t in range(8):
        m = torch.zeros(1, 1, 72, 96)
        m[..., 20:50, 10 + 5 * t : 40 + 5 * t] = 1.0
        frames.append(m * fg + (1 - m) * bg)
        alphas.append(m)
    x, a = torch.cat(frames), torch.cat(alphas)
    for causal in (False, True):
        out = run_all(FlowSmoother(2, causal=causal), x, a)
        assert float((out - a).abs().mean()) < 2e-3, causal


def test_scene_cut_keeps_each_frames_own_matte():
    shot1, shot2 = _textured(seed=3), _textured(seed=4)
    x = torch.cat([shot1] * 3 + [shot2] * 3)
    a = torch.zeros(6, 1, 72, 96)
    a[:3, :, 10:40, 10:40] = 1.0
    a[3:, :, 30:70, 50:90] = 1.0
    out = run_all(FlowSmoother(2), x, a)
    torch.testing.assert_close(out, a, atol=1e-3, rtol=0)


def test_trimmed_mean():
    v = torch.tensor([0.2, 0.9, 0.1, 0.4, 0.3]).view(5, 1, 1, 1)
    assert float(trimmed_mean(v)) == pytest.approx(0.3)  # mean of 0.2, 0.3, 0.4
    assert float(trimmed_mean(v[:3])) == pytest.approx(0.2)  # median of 0.2, 0.9, 0.1
    assert float(trimmed_mean(v[:2])) == pytest.approx(0.55)
    assert float(trimmed_mean(v[:1])) == pytest.approx(0.2)


def test_strength_state_and_size_changes(clip):
    x, a, _, _ = clip
    out = run_all(FlowSmoother(2, strength=0.0), x[:6], a[:6])
    torch.testing.assert_close(out, a[:6])
    assert isinstance(make_smoother("flow", 0.0), NoSmoothing)
    half = run_all(FlowSmoother(2, strength=0.5), x[:6], a[:6])
    full = run_all(FlowSmoother(2), x[:6], a[:6])
    assert 0 < float((half - a[:6]).abs().mean()) < float((full - a[:6]).abs().mean())
    sm = FlowSmoother(2)
    sm(a[:3], x[:3])
    sm.reset()
    assert sm(a[3:4], x[3:4]).shape[0] == 0 and sm.flush().shape[0] == 1
    sm(a[:1], x[:1])
    with pytest.raises(ValueError, match="flush"):
        sm(a[:1, :, :32, :32], x[:1, :, :32, :32])  # a new size while frames are held
    causal = FlowSmoother(2, causal=True)
    causal(a[:2], x[:2])
    small = a[:1, :, :32, :32]
    torch.testing.assert_close(causal(small, x[:1, :, :32, :32]), small)  # a new size restarts


def test_make_smoother_flow_names_and_errors():
    assert make_smoother("flow").delay == 2 and make_smoother("flow").strength == 1.0
    assert make_smoother("flow-causal").delay == 0 and make_smoother("flow-causal", 0.5).strength == 0.5
    assert make_smoother("flow").self_weight == 1 and make_smoother("flow-causal").self_weight == 2
    for kwargs in (dict(radius=0), dict(radius=1.5), dict(strength=1.5), dict(sigma=0.0), dict(preset="slow"),
                   dict(lines=4), dict(self_weight=0)):
        with pytest.raises(ValueError):
            FlowSmoother(**kwargs)
    with pytest.raises(ValueError, match="frames"):
        FlowSmoother(2)(torch.rand(1, 1, 8, 8))


def test_motion_confidence_and_flow_size():
    assert flow_size(360, 640, 180) == (180, 320) and flow_size(144, 176, 180) == (144, 176)
    motion = Motion()
    a = motion.view(_textured(seed=5))
    shifted = motion.view(torch.roll(_textured(seed=5), shifts=3, dims=-1))
    other = motion.view(_textured(seed=6))
    f, c = motion.align(a, a)
    assert float(f.abs().max()) == 0.0 and float(c.min()) > 0.99  # identical: no motion, full trust
    f, c = motion.align(a, shifted)
    inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))
    assert float((f[:, 0][inner[1:]] - 3).abs().median()) < 0.5 and float(c[inner].median()) > 0.8
    _, c = motion.align(a, other)
    assert float(c.mean()) < 0.3  # a different picture: distrusted


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(clip):
    x, a, _, _ = clip
    ref = run_all(FlowSmoother(2), x[:12], a[:12])
    out = run_all(FlowSmoother(2), x[:12].cuda(), a[:12].cuda())
    assert out.device.type == "cuda"
    assert float((out.cpu() - ref).abs().mean()) < 2e-3  # grid_sample vs remap, area pooling


def test_a_segment_with_radius_frames_of_context_equals_the_full_run(clip):
    """What segment workers rely on (issue 14): the output of frame t depends on frames t-r..t+r
    only, so a segment fed ``radius`` context frames before and ``delay`` frames after (their
    outputs discarded, matched by position) equals the same frames of a whole-clip run."""
    x, a, _, _ = clip
    whole = run_all(FlowSmoother(2), x[:20], a[:20])
    lo, hi = 8, 14  # the segment
    sm = FlowSmoother(2)
    out = run_all(sm, x[lo - 2 : hi + sm.delay], a[lo - 2 : hi + sm.delay], batch=3)
    torch.testing.assert_close(out[2 : 2 + hi - lo], whole[lo:hi], atol=0, rtol=0)
    causal_whole = run_all(FlowSmoother(2, causal=True), x[:20], a[:20])
    causal = run_all(FlowSmoother(2, causal=True), x[lo - 2 : hi], a[lo - 2 : hi])
    torch.testing.assert_close(causal[2:], causal_whole[lo:hi], atol=0, rtol=0)


@pytest.mark.parametrize("shape", [(8, 640), (120, 10)])
def test_frames_too_small_for_dis_are_smoothed_without_flow(shape):
    """DIS needs 16 px a side; a thin strip (a 10-bit ramp plate, say) still gets every frame."""
    h, w = shape
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, h, w, generator=g)
    s = FlowSmoother()
    outs = [s(torch.rand(1, 1, h, w, generator=g), image) for _ in range(5)]
    outs.append(s.flush())
    got = torch.cat([o for o in outs if o is not None and o.shape[0]])
    assert got.shape == (5, 1, h, w) and torch.isfinite(got).all()


def test_large_frames_fuse_small_and_keep_their_own_detail(clip):
    """Above ``fuse_lines`` the vote runs on scaled-down mattes and only its correction comes
    back: nearly the full-size result, the same gains, and a frame's fine detail kept."""
    x, a, gt, pred = clip
    full = run_all(FlowSmoother(2, lines=64, fuse_lines=None), x, a)[:, 0].numpy()
    small = run_all(FlowSmoother(2, lines=64, fuse_lines=80), x, a)[:, 0].numpy()   # 160 lines fused at 80
    assert small.shape == full.shape and 0.0 <= small.min() and small.max() <= 1.0
    assert np.abs(small - full).mean() < 0.01
    raw = (dtssd(pred, gt), mad(pred, gt))
    assert dtssd(small, gt) <= 0.6 * raw[0] and mad(small, gt) <= 0.85 * raw[1]
    # a still clip with a one-pixel-wide detail: the correction is zero, the detail stays exactly
    still = torch.zeros(5, 1, 160, 240)
    still[:, :, :, 120] = 1.0
    frames = x[:1].expand(5, -1, -1, -1).contiguous()
    out = run_all(FlowSmoother(2, lines=64, fuse_lines=80), frames, still)
    assert torch.allclose(out, still, atol=1e-6)
    with pytest.raises(ValueError, match="fuse_lines"):
        FlowSmoother(2, lines=180, fuse_lines=100)
