"""``make_refiner``: a ``--refine`` choice (or a refiner object) → the callable the Processor runs.

A refiner is any ``(image (B,3,H,W) in [0,1], alpha (B,1,H,W)) -> alpha (B,1,H,W)``
callable; it runs on the model's device between the model and the temporal smoother.

* ``auto`` (the default): the guided filter where the alpha was upsampled by
  :data:`~vidmatte.refine.guided.AUTO_MIN_FACTOR` or more, nothing elsewhere (and nothing
  when kornia is missing);
* ``guided``: the guided filter at every upsampling factor;
* ``vitmatte``: ViTMatte in the trimap band (transformers; weights by name or folder);
* ``none`` / ``None``: the bilinear alpha as the model gave it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Callable, Optional, Union

import torch

from vidmatte.defaults import REFINES

__all__ = ["make_refiner", "Refiner"]

Refiner = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def make_refiner(refine: Any = "auto", matter: Any = None, *, weights: Union[str, Path, None] = None,
                 download: bool = True, device: Union[str, torch.device, None] = None,
                 **options: Any) -> Optional[Refiner]:
    """The refiner for ``refine`` next to ``matter`` (whose size sets the upsampling factor).

    ``weights``, ``download`` and ``options`` (``band``, ``tile``, ``overlap``) apply to
    ``vitmatte``; ``device`` defaults to the matter's. A callable ``refine`` is returned as is.
    """
    if refine is None or refine is False or refine == "none":
        return None
    if callable(refine):
        return refine
    if refine not in REFINES:
        raise ValueError(f"unknown refine {refine!r}; choose one of {', '.join(REFINES)}")
    from vidmatte.refine.guided import AUTO_MIN_FACTOR, GuidedUpsampler

    if refine == "auto":
        return GuidedUpsampler(matter, min_factor=AUTO_MIN_FACTOR) if importlib.util.find_spec("kornia") else None
    if refine == "guided":
        return GuidedUpsampler(matter)
    from vidmatte.refine.vitmatte import VitMatteRefiner

    dev = device if device is not None else getattr(matter, "device", "cpu")
    return VitMatteRefiner.load(weights=weights, download=download, device=dev, **options)
