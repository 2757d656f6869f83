"""The BiRefNet checkpoints vidmatte knows by name.

Each entry says where the weights live on the Hugging Face Hub, which network they fit
(``lite`` = Swin-T backbone, ``full`` = Swin-L), which image-patch order they were trained
with (see the spec, section 6: ``legacy`` for everything uploaded before 2024-11-05) and the
input size they were trained at.

What was checked (Hub file listings and commit pages, read through search, 2026):

* file name ``model.safetensors`` in every repo below;
* sizes: BiRefNet_lite and BiRefNet_lite-2K 178 MB (177,634,392 bytes for lite-2K, i.e. fp32
  Swin-T); BiRefNet-portrait and BiRefNet-matting 885 MB (fp32 Swin-L, so ``full``);
  BiRefNet (general) 885 MB in older mirrors, possibly fp16 (~444 MB) today;
* upload dates: lite 2024-08, lite-2K 2024-09, matting 2024-10-06, portrait 2024-05
  (re-trained weights "with added mae loss" later, date not seen). All predate the
  patch-order change, hence ``legacy``; for general and portrait this is likely, not proven.

``vitmatte-small`` is no BiRefNet: it is the refiner ``--refine vitmatte`` loads (variant
``vitmatte``), listed here so it shares the cache, ``models download`` and offline rules.

Unverified here (no Hub access): the storage dtype of the current general file, and the
RMBG-2.0 licence text (CC BY-NC 4.0 per Bria's card as quoted by third parties; the repo
is gated, so downloading needs an accepted licence and a token).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from vidmatte.errors import WeightsError

__all__ = ["Checkpoint", "CHECKPOINTS", "ALIASES", "get_checkpoint", "checkpoint_names", "default_for_variant"]


@dataclass(frozen=True)
class Checkpoint:
    """One released BiRefNet checkpoint.

    Attributes:
        name: vidmatte name (``vidmatte models download NAME``).
        repo_id, filename: where the file lives on the Hugging Face Hub.
        variant: ``lite`` (Swin-T) or ``full`` (Swin-L); decides the network built.
        patch_order: ``legacy`` or ``current`` image-patch stacking (spec section 6).
        size: ``(H, W)`` training / recommended input size.
        licence: short licence name of the weights.
        commercial: whether the weights may be used commercially.
        approx_mb: download size in MB (as listed on the Hub).
        gated: the Hub asks users to accept terms (and log in) before downloading.
        notes: one line for ``vidmatte models list``.
        extra_files: other files of the repository the weights need beside them (a
            transformers ``config.json``); fetched into the same snapshot folder.
    """

    name: str
    repo_id: str
    filename: str
    variant: str
    patch_order: str
    size: tuple[int, int]
    licence: str
    commercial: bool
    approx_mb: int
    gated: bool = False
    notes: str = ""
    extra_files: tuple[str, ...] = ()


CHECKPOINTS: dict[str, Checkpoint] = {
    c.name: c
    for c in (
        Checkpoint("lite", "ZhengPeng7/BiRefNet_lite", "model.safetensors", "lite", "legacy", (1024, 1024),
                   "MIT", True, 178, notes="general use, Swin-T; the fast default"),
        Checkpoint("lite-2k", "ZhengPeng7/BiRefNet_lite-2K", "model.safetensors", "lite", "legacy", (1440, 2560),
                   "MIT", True, 178, notes="Swin-T trained at 2560x1440 (WxH) for high-resolution frames"),
        Checkpoint("general", "ZhengPeng7/BiRefNet", "model.safetensors", "full", "legacy", (1024, 1024),
                   "MIT", True, 885, notes="general use, Swin-L; ~5x slower than lite (file may be fp16, ~444 MB)"),
        Checkpoint("portrait", "ZhengPeng7/BiRefNet-portrait", "model.safetensors", "full", "legacy", (1024, 1024),
                   "MIT", True, 885, notes="Swin-L trained on portraits (P3M-10k, humans)"),
        Checkpoint("matting", "ZhengPeng7/BiRefNet-matting", "model.safetensors", "full", "legacy", (1024, 1024),
                   "MIT", True, 885, notes="Swin-L trained for soft alpha mattes"),
        Checkpoint("rmbg-2.0", "briaai/RMBG-2.0", "model.safetensors", "full", "legacy", (1024, 1024),
                   "CC BY-NC 4.0", False, 885, gated=True,
                   notes="Bria RMBG-2.0 (BiRefNet Swin-L); NON-COMMERCIAL use only; gated repo"),
        # not a matting model: the trimap-based refiner of `--refine vitmatte` (transformers' ViTMatte;
        # repo files per the Hub listing: config.json, preprocessor_config.json, model.safetensors 103 MB)
        Checkpoint("vitmatte-small", "hustvl/vitmatte-small-composition-1k", "model.safetensors", "vitmatte", "n/a",
                   (512, 512), "Apache-2.0", True, 103,
                   notes="ViTMatte-S (Composition-1k) for --refine vitmatte (matte, image); not a --model",
                   extra_files=("config.json", "preprocessor_config.json")),
    )
}

ALIASES: dict[str, str] = {"full": "general", "birefnet": "general", "lite2k": "lite-2k", "rmbg": "rmbg-2.0"}

_VARIANT_DEFAULT = {"lite": "lite", "full": "general"}


def checkpoint_names() -> list[str]:
    """Known names in listing order (aliases excluded)."""
    return list(CHECKPOINTS)


def get_checkpoint(name: str) -> Checkpoint:
    """The checkpoint called ``name`` (case-insensitive, aliases allowed) or a WeightsError."""
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    try:
        return CHECKPOINTS[key]
    except KeyError:
        known = ", ".join(checkpoint_names())
        raise WeightsError(
            f"unknown model {name!r}; known names: {known} (see `vidmatte models list`), or pass a file with --weights FILE"
        ) from None


def default_for_variant(variant: str) -> Optional[Checkpoint]:
    """The checkpoint whose defaults (patch order, size) apply to a bare file of ``variant``."""
    name = _VARIANT_DEFAULT.get(variant)
    return CHECKPOINTS[name] if name else None
