"""Box (mean) filter with OpenCV's BORDER_REFLECT_101 border, O(1) per pixel.

``box_blur(x, r)[..., i, j]`` is the mean of ``x`` over the ``(2r+1) x (2r+1)`` window
centred on ``(i, j)``, the image extended by mirroring without repeating the edge
(``dcb|abcd|cba``), exactly what ``cv2.blur(img, (2r+1, 2r+1),
borderType=cv2.BORDER_REFLECT_101)`` computes. Windows wider than the image keep
mirroring (the extension is periodic with period ``2(n-1)``), again as OpenCV does.

The filter is separable; each 1-D pass pads, takes a running (prefix) sum in place and
subtracts two shifted views of it::

    S[k] = sum_{m <= k} xp[m]        out[i] = (S[i + 2r] - S[i - 1]) / (2r + 1)

so the cost does not depend on ``r``. Prefix sums of float32 values in [0, 1] over a
1080p row stay below ~2100, so the rounding error of the result is ~1e-5 at worst (r=1)
and ~1e-6 for wide windows, and for non-negative input the result stays non-negative (a
prefix sum never decreases). Half precision inputs are summed in float32 and cast back.

On the CPU (float32/float64) ``backend="auto"`` hands the planes to :func:`vidmatte.ops.box_np.box_mean` instead,
writing into the output tensor: the same numbers (OpenCV sums rows in float64), about five
times faster than torch's CPU prefix sums. ``backend="torch"`` forces the tensor code,
which is what runs on GPUs.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidmatte.ops.box_np import box_mean
from vidmatte.ops.twins import host_twin

__all__ = ["box_blur", "BoxBlur", "reflect101_index"]

_CHUNK_ELEMENTS = 1 << 21  # ~8 MB of float32 per scratch buffer


def reflect101_index(n: int, r: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Source indices of the positions ``-r .. n-1+r`` under repeated reflect-101 mirroring.

    Returns a long tensor of length ``n + 2r`` with values in ``[0, n)``.
    """
    i = torch.arange(-r, n + r, device=device)
    if n == 1:
        return torch.zeros_like(i)
    period = 2 * (n - 1)
    i = torch.remainder(i, period)
    return torch.where(i >= n, period - i, i)


def _fill_border(buf: torch.Tensor, r: int, dim: int) -> None:
    """Mirror (reflect-101) the interior of ``buf`` into its ``r``-wide borders, in place."""
    n = buf.shape[dim] - 2 * r
    if r <= n - 1:
        # left: positions r-1..0 take interior 1..r; right: n+r..n+2r-1 take n-2..n-1-r
        buf.narrow(dim, 0, r).copy_(buf.narrow(dim, r + 1, r).flip(dim))
        buf.narrow(dim, n + r, r).copy_(buf.narrow(dim, n - 1, r).flip(dim))
    else:  # window wider than the image: keep mirroring (periodic extension)
        idx = reflect101_index(n, r, buf.device) + r
        border = torch.cat([idx[:r], idx[n + r:]])
        vals = buf.index_select(dim, border)
        buf.narrow(dim, 0, r).copy_(vals.narrow(dim, 0, r))
        buf.narrow(dim, n + r, r).copy_(vals.narrow(dim, r, r))


def _window_sum(buf: torch.Tensor, r: int, dim: int, out: torch.Tensor) -> None:
    """``out`` = sums over ``2r+1`` windows along ``dim`` of the padded ``buf`` (clobbers it)."""
    n = out.shape[dim]
    k = 2 * r + 1
    torch.cumsum(buf, dim, out=buf)  # in place: no second large allocation
    out.narrow(dim, 0, 1).copy_(buf.narrow(dim, k - 1, 1))
    if n > 1:
        torch.sub(buf.narrow(dim, k, n - 1), buf.narrow(dim, 0, n - 1), out=out.narrow(dim, 1, n - 1))


def _box_planes(x: torch.Tensor, ry: int, rx: int) -> torch.Tensor:
    """Box mean of ``(N,H,W)`` planes, a few planes at a time.

    Working on chunks of about 8 MB keeps the scratch buffers in cache and small enough
    for the C allocator to recycle them (large blocks are mapped fresh from the OS on
    every call, and touching fresh pages costs more than the arithmetic).
    """
    n, h, w = x.shape
    out = x.new_empty((n, h, w))
    step = max(1, _CHUNK_ELEMENTS // (h * w)) if x.device.type == "cpu" else n
    hbuf = x.new_empty((min(step, n), h + 2 * ry, w)) if ry else None
    wbuf = x.new_empty((min(step, n), h, w + 2 * rx)) if rx else None
    scale = 1.0 / ((2 * ry + 1) * (2 * rx + 1))
    for start in range(0, n, step):
        c = min(step, n - start)
        src, dst = x[start : start + c], out[start : start + c]
        wb = wbuf[:c] if rx else None
        if ry:
            hb = hbuf[:c]
            hb.narrow(-2, ry, h).copy_(src)
            _fill_border(hb, ry, -2)
            _window_sum(hb, ry, -2, wb.narrow(-1, rx, w) if rx else dst)
        elif rx:
            wb.narrow(-1, rx, w).copy_(src)
        if rx:
            _fill_border(wb, rx, -1)
            _window_sum(wb, rx, -1, dst)
        dst.mul_(scale)
    return out


def _radii(radius) -> tuple[int, int]:
    pair = tuple(radius) if isinstance(radius, (tuple, list)) else (radius, radius)
    if len(pair) != 2 or not all(isinstance(r, (int, np.integer)) and not isinstance(r, bool) and r >= 0 for r in pair):
        raise ValueError(f"box_blur radius must be an integer >= 0 or a pair of them, got {radius!r}")
    return int(pair[0]), int(pair[1])


def _box_planes_cv2(x: torch.Tensor, ry: int, rx: int) -> torch.Tensor:
    """``cv2.blur`` of each contiguous CPU plane of ``(N,H,W)``, written into the output."""
    out = torch.empty_like(x)
    for src, dst in zip(x.numpy(), out.numpy()):
        res = box_mean(src, (2 * ry + 1, 2 * rx + 1), dst=dst)
        if res.ctypes.data != dst.ctypes.data:  # OpenCV chose a new buffer: keep the result
            dst[...] = res
    return out


def box_blur(x: torch.Tensor, radius: int | tuple[int, int], backend: str = "auto") -> torch.Tensor:
    """Mean over a ``(2r+1) x (2r+1)`` window with reflect-101 borders.

    Args:
        x: ``(B,C,H,W)`` or ``(C,H,W)`` floating tensor, any device.
        radius: ``r >= 0``, or ``(r_y, r_x)``. ``0`` returns a copy. Any size is allowed,
            also larger than the image (OpenCV's repeated mirroring).
        backend: ``"auto"`` (OpenCV for float32/64 CPU tensors, torch otherwise) or
            ``"torch"``.

    Returns:
        Tensor of the same shape, dtype and device as ``x``. Inference only: the result
        carries no gradient.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"box_blur expects a torch.Tensor, got {type(x).__name__}")
    if x.ndim not in (3, 4):
        raise ValueError(f"box_blur expects (B,C,H,W) or (C,H,W), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"box_blur expects a floating tensor, got {x.dtype}")
    ry, rx = _radii(radius)
    use_cv2 = host_twin(backend, x, dtypes=(torch.float32, torch.float64, torch.float16, torch.bfloat16),
                        name="box_blur backend")  # half precision is computed in float32 below
    squeeze = x.ndim == 3
    y = x.unsqueeze(0) if squeeze else x
    dtype = y.dtype
    if dtype in (torch.float16, torch.bfloat16):
        y = y.float()
    if ry == 0 and rx == 0:
        out = y.detach().clone()
    else:
        planes = y.reshape(-1, y.shape[-2], y.shape[-1])
        with torch.no_grad():
            out = _box_planes_cv2(planes.contiguous(), ry, rx) if use_cv2 else _box_planes(planes, ry, rx)
        out = out.view(y.shape)
    out = out.to(dtype)
    return out.squeeze(0) if squeeze else out


class BoxBlur(nn.Module):
    """Module form of :func:`box_blur`: ``(B,C,H,W) -> (B,C,H,W)``."""

    def __init__(self, radius: int | tuple[int, int], backend: str = "auto"):
        super().__init__()
        self.radius = radius
        self.backend = backend

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return box_blur(x, self.radius, self.backend)

    def extra_repr(self) -> str:
        return f"radius={self.radius}"
