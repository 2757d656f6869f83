"""Put the matted foreground onto a new background, or export it with its alpha.

``composite(F, a, B') = a F + (1 - a) B'`` (one ``lerp``). The :class:`Compositor` adds
foreground colour estimation (blur fusion by default, pymatting's ML solver, or none: the
frame itself) and the background; with no background it returns RGBA for transparent or
VFX outputs, colour straight or premultiplied by alpha.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from vidmatte.defaults import ALPHA_MODES, FG_ESTIMATIONS
from vidmatte.compose.backgrounds.base import Background, render_background
from vidmatte.compose.blur_fusion import estimate_foreground
from vidmatte.checks import check_image_alpha

__all__ = ["composite", "Compositor"]



def composite(fg: torch.Tensor, alpha: torch.Tensor, bg: torch.Tensor) -> torch.Tensor:
    """``fg * alpha + bg * (1 - alpha)``.

    Args:
        fg: ``(B,C,H,W)`` foreground colour.
        alpha: ``(B,1,H,W)`` in [0, 1].
        bg: ``(B,C,H,W)``, or anything broadcastable to it (e.g. ``(1,C,1,1)``).

    Returns:
        ``(B,C,H,W)`` in the dtype of ``fg``.
    """
    if fg.ndim != 4 or alpha.ndim != 4 or alpha.shape[1] != 1:
        raise ValueError(
            f"composite: need fg (B,C,H,W) and alpha (B,1,H,W), got {tuple(fg.shape)} and {tuple(alpha.shape)}"
        )
    if alpha.shape[0] != fg.shape[0] or alpha.shape[-2:] != fg.shape[-2:]:
        raise ValueError(f"composite: alpha {tuple(alpha.shape)} does not match fg {tuple(fg.shape)}")
    bg = bg.to(fg.dtype)
    try:
        torch.broadcast_shapes(bg.shape, fg.shape)
    except RuntimeError:
        raise ValueError(f"composite: background {tuple(bg.shape)} does not broadcast to {tuple(fg.shape)}") from None
    return torch.lerp(bg.expand(fg.shape), fg, alpha.to(fg.dtype))


class Compositor:
    """Foreground estimation + background: ``(image, alpha, index) -> output``.

    Args:
        background: a :class:`Background`, or ``None`` for RGBA output.
        fg_estimation: ``"blur"`` (blur fusion), ``"ml"`` (pymatting, CPU, slow) or ``"none"``.
        alpha_mode: for RGBA output, ``"straight"`` (F, a) or ``"premultiplied"`` (a F, a).
        radii: blur fusion radii (``None``: scaled with the height, (90, 6) at 1080p).

    Call with ``image (B,3,H,W)`` and ``alpha (B,1,H,W)`` in [0, 1] and the stream index of
    the first frame; returns ``(B,3,H,W)`` (composite) or ``(B,4,H,W)`` (RGBA).
    """

    def __init__(
        self,
        background: Optional[Background] = None,
        fg_estimation: str = "blur",
        alpha_mode: str = "straight",
        radii: Optional[Sequence[int]] = None,
    ):
        if fg_estimation not in FG_ESTIMATIONS:
            raise ValueError(f"fg_estimation must be one of {FG_ESTIMATIONS}, got {fg_estimation!r}")
        if alpha_mode not in ALPHA_MODES:
            raise ValueError(f"alpha_mode must be one of {ALPHA_MODES}, got {alpha_mode!r}")
        if background is not None and not callable(background):
            raise TypeError(f"background must be a Background or None, got {type(background).__name__}")
        self.background = background
        self.fg_estimation = fg_estimation
        self.alpha_mode = alpha_mode
        self.radii = None if radii is None else tuple(radii)
        if fg_estimation == "ml":
            from vidmatte.compose.ml_foreground import _solver

            _solver()  # a missing pymatting is reported now, not at the first frame

    @property
    def channels(self) -> int:
        """3 for a composite, 4 for RGBA."""
        return 3 if self.background is not None else 4

    def foreground(self, image: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """Estimated foreground colour ``(B,3,H,W)`` (the frame itself for ``"none"``)."""
        check_image_alpha(image, alpha, "compositor")
        alpha = alpha.to(image.dtype)
        if self.fg_estimation == "blur":
            return estimate_foreground(image, alpha, self.radii)[0]
        if self.fg_estimation == "ml":
            from vidmatte.compose.ml_foreground import estimate_foreground_ml

            return estimate_foreground_ml(image, alpha)[0]
        return image

    def __call__(self, image: torch.Tensor, alpha: torch.Tensor, index: int = 0) -> torch.Tensor:
        fg = self.foreground(image, alpha)
        alpha = alpha.to(fg.dtype)
        if self.background is None:
            colour = fg * alpha if self.alpha_mode == "premultiplied" else fg
            return torch.cat([colour, alpha], dim=1)
        return composite(fg, alpha, render_background(self.background, image, index, alpha))

    def close(self) -> None:
        """Close the background (video decoders)."""
        if self.background is not None and hasattr(self.background, "close"):
            self.background.close()

    def __repr__(self) -> str:
        return (
            f"Compositor(background={self.background!r}, fg_estimation={self.fg_estimation!r}, "
            f"alpha_mode={self.alpha_mode!r}, radii={self.radii})"
        )
