"""Grey-level dilation and erosion of ``(B,C,H,W)`` tensors over square windows.

``dilate(x, r)[..., i, j] = max`` of ``x`` over the ``(2r+1) x (2r+1)`` window centred on
``(i, j)`` (edges clamped: the border repeats); ``erode`` is the minimum. Sliding extrema
by doubling: ``log2(2r+1) + 1`` element-wise maxima per axis, where ``max_pool2d`` with a
large stride-1 window is slow on the CPU. Any device, any real dtype.

Example:
    >>> import torch
    >>> from vidmatte.ops import dilate, erode
    >>> x = torch.zeros(1, 1, 5, 5); x[..., 2, 2] = 1.0
    >>> int(dilate(x, 1).sum()), int(erode(dilate(x, 1), 1).sum())
    (9, 1)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["dilate", "erode", "Dilate", "Erode"]


def _check(x: torch.Tensor, r: int) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"morphology expects a (B,C,H,W) tensor, got {shape}")
    if int(r) != r or r < 0:
        raise ValueError(f"morphology radius must be an integer >= 0, got {r!r}")


def dilate(x: torch.Tensor, r: int) -> torch.Tensor:
    """Maximum over the ``(2r+1)^2`` window of ``(B,C,H,W)`` ``x``; ``r = 0`` returns ``x``."""
    _check(x, r)
    r = int(r)
    if r == 0:
        return x
    k = 2 * r + 1
    for dim, pad in ((-2, (0, 0, r, r)), (-1, (r, r, 0, 0))):
        n = x.shape[dim]
        y = F.pad(x, pad, mode="replicate")
        width = 1
        while 2 * width <= k:  # y[i] = max of the `width` values from i
            y = torch.maximum(y.narrow(dim, 0, y.shape[dim] - width), y.narrow(dim, width, y.shape[dim] - width))
            width *= 2
        if width < k:  # two overlapping windows of `width` cover k
            y = torch.maximum(y.narrow(dim, 0, n), y.narrow(dim, k - width, n))
        x = y.narrow(dim, 0, n)
    return x


def erode(x: torch.Tensor, r: int) -> torch.Tensor:
    """Minimum over the ``(2r+1)^2`` window of ``(B,C,H,W)`` ``x`` (``-dilate(-x, r)``)."""
    _check(x, r)
    return x if int(r) == 0 else dilate(x.neg(), r).neg_()


class Dilate(nn.Module):
    """Module form of :func:`dilate`."""

    def __init__(self, radius: int):
        super().__init__()
        self.radius = int(radius)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dilate(x, self.radius)

    def extra_repr(self) -> str:
        return f"radius={self.radius}"


class Erode(Dilate):
    """Module form of :func:`erode`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return erode(x, self.radius)
