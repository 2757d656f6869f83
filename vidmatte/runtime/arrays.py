"""The array side of :class:`~vidmatte.runtime.processor.Processor`: checking what ``proc(image)``
is given, and turning the float output into a pixel format's array."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from vidmatte.frame import PIXEL_FORMATS, Frame

__all__ = ["split_arrays", "to_pixel_format"]


def split_arrays(image: Any, bgr: bool = False) -> tuple[list, bool, str]:
    """``proc(image)``'s input → ``(list of (H,W,3) frames, single, "rgb24"|"rgb48")``; one clear error
    for anything else (Frames, floats, wrong shapes). Grey frames are spread to RGB, BGR flipped."""
    if isinstance(image, Frame) or (isinstance(image, (list, tuple)) and image and isinstance(image[0], Frame)):
        raise TypeError("proc(image) takes arrays; use proc.process([frames]) for Frame objects")
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected a numpy array or torch tensor, got {type(image).__name__}")
    if image.dtype not in (np.uint8, np.uint16):
        hint = " (a float frame in 0..1: pass (frame * 255).round().astype(np.uint8))" if image.dtype.kind == "f" else ""
        raise TypeError(f"frames must be uint8 (or uint16) {'BGR' if bgr else 'RGB'}, got {image.dtype}{hint}")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[-1] == 1 and image.shape[0] != 1):
        image = np.repeat(image.reshape(image.shape[:2] + (1,)), 3, axis=-1)  # grey → RGB
    single = image.ndim == 3
    batch = image[None] if single else image
    if batch.ndim != 4 or batch.shape[-1] != 3:
        from vidmatte.matting import check_images

        check_images(batch.astype(np.uint8, copy=False))  # raises with the shape hint
        raise ValueError(f"frames must be (H,W,3) or (B,H,W,3), got shape {image.shape}")
    if bgr:
        batch = batch[..., ::-1]
    return list(np.ascontiguousarray(batch)), single, "rgb48" if batch.dtype == np.uint16 else "rgb24"


def to_pixel_format(out: torch.Tensor, fmt: str) -> torch.Tensor:
    """``(B,C,H,W)`` float [0,1] → contiguous ``(B,H,W,C)`` in ``fmt``'s dtype, same device:
    uint8 / uint16 rounded, or float32 with linear-light colour (``rgbaf32``)."""
    out = out.permute(0, 2, 3, 1)
    dtype = PIXEL_FORMATS[fmt][0]
    if fmt == "rgbaf32":
        from vidmatte.ops.color import srgb_to_linear

        out = out.float()
        return torch.cat([srgb_to_linear(out[..., :3]), out[..., 3:]], dim=-1).contiguous()
    if dtype == "uint16":
        return out.float().mul(65535.0).round_().clamp_(0, 65535).to(torch.int32).to(torch.uint16).contiguous()
    from vidmatte.ops.color import to_uint8

    return to_uint8(out).contiguous()
