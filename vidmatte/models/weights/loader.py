"""Load BiRefNet weights safely and check them against the network before use.

* Files are read by :mod:`vidmatte.models.weights.file` (safetensors or ``weights_only``
  torch files, containers opened, wrapper prefixes stripped) and found by
  :mod:`vidmatte.models.weights.hub` (names → Hugging Face cache → download).
* The variant (``lite`` Swin-T / ``full`` Swin-L) is read from the Swin embedding width.
* Keys and shapes are compared with the network's own ``state_dict`` before loading; any
  problem is one :class:`WeightsError` line naming the file, the fault and the fix.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Union

import torch

from vidmatte.errors import InputError, WeightsError
from vidmatte.models.weights.hub import resolve_weights
from vidmatte.models.weights.registry import Checkpoint, default_for_variant, get_checkpoint
from vidmatte.models.weights.file import fix_hint, load_state_dict_file, strip_prefixes, weights_error, weights_path

__all__ = [
    "LoadInfo",
    "load_state_dict_file",
    "strip_prefixes",
    "detect_variant",
    "expected_entries",
    "check_state_dict",
    "open_weights",
    "load_birefnet",
    "resolve_weights",
    "fix_hint",
]

# Swin embedding width C of each variant, read from keys that exist in every checkpoint.
_EMBED = {96: "lite", 192: "full"}
_PROBES = ("bb.patch_embed.proj.weight", "bb.patch_embed.norm.weight", "bb.norm0.weight",
           "bb.layers.0.blocks.0.norm1.weight")


@dataclass
class LoadInfo:
    """What was loaded.

    ``name`` is the checkpoint whose defaults (patch order, ``size`` as ``(H, W)``) apply;
    ``from_file`` tells that the weights came from ``--weights`` rather than the name;
    ``dtypes`` counts stored dtypes by name; ``num_params`` excludes BatchNorm statistics.
    """

    path: Path
    variant: str
    patch_order: str
    size: tuple[int, int]
    name: Optional[str] = None
    from_file: bool = False
    repo_id: Optional[str] = None
    licence: Optional[str] = None
    commercial: bool = True
    dtypes: dict[str, int] = field(default_factory=dict)
    num_keys: int = 0
    num_params: int = 0
    file_bytes: int = 0


def detect_variant(sd: Mapping[str, torch.Tensor], path: Union[str, Path] = "weights", name: Optional[str] = None) -> str:
    """``lite`` or ``full`` from the Swin embedding width (96 or 192)."""
    for key in _PROBES:
        if key in sd and sd[key].ndim >= 1:
            width = int(sd[key].shape[0])
            if width in _EMBED:
                return _EMBED[width]
            raise weights_error(Path(path), f"Swin width {width} at {key} is neither lite (96) nor full (192)", name)
    sample = ", ".join(list(sd)[:3])
    raise weights_error(Path(path), f"does not look like a BiRefNet checkpoint (no Swin backbone keys; it has {len(sd)} keys "
                            f"such as {sample})", name)


@functools.lru_cache(maxsize=4)
def expected_entries(variant: str) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """``{key: (shape, dtype)}`` of the network's state dict, built on the meta device (no memory)."""
    from vidmatte.models.birefnet.network import BiRefNet

    with torch.device("meta"):
        net = BiRefNet(variant=variant)
    return {k: (tuple(v.shape), v.dtype) for k, v in net.state_dict().items()}


def check_state_dict(
    sd: Mapping[str, torch.Tensor], variant: str, path: Union[str, Path] = "weights", name: Optional[str] = None
) -> None:
    """Raise one WeightsError line if keys or shapes differ from the ``variant`` network."""
    want = expected_entries(variant)
    missing = [k for k in want if k not in sd]
    extra = [k for k in sd if k not in want]
    wrong = [k for k in want if k in sd and tuple(sd[k].shape) != want[k][0]]
    faults = []
    if missing:
        faults.append(f"{len(missing)} keys missing, e.g. {', '.join(missing[:3])}")
    if extra:
        faults.append(f"{len(extra)} unexpected keys, e.g. {', '.join(extra[:3])}")
    if wrong:
        k = wrong[0]
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        faults.append(f"shape mismatch at {k}: file {tuple(sd[k].shape)} vs model {want[k][0]}{more}")
    if faults:
        raise weights_error(Path(path), f"does not fit BiRefNet {variant}: " + "; ".join(faults), name)
    bad = next((k for k, v in sd.items() if v.is_floating_point() and not torch.isfinite(v).all()), None)
    if bad is not None:
        raise weights_error(Path(path), f"holds NaN or Inf values at {bad} (the file is corrupt)", name)


def open_weights(
    name: Optional[str] = "lite",
    weights: Union[str, Path, None] = None,
    patch_order: Optional[str] = None,
    download: bool = True,
    variant: Optional[str] = None,
) -> tuple[dict[str, torch.Tensor], LoadInfo]:
    """Find, read, identify and check a checkpoint without building the network.

    Returns the state dict in its stored dtypes and a :class:`LoadInfo`. With ``weights`` the
    variant comes from the file and ``name`` only lends its patch order and size when it is
    of the same variant; ``variant`` forces a network (a file of the other variant is an error).
    """
    if patch_order not in (None, "legacy", "current"):
        raise InputError(f"patch order must be 'legacy' or 'current', got {patch_order!r}")
    if weights is None and name and get_checkpoint(name).variant == "vitmatte":
        raise WeightsError(f"{name!r} is the ViTMatte edge refiner, not a matting model; use it with "
                           f"--refine vitmatte beside a --model")
    hint = None if weights is not None else name
    path = weights_path(resolve_weights(name or "lite", weights=weights, download=download), hint)
    raw = load_state_dict_file(path, dtype=None, name=hint)
    found = detect_variant(raw, path, hint)
    if variant is not None and variant != found:
        raise WeightsError(f"{path}: holds a BiRefNet {found} checkpoint but the {variant} network was asked; "
                           f"use a {variant} checkpoint, or let the file decide (no --variant)")
    ckpt: Optional[Checkpoint] = get_checkpoint(name) if name else None
    if ckpt is not None and weights is None and ckpt.variant != found:
        raise weights_error(path, f"holds a {found} checkpoint but {ckpt.name!r} is {ckpt.variant}", hint)
    if ckpt is None or ckpt.variant != found:
        ckpt = default_for_variant(found)
    check_state_dict(raw, found, path, hint)
    dtypes: dict[str, int] = {}
    for v in raw.values():
        key = str(v.dtype).replace("torch.", "")
        dtypes[key] = dtypes.get(key, 0) + 1
    named = weights is None
    info = LoadInfo(
        path=path, variant=found, patch_order=patch_order or ckpt.patch_order, size=ckpt.size,
        name=ckpt.name, from_file=not named, repo_id=ckpt.repo_id if named else None,
        licence=ckpt.licence if named else None, commercial=ckpt.commercial if named else True,
        dtypes=dtypes, num_keys=len(raw),
        # parameters = floating entries except BatchNorm running statistics
        num_params=sum(v.numel() for k, v in raw.items() if v.is_floating_point() and ".running_" not in k),
        file_bytes=path.stat().st_size,
    )
    return raw, info


def load_birefnet(
    name: Optional[str] = "lite",
    weights: Union[str, Path, None] = None,
    patch_order: Optional[str] = None,
    download: bool = True,
    variant: Optional[str] = None,
) -> tuple[torch.nn.Module, LoadInfo]:
    """BiRefNet (fp32, CPU, eval mode) with a named checkpoint or a file loaded ``strict=True``.

    Arguments as :func:`open_weights`; ``patch_order`` overrides the checkpoint's
    (``legacy`` / ``current``).
    """
    from vidmatte.models.birefnet.network import BiRefNet

    raw, info = open_weights(name, weights=weights, patch_order=patch_order, download=download, variant=variant)
    net = BiRefNet(variant=info.variant, patch_order=info.patch_order)
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in raw.items()}, strict=True)
    return net.eval(), info
