"""Swin Transformer v1, detection-style (pad, never crop), as BiRefNet's backbone.

Tokens travel as ``(B, H, W, C)`` tensors (channels-last), so the stage outputs come
out as NCHW views with channels-last strides at no copy. Module names mirror the
official checkpoints (``patch_embed``, ``layers.i.blocks.j.attn.qkv``, ``norm0..3``).

Window attention per window of ``N = ws²`` tokens and head ``h``:
``softmax(q kᵀ / √d + B_h + M) v`` with ``B_h = table[index]`` the relative-position
bias and ``M`` the 0/−inf shift mask; run through ``F.scaled_dot_product_attention``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "relative_position_index",
    "shift_region_mask",
    "window_partition",
    "window_reverse",
    "window_attention_plain",
    "WindowAttention",
    "SwinBlock",
    "PatchMerging",
    "PatchEmbed",
    "SwinStage",
    "SwinTransformer",
    "swin_v1_t",
    "swin_v1_l",
]


def relative_position_index(ws: int) -> torch.Tensor:
    """``(N, N)`` int64 table, ``N = ws²``: for tokens ``i, j`` at (row, col) in a window,
    ``(r_i − r_j + ws − 1)·(2ws − 1) + (c_i − c_j + ws − 1)``."""
    r, c = torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")
    r, c = r.flatten(), c.flatten()
    dr = r[:, None] - r[None, :] + ws - 1
    dc = c[:, None] - c[None, :] + ws - 1
    return dr * (2 * ws - 1) + dc


@lru_cache(maxsize=64)
def shift_region_mask(hp: int, wp: int, ws: int, shift: int, device: torch.device,
                      dtype: torch.dtype) -> torch.Tensor:
    """Additive shift mask ``(nW, N, N)`` for a padded ``hp × wp`` canvas (cached).

    Each axis splits into ``[0, L−ws)``, ``[L−ws, L−shift)``, ``[L−shift, L)``; the 3×3
    region labels of two tokens in one window must match, else the pair gets ``−inf``.
    """
    def labels(n: int) -> torch.Tensor:
        lab = torch.zeros(n, dtype=torch.int64)
        lab[n - ws:] = 1
        lab[n - shift:] = 2
        return lab

    region = labels(hp)[:, None] * 3 + labels(wp)[None, :]               # (hp, wp)
    win = window_partition(region[None, :, :, None], ws).squeeze(-1)     # (nW, N)
    same = win[:, :, None] == win[:, None, :]
    mask = torch.zeros(same.shape, dtype=dtype).masked_fill_(~same, float("-inf"))
    return mask.to(device)


def window_partition(x: torch.Tensor, ws: int) -> torch.Tensor:
    """``(B, H, W, C)`` with H, W multiples of ``ws`` → ``(B·nW, ws², C)``; windows in
    (batch, window row, window column) order, tokens row-major inside a window."""
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, c)


def window_reverse(windows: torch.Tensor, ws: int, b: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: ``(B·nW, ws², C)`` → ``(B, H, W, C)``."""
    c = windows.shape[-1]
    x = windows.view(b, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, w, c)


def window_attention_plain(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor,
                           mask: torch.Tensor | None = None) -> torch.Tensor:
    """``softmax(q kᵀ / √d + B + M) v`` written out, the traceable (ONNX) form.

    ``q, k, v: (B·nW, nH, N, d)``, ``bias: (1, nH, N, N)``, ``mask: (nW, N, N)`` or None.
    The shift mask is broadcast over a ``(B, nW, nH, N, N)`` view instead of being
    repeated ``B`` times, so the batch can stay dynamic in an export and the graph holds
    the ``(nW, N, N)`` mask once, not a ``(nW, nH, N, N)`` sum per block.
    """
    bw, heads, n, d = q.shape
    a = torch.matmul(q * d ** -0.5, k.transpose(-2, -1)) + bias.to(q.dtype)
    if mask is not None:
        nw = mask.shape[0]
        a = (a.view(-1, nw, heads, n, n) + mask.to(q.dtype).view(1, nw, 1, n, n)).view(-1, heads, n, n)
    return torch.matmul(torch.softmax(a, dim=-1), v)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows with a learnt relative-position bias.

    ``forward(x (B', N, C), mask (nW, N, N) | None) → (B', N, C)``; ``B' = B·nW``.
    """

    def __init__(self, dim: int, window_size: int, num_heads: int):
        super().__init__()
        self.dim, self.ws, self.num_heads = dim, window_size, num_heads
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size))
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self._bias_cache: tuple | None = None

    def position_bias(self, dtype: torch.dtype) -> torch.Tensor:
        """``(1, nH, N, N)`` bias ``table[index]``; cached until the table changes."""
        t, idx = self.relative_position_bias_table, self.relative_position_index
        key = (t.device, dtype, t.data_ptr(), t._version, idx.data_ptr(), idx._version)
        if self._bias_cache is not None and self._bias_cache[0] == key and not torch.is_grad_enabled():
            return self._bias_cache[1]
        n = self.ws * self.ws
        bias = t[idx.view(-1)].view(n, n, -1).permute(2, 0, 1).unsqueeze(0).to(dtype).contiguous()
        if not torch.is_grad_enabled():
            self._bias_cache = (key, bias)
        return bias

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        bw, n, c = x.shape
        heads = self.num_heads
        qkv = self.qkv(x).view(bw, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)                                  # (B', nH, N, d)
        attn_mask = self.position_bias(q.dtype)                  # (1, nH, N, N)
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            out = window_attention_plain(q, k, v, attn_mask, mask)
            return self.proj(out.transpose(1, 2).reshape(bw, n, c))
        if mask is not None:
            nw = mask.shape[0]
            attn_mask = attn_mask + mask.to(q.dtype).unsqueeze(1)   # (nW, nH, N, N)
            if bw != nw:
                attn_mask = attn_mask.repeat(bw // nw, 1, 1, 1)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.proj(out.transpose(1, 2).reshape(bw, n, c))


class Mlp(nn.Module):
    """``fc2(GELU(fc1(x)))`` with exact (erf) GELU."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class SwinBlock(nn.Module):
    """One (shifted-)window block on ``(B, H, W, C)`` tokens.

    ``x ← x + crop(unroll(WA(roll(pad(LN1(x))))))``, then ``x ← x + MLP(LN2(x))``.
    Padding comes after the norm (pad tokens are exact zeros, not masked as keys).
    """

    def __init__(self, dim: int, num_heads: int, window_size: int, shift: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.ws, self.shift = window_size, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window_size, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        ws, s = self.ws, self.shift
        hp, wp = math.ceil(h / ws) * ws, math.ceil(w / ws) * ws
        y = self.norm1(x)
        if hp != h or wp != w:
            y = F.pad(y, (0, 0, 0, wp - w, 0, hp - h))
        mask = None
        if s:
            y = torch.roll(y, shifts=(-s, -s), dims=(1, 2))
            mask = shift_region_mask(hp, wp, ws, s, y.device, y.dtype)
        y = self.attn(window_partition(y, ws), mask)
        y = window_reverse(y, ws, b, hp, wp)
        if s:
            y = torch.roll(y, shifts=(s, s), dims=(1, 2))
        if hp != h or wp != w:
            y = y[:, :h, :w]
        x = x + y
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """``(B, H, W, C)`` → ``(B, ⌈H/2⌉, ⌈W/2⌉, 2C)``: zero-pad odd sides, concat the 2×2
    phases (even,even), (odd,even), (even,odd), (odd,odd), LayerNorm(4C), Linear (no bias)."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        if h % 2 or w % 2:
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
            h, w = h + h % 2, w + w % 2
        # (B, h/2, 2[row phase], w/2, 2[col phase], C) → (B, h/2, w/2, col, row, C)
        x = x.view(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 4, 2, 5).reshape(b, h // 2, w // 2, 4 * c)
        return self.reduction(self.norm(x))


class PatchEmbed(nn.Module):
    """``(B, 3, H, W)`` → ``(B, H/4, W/4, C)``: zero-pad to multiples of 4, 4×4/4 conv, LayerNorm."""

    def __init__(self, embed_dim: int, patch_size: int = 4, in_channels: int = 3):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, embed_dim, patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.patch_size
        h, w = x.shape[-2:]
        if h % p or w % p:
            x = F.pad(x, (0, (-w) % p, 0, (-h) % p))
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class SwinStage(nn.Module):
    """``depth`` blocks (odd ones shifted by ``ws // 2``) and an optional PatchMerging.

    ``forward(x) → (stage output, input of the next stage)``.
    """

    def __init__(self, dim: int, depth: int, num_heads: int, window_size: int, downsample: bool):
        super().__init__()
        self.blocks = nn.ModuleList(
            SwinBlock(dim, num_heads, window_size, 0 if i % 2 == 0 else window_size // 2)
            for i in range(depth))
        self.downsample = PatchMerging(dim) if downsample else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for blk in self.blocks:
            x = blk(x)
        return x, (self.downsample(x) if self.downsample is not None else x)


class SwinTransformer(nn.Module):
    """Four-stage Swin-v1 backbone; ``forward(x (B,3,H,W))`` returns the four normed stage
    outputs ``(B, C·2^i, H/2^(i+2), W/2^(i+2))`` (NCHW views, channels-last strides)."""

    def __init__(self, embed_dim: int, depths: Sequence[int], num_heads: Sequence[int], window_size: int):
        super().__init__()
        self.window_size = window_size
        self.num_features = [embed_dim * 2 ** i for i in range(len(depths))]
        self.patch_embed = PatchEmbed(embed_dim)
        self.layers = nn.ModuleList(
            SwinStage(self.num_features[i], depths[i], num_heads[i], window_size, i < len(depths) - 1)
            for i in range(len(depths)))
        for i, c in enumerate(self.num_features):
            self.add_module(f"norm{i}", nn.LayerNorm(c))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.patch_embed(x)
        outs = []
        for i, layer in enumerate(self.layers):
            out, x = layer(x)
            outs.append(getattr(self, f"norm{i}")(out).permute(0, 3, 1, 2))
        return tuple(outs)


def swin_v1_t() -> SwinTransformer:
    """Swin-T: embed 96, depths 2/2/6/2, heads 3/6/12/24, window 7 (BiRefNet lite)."""
    return SwinTransformer(96, (2, 2, 6, 2), (3, 6, 12, 24), 7)


def swin_v1_l() -> SwinTransformer:
    """Swin-L: embed 192, depths 2/2/18/2, heads 6/12/24/48, window 12 (BiRefNet full)."""
    return SwinTransformer(192, (2, 2, 18, 2), (6, 12, 24, 48), 12)
