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

The first pass may take its box means at half size (``half_first``, the default; see
:mod:`vidmatte.compose.blur_fusion_np` for what it changes: < 0.004 levels on average).
With ``backend="auto"``, float CPU tensors go to that module's numpy/OpenCV code (one
thread, no copies for channels-last frames); ``backend="torch"`` and GPUs run the tensor
code here. Both compute the same numbers (to ~1e-6).

Shapes: image ``(B,3,H,W)``, alpha ``(B,1,H,W)``, values in [0, 1]; any device. Half
precision is computed in float32 and returned in the input dtype.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidmatte.compose.blur_fusion_np import EPS, HALF_MIN_RADIUS, blur_fusion_radii, estimate_foreground_np, half_radius
from vidmatte.ops.box import box_blur
from vidmatte.checks import check_image_alpha
from vidmatte.ops.twins import host_twin

__all__ = ["blur_fusion_radii", "blur_fusion_pass", "estimate_foreground", "BlurFusion"]


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
    f_blur, b_blur = _means(fg * alpha, bg * one_minus, alpha, radius, eps, backend)
    return _fuse(image, alpha, one_minus, f_blur, b_blur), b_blur


def _means(fg_a, bg_1a, alpha, radius: int, eps: float, backend: str):
    """``(box(F a) / box(a), box(B (1-a)) / (1 - box(a)))``."""
    mean_a = box_blur(alpha, radius, backend).clamp_(0.0, 1.0)
    f_blur = box_blur(fg_a, radius, backend).div_(mean_a + eps)
    b_blur = box_blur(bg_1a, radius, backend).div_((1.0 - mean_a).add_(eps))
    return f_blur, b_blur


def _fuse(image, alpha, one_minus, f_blur, b_blur):
    """``F' = clip(F~ + a (I - a F~ - (1-a) B~), 0, 1)``."""
    resid = torch.addcmul(image, alpha, f_blur, value=-1.0).addcmul_(one_minus, b_blur, value=-1.0)
    return resid.mul_(alpha).add_(f_blur).clamp_(0.0, 1.0)


def _first_pass_half(image, alpha, radius: int, eps: float, backend: str):
    """The first pass (``F = B = I``) with its box means at half size (2x2 means in, bilinear out)."""
    h, w = image.shape[-2:]
    img_s = F.avg_pool2d(image[..., : h // 2 * 2, : w // 2 * 2], 2)
    a_s = F.avg_pool2d(alpha[..., : h // 2 * 2, : w // 2 * 2], 2)
    ia = img_s * a_s
    f_s, b_s = _means(ia, img_s.sub_(ia), a_s, half_radius(radius), eps, backend)
    f_blur = F.interpolate(f_s, size=(h, w), mode="bilinear", align_corners=False)
    b_blur = F.interpolate(b_s, size=(h, w), mode="bilinear", align_corners=False)
    return _fuse(image, alpha, 1.0 - alpha, f_blur, b_blur), b_blur


def _numpy_backend(image: torch.Tensor, alpha: torch.Tensor, radii, eps: float, half_first: bool):
    """CPU tensors through :func:`estimate_foreground_np`, image by image (HWC views, no copy
    when the frames are channels-last, as the processor's are)."""
    fgs, bgs = [], []
    for img, a in zip(image.detach(), alpha.detach()):
        hwc = np.ascontiguousarray(img.permute(1, 2, 0).numpy())
        f, b = estimate_foreground_np(hwc, a[0].numpy(), radii, eps, half_first)
        fgs.append(torch.from_numpy(f).permute(2, 0, 1))
        bgs.append(torch.from_numpy(b).permute(2, 0, 1))
    if len(fgs) == 1:
        return fgs[0][None], bgs[0][None]
    return torch.stack(fgs), torch.stack(bgs)


def estimate_foreground(
    image: torch.Tensor,
    alpha: torch.Tensor,
    radii: Optional[Sequence[int]] = None,
    eps: float = EPS,
    backend: str = "auto",
    half_first: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Foreground and background colours by blur fusion.

    Args:
        image: ``(B,3,H,W)`` frame in [0, 1].
        alpha: ``(B,1,H,W)`` matte in [0, 1].
        radii: box radius per pass; the first pass starts from ``F = B = image``.
            ``None``: :func:`blur_fusion_radii` of the height, i.e. (90, 6) at 1080p.
        backend: ``"auto"`` (numpy/OpenCV for float CPU tensors, torch elsewhere) or
            ``"torch"`` (the tensor code everywhere, with :func:`box_blur`'s own choice).
        half_first: take the first pass's box means at half size (module docstring).

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
    if host_twin(backend, img, dtypes=(torch.float32, torch.float64), name="blur fusion backend"):
        fg, bg = _numpy_backend(img, a, radii, eps, half_first)
        return fg.to(dtype), bg.to(dtype)
    fg, bg = img, img
    for i, r in enumerate(int(r) for r in radii):
        if i == 0 and half_first and r >= HALF_MIN_RADIUS and min(img.shape[-2:]) >= 4:
            fg, bg = _first_pass_half(img, a, r, eps, backend)
        else:
            fg, bg = blur_fusion_pass(img, fg, bg, a, r, eps, backend)
    return fg.to(dtype), bg.to(dtype)


class BlurFusion(nn.Module):
    """Module form of :func:`estimate_foreground`: ``(image, alpha) -> (F, B)``."""

    def __init__(self, radii: Optional[Sequence[int]] = None, eps: float = EPS, backend: str = "auto",
                 half_first: bool = True):
        super().__init__()
        self.radii = None if radii is None else tuple(int(r) for r in radii)
        self.eps = eps
        self.backend = backend
        self.half_first = half_first

    def forward(self, image: torch.Tensor, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return estimate_foreground(image, alpha, self.radii, self.eps, self.backend, self.half_first)

    def extra_repr(self) -> str:
        return f"radii={self.radii or 'auto'}, eps={self.eps}, half_first={self.half_first}"
