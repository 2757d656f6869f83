"""Edge controls for a matte: choke (shrink, or grow when negative) and feather (soften).

**Choke** by ``px`` pixels moves the edge inwards by ``px`` (outwards for ``px < 0``) and
keeps its profile (hair, soft edges): grey-level erosion (dilation) in unit steps, each a
blend of the erosions over the 3x3 cross and the 3x3 square. Over all edge directions a
cross step moves an edge by 0.900 px on average (1 along the axes, 0.71 on the diagonals),
a square step by 1.273 (1 and 1.41); the blend weight ``beta = 0.2675`` makes the mean 1 px
(1 along the axes, 0.90 on the diagonals). A fractional ``px = n + t`` blends the last two
steps::

    E_0 = a,   E_{i+1} = (1 - beta) min_cross(E_i) + beta min_square(E_i)
    choke(a, n + t) = (1 - t) E_n + t E_{n+1}                    (grow: max instead of min)

so the edge moves continuously with ``px`` (sub-pixel amounts work). Borders repeat the
edge pixel.

**Feather** by ``px`` pixels is a Gaussian blur of the matte with std ``px / 2``
(:func:`vidmatte.ops.gaussian.gaussian_blur`): a hard edge becomes a ramp whose 10-90 %
width is ``1.28 px``; an edge of width ``w`` becomes about ``sqrt(w^2 + (1.28 px)^2)`` wide.

:func:`adjust_edges` chokes then feathers. Twins: the tensor code (any device; ``backend=
"torch"``) and :func:`adjust_edges_np` (OpenCV ``erode``/``dilate``/``sepFilter2D``), which
``backend="auto"`` runs for float32 CPU tensors; they compute the same numbers (~1e-6).

Shapes: alpha ``(B,1,H,W)`` tensors, ``(H,W)`` arrays; values in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidmatte.checks import check_bchw
from vidmatte.ops.twins import host_twin
from vidmatte.ops.edges_np import BETA, MAX_EDGE_PX, adjust_edges_np, check_edges
from vidmatte.ops.gaussian import gaussian_blur

__all__ = ["choke", "feather", "adjust_edges", "adjust_edges_np", "MatteEdges", "check_edges", "MAX_EDGE_PX"]

# ---------------------------------------------------------------- torch
def _step_t(x: torch.Tensor, grow: bool) -> torch.Tensor:
    pick = torch.maximum if grow else torch.minimum
    h, w = x.shape[-2:]
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    centre = p[..., 1 : h + 1, :]
    column = pick(pick(p[..., 0:h, :], centre), p[..., 2 : h + 2, :])  # 3 rows, every column
    square = pick(pick(column[..., 0:w], column[..., 1 : w + 1]), column[..., 2 : w + 2])
    cross = pick(pick(column[..., 1 : w + 1], centre[..., 0:w]), centre[..., 2 : w + 2])
    return torch.lerp(cross, square, BETA)


def _choke_t(a: torch.Tensor, px: float) -> torch.Tensor:
    grow, amount = px < 0, abs(px)
    n, t = int(math.floor(amount)), amount - math.floor(amount)
    e = a
    for _ in range(n):
        e = _step_t(e, grow)
    if t > 0:
        e = torch.lerp(e, _step_t(e, grow), t)
    return e


# ---------------------------------------------------------------- entry points
def choke(alpha: torch.Tensor, px: float, backend: str = "auto") -> torch.Tensor:
    """Shrink (``px > 0``) or grow (``px < 0``) the matte ``(B,1,H,W)`` by ``px`` pixels."""
    return adjust_edges(alpha, px, 0.0, backend)


def feather(alpha: torch.Tensor, px: float, backend: str = "auto") -> torch.Tensor:
    """Soften the matte ``(B,1,H,W)``: Gaussian blur of std ``px / 2``."""
    return adjust_edges(alpha, 0.0, px, backend)


def adjust_edges(alpha: torch.Tensor, choke_px: float = 0.0, feather_px: float = 0.0,
                 backend: str = "auto") -> torch.Tensor:
    """Choke by ``choke_px`` then feather by ``feather_px`` (module docstring).

    Args:
        alpha: ``(B,1,H,W)`` floating, any device.
        backend: ``"auto"`` (OpenCV for float32 CPU tensors) or ``"torch"``.

    Returns:
        ``(B,1,H,W)`` in [0, 1], dtype and device of ``alpha`` (``alpha`` itself when both are 0).
    """
    check_bchw(alpha, "adjust_edges: alpha", 1)
    c, f = check_edges(choke_px, feather_px)
    if (c == 0 and f == 0) or alpha.shape[0] == 0:
        return alpha
    if host_twin(backend, alpha, name="adjust_edges backend"):
        src = alpha.detach().contiguous().numpy()
        return torch.from_numpy(np.stack([adjust_edges_np(p[0], c, f) for p in src]))[:, None]
    work = torch.float32 if alpha.dtype in (torch.float16, torch.bfloat16) else alpha.dtype
    with torch.no_grad():
        a = alpha.to(work)
        if c:
            a = _choke_t(a, c)
        if f:
            a = gaussian_blur(a, f / 2.0)
        a = a.clamp(0.0, 1.0)
    return a.to(alpha.dtype)


class MatteEdges(nn.Module):
    """Module form of :func:`adjust_edges`: ``(B,1,H,W) -> (B,1,H,W)``."""

    def __init__(self, choke_px: float = 0.0, feather_px: float = 0.0, backend: str = "auto"):
        super().__init__()
        self.choke_px, self.feather_px = check_edges(choke_px, feather_px)
        self.backend = backend

    @property
    def active(self) -> bool:
        """Whether it changes anything (both 0: the identity)."""
        return bool(self.choke_px or self.feather_px)

    def forward(self, alpha: torch.Tensor) -> torch.Tensor:
        return adjust_edges(alpha, self.choke_px, self.feather_px, self.backend)

    def extra_repr(self) -> str:
        return f"choke={self.choke_px:g}, feather={self.feather_px:g}"
