"""The :class:`Background` interface and the cover-fit geometry the file backgrounds share.

A background is called with the frames being composited, ``(B,3,H,W)`` floats in [0, 1],
and the stream index of the first of them; it returns ``(B,3,H,W)`` on the same device and
in the same dtype (possibly a broadcast view: do not write into it). A background that
needs the matte (the masked blur) sets ``uses_alpha = True``; :func:`render_background`
(what the compositor calls) then hands it the ``(B,1,H,W)`` matte as well.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

__all__ = ["Background", "render_background", "cover_geometry", "cover_fit"]


class Background:
    """Base class: ``bg(image (B,3,H,W), index) -> (B,3,H,W)``; ``close()`` frees resources.

    With ``uses_alpha = True`` the call takes ``alpha`` ``(B,1,H,W)`` too and ``render``
    receives it (``None`` when the caller has none)."""

    #: whether :meth:`render` wants the matte (``render(image, index, alpha)``)
    uses_alpha = False

    def __call__(self, image: torch.Tensor, index: int = 0, alpha: "torch.Tensor | None" = None) -> torch.Tensor:
        if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[1] != 3:
            shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
            raise ValueError(f"background: expected frames (B,3,H,W), got {shape}")
        if self.uses_alpha:
            return self.render(image, index, alpha)
        return self.render(image, index)

    def render(self, image: torch.Tensor, index: int) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release files or decoders (idempotent)."""

    def __enter__(self) -> "Background":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def render_background(background, image: torch.Tensor, index: int, alpha: torch.Tensor) -> torch.Tensor:
    """``background(image, index)``, with the matte for a background that ``uses_alpha``
    (any plain ``(image, index)`` callable still works)."""
    if getattr(background, "uses_alpha", False):
        return background(image, index, alpha=alpha)
    return background(image, index)


def cover_geometry(src_hw: tuple[int, int], dst_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """Scale-to-cover then centre-crop: ``(scaled_h, scaled_w, top, left)``.

    The source is scaled uniformly so it covers ``dst_hw`` entirely; the crop of size
    ``dst_hw`` at ``(top, left)`` of the scaled image is the background.
    """
    (h, w), (dh, dw) = src_hw, dst_hw
    scale = max(dh / h, dw / w)
    sh, sw = max(dh, int(round(h * scale))), max(dw, int(round(w * scale)))
    return sh, sw, (sh - dh) // 2, (sw - dw) // 2


def cover_fit(rgb: np.ndarray, dst_hw: tuple[int, int]) -> np.ndarray:
    """``(h,w,3)`` uint8 → ``(H,W,3)`` uint8 covering ``dst_hw`` (area filter when shrinking)."""
    sh, sw, top, left = cover_geometry(rgb.shape[:2], dst_hw)
    interp = cv2.INTER_AREA if sh < rgb.shape[0] else cv2.INTER_LINEAR
    scaled = cv2.resize(rgb, (sw, sh), interpolation=interp) if (sh, sw) != rgb.shape[:2] else rgb
    return np.ascontiguousarray(scaled[top : top + dst_hw[0], left : left + dst_hw[1]])
