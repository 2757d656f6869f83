"""Which implementation of an op runs: the tensor code, or its numpy/OpenCV twin on CPU tensors."""

from __future__ import annotations

import torch

__all__ = ["host_twin"]


def host_twin(backend: str, *tensors: torch.Tensor, dtypes: tuple = (torch.float32,), name: str = "backend") -> bool:
    """Whether an op with a numpy/OpenCV twin runs that twin: ``backend`` is ``"auto"`` and
    every tensor is on the CPU in one of ``dtypes``. ``backend="torch"`` keeps the tensor
    code; any other value is a ``ValueError`` (``name`` says whose)."""
    if backend not in ("auto", "torch"):
        raise ValueError(f"{name} must be 'auto' or 'torch', got {backend!r}")
    return backend == "auto" and all(t.device.type == "cpu" and t.dtype in dtypes for t in tensors)
