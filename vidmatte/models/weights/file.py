"""Read a weights file into a flat state dict, safely, whatever its format.

* ``.safetensors`` (any float dtype), or torch ``.pth/.pt/.bin/.ckpt`` files read with
  ``torch.load(weights_only=True)`` only, so no code from a pickle ever runs. The format is
  recognised from the first bytes, not from the suffix.
* Containers ``{"state_dict": ...}``, ``{"model": ...}`` are opened, non-tensor entries
  (epoch counters, configs) dropped, ``module.`` / ``_orig_mod.`` prefixes (DataParallel,
  ``torch.compile``) stripped, floating tensors cast (integer buffers never are).
* Every failure is one :class:`WeightsError` line: the file, the fault, what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Union

import torch

from vidmatte.errors import WeightsError
from vidmatte.models.weights.registry import get_checkpoint

__all__ = ["load_state_dict_file", "weights_path", "strip_prefixes", "fix_hint", "weights_error"]

_PREFIXES = ("module.", "_orig_mod.")
_CONTAINERS = ("state_dict", "model", "model_state_dict")
_SUFFIXES = {".safetensors", ".pth", ".pt", ".bin", ".ckpt"}


def fix_hint(name: Optional[str] = None) -> str:
    """The "what to do" half of a weights error."""
    if name:
        return f"run `vidmatte models download {get_checkpoint(name).name}` or pass a good file with --weights FILE"
    return "pass an official BiRefNet checkpoint with --weights FILE, or a named model (`vidmatte models download lite`)"


def weights_error(path: Path, what: str, name: Optional[str]) -> WeightsError:
    """``PATH: what is wrong; what to do`` as a WeightsError."""
    return WeightsError(f"{path}: {what}; {fix_hint(name)}")


def weights_path(path: Union[str, Path], name: Optional[str] = None) -> Path:
    """The weights file itself: a folder (e.g. a Hub snapshot) gives its ``model.safetensors``
    or its only checkpoint file. Missing or empty files raise a WeightsError."""
    path = Path(path).expanduser()
    if path.is_dir():
        inner = [p for p in sorted(path.iterdir()) if p.suffix in _SUFFIXES]
        if (path / "model.safetensors").is_file():
            inner = [path / "model.safetensors"]
        if len(inner) != 1:
            raise weights_error(path, "is a folder without exactly one weights file in it", name)
        path = inner[0]
    if not path.exists():
        raise weights_error(path, "file not found", name)
    if path.stat().st_size == 0:
        raise weights_error(path, "empty file (an interrupted download?)", name)
    return path


def _read(path: Path, name: Optional[str]) -> Mapping:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(9)
    if head[:4] == b"PK\x03\x04" or head[:1] == b"\x80":
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=head[:2] == b"PK")
        except Exception as exc:
            if "Weights only load failed" in str(exc):
                raise weights_error(path, "holds Python objects other than tensors, which safe loading (weights_only) "
                                  "refuses to run; re-save it as a plain state dict or safetensors", name) from None
            raise weights_error(path, f"torch file is truncated or corrupt ({type(exc).__name__})", name) from None
    if len(head) == 9 and head[8:9] == b"{":
        from safetensors.torch import load_file

        if int.from_bytes(head[:8], "little") > size - 8:
            raise weights_error(path, "safetensors file is truncated (its header is cut)", name)
        try:
            return load_file(str(path), device="cpu")
        except Exception as exc:
            raise weights_error(path, f"safetensors file is truncated or corrupt ({str(exc).split(':')[-1].strip()})", name) from None
    raise weights_error(path, "not a safetensors or torch checkpoint (unrecognised bytes)", name)


def strip_prefixes(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove leading ``module.`` / ``_orig_mod.`` (repeated, in any order) from every key."""
    out = {}
    for key, value in sd.items():
        while key.startswith(_PREFIXES):
            key = key.split(".", 1)[1]
        out[key] = value
    return out


def load_state_dict_file(
    path: Union[str, Path], dtype: Optional[torch.dtype] = torch.float32, name: Optional[str] = None
) -> dict[str, torch.Tensor]:
    """Read a checkpoint file into a flat ``{key: tensor}`` dict on the CPU.

    Args:
        path: ``.safetensors`` or torch file (the format is sniffed from its bytes).
        dtype: cast floating tensors to this dtype (``None`` keeps the stored dtypes);
            integer buffers are never cast.
        name: checkpoint name, only used to word the error's advice.
    """
    path = weights_path(path, name)
    obj = _read(path, name)
    for _ in range(3):  # nested containers, e.g. {"model": {"state_dict": ...}}
        inner = next((obj[k] for k in _CONTAINERS if isinstance(obj, Mapping) and isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, Mapping):
        raise weights_error(path, f"holds a {type(obj).__name__}, not a state dict", name)
    sd = strip_prefixes({k: v for k, v in obj.items() if isinstance(v, torch.Tensor)})
    if not sd:
        raise weights_error(path, "holds no tensors", name)
    if dtype is not None:
        sd = {k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}
    return sd
