"""BiRefNet (Swin-v1 backbone) that loads the official checkpoints key for key.

Encoder: the same Swin runs on ``x`` and on ``x↓2`` (bilinear, ``align_corners=True``);
stage ``k`` features are ``xk = [s_k, up(t_k)]``; the deepest becomes
``squeeze([x1↓, x2↓, x3↓, x4])``. The decoder (``decoder.py``) returns the logits.

``variant``: ``lite`` (Swin-T) or ``full`` (Swin-L, as BiRefNet general / RMBG-2.0).
``patch_order``: channel order of the decoder's image patches; ``legacy`` for weights
trained before Nov 2024, ``current`` for today's official code (see ``blocks.stack_patches``).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidmatte.models.birefnet.blocks import BasicDecBlk, resize_to
from vidmatte.models.birefnet.decoder import Decoder
from vidmatte.models.birefnet.swin import swin_v1_l, swin_v1_t

__all__ = ["BiRefNet", "VARIANTS"]

VARIANTS = {"lite": swin_v1_t, "full": swin_v1_l}


class BiRefNet(nn.Module):
    """``model(x (B, 3, H, W) normalised, H, W multiples of 32) → logits (B, 1, H, W)``.

    Keys: ``bb.*`` (Swin), ``squeeze_module.0.*``, ``decoder.*``, exactly as the official
    state dicts (load with ``strict=True``). For speed, after loading call
    ``fuse_for_inference().set_channels_last(True)`` and feed channels-last input
    (on CPU about −8 % and −35 % time respectively; :class:`BiRefNetMatter` does both).
    """

    def __init__(self, variant: str = "lite", patch_order: str = "legacy"):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
        self.variant = variant
        self.bb = VARIANTS[variant]()
        c = [2 * f for f in self.bb.num_features]                  # both passes concatenated
        channels = c[::-1]                                          # deep → shallow
        self.squeeze_module = nn.Sequential(BasicDecBlk(sum(c), channels[0]))
        self.decoder = Decoder(channels, patch_order=patch_order)
        self.fused = False

    @property
    def patch_order(self) -> str:
        return self.decoder.patch_order

    @patch_order.setter
    def patch_order(self, order: str) -> None:
        self.decoder.patch_order = order

    @staticmethod
    def check_size(x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"BiRefNet expects (B, 3, H, W) input, got shape {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % 32 or w % 32 or h == 0 or w == 0:
            raise ValueError(f"BiRefNet input height and width must be multiples of 32, got {h}x{w}; "
                             "resize or pad the image first")

    def encode(self, x: torch.Tensor, taps: Optional[dict] = None) -> tuple[torch.Tensor, ...]:
        """``x`` → ``(x1, x2, x3, x4)`` with ``x4`` already squeezed (decoder inputs)."""
        full = self.bb(x)
        h, w = x.shape[-2:]
        half = self.bb(F.interpolate(x, size=(h // 2, w // 2), mode="bilinear", align_corners=True))
        feats = [torch.cat([s, resize_to(t, s.shape[-2:])], dim=1) for s, t in zip(full, half)]
        size4 = feats[3].shape[-2:]
        ctx = torch.cat([*(resize_to(f, size4) for f in feats[:3]), feats[3]], dim=1)
        out = self.squeeze_module(ctx)
        if taps is not None:
            for i in range(4):
                taps[f"bb_full.x{i + 1}"], taps[f"bb_half.x{i + 1}"] = full[i], half[i]
            taps["enc.x4_cat_ctx"], taps["squeeze.out"] = ctx, out
        return feats[0], feats[1], feats[2], out

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """All named intermediates (``bb_full.x1``, ..., ``squeeze.out``, ``dec.*``, ``logits``)."""
        self.check_size(x)
        taps: dict[str, torch.Tensor] = {}
        x1, x2, x3, x4 = self.encode(x, taps)
        taps["logits"] = self.decoder(x, x1, x2, x3, x4, taps)
        return taps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_size(x)
        x1, x2, x3, x4 = self.encode(x)
        return self.decoder(x, x1, x2, x3, x4)

    def set_channels_last(self, enabled: bool = True) -> "BiRefNet":
        """Convert conv weights (and the patch stacks) to channels-last memory format."""
        self.to(memory_format=torch.channels_last if enabled else torch.contiguous_format)
        self.decoder.channels_last = enabled
        return self

    @torch.no_grad()
    def fuse_for_inference(self) -> "BiRefNet":
        """Fold every eval BatchNorm into the conv before it, merge each deformable conv's
        offset and modulator convs, and fold the output head into ``ipt_blk1``. The state
        dict changes shape afterwards, so load weights first. Returns ``self`` (eval mode)."""
        if not self.fused:
            self.eval()
            for blk in self.squeeze_module:
                blk.fuse()
            self.decoder.fuse()
            if self.decoder.channels_last:
                self.set_channels_last(True)
            self.fused = True
        return self
