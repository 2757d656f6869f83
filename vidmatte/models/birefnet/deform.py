"""Modulated deformable convolution (DCNv2) and BiRefNet's deformable ASPP.

``DeformableConv2d``: ``y = deform_conv2d(x, Δ, W, m)`` with offsets ``Δ = conv_off(x)``
(``2k²`` channels, ``(dy, dx)`` per kernel tap, row-major taps) and modulation
``m = 2·σ(conv_mod(x))`` (``k²`` channels), bilinear sampling, zeros outside.

``ASPPDeformable``: five branches on the same ``(B, C, H, W)`` input: deformable k=1,
deformable k=1/3/7, and global pooling; concat (1280 ch) → 1×1 conv → BN → ReLU.
The pooled branch is spatially constant, so its share of the 1×1 conv is added as a
per-sample bias instead of being broadcast to ``H×W`` and concatenated (same result).

The deformable conv runs as :func:`deform_conv2d_gather` (an ``embedding_bag`` gather of
the bilinear corners + one GEMM, chunked) on every device, not torchvision's kernel:
on CPU it takes about half the time of torchvision's single-threaded im2col; on CUDA,
torchvision's kernels are launched on the legacy default stream rather than the current
one (pytorch/vision#9513, fixed only in 2026 releases), so they race with work on other
streams and are left out of CUDA-graph capture (a replay reuses stale columns). Plain
torch ops keep both streams and graphs correct.

Tracing (``torch.onnx.export``, ``torch.jit.trace``) takes :func:`deform_conv2d_sample`
instead: the gather path writes each chunk's GEMM into a preallocated buffer
(``torch.mm(..., out=buffer[p0:p1])``), which a trace does not record as data flow; an
ONNX export of it leaves the deformable branches at zero (logits off by up to 0.8). The
sampling path is ``GridSample`` + a strided ``Conv`` per kernel row: standard ONNX ops
(opset 16+), no buffer, no shape-computed chunk size, the same maths.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "fold_bn",
    "fuse_conv_bn_",
    "deform_conv2d_gather",
    "deform_conv2d_sample",
    "tracing",
    "DeformableConv2d",
    "ASPPBranch",
    "ASPPDeformable",
]

# Output pixels per chunk keep one chunk of gathered columns (pixels·k²·C) under this many elements:
# bounded memory at large sizes, a cache-warm chunk on a CPU; on CUDA fewer, larger chunks mean
# fewer kernel launches (the "index" gather holds 4 rows per column entry: 128 MB per chunk in fp16).
CHUNK_ELEMENTS = 1 << 21
CHUNK_ELEMENTS_CUDA = 1 << 24


def fold_bn(weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold an eval BatchNorm into the conv before it (computed in float64).

    ``BN(W∗x + b) = (s·W)∗x + s·(b − μ) + β`` with ``s = γ / √(σ² + ε)`` per output channel.
    """
    s = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    b = bias.double() if bias is not None else torch.zeros_like(s)
    w = weight.double() * s.view(-1, *([1] * (weight.ndim - 1)))
    b = (b - bn.running_mean.double()) * s + bn.bias.double()
    return w.to(weight.dtype), b.to(weight.dtype)


def fuse_conv_bn_(conv: nn.Conv2d, bn: nn.Module) -> nn.Module:
    """In place: fold ``bn`` (if a BatchNorm2d) into ``conv``; returns what replaces ``bn``."""
    if not isinstance(bn, nn.BatchNorm2d):
        return bn
    w, b = fold_bn(conv.weight.detach(), None if conv.bias is None else conv.bias.detach(), bn)
    conv.weight = nn.Parameter(w, requires_grad=False)
    conv.bias = nn.Parameter(b, requires_grad=False)
    return nn.Identity()


def _bilinear_taps(offset: torch.Tensor, mask: torch.Tensor, k: int, padding: int, h: int, w: int
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat input-pixel indices and weights ``(B·H'·W'·k², 4)`` of the four bilinear corners.

    Tap ``t = (i, j)`` of output pixel ``(y, x)`` reads ``(y − pad + i + dy_t, x − pad + j + dx_t)``;
    corner weights are the bilinear ones times ``m_t``, zero for corners outside the image
    (their index is clamped to a valid pixel, so they add nothing).
    """
    b, kk = offset.shape[0], k * k
    ho, wo = offset.shape[-2:]
    dev = offset.device
    dt = torch.float32 if offset.dtype in (torch.float16, torch.bfloat16) else offset.dtype  # positions need precision
    offset = offset.to(dt)
    tap = torch.arange(k, device=dev, dtype=dt)
    base_y = (torch.arange(ho, device=dev, dtype=dt) - padding)[:, None, None] + tap.repeat_interleave(k)
    base_x = (torch.arange(wo, device=dev, dtype=dt) - padding)[:, None] + tap.repeat(k)
    off = offset.view(b, kk, 2, ho, wo).permute(0, 3, 4, 2, 1)          # (B, H', W', 2, k²)
    py, px = off[:, :, :, 0] + base_y, off[:, :, :, 1] + base_x         # (B, H', W', k²)
    y0, x0 = py.floor(), px.floor()
    ly, lx = py.sub_(y0), px.sub_(x0)
    m = mask.view(b, kk, ho, wo).permute(0, 2, 3, 1).to(dt)
    wy = torch.stack([(1 - ly) * ((y0 >= 0) & (y0 < h)), ly * ((y0 >= -1) & (y0 < h - 1))], -1) * m[..., None]
    wx = torch.stack([(1 - lx) * ((x0 >= 0) & (x0 < w)), lx * ((x0 >= -1) & (x0 < w - 1))], -1)
    weights = (wy[..., :, None] * wx[..., None, :]).reshape(-1, 4)
    iy = torch.stack([y0, y0 + 1], -1).clamp_(0, h - 1).mul_(w)
    ix = torch.stack([x0, x0 + 1], -1).clamp_(0, w - 1)
    idx = (iy[..., :, None] + ix[..., None, :]).to(torch.int64)
    if b > 1:
        idx += (torch.arange(b, device=dev) * (h * w)).view(b, 1, 1, 1, 1, 1)
    return idx.reshape(-1, 4), weights


def _corner_sums(idx: torch.Tensor, wts: torch.Tensor, table: torch.Tensor, gather: str) -> torch.Tensor:
    """``(m, 4)`` corner indices and weights → ``(m, C)`` weighted sums of ``table`` rows."""
    if gather == "bag":
        return F.embedding_bag(idx, table, per_sample_weights=wts, mode="sum")
    rows = table.index_select(0, idx.reshape(-1)).view(idx.shape[0], 4, table.shape[1])
    return torch.bmm(wts.unsqueeze(1), rows).squeeze(1)


def deform_conv2d_gather(x: torch.Tensor, offset: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor,
                         bias: torch.Tensor | None = None, padding: int = 0,
                         chunk_elements: int | None = None, gather: str | None = None) -> torch.Tensor:
    """Modulated deformable conv (stride 1, dilation 1, one offset group) as gather + GEMM.

    Args:
        x: ``(B, C, H, W)``; offset: ``(B, 2k², H', W')``, ``(dy, dx)`` per row-major tap;
        mask: ``(B, k², H', W')``; weight: ``(O, C, k, k)``; bias: ``(O,)`` or None.

    ``cols[p, t, :] = Σ_corners w · x[:, corner]`` over the channels-last pixel table, mask
    folded into the weights (``gather="bag"``: one ``F.embedding_bag``, the CPU default;
    ``"index"``: ``index_select`` + a batched 1x4 product, the CUDA default: the plainest
    kernels, safe in CUDA-graph capture), then
    ``out[p] = cols[p] · W`` for each output pixel ``p``. Same maths as
    ``torchvision.ops.deform_conv2d``; returns ``(B, O, H', W')`` with channels-last
    strides when ``x`` has them, contiguous otherwise.
    """
    cpu = x.device.type == "cpu"
    if chunk_elements is None:
        chunk_elements = CHUNK_ELEMENTS if cpu else CHUNK_ELEMENTS_CUDA
    gather = gather or ("bag" if cpu else "index")
    if gather not in ("bag", "index"):
        raise ValueError(f"gather must be 'bag' or 'index', got {gather!r}")
    b, c, h, w = x.shape
    o, _, k, _ = weight.shape
    kk = k * k
    ho, wo = offset.shape[-2:]
    idx, wts = _bilinear_taps(offset, mask, k, padding, h, w)
    wts = wts.to(x.dtype)
    table = x.permute(0, 2, 3, 1).reshape(b * h * w, c)
    wmat = weight.to(x.dtype).permute(0, 2, 3, 1).reshape(o, kk * c).t()   # rows ordered (tap, channel)
    bias = None if bias is None else bias.to(x.dtype)
    n = b * ho * wo
    out = x.new_empty(n, o)
    step = max(1, chunk_elements // (kk * c))
    for p0 in range(0, n, step):
        p1 = min(n, p0 + step)
        cols = _corner_sums(idx[p0 * kk:p1 * kk], wts[p0 * kk:p1 * kk], table, gather).view(p1 - p0, kk * c)
        if bias is None:
            torch.mm(cols, wmat, out=out[p0:p1])
        else:
            torch.addmm(bias, cols, wmat, out=out[p0:p1])
    out = out.view(b, ho, wo, o).permute(0, 3, 1, 2)
    return out if x.is_contiguous(memory_format=torch.channels_last) else out.contiguous()


def deform_conv2d_sample(x: torch.Tensor, offset: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor,
                         bias: torch.Tensor | None = None, padding: int = 0) -> torch.Tensor:
    """Modulated deformable conv as ``grid_sample`` + conv: the traceable (ONNX) form.

    Same arguments and maths as :func:`deform_conv2d_gather`. Tap ``t = (i, j)`` of output
    pixel ``(y, x)`` samples ``x`` at ``(y − pad + i + dy_t, x − pad + j + dx_t)`` bilinearly
    with zeros outside (``grid_sample``, ``align_corners=False``: normalised
    ``g = (2p + 1) / L − 1``, valid for ``L = 1`` too); for each kernel row ``i`` the ``k``
    taps are laid side by side, ``S_i: (B, C, H', W'·k)``, multiplied by their modulation
    and reduced by a ``(1, k)``-kernel, stride-``(1, k)`` conv with ``W[:, :, i, :]``;
    the rows are summed (memory per row: ``B·C·H'·W'·k``). Positions are computed and
    sampled in fp32 whatever ``x``'s dtype (an fp16 grid would be off by up to 1/8 pixel
    at 1024²); the conv runs in ``x``'s dtype. Returns ``(B, O, H', W')``.
    """
    b, c, h, w = x.shape
    o, _, k, _ = weight.shape
    kk = k * k
    ho, wo = offset.shape[-2:]
    dev, f32 = x.device, torch.float32
    off = offset.to(f32).reshape(b, kk, 2, ho, wo)
    tap = torch.arange(k, device=dev, dtype=f32)
    ti, tj = tap.repeat_interleave(k).view(1, kk, 1, 1), tap.repeat(k).view(1, kk, 1, 1)
    py = off[:, :, 0] + (torch.arange(ho, device=dev, dtype=f32) - padding).view(1, 1, ho, 1) + ti
    px = off[:, :, 1] + (torch.arange(wo, device=dev, dtype=f32) - padding).view(1, 1, 1, wo) + tj
    grid = torch.stack([(2 * px + 1) / w - 1, (2 * py + 1) / h - 1], -1)     # (B, k², H', W', 2)
    m = mask.to(f32).reshape(b, kk, ho, wo)
    xs = x.to(f32)
    wt = weight.to(x.dtype)
    out = None
    for i in range(k):
        g = grid[:, i * k:(i + 1) * k].permute(0, 2, 3, 1, 4).reshape(b, ho, wo * k, 2)
        mi = m[:, i * k:(i + 1) * k].permute(0, 2, 3, 1).reshape(b, 1, ho, wo * k)
        s = F.grid_sample(xs, g, mode="bilinear", padding_mode="zeros", align_corners=False) * mi
        y = F.conv2d(s.to(x.dtype), wt[:, :, i:i + 1, :], None, stride=(1, k))
        out = y if out is None else out + y
    if bias is not None:
        out = out + bias.to(x.dtype).view(1, -1, 1, 1)
    return out


def tracing() -> bool:
    """True inside ``torch.onnx.export`` or ``torch.jit.trace`` (take the traceable paths)."""
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()


class DeformableConv2d(nn.Module):
    """Modulated deformable conv, stride 1: ``(B, Cin, H, W)`` → ``(B, Cout, H, W)``.

    Keys: ``offset_conv``, ``modulator_conv``, ``regular_conv`` (weight only, plus a bias
    once a BatchNorm has been folded in). :meth:`fuse` merges the offset and modulator
    convs into one (they read the same input with the same kernel).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int):
        super().__init__()
        k = kernel_size
        self.k, self.padding = k, padding
        self.offset_conv = nn.Conv2d(in_channels, 2 * k * k, k, padding=padding)
        self.modulator_conv = nn.Conv2d(in_channels, k * k, k, padding=padding)
        self.regular_conv = nn.Conv2d(in_channels, out_channels, k, padding=padding, bias=False)
        self.offset_modulator_conv: nn.Conv2d | None = None

    def fuse(self) -> None:
        """Concatenate offset and modulator convs into ``offset_modulator_conv`` (3k² out)."""
        if self.offset_modulator_conv is not None:
            return
        oc, mc = self.offset_conv, self.modulator_conv
        conv = nn.Conv2d(oc.in_channels, oc.out_channels + mc.out_channels, self.k, padding=self.padding)
        conv = conv.to(device=oc.weight.device, dtype=oc.weight.dtype)
        with torch.no_grad():
            conv.weight.copy_(torch.cat([oc.weight, mc.weight]))
            conv.bias.copy_(torch.cat([oc.bias, mc.bias]))
        conv.requires_grad_(False)
        self.offset_modulator_conv = conv
        del self.offset_conv, self.modulator_conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.k * self.k
        if self.offset_modulator_conv is not None:
            offset, mod = self.offset_modulator_conv(x).split([2 * n, n], dim=1)
        else:
            offset, mod = self.offset_conv(x), self.modulator_conv(x)
        mask = torch.sigmoid(mod).mul_(2.0)
        w, b = self.regular_conv.weight, self.regular_conv.bias
        if tracing():
            return deform_conv2d_sample(x, offset, mask, w, b, self.padding)
        return deform_conv2d_gather(x, offset, mask, w, b, self.padding)


class ASPPBranch(nn.Module):
    """``ReLU(BN(DeformableConv2d(x)))`` (keys ``atrous_conv.*``, ``bn.*``)."""

    def __init__(self, in_channels: int, planes: int, kernel_size: int, padding: int):
        super().__init__()
        self.atrous_conv = DeformableConv2d(in_channels, planes, kernel_size, padding)
        self.bn = nn.BatchNorm2d(planes)

    def fuse(self) -> None:
        self.bn = fuse_conv_bn_(self.atrous_conv.regular_conv, self.bn)
        self.atrous_conv.fuse()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.atrous_conv(x)), inplace=True)


class ASPPDeformable(nn.Module):
    """Deformable ASPP: ``(B, C, H, W)`` → ``(B, out, H, W)`` (``out = C`` by default).

    ``y = ReLU(BN1(W_a ∗ [b1, d1, d3, d7] + W_p · g))`` with ``g = ReLU(BN(W_g · mean_HW(x)))``.
    """

    def __init__(self, in_channels: int, out_channels: int | None = None, planes: int = 256,
                 kernel_sizes: tuple[int, ...] = (1, 3, 7)):
        super().__init__()
        out_channels = out_channels or in_channels
        self.aspp1 = ASPPBranch(in_channels, planes, 1, 0)
        self.aspp_deforms = nn.ModuleList(ASPPBranch(in_channels, planes, k, k // 2) for k in kernel_sizes)
        self.global_avg_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_channels, planes, 1, bias=False),
            nn.BatchNorm2d(planes),
            nn.ReLU(inplace=True),
        )
        self.conv1 = nn.Conv2d(planes * (2 + len(kernel_sizes)), out_channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)

    def fuse(self) -> None:
        """Fold all BatchNorms (branches, pool, ``bn1``) into their convs, merge offset convs."""
        for branch in (self.aspp1, *self.aspp_deforms):
            branch.fuse()
        self.global_avg_pool[2] = fuse_conv_bn_(self.global_avg_pool[1], self.global_avg_pool[2])
        self.bn1 = fuse_conv_bn_(self.conv1, self.bn1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = torch.cat([self.aspp1(x), *(b(x) for b in self.aspp_deforms)], dim=1)
        pooled = self.global_avg_pool(x).flatten(1)                     # (B, planes)
        w = self.conv1.weight.flatten(1)                                # (out, 5·planes)
        split = feats.shape[1]
        y = F.conv2d(feats, self.conv1.weight[:, :split], self.conv1.bias)
        y = y + (pooled @ w[:, split:].t()).view(y.shape[0], -1, 1, 1)
        return F.relu(self.bn1(y), inplace=True)
