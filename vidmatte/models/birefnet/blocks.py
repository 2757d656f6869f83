"""BiRefNet decoder building blocks and the image-patch stacking.

* :func:`stack_patches` cuts an image into a ``gh × gw`` grid and stacks the tiles on
  channels, in the ``current`` (``c p q``) or ``legacy`` (``q p c``) channel order.
* :class:`BasicDecBlk`: ``BN(conv3(ASPPDeformable(ReLU(BN(conv3(x))))))``.
* :class:`BasicLatBlk`: a 1×1 conv. :class:`SimpleConvs`: two 3×3 convs, no activation.
* Gradient-attention gate: ``p · σ(attn(ReLU(BN(conv3(p)))))``.
"""

from __future__ import annotations

from typing import Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidmatte.models.birefnet.deform import ASPPDeformable, fuse_conv_bn_

__all__ = [
    "PATCH_ORDERS",
    "stack_patches",
    "resize_to",
    "BasicDecBlk",
    "BasicLatBlk",
    "SimpleConvs",
    "gdt_convs",
    "conv_head",
    "gradient_gate",
    "fuse_gdt_convs_",
]

PATCH_ORDERS = ("current", "legacy")
# Channel order of the stacked tiles, as dims of the (B, C, p, h, q, w) view.
_ORDER_DIMS = {"current": (1, 2, 4), "legacy": (4, 2, 1)}


def stack_patches(x: torch.Tensor, grid: Union[int, Sequence[int]], order: str = "current",
                  channels_last: bool = False) -> torch.Tensor:
    """``(B, C, H, W)`` → ``(B, C·gh·gw, H/gh, W/gw)``, one reshape/permute copy.

    Tile at grid row ``p``, column ``q`` and colour ``c`` lands on channel
    ``c·gh·gw + p·gw + q`` (``current``) or ``(q·gh + p)·C + c`` (``legacy``).
    ``channels_last`` returns the result with channels-last strides.
    """
    if order not in _ORDER_DIMS:
        raise ValueError(f"patch order must be one of {PATCH_ORDERS}, got {order!r}")
    gh, gw = (grid, grid) if isinstance(grid, int) else (int(grid[0]), int(grid[1]))
    b, c, hh, ww = x.shape
    if hh % gh or ww % gw:
        raise ValueError(f"image {hh}x{ww} does not split into a {gh}x{gw} grid")
    h, w = hh // gh, ww // gw
    t = x.reshape(b, c, gh, h, gw, w)
    dims = _ORDER_DIMS[order]
    if channels_last:
        return t.permute(0, 3, 5, *dims).reshape(b, h, w, c * gh * gw).permute(0, 3, 1, 2)
    return t.permute(0, *dims, 3, 5).reshape(b, c * gh * gw, h, w)


def resize_to(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Bilinear resize (``align_corners=True``, no antialias); identity sizes skip the copy."""
    size = (int(size[0]), int(size[1]))
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class BasicDecBlk(nn.Module):
    """``(B, in, H, W)`` → ``(B, out, H, W)``: conv3 → BN → ReLU → ASPPDeformable → conv3 → BN."""

    def __init__(self, in_channels: int, out_channels: int, inter_channels: int = 64):
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, inter_channels, 3, padding=1)
        self.dec_att = ASPPDeformable(inter_channels)
        self.conv_out = nn.Conv2d(inter_channels, out_channels, 3, padding=1)
        self.bn_in = nn.BatchNorm2d(inter_channels)
        self.bn_out = nn.BatchNorm2d(out_channels)

    def fuse(self) -> None:
        self.bn_in = fuse_conv_bn_(self.conv_in, self.bn_in)
        self.bn_out = fuse_conv_bn_(self.conv_out, self.bn_out)
        self.dec_att.fuse()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn_in(self.conv_in(x)), inplace=True)
        return self.bn_out(self.conv_out(self.dec_att(x)))


class BasicLatBlk(nn.Module):
    """Lateral 1×1 conv with bias."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SimpleConvs(nn.Module):
    """Image branch: ``conv_out(conv1(x))``, two 3×3 convs with no nonlinearity between."""

    def __init__(self, in_channels: int, out_channels: int, inter_channels: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, inter_channels, 3, padding=1)
        self.conv_out = nn.Conv2d(inter_channels, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_out(self.conv1(x))


def gdt_convs(in_channels: int, mid: int = 16) -> nn.Sequential:
    """Gate trunk ``[conv3 (in → mid), BN, ReLU]`` (keys ``.0.*``, ``.1.*``)."""
    return nn.Sequential(nn.Conv2d(in_channels, mid, 3, padding=1), nn.BatchNorm2d(mid), nn.ReLU(inplace=True))


def conv_head(in_channels: int, out_channels: int = 1) -> nn.Sequential:
    """``[conv1×1]`` in a Sequential (key ``.0.*``), as the gate and output heads are stored."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1))


def fuse_gdt_convs_(trunk: nn.Sequential) -> None:
    """Fold the trunk's BatchNorm into its conv (in place)."""
    trunk[1] = fuse_conv_bn_(trunk[0], trunk[1])


def gradient_gate(p: torch.Tensor, trunk: nn.Module, attn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """``(p · σ(a), a)`` with ``a = attn(trunk(p))`` of shape ``(B, 1, H, W)`` (pre-sigmoid)."""
    a = attn(trunk(p))
    return p * torch.sigmoid(a), a
