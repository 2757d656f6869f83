"""BiRefNet decoder (eval path) with image-patch branches and gradient-attention gates.

With ``P(g)`` the input cut into a ``g × g`` grid stacked on channels and ``up`` a
bilinear ``align_corners=True`` resize::

    p4 = gate4(block4([x4, ipt5(P(32))]))
    p3 = gate3(block3([up(p4) + lat4(x3), ipt4(P(16))]))
    p2 = gate2(block2([up(p3) + lat3(x2), ipt3(P(8))]))
    p1 = block1([up(p2) + lat2(x1), ipt2(P(4))])
    logits = conv_out1([up(p1), ipt1(x)])                              # (B, 1, H, W)

``conv_out1`` is 1×1 and bilinear resizing is linear per channel, so
``W·up(p1) = up(W·p1)``: the head runs on ``p1`` at stride 4 and only one channel is
upsampled (the 96-channel full-size map is never built).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidmatte.models.birefnet.blocks import (
    PATCH_ORDERS,
    BasicDecBlk,
    BasicLatBlk,
    SimpleConvs,
    conv_head,
    fuse_gdt_convs_,
    gdt_convs,
    gradient_gate,
    resize_to,
    stack_patches,
)

__all__ = ["Decoder"]


class Decoder(nn.Module):
    """``forward(x, x1, x2, x3, x4, taps=None) → logits (B, 1, H, W)``.

    ``channels`` = encoder widths deep → shallow, e.g. ``(1536, 768, 384, 192)`` for lite.
    ``taps``: an optional dict that receives intermediates (``dec.block4.out``, ...).
    """

    def __init__(self, channels: Sequence[int], patch_order: str = "legacy", inter: int = 64, gate: int = 16):
        super().__init__()
        ch = list(channels)
        self.patch_order = patch_order
        ipt_in = [3 * 4 ** i for i in (5, 4, 3, 2, 0)]            # 3·g² for g = 32, 16, 8, 4, 1
        ipt_out = [ch[0] // 8, ch[0] // 8, ch[1] // 8, ch[2] // 8, ch[3] // 8]
        dec_out = [ch[1], ch[2], ch[3], ch[3] // 2]
        dec_in = [ch[0] + ipt_out[0], ch[1] + ipt_out[1], ch[2] + ipt_out[2], ch[3] + ipt_out[3]]
        for i, (cin, cout) in enumerate(zip(ipt_in, ipt_out)):
            self.add_module(f"ipt_blk{5 - i}", SimpleConvs(cin, cout, inter))
        for i in range(4):
            self.add_module(f"decoder_block{4 - i}", BasicDecBlk(dec_in[i], dec_out[i], inter))
        self.conv_out1 = conv_head(dec_out[3] + ipt_out[4])
        for i in range(3):
            self.add_module(f"lateral_block{4 - i}", BasicLatBlk(ch[i + 1], dec_out[i]))
        for i in range(3):   # training-only side outputs, kept for strict loading
            self.add_module(f"conv_ms_spvn_{4 - i}", nn.Conv2d(dec_out[i], 1, 1))
        for i in range(3):
            k = 4 - i
            self.add_module(f"gdt_convs_{k}", gdt_convs(dec_out[i], gate))
            self.add_module(f"gdt_convs_pred_{k}", conv_head(gate))    # training-only
            self.add_module(f"gdt_convs_attn_{k}", conv_head(gate))
        self.ipt1_head: Optional[nn.Conv2d] = None
        self.channels_last = False

    @property
    def patch_order(self) -> str:
        return self._patch_order

    @patch_order.setter
    def patch_order(self, order: str) -> None:
        if order not in PATCH_ORDERS:
            raise ValueError(f"patch_order must be one of {PATCH_ORDERS}, got {order!r}")
        self._patch_order = order

    def fuse(self) -> None:
        """Fold every BatchNorm; fold ``conv_out1``'s image half into ``ipt_blk1.conv_out``."""
        for k in (4, 3, 2, 1):
            getattr(self, f"decoder_block{k}").fuse()
        for k in (4, 3, 2):
            fuse_gdt_convs_(getattr(self, f"gdt_convs_{k}"))
        if self.ipt1_head is None:
            co, head = self.ipt_blk1.conv_out, self.conv_out1[0]
            wb = head.weight[:, -co.out_channels:, 0, 0].double()                 # (1, 24)
            w = torch.einsum("oc,cikl->oikl", wb, co.weight.double())
            b = wb @ co.bias.double() + head.bias.double()
            conv = nn.Conv2d(co.in_channels, 1, 3, padding=1).to(co.weight.device)
            conv.weight = nn.Parameter(w.to(co.weight.dtype), requires_grad=False)
            conv.bias = nn.Parameter(b.to(co.weight.dtype), requires_grad=False)
            self.ipt1_head = conv

    def _patches(self, x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        grid = (x.shape[-2] // ref.shape[-2], x.shape[-1] // ref.shape[-1])
        return stack_patches(x, grid, self._patch_order, channels_last=self.channels_last)

    def forward(self, x: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, x3: torch.Tensor,
                x4: torch.Tensor, taps: Optional[dict] = None) -> torch.Tensor:
        def tap(name: str, t: torch.Tensor) -> None:
            if taps is not None:
                taps[name] = t

        d = x4
        lats = (None, x3, x2, x1)
        p = None
        for level, (k, lat) in enumerate(zip((4, 3, 2, 1), lats)):
            if lat is not None:
                d = resize_to(p, lat.shape[-2:]) + getattr(self, f"lateral_block{k + 1}")(lat)
            ipt = getattr(self, f"ipt_blk{k + 1}")(self._patches(x, d))
            tap(f"dec.ipt_blk{k + 1}.out", ipt)
            p = getattr(self, f"decoder_block{k}")(torch.cat([d, ipt], dim=1))
            tap(f"dec.block{k}.out", p)
            if k > 1:
                p, a = gradient_gate(p, getattr(self, f"gdt_convs_{k}"), getattr(self, f"gdt_convs_attn_{k}"))
                tap(f"dec.gdt_attn_{k}.logit", a)
        head = self.conv_out1[0]
        wa = head.weight[:, : p.shape[1]]
        logits = resize_to(F.conv2d(p, wa), x.shape[-2:])
        if self.ipt1_head is not None:
            img = self.ipt1_head(self.ipt_blk1.conv1(x))
        else:
            img = F.conv2d(self.ipt_blk1(x), head.weight[:, p.shape[1]:], head.bias)
        return logits + img
