"""The checks at the edges of the :class:`~vidmatte.runtime.processor.Processor`: what comes in
(arrays, frames) and what a matter gives back. A wrong dtype, layout or channel count is one
clear ``TypeError``/``ValueError`` that says how to fix it, never a silently wrong matte.

    >>> import numpy as np
    >>> check_array(np.zeros((4, 6, 3), np.int64))
    Traceback (most recent call last):
    ...
    TypeError: frames must be uint8 (or uint16) RGB, got int64 (integers 0..255: pass frame.astype(np.uint8))
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from vidmatte.errors import warn
from vidmatte.frame import Frame, check_images

__all__ = ["check_array", "check_frames", "check_alpha"]


def _dtype_hint(dtype) -> str:
    if dtype.kind == "f":
        return " (a float frame in 0..1: pass (frame * 255).round().astype(np.uint8))"
    if dtype.kind in "iu":
        return " (integers 0..255: pass frame.astype(np.uint8))"
    if dtype.kind == "b":
        return " (a boolean mask is not a picture)"
    return ""


def _warn_if_8bit_in_16(batch: np.ndarray) -> None:
    if batch.dtype == np.uint16 and batch.size and int(batch.max()) <= 255:
        warn("uint16 frames with values up to 255 look like 8-bit data: uint16 means 0..65535 (16-bit); "
             "pass frame.astype(np.uint8) for 8-bit pictures")


def check_array(image: Any, bgr: bool = False, depth_check: bool = True) -> tuple[list, bool, str]:
    """``proc(image)`` input → ``(list of (H,W,3) RGB arrays, single, pixel format)``.

    Takes ``(H,W,3)``/``(B,H,W,3)`` uint8 or uint16 (numpy or torch), grey ``(H,W)`` /
    ``(H,W,1)`` (spread to RGB); ``bgr`` reverses the channels. ``depth_check``: scan uint16
    frames for 8-bit values (a warning; a stream needs it once, not on every frame).
    """
    if isinstance(image, Frame) or (isinstance(image, (list, tuple)) and image and isinstance(image[0], Frame)):
        raise TypeError("proc(image) takes arrays; use proc.process([frames]) for Frame objects")
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    if not isinstance(image, np.ndarray):
        hint = " (a PIL image: pass np.asarray(img))" if hasattr(image, "getbands") else ""
        raise TypeError(f"expected a numpy array or torch tensor, got {type(image).__name__}{hint}")
    if image.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"frames must be uint8 (or uint16) {'BGR' if bgr else 'RGB'}, got {image.dtype}"
                        f"{_dtype_hint(image.dtype)}")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[-1] == 1 and image.shape[0] != 1):
        image = np.repeat(image.reshape(image.shape[:2] + (1,)), 3, axis=-1)  # grey → RGB
    single = image.ndim == 3
    batch = image[None] if single else image
    if batch.ndim != 4 or batch.shape[-1] != 3:
        check_images(batch.astype(np.uint8, copy=False))  # raises with the shape hint
        raise ValueError(f"frames must be (H,W,3) or (B,H,W,3), got shape {image.shape}")
    if depth_check:
        _warn_if_8bit_in_16(batch)
    if bgr:
        batch = batch[..., ::-1]
    return list(np.ascontiguousarray(batch)), single, "rgb48" if batch.dtype == np.uint16 else "rgb24"


def _kind(img: Any) -> tuple[tuple, np.dtype]:
    if isinstance(img, torch.Tensor):
        return tuple(img.shape), np.dtype(str(img.dtype).replace("torch.", ""))
    a = np.asarray(img)
    return a.shape, a.dtype


def check_frames(frames: Sequence[Any]) -> None:
    """Frames for ``process``/``infer``: one size and one dtype, ``(H,W,3)`` uint8 or uint16."""
    if not all(isinstance(f, Frame) for f in frames):
        raise TypeError("process() takes a list of Frame objects; call proc(image) for arrays")
    first = _kind(frames[0].image)
    for f in frames:
        shape, dtype = _kind(f.image)
        if dtype not in (np.uint8, np.uint16):
            raise TypeError(f"frame {f.index}: images must be uint8 (or uint16) RGB, got {dtype}{_dtype_hint(dtype)}")
        if len(shape) != 3 or shape[-1] != 3:
            hint = "; this looks channels-first: move the channels last" if len(shape) == 3 and shape[0] == 3 else ""
            raise ValueError(f"frame {f.index}: images must be (H,W,3) RGB, got shape {shape}{hint}")
        if (shape, dtype) != first:
            raise ValueError(f"frame {f.index} is {shape} {dtype}, frame {frames[0].index} is {first[0]} {first[1]}: "
                             "a batch must share one size and dtype")


def check_alpha(alpha: Any, batch: int, height: int, width: int, matter: Any, values: bool) -> None:
    """A matter's output must be ``(B,1,H,W)`` float at the frame size; ``values``: also in [0, 1]."""
    name = getattr(matter, "name", type(matter).__name__)
    if not isinstance(alpha, torch.Tensor) or not alpha.is_floating_point():
        kind = getattr(alpha, "dtype", type(alpha).__name__)
        raise TypeError(f"matter {name}.predict must return a float torch tensor, got {kind}")
    if tuple(alpha.shape) != (batch, 1, height, width):
        raise ValueError(f"matter {name}.predict returned {tuple(alpha.shape)}; it must return (B,1,H,W) = "
                         f"{(batch, 1, height, width)}, at the frame size (upsample its output)")
    if values:
        lo, hi = (float(v) for v in torch.aminmax(alpha.detach()))
        if lo < -1e-3 or hi > 1 + 1e-3 or lo != lo or hi != hi:
            raise ValueError(f"matter {name}.predict returned values in [{lo:.3g}, {hi:.3g}]; alpha must be in "
                             "[0, 1] (apply a sigmoid to logits, divide 0..255 by 255)")
