"""Resampling ``(B,C,H,W)`` tensors: bilinear (half-pixel centres) or area (mean over each
source footprint, for shrinking).

``resize(x, size, "bilinear")`` equals ``F.interpolate(x, size, mode="bilinear",
align_corners=False)`` and ``"area"`` equals ``mode="area"``; with ``backend="auto"`` float32
CPU tensors go through ``cv2.resize`` (INTER_LINEAR / INTER_AREA) plane by plane instead,
several times faster than torch's CPU kernels and equal up to float rounding, except when
shrinking by a non-integer factor: OpenCV's area mode weighs the partly covered source
pixels, torch's averages whole ones (both keep the mean; single pixels differ by a few %).
"""

from __future__ import annotations

import cv2
import torch
import torch.nn.functional as F
from torch import nn

from vidmatte.checks import check_bchw
from vidmatte.ops.twins import host_twin

__all__ = ["resize", "Resize", "use_cv2"]

_MODES = {"bilinear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}


def use_cv2(t: torch.Tensor, backend: str) -> bool:
    """Whether ``backend`` (``"auto"`` or ``"torch"``) means OpenCV for tensor ``t`` (float32 on the CPU)."""
    return host_twin(backend, t)


def resize(x: torch.Tensor, size: tuple[int, int], mode: str = "bilinear", backend: str = "auto") -> torch.Tensor:
    """``x`` ``(B,C,H,W)`` floating → ``(B,C,h,w)`` with ``size = (h, w)``, same dtype and device."""
    check_bchw(x, "resize: x")
    if mode not in _MODES:
        raise ValueError(f"resize mode must be one of {', '.join(_MODES)}, got {mode!r}")
    h, w = int(size[0]), int(size[1])
    if h < 1 or w < 1:
        raise ValueError(f"resize: size must be positive, got {size}")
    if (h, w) == tuple(x.shape[-2:]):
        return x
    if use_cv2(x, backend):
        src = x.contiguous().numpy()
        out = torch.empty((*x.shape[:2], h, w), dtype=x.dtype)
        dst = out.numpy()
        for b in range(x.shape[0]):
            for c in range(x.shape[1]):
                dst[b, c] = cv2.resize(src[b, c], (w, h), interpolation=_MODES[mode])
        return out
    if mode == "area":
        return F.interpolate(x, size=(h, w), mode="area")
    return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)


class Resize(nn.Module):
    """Module form of :func:`resize`."""

    def __init__(self, size: tuple[int, int], mode: str = "bilinear", backend: str = "auto"):
        super().__init__()
        self.size, self.mode, self.backend = size, mode, backend

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return resize(x, self.size, self.mode, self.backend)
