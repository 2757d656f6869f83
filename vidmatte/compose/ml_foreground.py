"""Foreground colour by pymatting's multi-level solver (``--fg-estimation ml``).

Germer et al.'s multi-level foreground estimation (pymatting ``estimate_foreground_ml``)
solves for ``F`` and ``B`` with a smoothness prior, coarse to fine. It is more accurate
than blur fusion on fine hair but runs on the CPU in float64 numpy, one image at a time,
so it suits offline renders rather than live video. pymatting is an optional dependency
(``pip install "vidmatte[ml]"``) imported on first use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from vidmatte.checks import check_image_alpha
from vidmatte.errors import VidmatteError

__all__ = ["estimate_foreground_ml"]

_INSTALL_HINT = (
    "--fg-estimation ml needs the optional package pymatting: "
    'pip install "vidmatte[ml]" (or use --fg-estimation blur)'
)


def _solver():
    try:
        from pymatting import estimate_foreground_ml as solver
    except ImportError as exc:
        raise VidmatteError(_INSTALL_HINT) from exc
    return solver


def estimate_foreground_ml(
    image: torch.Tensor, alpha: torch.Tensor, **options: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    """Foreground and background colours by pymatting's multi-level estimator.

    Args:
        image: ``(B,3,H,W)`` frame in [0, 1].
        alpha: ``(B,1,H,W)`` matte in [0, 1].
        **options: passed to ``pymatting.estimate_foreground_ml`` (``regularization``,
            ``n_small_iterations``, ``n_big_iterations``, ``small_size``, ``gradient_weight``).

    Returns:
        ``(F, B)``, both ``(B,3,H,W)`` on the device and in the dtype of ``image``.

    Raises:
        VidmatteError: pymatting is not installed (the message says how to install it).
    """
    check_image_alpha(image, alpha, "ml foreground")
    solver = _solver()
    imgs = image.detach().to("cpu", torch.float64).permute(0, 2, 3, 1).numpy()
    alphas = alpha.detach().to("cpu", torch.float64)[:, 0].clamp(0.0, 1.0).numpy()
    fgs, bgs = [], []
    for img, a in zip(imgs, alphas):
        fg, bg = solver(np.ascontiguousarray(img), np.ascontiguousarray(a), return_background=True, **options)
        fgs.append(fg)
        bgs.append(bg)

    def back(arrs: list) -> torch.Tensor:
        t = torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).clamp_(0.0, 1.0)
        return t.to(device=image.device, dtype=image.dtype).contiguous()

    return back(fgs), back(bgs)
