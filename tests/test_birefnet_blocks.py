"""Per-component checks of our BiRefNet: Swin pieces, deformable conv, blocks, fusion, matter."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from fillrule import build_fill_state_dict
from torchvision.ops import deform_conv2d

from vidmatte.errors import DeviceError
from vidmatte.models import BiRefNet, BiRefNetMatter
from vidmatte.models.birefnet.blocks import BasicDecBlk, stack_patches
from vidmatte.models.birefnet.deform import ASPPDeformable, DeformableConv2d, deform_conv2d_gather, fold_bn
from vidmatte.models.birefnet.swin import (
    PatchMerging,
    relative_position_index,
    shift_region_mask,
    window_partition,
    window_reverse,
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _randomise_bn(module: nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(0.3 * torch.randn(n, generator=g))
            m.running_var.copy_(0.5 + torch.rand(n, generator=g))
            m.weight.data.copy_(1 + 0.2 * torch.randn(n, generator=g))
            m.bias.data.copy_(0.2 * torch.randn(n, generator=g))


def _filled(model: nn.Module) -> nn.Module:
    """Load fill-rule weights built from the model's own keys (well-scaled activations)."""
    rows = [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in model.state_dict().items()]
    model.load_state_dict(build_fill_state_dict(rows), strict=True)
    return model.eval()


@pytest.fixture(scope="module")
def lite() -> BiRefNet:
    return _filled(BiRefNet("lite", patch_order="legacy"))


# --- Swin pieces -------------------------------------------------------------------------

@pytest.mark.parametrize("ws", [7, 12])
def test_relative_position_index_formula(ws):
    idx = relative_position_index(ws)
    n, span = ws * ws, 2 * ws - 1
    assert idx.shape == (n, n) and idx.dtype == torch.int64
    centre = (ws - 1) * span + (ws - 1)
    assert torch.all(idx.diagonal() == centre)
    assert torch.all(idx + idx.t() == 2 * centre)                    # (i,j) and (j,i) are mirrored
    assert idx[0, n - 1] == 0 and idx[n - 1, 0] == span * span - 1   # opposite corners
    assert idx[0, 1] == centre - 1 and idx[0, ws] == centre - span   # right neighbour, row below
    assert set(idx.unique().tolist()) == set(range(span * span))


def test_shift_mask_regions():
    m = shift_region_mask(14, 14, 7, 3, torch.device("cpu"), torch.float32)
    assert m.shape == (4, 49, 49)
    blocked = torch.isinf(m).sum((1, 2)).tolist()
    # window 0: one region; windows 1/2: 7x4 + 7x3 tokens; window 3: 4x4, 4x3, 3x4, 3x3 tokens
    assert blocked == [0, 49 * 49 - (28 ** 2 + 21 ** 2), 49 * 49 - (28 ** 2 + 21 ** 2),
                       49 * 49 - (16 ** 2 + 12 ** 2 + 12 ** 2 + 9 ** 2)]
    assert torch.all(m[torch.isfinite(m)] == 0)
    # window 1: local columns 0-3 are canvas columns 7-10 ([Wp-ws, Wp-s)), 4-6 are 11-13
    assert torch.isinf(m[1, 3, 4]) and m[1, 3, 2] == 0
    small = shift_region_mask(7, 7, 7, 3, torch.device("cpu"), torch.float32)   # canvas = one window
    assert small.shape == (1, 49, 49) and torch.isinf(small).any()


def test_window_partition_order_and_roundtrip():
    x = torch.arange(2 * 14 * 21 * 3, dtype=torch.float32).view(2, 14, 21, 3)
    w = window_partition(x, 7)
    assert w.shape == (2 * 2 * 3, 49, 3)
    assert torch.equal(w[1, 0], x[0, 0, 7])               # 2nd window = row 0, col 1 of image 0
    assert torch.equal(w[3, 8], x[0, 8, 1])               # window row 1, token (1, 1)
    assert torch.equal(w[6, 0], x[1, 0, 0])               # batch outermost
    assert torch.equal(window_reverse(w, 7, 2, 14, 21), x)


@pytest.mark.parametrize("h,w", [(6, 8), (5, 7)])
def test_patch_merging_phase_order_and_padding(h, w):
    torch.manual_seed(0)
    pm = PatchMerging(4).eval()
    x = torch.randn(2, h, w, 4)
    xp = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
    ref = torch.cat([xp[:, 0::2, 0::2], xp[:, 1::2, 0::2], xp[:, 0::2, 1::2], xp[:, 1::2, 1::2]], -1)
    with torch.no_grad():
        assert torch.allclose(pm(x), pm.reduction(pm.norm(ref)), atol=1e-6)
    assert pm(x).shape == (2, (h + 1) // 2, (w + 1) // 2, 8)


# --- patches -------------------------------------------------------------------------------

def test_stack_patches_orders():
    x = torch.randn(2, 3, 8, 12)
    cur, leg = stack_patches(x, (2, 3), "current"), stack_patches(x, (2, 3), "legacy")
    assert cur.shape == leg.shape == (2, 18, 4, 4)
    p, q, c = 1, 2, 2                                     # tile row 1, column 2, blue
    tile = x[:, c, 4:8, 8:12]
    assert torch.equal(cur[:, c * 6 + p * 3 + q], tile)
    assert torch.equal(leg[:, (q * 2 + p) * 3 + c], tile)
    cl = stack_patches(x, (2, 3), "current", channels_last=True)
    assert cl.is_contiguous(memory_format=torch.channels_last) and torch.equal(cl, cur)
    with pytest.raises(ValueError, match="grid"):
        stack_patches(x, 5, "current")
    with pytest.raises(ValueError, match="patch order"):
        stack_patches(x, 2, "diagonal")


# --- deformable conv, ASPP, fusion -----------------------------------------------------------

@pytest.mark.parametrize("k,b,h,w", [(1, 1, 9, 11), (3, 2, 12, 10), (7, 1, 16, 13)])
def test_deform_gather_equals_torchvision(k, b, h, w):
    g = torch.Generator().manual_seed(k)
    x = torch.randn(b, 5, h, w, generator=g)
    off = 3 * torch.randn(b, 2 * k * k, h, w, generator=g)      # reaches well outside the image
    mask = 2 * torch.rand(b, k * k, h, w, generator=g)
    wt, bias = torch.randn(6, 5, k, k, generator=g), torch.randn(6, generator=g)
    ref = deform_conv2d(x, off, wt, bias, padding=(k // 2, k // 2), mask=mask)
    out = deform_conv2d_gather(x, off, mask, wt, bias, k // 2, chunk_elements=64)   # many chunks
    assert out.shape == ref.shape and out.is_contiguous()
    assert (out - ref).abs().max() < 1e-4
    by_index = deform_conv2d_gather(x, off, mask, wt, bias, k // 2, chunk_elements=64, gather="index")  # CUDA's
    assert (by_index - ref).abs().max() < 1e-4
    out_cl = deform_conv2d_gather(x.contiguous(memory_format=torch.channels_last), off, mask, wt, None, k // 2)
    assert out_cl.is_contiguous(memory_format=torch.channels_last)
    assert (out_cl + bias.view(1, -1, 1, 1) - ref).abs().max() < 1e-4


def test_fold_bn_matches_batchnorm():
    conv, bn = nn.Conv2d(4, 6, 3, padding=1), nn.BatchNorm2d(6)
    _randomise_bn(bn)
    bn.eval()
    x = torch.randn(2, 4, 8, 8)
    w, b = fold_bn(conv.weight.detach(), conv.bias.detach(), bn)
    with torch.no_grad():
        assert (F.conv2d(x, w, b, padding=1) - bn(conv(x))).abs().max() < 1e-5


@pytest.mark.parametrize("module", ["deform", "aspp", "decblk"])
def test_fusion_keeps_outputs(module):
    torch.manual_seed(1)
    m = {"deform": lambda: DeformableConv2d(8, 16, 3, 1), "aspp": lambda: ASPPDeformable(16),
         "decblk": lambda: BasicDecBlk(24, 32, inter_channels=16)}[module]()
    _randomise_bn(m)
    m.eval()
    x = torch.randn(2, m.offset_conv.in_channels if module == "deform" else (16 if module == "aspp" else 24), 12, 10)
    with torch.no_grad():
        ref = m(x)
        fused = copy.deepcopy(m)
        fused.fuse()
        out = fused(x)
    assert not any(isinstance(t, nn.BatchNorm2d) for t in fused.modules())
    assert (out - ref).abs().max() < 1e-5


# --- the whole model -------------------------------------------------------------------------

def test_model_rejects_bad_sizes_and_options(lite):
    with pytest.raises(ValueError, match="multiples of 32"):
        lite(torch.zeros(1, 3, 64, 80 + 8))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        lite(torch.zeros(1, 4, 64, 64))
    with pytest.raises(ValueError, match="variant"):
        BiRefNet("huge")
    with pytest.raises(ValueError, match="patch_order"):
        lite.patch_order = "sideways"
    assert lite.patch_order == "legacy"


def test_model_output_and_patch_order_switch(lite):
    x = torch.randn(2, 3, 64, 96)
    with torch.inference_mode():
        legacy = lite(x)
        lite.patch_order = "current"
        current = lite(x)
        lite.patch_order = "legacy"
    assert isinstance(legacy, torch.Tensor) and legacy.shape == (2, 1, 64, 96) and legacy.dtype == torch.float32
    assert torch.isfinite(legacy).all()
    assert (legacy - current).abs().max() > 1e-3                # the order changes the result
    with torch.inference_mode():                                # batch elements stay independent
        assert (lite(x[1:]) - legacy[1:]).abs().max() < 1e-4


def test_fuse_for_inference_keeps_outputs(lite):
    x = torch.randn(1, 3, 128, 128)
    fused = copy.deepcopy(lite).fuse_for_inference().set_channels_last(True)
    assert fused.fuse_for_inference() is fused                  # idempotent
    with torch.inference_mode():
        ref, out = lite(x), fused(x.contiguous(memory_format=torch.channels_last))
    assert (out - ref).abs().max() < 1e-4


def test_birefnet_matter_predicts_alpha(lite):
    matter = BiRefNetMatter(copy.deepcopy(lite), size=(96, 128))
    assert matter.name == "birefnet-lite" and matter.size == (96, 128)
    frame = np.random.default_rng(0).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    alpha = matter.predict(frame)
    assert alpha.shape == (1, 1, 70, 90) and alpha.dtype == torch.float32
    assert 0.0 <= alpha.min() and alpha.max() <= 1.0 and alpha.std() > 0
    batch = matter.predict(np.stack([frame, frame[::-1]]))
    assert batch.shape == (2, 1, 70, 90) and (batch[0] - alpha[0]).abs().max() < 1e-5


def test_birefnet_matter_dtypes(lite):
    with pytest.raises(DeviceError, match="fp16"):
        BiRefNetMatter(copy.deepcopy(lite), size=64, dtype=torch.float16)
    frame = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    a32 = BiRefNetMatter(copy.deepcopy(lite), size=64).predict(frame)
    a16 = BiRefNetMatter(copy.deepcopy(lite), size=64, dtype=torch.bfloat16).predict(frame)
    assert a16.dtype == torch.float32 and (a16 - a32).abs().max() < 0.05


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_half_matches_fp32(lite):
    frame = np.random.default_rng(2).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    cpu = BiRefNetMatter(copy.deepcopy(lite), size=128).predict(frame)
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        gpu = BiRefNetMatter(copy.deepcopy(lite), size=128, device="cuda", dtype=dtype).predict(frame)
        assert gpu.device.type == "cuda" and (gpu.cpu() - cpu).abs().max() < (1e-3 if dtype == torch.float32 else 0.05)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_graph_replay_follows_its_input(lite):
    """A replay must compute from the new input: every kernel, the deformable conv's too, is captured."""
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) for _ in range(3)]
    eager = BiRefNetMatter(copy.deepcopy(lite), size=128, device="cuda", dtype=torch.float16, cuda_graph=False)
    graph = BiRefNetMatter(copy.deepcopy(lite), size=128, device="cuda", dtype=torch.float16, cuda_graph=True)
    for f in frames:                       # the first call captures, the others replay
        a, b = eager.predict(f), graph.predict(f)
        assert (a - b).abs().max() < 2e-3
    assert (eager.predict(frames[0]) - eager.predict(frames[1])).abs().max() > 1e-2   # inputs do matter


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_deform_conv_on_a_side_stream():
    """On a non-default stream the result is ready and right when that stream says so."""
    g = torch.Generator().manual_seed(4)
    conv = DeformableConv2d(16, 8, 3, 1).eval()
    x = torch.randn(2, 16, 64, 48, generator=g)
    with torch.inference_mode():
        ref = conv(x)
        conv = conv.cuda()
        side = torch.cuda.Stream()
        xg = x.cuda()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            torch.cuda._sleep(10_000_000)   # keep the side stream busy so a default-stream kernel would run first
            out = conv(xg * 1.0)
            host = out.to("cpu", non_blocking=False)
    assert (host - ref).abs().max() < 1e-4
