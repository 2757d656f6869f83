"""Run a dense per-image network over overlapping tiles and blend the results.

A ViT's attention memory grows with the square of the token count, so a 4K frame in one
piece does not fit; in tiles of ``tile x tile`` it does. Tiles step by ``tile - overlap``
and the last one on each axis is moved back to end at the border, so every tile has the
full size (one tile when the image is not larger). Each output pixel is the weighted mean
of the tiles covering it, with weights ramping linearly over the overlap on the sides that
meet another tile (flat at the image border)::

    out = sum_t w_t * f(tile_t) / sum_t w_t

Tiles where ``need`` is all false are skipped (for matting refinement: no unknown pixel);
pixels only such tiles cover get weight 0 and value 0, and :func:`run_tiled` says where.
For a pointwise ``f`` the result equals ``f`` of the whole image (up to rounding).
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

__all__ = ["tile_starts", "ramp", "run_tiled"]


def tile_starts(n: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of the tiles along an axis of ``n`` pixels.

    >>> tile_starts(100, 100, 16), tile_starts(250, 100, 20), tile_starts(60, 100, 20)
    ([0], [0, 80, 150], [0])
    """
    if tile < 1 or not 0 <= overlap < tile:
        raise ValueError(f"need tile >= 1 and 0 <= overlap < tile, got tile={tile}, overlap={overlap}")
    if n <= tile:
        return [0]
    starts = list(range(0, n - tile, tile - overlap))
    return starts + [n - tile]


def ramp(length: int, overlap: int, left: bool, right: bool, device=None) -> torch.Tensor:
    """1-D blend weights of one tile: rising over ``overlap`` on the ``left`` and ``right`` sides
    that meet another tile, 1 elsewhere; always > 0.

    >>> [round(v, 3) for v in ramp(6, 2, True, False).tolist()]
    [0.333, 0.667, 1.0, 1.0, 1.0, 1.0]
    """
    w = torch.ones(length, device=device)
    if overlap > 0:
        up = torch.arange(1, overlap + 1, device=device, dtype=torch.float32) / (overlap + 1)
        k = min(overlap, length)
        if left:
            w[:k] = torch.minimum(w[:k], up[:k])
        if right:
            w[length - k:] = torch.minimum(w[length - k:], up[:k].flip(0))
    return w


def run_tiled(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, overlap: int,
              need: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``fn`` over tiles of ``x``, blended.

    Args:
        fn: ``(1,C,th,tw) -> (1,K,th,tw)`` (one tile of one image).
        x: ``(B,C,H,W)``.
        tile, overlap: tile side and overlap in pixels (``0 <= overlap < tile``).
        need: optional ``(B,1,H,W)`` bool; tiles with no true pixel are skipped.

    Returns:
        ``(out (B,K,H,W) float32, covered (B,1,H,W) bool)``: the blended output and where
        at least one tile ran.
    """
    if x.ndim != 4:
        raise ValueError(f"run_tiled expects (B,C,H,W), got {tuple(x.shape)}")
    b, _, h, w = x.shape
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    out: Optional[torch.Tensor] = None
    weight = torch.zeros((b, 1, h, w), device=x.device)
    for i in range(b):
        for y0 in ys:
            th = min(tile, h)
            wy = ramp(th, overlap, y0 > 0, y0 + th < h, x.device)
            for x0 in xs:
                tw = min(tile, w)
                if need is not None and not bool(need[i, :, y0:y0 + th, x0:x0 + tw].any()):
                    continue
                res = fn(x[i:i + 1, :, y0:y0 + th, x0:x0 + tw]).float()
                if out is None:
                    out = torch.zeros((b, res.shape[1], h, w), device=x.device)
                wt = wy[:, None] * ramp(tw, overlap, x0 > 0, x0 + tw < w, x.device)[None, :]
                out[i, :, y0:y0 + th, x0:x0 + tw] += res[0] * wt
                weight[i, :, y0:y0 + th, x0:x0 + tw] += wt
    if out is None:
        out = torch.zeros((b, 1, h, w), device=x.device)
    covered = weight > 0
    return out / weight.clamp_min(1e-12), covered
