"""RGBA cut-outs of still images on numpy arrays, without torch.

The still-image job's fast path for models that give numpy mattes
(:meth:`vidmatte.models.onnx.OnnxMatter.predict_array`): the same numbers as a
:class:`~vidmatte.runtime.processor.Processor` with no background and no smoothing (the
frame scaled to [0, 1], blur fusion through :func:`estimate_foreground_np`, round half up),
computed on one thread so several images can run side by side.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from vidmatte.compose.blur_fusion_np import estimate_foreground_np

__all__ = ["cutout_rgba", "CUTOUT_FG_ESTIMATIONS"]

#: the foreground estimations this path computes (``ml`` needs the processor)
CUTOUT_FG_ESTIMATIONS = ("blur", "none")


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """Float in [0, 1] → uint8, round half up (as :func:`vidmatte.ops.color.to_uint8`)."""
    y = np.multiply(x, 255.0, dtype=np.float32)
    y += 0.5
    np.clip(y, 0, 255, out=y)
    return y.astype(np.uint8)


def cutout_rgba(image: np.ndarray, alpha: np.ndarray, fg_estimation: str = "blur",
                radii: Optional[Sequence[int]] = None) -> np.ndarray:
    """uint8 RGB ``(H,W,3)`` and its matte ``(H,W)`` float in [0, 1] → straight RGBA ``(H,W,4)`` uint8.

    ``fg_estimation``: ``"blur"`` (blur fusion: the colour of the foreground alone at soft
    edges) or ``"none"`` (the image's own colour).
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"cutout: image must be (H,W,3) uint8, got {image.shape} {image.dtype}")
    alpha = np.asarray(alpha, dtype=np.float32)
    if alpha.ndim == 3 and alpha.shape[0] == 1:
        alpha = alpha[0]
    if alpha.shape != image.shape[:2]:
        raise ValueError(f"cutout: alpha {alpha.shape} does not match image {image.shape}")
    out = np.empty(image.shape[:2] + (4,), np.uint8)
    if fg_estimation == "blur":
        fg, _ = estimate_foreground_np(image.astype(np.float32) / np.float32(255.0), alpha, radii)
        out[..., :3] = _to_uint8(fg)
    elif fg_estimation == "none":
        out[..., :3] = image
    else:
        raise ValueError(f"cutout: fg_estimation must be one of {CUTOUT_FG_ESTIMATIONS}, got {fg_estimation!r}")
    out[..., 3] = _to_uint8(alpha)
    return out
