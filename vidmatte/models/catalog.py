"""What ``vidmatte models list`` shows: every model by name with where it comes from and
whether it is here, and the default input size and precision per model and device.

Torch-free and network-free: availability is read from the Hugging Face cache layout
(``models--OWNER--NAME/snapshots/*/FILE``) without importing the hub client.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from vidmatte.defaults import MODEL_DEFAULTS
from vidmatte.models.bundled import BUNDLED_LICENCE, BUNDLED_MODNET
from vidmatte.models.weights.registry import CHECKPOINTS, Checkpoint

__all__ = ["ModelRow", "model_rows", "default_rows", "cache_folder", "in_cache"]


@dataclass(frozen=True)
class ModelRow:
    name: str
    source: str
    family: str
    mb: str
    trained_size: str  # "WxH" (like ffmpeg)
    patches: str
    licence: str
    available: bool
    notes: str


def cache_folder() -> Path:
    """The Hugging Face hub cache the environment selects (same rules as huggingface_hub)."""
    env = os.environ
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(var):
            return Path(os.path.expandvars(os.path.expanduser(env[var])))
    home = env.get("HF_HOME") or os.path.join(env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                                              "huggingface")
    return Path(os.path.expandvars(os.path.expanduser(home))) / "hub"


def in_cache(ckpt: Checkpoint, cache: Optional[Path] = None) -> bool:
    """Whether a snapshot of ``ckpt`` holds its weights file in the cache (no network, no import)."""
    repo = (cache or cache_folder()) / ("models--" + ckpt.repo_id.replace("/", "--")) / "snapshots"
    return any(p.is_file() for p in repo.glob(f"*/{ckpt.filename}"))


def model_rows() -> list[ModelRow]:
    """The bundled MODNet, then the BiRefNet checkpoints of the registry."""
    rows = [ModelRow("modnet", "bundled (in the package)", "MODNet (ONNX)",
                     f"{BUNDLED_MODNET.stat().st_size / 1e6:.0f}" if BUNDLED_MODNET.is_file() else "?",
                     "any (long side)", "-", BUNDLED_LICENCE, BUNDLED_MODNET.is_file(),
                     "portrait matting; the offline fallback of --model auto and the CPU live default")]
    cache = cache_folder()
    for c in CHECKPOINTS.values():
        rows.append(ModelRow(c.name, c.repo_id, f"BiRefNet {c.variant}", f"~{c.approx_mb}",
                             f"{c.size[1]}x{c.size[0]}", c.patch_order,
                             c.licence + ("" if c.commercial else " (NON-COMMERCIAL)"), in_cache(c, cache), c.notes))
    return rows


def default_rows() -> list[dict]:
    """The per-model, per-device defaults table as rows."""
    return [{"family": fam, "device": dev, "job": "live" if live else "file",
             "size": "trained" if d.size is None else str(d.size), **{k: v for k, v in asdict(d).items() if k != "size"}}
            for (fam, dev, live), d in MODEL_DEFAULTS.items()]
