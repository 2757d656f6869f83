"""Find and load ViTMatte weights by the rules BiRefNet's follow.

* A name (``vitmatte-small``, see ``vidmatte models list``) is looked up in the Hugging Face
  cache, downloaded when allowed (not with ``--offline`` / ``HF_HUB_OFFLINE``, and only when
  the Hub answers), with ``config.json`` and ``preprocessor_config.json`` of the same revision
  (:func:`vidmatte.models.weights.hub.resolve_folder`).
* ``--refine-weights DIR`` is a ``save_pretrained`` folder (or a weights file inside one).
* Loading is transformers' own ``VitMatteForImageMatting.from_pretrained`` with
  ``local_files_only``: safetensors first, ``pytorch_model.bin`` through ``torch.load`` with
  ``weights_only``; never ``trust_remote_code`` (the class is transformers' native one).
  Missing, unexpected or mis-shaped keys are an error, not random weights with a warning.

Every failure is one :class:`~vidmatte.errors.WeightsError` line that says what to do;
transformers itself missing is one line saying which extra to install.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any, Union

import torch

from vidmatte.errors import VidmatteError, WeightsError
from vidmatte.refine.extras import INSTALL_HINT, require_transformers

__all__ = ["transformers_classes", "load_vitmatte", "INSTALL_HINT"]



def transformers_classes() -> tuple[Any, Any]:
    """``(VitMatteForImageMatting, VitMatteImageProcessor)``, or a one-line error to install them."""
    try:
        from transformers import VitMatteForImageMatting, VitMatteImageProcessor
    except ImportError as exc:
        raise VidmatteError(INSTALL_HINT) from exc
    return VitMatteForImageMatting, VitMatteImageProcessor


def _check_folder(folder: Path) -> None:
    config = folder / "config.json"
    if not config.is_file():
        raise WeightsError(f"{folder} holds no config.json; give the folder `save_pretrained` wrote "
                           f"(config.json + model.safetensors), or run `vidmatte models download vitmatte-small`")
    try:
        kind = json.loads(config.read_text()).get("model_type")
    except (OSError, ValueError, AttributeError) as exc:
        raise WeightsError(f"{config} is not readable JSON ({exc}); download the checkpoint again") from None
    if kind != "vitmatte":
        raise WeightsError(f"{folder} holds a {kind!r} model, not ViTMatte; give a ViTMatte checkpoint folder "
                           f"(e.g. `vidmatte models download vitmatte-small`)")


def load_vitmatte(name: str = "vitmatte-small", weights: Union[str, Path, None] = None, *, download: bool = True,
                  device: Union[str, torch.device] = "cpu") -> tuple[Any, Any]:
    """``(model, processor)``: ``VitMatteForImageMatting`` in eval mode (fp32, on ``device``) and
    its ``VitMatteImageProcessor`` (the folder's ``preprocessor_config.json``, else transformers'
    defaults)."""
    from vidmatte.models.weights.hub import resolve_folder

    require_transformers()
    folder = resolve_folder(name, weights=weights, download=download)  # before the slow import
    _check_folder(folder)
    model_cls, processor_cls = transformers_classes()
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model, info = model_cls.from_pretrained(folder, local_files_only=True, dtype=torch.float32,
                                                output_loading_info=True)
        processor = (processor_cls.from_pretrained(folder, local_files_only=True)
                     if (folder / "preprocessor_config.json").is_file() else processor_cls())
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise WeightsError(f"{folder}: the ViTMatte weights could not be loaded ({type(exc).__name__}: {first}); "
                           f"download them again (`vidmatte models download vitmatte-small`) or give another "
                           f"--refine-weights folder") from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    bad = [(k, sorted(info.get(k) or ())) for k in ("missing_keys", "unexpected_keys", "mismatched_keys")]
    bad = [(k, v) for k, v in bad if v]
    if bad:
        k, keys = bad[0]
        raise WeightsError(f"{folder}: the weights do not fit its config.json ({len(keys)} {k.replace('_', ' ')}, "
                           f"e.g. {keys[0]}); download the checkpoint again")
    return model.to(device).eval(), processor
