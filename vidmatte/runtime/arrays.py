"""The array side of :class:`~vidmatte.runtime.processor.Processor`: turning its float output
into a pixel format's arrays and frames (the input checks are in :mod:`vidmatte.checks`)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

import torch

from vidmatte.checks import check_array
from vidmatte.frame import PIXEL_FORMATS, Frame

__all__ = ["to_pixel_format", "output_frames", "process_arrays"]


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


def process_arrays(proc, image: Any) -> Any:
    """:meth:`Processor.__call__ <vidmatte.runtime.processor.Processor.__call__>`: arrays in,
    frames through ``proc.process``, arrays out (same rank; BGR(A) when ``proc.bgr``)."""
    batch, single, fmt = check_array(image, proc.bgr, depth_check=not proc._depth_checked)
    proc._depth_checked = proc._depth_checked or fmt == "rgb48"  # the 8-bit-in-16 scan: once a stream
    frames = [Frame(img, index=proc._next_index + i, format=fmt) for i, img in enumerate(batch)]
    out = proc.process(frames)
    result = [f.image for f in out]
    single = single and not proc.delay
    if proc.format != "yuv420p":
        result = np.stack(result) if result else np.zeros((0, *batch[0].shape[:2], proc._channels()), np.uint8)
        if proc.bgr and result.shape[-1] in (3, 4):
            result = np.ascontiguousarray(result[..., [2, 1, 0, 3][: result.shape[-1]]])
    proc._single = single
    return result[0] if single else result
