"""Deterministic BiRefNet test weights from a key manifest (../shared/birefnet/FILL_RULE.md).

Each float key draws once from its own CPU generator seeded with the CRC-32 of the key;
the leaf name picks the scaling. int64 keys are ``num_batches_tracked`` (0) and the Swin
``relative_position_index`` tables.
"""

from __future__ import annotations

import math
import zlib
from typing import Iterable, Sequence

import torch

from vidmatte.models.birefnet.swin import relative_position_index

__all__ = ["fill_tensor", "build_fill_state_dict", "checksum_mismatches"]


def fill_tensor(key: str, shape: Sequence[int], dtype: str) -> torch.Tensor:
    """The rule's tensor for one manifest row."""
    shape = tuple(int(s) for s in shape)
    if dtype == "int64":
        if key.endswith(".num_batches_tracked"):
            return torch.zeros(shape, dtype=torch.int64)
        if key.endswith(".relative_position_index"):
            return relative_position_index(math.isqrt(shape[0]))
        raise ValueError(f"no fill rule for int64 key {key}")
    g = torch.Generator().manual_seed(zlib.crc32(key.encode("utf-8")))
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "running_var":
        return 0.5 + torch.rand(shape, generator=g)
    z = torch.randn(shape, generator=g)
    if leaf in ("running_mean", "bias"):
        return 0.1 * z
    if leaf == "relative_position_bias_table":
        return 0.5 * z
    if leaf == "weight":
        return 1 + 0.1 * z if len(shape) == 1 else z / math.sqrt(math.prod(shape[1:]))
    raise ValueError(f"no fill rule for leaf {leaf!r} (key {key})")


def build_fill_state_dict(rows: Iterable[Sequence]) -> dict[str, torch.Tensor]:
    """``[[key, shape, dtype], ...]`` → state dict following the fill rule."""
    return {key: fill_tensor(key, shape, dtype) for key, shape, dtype in rows}


def checksum_mismatches(sd: dict[str, torch.Tensor], checksums: dict, rtol: float = 1e-5) -> list[str]:
    """Keys whose ``sum`` / ``abs_sum`` / first values differ from the reference checksums.

    Sums run in float32 (fast); a deviation is allowed up to ``rtol · abs_sum``, far below
    what a different random stream would give. The first values must match to float32.
    """
    bad = []
    for key, ref in checksums.items():
        t = sd.get(key)
        if t is None:
            bad.append(f"{key}: missing")
            continue
        d = t.flatten().float()
        got = {"sum": d.sum().item(), "abs_sum": d.abs().sum().item()}
        scale = rtol * abs(ref.get("abs_sum", 0.0)) + 1e-6
        for name, val in got.items():
            if name in ref and abs(val - ref[name]) > scale:
                bad.append(f"{key}: {name} {val} != {ref[name]}")
        first = [float(v) for v in ref.get("first", [])]
        if any(not math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-9) for a, b in zip(d[: len(first)].tolist(), first)):
            bad.append(f"{key}: first values {d[:len(first)].tolist()} != {first}")
    return bad
