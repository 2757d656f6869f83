"""``load_matter``: one call from a model name or file to a ready :class:`Matter`.

Names: a BiRefNet checkpoint name (``lite``, ``general``, …; see ``vidmatte models list``),
``chroma`` (a green-screen keyer), or a path: ``.onnx`` runs through onnxruntime, any other
file is a BiRefNet checkpoint (``--weights``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import torch

from vidmatte.errors import DeviceError
from vidmatte.matting import ChromaKeyMatter, Matter

__all__ = ["load_matter", "resolve_device", "resolve_dtype", "CPU_DEFAULT_SIZE"]

# BiRefNet-lite on a 2-core CPU: official code ~3.4-3.9 s per 512² frame and ~17 s per
# 1024² frame; ours ~1.3 s and ~5-7 s. On CPU we default to 512 unless the user asks.
CPU_DEFAULT_SIZE = 512

_DTYPES = {"fp32": torch.float32, "float32": torch.float32, "fp16": torch.float16,
           "float16": torch.float16, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}


def resolve_device(device: Union[str, torch.device, None] = "auto") -> torch.device:
    """``auto`` → ``cuda`` when available, else ``cpu``; ``cuda`` without CUDA → DeviceError."""
    name = str(device or "auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda was asked but no CUDA device is available; use --device cpu (or auto)")
    return dev


def resolve_dtype(dtype: Union[str, torch.dtype, None], device: torch.device) -> torch.dtype:
    """``auto`` → fp16 on CUDA, fp32 on CPU."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        return torch.float16 if device.type == "cuda" else torch.float32
    try:
        return _DTYPES[str(dtype)]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; use fp32, fp16 or bf16") from None


def load_matter(
    model: str = "lite",
    *,
    weights: Optional[Union[str, Path]] = None,
    size: Optional[Union[int, tuple]] = None,
    device: Union[str, torch.device, None] = "auto",
    dtype: Union[str, torch.dtype, None] = "auto",
    patch_order: Optional[str] = None,
    preset: Optional[str] = None,
    download: bool = True,
    onnx_options: Optional[dict] = None,
) -> Matter:
    """Build a ready-to-run matter.

    Args:
        model: checkpoint name, ``chroma``, or a path to ``.onnx`` / checkpoint file.
        weights: explicit checkpoint file for a BiRefNet name (variant taken from the file).
        size: model input size (``N`` or ``(H, W)``, rounded to multiples of 32); default:
            the checkpoint's size on GPU, :data:`CPU_DEFAULT_SIZE` on CPU.
        device, dtype: ``auto`` picks CUDA + fp16 when available, else CPU + fp32.
        patch_order: override a BiRefNet checkpoint's patch order (``legacy``/``current``).
        preset: ONNX model family (``birefnet``, ``modnet``, ``u2net``, ``isnet``).
        download: allow fetching named weights from the Hugging Face Hub.
        onnx_options: extra :class:`~vidmatte.models.onnx.OnnxMatter` arguments (``mean``,
            ``std``, ``output_index``, ``sigmoid``, ``threads``) for unrecognised ONNX models.
    """
    dev = resolve_device(device)
    if str(model).startswith("chroma"):
        return ChromaKeyMatter(device=dev)
    path = Path(weights) if weights else (Path(model) if _looks_like_path(model) else None)
    if path is not None and path.suffix.lower() == ".onnx":
        from vidmatte.models.onnx import OnnxMatter

        return OnnxMatter(path, preset=preset, size=size, device=dev, **(onnx_options or {}))

    from vidmatte.models.birefnet_matter import BiRefNetMatter
    from vidmatte.models.loader import load_birefnet

    name = None if path is not None and not weights else model
    net, info = load_birefnet(name or "lite", weights=path, patch_order=patch_order, download=download)
    if size is None:
        size = info.size if dev.type == "cuda" else CPU_DEFAULT_SIZE
    return BiRefNetMatter(net, size=size, device=dev, dtype=resolve_dtype(dtype, dev))


def _looks_like_path(model: str) -> bool:
    m = str(model)
    return "/" in m or "\\" in m or Path(m).suffix.lower() in {".onnx", ".safetensors", ".pth", ".pt", ".bin", ".ckpt"}
