"""Colour conversions of frames: RGB → YUV 4:2:0 (BT.709), sRGB ↔ linear, premultiply, to_uint8.

Every function takes numpy arrays or torch tensors (any device) and returns the same kind.

**YUV.** The video sink accepts a :class:`Yuv420` instead of an RGB image: the pipeline can
convert on its device, download half the bytes (1.5 instead of 3 per pixel) and skip
FFmpeg's swscale on the CPU. Maths (ITU-R BT.709, ``R, G, B`` in [0, 1])::

    Y' = 0.2126 R + 0.7152 G + 0.0722 B
    Pb = (B - Y') / 1.8556,     Pr = (R - Y') / 1.5748
    Y  = 16 + 219 Y',   Cb = 128 + 224 Pb,   Cr = 128 + 224 Pr      (8-bit, limited range)

Chroma is the mean of each 2×2 block (centre siting); an odd last row/column is
replicated before averaging, so chroma planes are ``ceil(H/2) × ceil(W/2)``.

**Transfer.** sRGB (IEC 61966-2-1) piecewise curve: ``lin = c/12.92`` for ``c <= 0.04045``,
else ``((c + 0.055)/1.055)^2.4``; EXR holds linear light, 8-bit files hold sRGB.

Example:
    >>> import numpy as np
    >>> from vidmatte.ops.color import srgb_to_linear, linear_to_srgb, to_uint8
    >>> x = np.array([0.0, 0.5, 1.0], np.float32)
    >>> to_uint8(linear_to_srgb(srgb_to_linear(x))).tolist()
    [0, 128, 255]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Yuv420", "rgb_to_yuv420", "RgbToYuv420", "KR", "KB", "srgb_to_linear", "linear_to_srgb",
           "premultiply", "to_uint8"]

KR, KB = 0.2126, 0.0722
KG = 1.0 - KR - KB


@dataclass
class Yuv420:
    """Planar 8-bit YUV 4:2:0, BT.709 limited range.

    Attributes:
        y: ``(H, W)`` uint8 luma (``(B, H, W)`` when batched, as returned by :func:`rgb_to_yuv420`).
        u: ``(ceil(H/2), ceil(W/2))`` uint8 Cb (batched: leading ``B``).
        v: same shape as ``u``, Cr.
    Planes may be numpy arrays or torch tensors (any device); :meth:`numpy` brings them home.
    """

    y: Any
    u: Any
    v: Any

    @property
    def height(self) -> int:
        return int(self.y.shape[-2])

    @property
    def width(self) -> int:
        return int(self.y.shape[-1])

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` like an image's leading dims, so ``Frame.size`` keeps working."""
        return self.height, self.width

    def numpy(self) -> "Yuv420":
        """The same planes as contiguous numpy uint8 arrays (one device→host copy each)."""
        conv = [p.detach().cpu().numpy() if isinstance(p, torch.Tensor) else np.asarray(p) for p in (self.y, self.u, self.v)]
        return Yuv420(*(np.ascontiguousarray(p, dtype=np.uint8) for p in conv))

    def unbind(self) -> list["Yuv420"]:
        """Split batched planes ``(B, ...)`` into ``B`` single-frame numpy :class:`Yuv420`."""
        if np.ndim(self.y) == 2:
            return [self.numpy()]
        host = self.numpy()
        return [Yuv420(host.y[i], host.u[i], host.v[i]) for i in range(host.y.shape[0])]


@functools.lru_cache(maxsize=16)
def _matrix(scale: float, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows mapping RGB (times ``scale``) to Y - 16 and (Cb, Cr) - 128 in 8-bit levels; built
    once per device (a tensor copied from the host on every call waits for the CUDA stream)."""
    wy = torch.tensor([KR, KG, KB], dtype=torch.float64) * 219.0
    cb = torch.tensor([-KR, -KG, 1.0 - KB], dtype=torch.float64) * (224.0 / (2.0 * (1.0 - KB)))
    cr = torch.tensor([1.0 - KR, -KG, -KB], dtype=torch.float64) * (224.0 / (2.0 * (1.0 - KR)))
    return (wy * scale).to(device, dtype), (torch.stack([cb, cr]) * scale).to(device, dtype)


def rgb_to_yuv420(rgb: Union[torch.Tensor, np.ndarray]) -> Yuv420:
    """``(B,3,H,W)`` RGB (uint8, or float in [0, 1]) → batched :class:`Yuv420` on the same device.

    Returns planes ``y (B,H,W)``, ``u, v (B,ceil(H/2),ceil(W/2))`` as uint8 tensors. Values are
    rounded half up; with inputs in [0, 1] every result lies in [16, 240], so no clamp is needed.
    """
    if isinstance(rgb, np.ndarray):
        rgb = torch.from_numpy(np.ascontiguousarray(rgb))
    if rgb.ndim == 3:
        rgb = rgb.unsqueeze(0)
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"expected (B,3,H,W) RGB, got shape {tuple(rgb.shape)}")
    if rgb.dtype == torch.uint8:
        x, scale = rgb.float(), 1.0 / 255.0  # the 1/255 is folded into the matrix
    else:
        x, scale = rgb.float().clamp(0.0, 1.0), 1.0
    wy, wuv = _matrix(scale, x.device, x.dtype)
    # einsum runs as one matrix product: far cheaper than per-channel arithmetic on CPU
    y = torch.einsum("bchw,c->bhw", x, wy).add_(16.5).to(torch.uint8)
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
    uv = torch.einsum("bchw,kc->bkhw", F.avg_pool2d(x, kernel_size=2, stride=2), wuv).add_(128.5).to(torch.uint8)
    return Yuv420(y, uv[:, 0], uv[:, 1])


class RgbToYuv420(nn.Module):
    """Module wrapper of :func:`rgb_to_yuv420`: ``(B,3,H,W)`` → :class:`Yuv420` (batched)."""

    def forward(self, rgb: torch.Tensor) -> Yuv420:  # type: ignore[override]
        return rgb_to_yuv420(rgb)


def srgb_to_linear(x):
    """sRGB-encoded values in [0, 1] → linear light (numpy float32, or a tensor in its dtype)."""
    if isinstance(x, torch.Tensor):
        return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    x = np.asarray(x, np.float32)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x):
    """Linear light → sRGB-encoded values; input clipped to [0, 1] first."""
    if isinstance(x, torch.Tensor):
        x = x.clamp(0.0, 1.0)
        return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)
    x = np.clip(np.asarray(x, np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


def premultiply(rgba):
    """Straight ``(..., 4)`` RGBA → colour multiplied by alpha (uint8: rounded; float: exact).

    uint8 uses ``(c * a + 127) // 255``; floating input is taken as alpha in [0, 1].
    """
    if isinstance(rgba, torch.Tensor):
        if rgba.dtype == torch.uint8:
            rgb = (rgba[..., :3].to(torch.int32) * rgba[..., 3:] + 127) // 255
            return torch.cat([rgb.to(torch.uint8), rgba[..., 3:]], dim=-1)
        return torch.cat([rgba[..., :3] * rgba[..., 3:], rgba[..., 3:]], dim=-1)
    a = np.asarray(rgba)
    if a.dtype == np.uint8:
        rgb = (a[..., :3].astype(np.uint16) * a[..., 3:] + 127) // 255
        return np.concatenate([rgb.astype(np.uint8), a[..., 3:]], axis=-1)
    if a.dtype == np.uint16:
        rgb = (a[..., :3].astype(np.uint32) * a[..., 3:] + 32767) // 65535
        return np.concatenate([rgb.astype(np.uint16), a[..., 3:]], axis=-1)
    return np.concatenate([a[..., :3] * a[..., 3:], a[..., 3:]], axis=-1)


def to_uint8(x):
    """Float in [0, 1] → uint8 with round-half-up (numpy or torch)."""
    if isinstance(x, torch.Tensor):
        return x.mul(255.0).add_(0.5).clamp_(0, 255).to(torch.uint8)
    return np.floor(np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
