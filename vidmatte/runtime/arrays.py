"""The array side of :class:`~vidmatte.runtime.processor.Processor`: turning its float output
into a pixel format's arrays and frames (the input checks are in :mod:`vidmatte.checks`)."""

from __future__ import annotations

from typing import Sequence

import torch

from vidmatte.frame import PIXEL_FORMATS, Frame

__all__ = ["to_pixel_format", "output_frames"]


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
        # int32 → int16 keeps the low 16 bits; viewed as uint16 they are the value (no uint16 kernel needed)
        return out.float().mul(65535.0).round_().clamp_(0, 65535).to(torch.int32).to(torch.int16).view(torch.uint16)
    from vidmatte.ops.color import to_uint8

    return to_uint8(out).contiguous()


def output_frames(frames: Sequence[Frame], out: torch.Tensor, fmt: str) -> list[Frame]:
    """The frames carrying ``out`` ``(n,C,H,W)`` in ``fmt`` (YUV planes or host arrays), timing kept."""
    if not frames:
        return []
    if fmt == "yuv420p":
        from vidmatte.ops.color import rgb_to_yuv420

        arrays = rgb_to_yuv420(out).unbind()
    else:
        arrays = list(to_pixel_format(out, fmt).cpu().numpy())
    return [f.with_image(a, fmt) for a, f in zip(arrays, frames)]
