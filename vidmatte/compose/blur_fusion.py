"""Foreground colour by blur fusion (Forte & Pitié, "Approximate fast foreground colour
estimation", ICIP 2021).

Compositing a matted person onto a new background needs the colour ``F`` of the person
alone: at a soft edge the frame holds ``I = a F + (1 - a) B`` and reusing ``I`` as ``F``
drags the old background along (a halo). Blur fusion estimates ``F`` from local means.
One pass with box radius ``r`` and current estimates ``F``, ``B``::

    A   = box_r(a)                               local alpha mean
    F~  = box_r(F a) / (A + eps)                 alpha-weighted local mean of F
    B~  = box_r(B (1 - a)) / (1 - A + eps)       (1-alpha)-weighted local mean of B
    F'  = clip(F~ + a (I - a F~ - (1 - a) B~), 0, 1)

i.e. the smooth prior ``F~`` plus the part of the compositing residual that belongs to
the foreground. The first pass starts from ``F = B = I`` with a wide window, the second
refines with the first pass's ``F'`` and ``B~`` and a narrow one. Defaults: radii 90 then
6 at 1080 lines, scaled with the height (:func:`blur_fusion_radii`); box windows are
``(2r+1)^2`` with reflect-101 borders (:func:`vidmatte.ops.box.box_blur`), so the cost
does not depend on ``r``.

Shapes: image ``(B,3,H,W)``, alpha ``(B,1,H,W)``, values in [0, 1]; any device. Half
precision is computed in float32 and returned in the input dtype.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from vidmatte.ops.box import box_blur
from vidmatte.ops.checks import check_image_alpha

__all__ = ["blur_fusion_radii", "blur_fusion_pass", "estimate_foreground", "BlurFusion"]

EPS = 1e-5


def blur_fusion_radii(height: int, base: Sequence[int] = (90, 6), reference: int = 1080) -> tuple[int, ...]:
    """Box radii for an image ``height`` lines tall: ``base`` scaled by ``height/reference``, at least 1."""
    if height < 1:
        raise ValueError(f"height must be >= 1, got {height}")
    return tuple(max(1, int(round(r * height / reference))) for r in base)


def blur_fusion_pass(
    image: torch.Tensor,
    fg: torch.Tensor,
    bg: torch.Tensor,
    alpha: torch.Tensor,
    radius: int,
    eps: float = EPS,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """One blur-fusion pass (formula in the module docstring).

    Args:
        image, fg, bg: ``(B,3,H,W)`` the frame and the current F and B estimates.
        alpha: ``(B,1,H,W)``.
        radius: box radius ``r`` (window ``2r+1``).
        backend: passed to :func:`box_blur` (``"torch"`` forces the GPU code path).

    Returns:
        ``(F', B~)``: the refined foreground (clipped to [0, 1]) and the smoothed background.
    """
    one_minus = 1.0 - alpha
    mean_a = box_blur(alpha, radius, backend).clamp_(0.0, 1.0)
    f_blur = box_blur(fg * alpha, radius, backend).div_(mean_a + eps)
    b_blur = box_blur(bg * one_minus, radius, backend).div_((1.0 - mean_a).add_(eps))
    # residual I - a F~ - (1-a) B~, then F' = F~ + a * residual
    resid = torch.addcmul(image, alpha, f_blur, value=-1.0).addcmul_(one_minus, b_blur, value=-1.0)
    fg_new = resid.mul_(alpha).add_(f_blur).clamp_(0.0, 1.0)
    return fg_new, b_blur


def estimate_foreground(
    image: torch.Tensor,
    alpha: torch.Tensor,
    radii: Optional[Sequence[int]] = None,
    eps: float = EPS,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Foreground and background colours by blur fusion.

    Args:
        image: ``(B,3,H,W)`` frame in [0, 1].
        alpha: ``(B,1,H,W)`` matte in [0, 1].
        radii: box radius per pass; the first pass starts from ``F = B = image``.
            ``None``: :func:`blur_fusion_radii` of the height, i.e. (90, 6) at 1080p.
        backend: box filter implementation, see :func:`box_blur`.

    Returns:
        ``(F, B)``, both ``(B,3,H,W)`` in the dtype of ``image``: the foreground colour and
        the smoothed background colour of the last pass.
    """
    check_image_alpha(image, alpha)
    if radii is None:
        radii = blur_fusion_radii(image.shape[-2])
    radii = tuple(radii)
    if not radii or any(int(r) != r or r < 1 for r in radii):
        raise ValueError(f"blur fusion radii must be integers >= 1, got {radii!r}")
    dtype = image.dtype
    work = torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
    img = image.to(work)
    a = alpha.to(work)
    fg, bg = img, img
    for r in radii:
        fg, bg = blur_fusion_pass(img, fg, bg, a, int(r), eps, backend)
    return fg.to(dtype), bg.to(dtype)


class BlurFusion(nn.Module):
    """Module form of :func:`estimate_foreground`: ``(image, alpha) -> (F, B)``."""

    def __init__(self, radii: Optional[Sequence[int]] = None, eps: float = EPS, backend: str = "auto"):
        super().__init__()
        self.radii = None if radii is None else tuple(int(r) for r in radii)
        self.eps = eps
        self.backend = backend

    def forward(self, image: torch.Tensor, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return estimate_foreground(image, alpha, self.radii, self.eps, self.backend)

    def extra_repr(self) -> str:
        return f"radii={self.radii or 'auto'}, eps={self.eps}"
