"""Shape and dtype checks shared by the tensor ops: one clear ``ValueError``/``TypeError``."""

from __future__ import annotations

import torch

__all__ = ["check_image_alpha", "check_bchw", "host_twin"]


def check_bchw(t: torch.Tensor, name: str, channels: int | None = None, floating: bool = True) -> None:
    """Raise unless ``t`` is a ``(B,C,H,W)`` tensor (with ``C == channels`` when given)."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if floating and not t.is_floating_point():
        raise TypeError(f"{name} must be floating point in [0, 1], got {t.dtype}")
    if t.ndim != 4 or (channels is not None and t.shape[1] != channels):
        want = f"(B,{channels},H,W)" if channels is not None else "(B,C,H,W)"
        raise ValueError(f"{name} must be {want}, got {tuple(t.shape)}")


def check_image_alpha(image: torch.Tensor, alpha: torch.Tensor, name: str = "blur fusion") -> None:
    """Raise unless ``image`` is floating ``(B,3,H,W)`` and ``alpha`` ``(B,1,H,W)`` of the same size."""
    check_bchw(image, f"{name}: image", 3)
    check_bchw(alpha, f"{name}: alpha", 1)
    if alpha.shape[0] != image.shape[0] or alpha.shape[-2:] != image.shape[-2:]:
        raise ValueError(
            f"{name}: alpha {tuple(alpha.shape)} does not match image {tuple(image.shape)} in batch or size"
        )


def host_twin(backend: str, *tensors: torch.Tensor, dtypes: tuple = (torch.float32,), name: str = "backend") -> bool:
    """Whether an op with a numpy/OpenCV twin runs that twin: ``backend`` is ``"auto"`` and
    every tensor is on the CPU in one of ``dtypes``. ``backend="torch"`` keeps the tensor
    code; any other value is a ``ValueError`` (``name`` says whose)."""
    if backend not in ("auto", "torch"):
        raise ValueError(f"{name} must be 'auto' or 'torch', got {backend!r}")
    return backend == "auto" and all(t.device.type == "cpu" and t.dtype in dtypes for t in tensors)
