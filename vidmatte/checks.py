"""Every check of what comes in, in one place: one clear ``TypeError``/``ValueError`` that says
how to fix it, never a silently wrong matte. Torch is imported only by the checks that get
tensors, so the torch-free paths (the command line, the stills path) can use the rest.

* pictures handed to the library: :func:`check_images` (the Matter contract),
  :func:`check_array` (``proc(image)``), :func:`check_frames` (``proc.process(frames)``);
* what a matter gives back: :func:`check_alpha`;
* tensors inside the ops: :func:`check_bchw`, :func:`check_image_alpha`;
* an ONNX model's output, once at load: :func:`check_declared_output`, :func:`check_model_output`;
* the one layout rule for arrays that may come channels-first: :func:`channels_last`.

    >>> import numpy as np
    >>> check_array(np.zeros((4, 6, 3), np.int64))
    Traceback (most recent call last):
    ...
    TypeError: frames must be uint8 (or uint16) RGB, got int64 (integers 0..255: pass frame.astype(np.uint8))
    >>> channels_last(np.zeros((3, 4, 6))).shape
    (4, 6, 3)
"""

from __future__ import annotations

import sys
from typing import Any, Optional, Sequence

import numpy as np

from vidmatte.errors import InputError, warn

__all__ = ["check_images", "check_array", "check_frames", "check_alpha", "check_bchw", "check_image_alpha",
           "check_declared_output", "check_model_output", "channels_last", "is_channels_first", "dtype_hint",
           "RANGE_TOLERANCE"]

#: how far a matte output (no --sigmoid, no min-max stretch) may stray outside [0, 1]
RANGE_TOLERANCE = 0.02
_FLOAT_TYPES = ("tensor(float)", "tensor(float16)", "tensor(double)", "tensor(bfloat16)")


def _torch():
    """torch if it is loaded (a tensor can only exist then); never imports it."""
    return sys.modules.get("torch")


def dtype_hint(dtype) -> str:
    """How to turn a picture of ``dtype`` into the uint8 the model takes (``""``: no hint)."""
    kind = np.dtype(str(dtype).replace("torch.", "")).kind if not hasattr(dtype, "kind") else dtype.kind
    if kind == "f":
        return " (a float frame in 0..1: pass (frame * 255).round().astype(np.uint8))"
    if kind in "iu":
        return " (integers 0..255: pass frame.astype(np.uint8))"
    if kind == "b":
        return " (a boolean mask is not a picture)"
    return ""


def is_channels_first(shape: Sequence[int]) -> bool:
    """``(C,H,W)`` with 1, 3 or 4 channels first and none last."""
    return len(shape) == 3 and shape[0] in (1, 3, 4) and shape[-1] not in (1, 3, 4)


def channels_last(img: Any) -> np.ndarray:
    """numpy/torch ``(H,W,C)``, ``(C,H,W)`` or ``(H,W)`` → numpy ``(H,W,C)`` (host copy of a tensor)."""
    if hasattr(img, "detach"):
        img = img.detach().cpu().numpy()
    a = np.asarray(img)
    if is_channels_first(a.shape):
        a = a.transpose(1, 2, 0)
    return a[..., None] if a.ndim == 2 else a


def _shape_hint(shape: tuple) -> str:
    if len(shape) in (3, 4) and shape[-3] == 3:
        return "; this looks channels-first: move the channels last ((H,W,3))"
    if len(shape) in (2, 3) or (len(shape) == 4 and shape[-1] == 1):
        return "; for a grey frame repeat it to 3 channels"
    if shape and shape[-1] == 4:
        return "; drop the alpha channel first (frame[..., :3])"
    return ""


def check_images(images: Any) -> Any:
    """Check the Matter input contract; returns ``images`` as ``(B,H,W,3)`` (a view, no copy).

    Raises:
        TypeError: not a numpy array / torch tensor, or not uint8 (the message says how to
            convert a float frame in 0..1).
        ValueError: not ``(H,W,3)`` / ``(B,H,W,3)`` (channels-first, grey and RGBA get a hint).
    """
    torch = _torch()
    if isinstance(images, np.ndarray):
        dtype, shape = images.dtype, images.shape
        is_u8 = dtype == np.uint8
    elif torch is not None and isinstance(images, torch.Tensor):
        dtype, shape = images.dtype, tuple(images.shape)
        is_u8 = dtype == torch.uint8
    else:
        raise TypeError(f"frames must be a numpy array or torch tensor of uint8 RGB, got {type(images).__name__}")
    if not is_u8:
        raise TypeError(f"frames must be uint8 RGB (0..255), got {dtype}{dtype_hint(dtype)}")
    if len(shape) not in (3, 4) or shape[-1] != 3:
        raise ValueError(f"frames must be (H,W,3) or (B,H,W,3) RGB, got shape {shape}{_shape_hint(tuple(shape))}")
    return images[None] if len(shape) == 3 else images


def _warn_if_8bit_in_16(batch: np.ndarray) -> None:
    if batch.dtype == np.uint16 and batch.size and int(batch.max()) <= 255:
        warn("uint16 frames with values up to 255 look like 8-bit data: uint16 means 0..65535 (16-bit); "
             "pass frame.astype(np.uint8) for 8-bit pictures")


def _is_frame(obj: Any) -> bool:
    return type(obj).__name__ == "Frame" and hasattr(obj, "image") and hasattr(obj, "pts")


def check_array(image: Any, bgr: bool = False, depth_check: bool = True) -> tuple[list, bool, str]:
    """``proc(image)`` input → ``(list of (H,W,3) RGB arrays, single, pixel format)``.

    Takes ``(H,W,3)``/``(B,H,W,3)`` uint8 or uint16 (numpy or torch), grey ``(H,W)`` /
    ``(H,W,1)`` (spread to RGB); ``bgr`` reverses the channels. ``depth_check``: scan uint16
    frames for 8-bit values (a warning; a stream needs it once, not on every frame).
    """
    if _is_frame(image) or (isinstance(image, (list, tuple)) and image and _is_frame(image[0])):
        raise TypeError("proc(image) takes arrays; use proc.process([frames]) for Frame objects")
    torch = _torch()
    if torch is not None and isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    if not isinstance(image, np.ndarray):
        hint = " (a PIL image: pass np.asarray(img))" if hasattr(image, "getbands") else ""
        raise TypeError(f"expected a numpy array or torch tensor, got {type(image).__name__}{hint}")
    if image.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"frames must be uint8 (or uint16) {'BGR' if bgr else 'RGB'}, got {image.dtype}"
                        f"{dtype_hint(image.dtype)}")
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
    if hasattr(img, "detach"):
        return tuple(img.shape), np.dtype(str(img.dtype).replace("torch.", ""))
    a = np.asarray(img)
    return a.shape, a.dtype


def check_frames(frames: Sequence[Any]) -> None:
    """Frames for ``process``/``infer``: one size and one dtype, ``(H,W,3)`` uint8 or uint16."""
    if not all(_is_frame(f) for f in frames):
        raise TypeError("process() takes a list of Frame objects; call proc(image) for arrays")
    first = _kind(frames[0].image)
    for f in frames:
        shape, dtype = _kind(f.image)
        if dtype not in (np.uint8, np.uint16):
            raise TypeError(f"frame {f.index}: images must be uint8 (or uint16) RGB, got {dtype}{dtype_hint(dtype)}")
        if len(shape) != 3 or shape[-1] != 3:
            hint = "; this looks channels-first: move the channels last" if len(shape) == 3 and shape[0] == 3 else ""
            raise ValueError(f"frame {f.index}: images must be (H,W,3) RGB, got shape {shape}{hint}")
        if (shape, dtype) != first:
            raise ValueError(f"frame {f.index} is {shape} {dtype}, frame {frames[0].index} is {first[0]} {first[1]}: "
                             "a batch must share one size and dtype")


def check_alpha(alpha: Any, batch: int, height: int, width: int, matter: Any, values: bool) -> None:
    """A matter's output must be ``(B,1,H,W)`` float at the frame size; ``values``: also in [0, 1]."""
    import torch

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


def check_bchw(t: Any, name: str, channels: int | None = None, floating: bool = True) -> None:
    """Raise unless ``t`` is a ``(B,C,H,W)`` tensor (with ``C == channels`` when given)."""
    import torch

    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if floating and not t.is_floating_point():
        raise TypeError(f"{name} must be floating point in [0, 1], got {t.dtype}")
    if t.ndim != 4 or (channels is not None and t.shape[1] != channels):
        want = f"(B,{channels},H,W)" if channels is not None else "(B,C,H,W)"
        raise ValueError(f"{name} must be {want}, got {tuple(t.shape)}")


def check_image_alpha(image: Any, alpha: Any, name: str = "blur fusion") -> None:
    """Raise unless ``image`` is floating ``(B,3,H,W)`` and ``alpha`` ``(B,1,H,W)`` of the same size."""
    check_bchw(image, f"{name}: image", 3)
    check_bchw(alpha, f"{name}: alpha", 1)
    if alpha.shape[0] != image.shape[0] or alpha.shape[-2:] != image.shape[-2:]:
        raise ValueError(
            f"{name}: alpha {tuple(alpha.shape)} does not match image {tuple(image.shape)} in batch or size"
        )


def _shape_text(shape: Sequence) -> str:
    return "(" + ",".join(str(d) if isinstance(d, int) else "?" for d in shape) + ")"


def check_declared_output(name: str, in_hw: Optional[tuple], output: Any, index: int) -> None:
    """Refuse an output whose *declared* type or shape cannot be a matte: not float, not rank 3
    (B,H,W) or 4 (B,1,H,W), a channel count other than 1, or fixed sizes that do not follow a
    fixed input's (``in_hw``, ``None`` for any size). Unknown (symbolic) dimensions pass;
    :func:`check_model_output` sees the real ones."""
    shape = list(output.shape or [])
    where = f"{name}: output {index} ({output.name}) is {output.type} {_shape_text(shape)}"
    hint = "a matting model gives one (B,1,H,W) or (B,H,W) float map; pick another with --output-index"
    if output.type not in _FLOAT_TYPES:
        raise InputError(f"{where}; {hint}")
    if shape and len(shape) not in (3, 4):
        raise InputError(f"{where}; {hint}")
    if len(shape) == 4 and isinstance(shape[1], int) and shape[1] != 1:
        raise InputError(f"{where}, {shape[1]} channels where a matte has 1; {hint}")
    out_hw = tuple(shape[-2:]) if len(shape) in (3, 4) else ()
    if in_hw and len(out_hw) == 2 and all(isinstance(d, int) and d > 0 for d in out_hw):
        if not _follows(out_hw, in_hw):  # type: ignore[arg-type]
            raise InputError(f"{where} for an input of {in_hw[0]}x{in_hw[1]}: its size does not follow the "
                             f"input's; {hint}")


def _follows(out_hw: tuple[int, int], in_hw: tuple[int, int]) -> bool:
    """A matte's ``(h', w')`` is the input's ``(h, w)`` times one factor ``s`` in [1/32, 4]
    (full size, or a stride-2..32 map that the resize brings back), each side within a pixel
    of rounding: the ranges of ``s`` that each side allows overlap."""
    (ho, wo), (hi, wi) = out_hw, in_hw
    lo = max((ho - 1) / hi, (wo - 1) / wi, 1 / 32 - 1e-9)
    hi_ = min((ho + 1) / hi, (wo + 1) / wi, 4.0)
    return ho > 0 and wo > 0 and lo < hi_


def check_model_output(name: str, in_shape: tuple, out: Any, index: int, *, bounded: bool) -> None:
    """Refuse, in one line naming the shapes seen, a real output that is not a matte of the
    ``in_shape`` (B,3,h,w) input: rank other than 3/4, more than one channel, a size that does
    not follow the input's, NaN/inf, or (``bounded``: no sigmoid or min-max stretch follows)
    values outside [0, 1] by more than :data:`RANGE_TOLERANCE`."""
    out = np.asarray(out)
    seen = f"{name}: output {index} has shape {_shape_text(out.shape)} for an input of {_shape_text(in_shape)}"
    hint = "a matting model gives one (B,1,H,W) or (B,H,W) map; pick another with --output-index"
    if not np.issubdtype(out.dtype, np.floating):
        raise InputError(f"{seen} and {out.dtype} values; {hint}")
    if out.ndim not in (3, 4) or out.shape[0] != in_shape[0]:
        raise InputError(f"{seen}; {hint}")
    if out.ndim == 4 and out.shape[1] != 1:
        raise InputError(f"{seen}: {out.shape[1]} channels where a matte has 1; {hint}")
    if not _follows(tuple(int(d) for d in out.shape[-2:]), (int(in_shape[2]), int(in_shape[3]))):
        raise InputError(f"{seen}: its size does not follow the input's; {hint}")
    lo, hi = float(np.min(out)), float(np.max(out))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise InputError(f"{seen} and NaN or infinite values; the model is broken or needs other --mean/--std")
    if bounded and (lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE):
        raise InputError(f"{seen} with values in [{lo:.3g}, {hi:.3g}], not a matte in [0, 1]; add --sigmoid if it "
                         "gives logits, or pick another output with --output-index")
