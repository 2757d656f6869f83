"""How much a matte was upsampled, whether ``--refine auto`` refines it, and the guided
filter's settings for that factor: torch-free, so the still-image job decides (and filters,
:mod:`vidmatte.refine.guided_np`) per image without loading torch."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

__all__ = ["upsample_factor", "AUTO_MIN_FACTOR", "auto_refines", "GuidedParams", "guided_params", "frame_params"]

#: ``--refine auto`` turns the guided filter on from this upsampling factor (frame / model
#: size) up: -9..-14% gradient error at 2.5-6; below 2 the gain shrinks to ~5% while the
#: filter runs at full resolution (no subsampling), so auto leaves it off there.
AUTO_MIN_FACTOR = 2.0


def upsample_factor(matter: Any, hw: tuple[int, int]) -> float:
    """How many frame pixels one model pixel spans along the coarser axis: ``max(H/h, W/w)``.

    The model size is ``matter.run_size(hw)`` when the matter has one (ONNX MODNet keeps the
    aspect: its long side), else ``matter.size`` (``N`` or ``(h, w)``); wrappers with a
    ``.matter`` (``ReuseAlpha``) are looked through. ``1.0`` when the size is unknown or
    ``(0, 0)`` (models that run at the frame size, the chroma keyer).
    """
    while not callable(getattr(matter, "run_size", None)) and hasattr(matter, "matter"):
        matter = matter.matter
    run_size = getattr(matter, "run_size", None)
    size = run_size(tuple(hw)) if callable(run_size) else getattr(matter, "size", None)
    if isinstance(size, int):
        size = (size, size)
    if not size or len(size) != 2 or min(size) <= 0:
        return 1.0
    return max(hw[0] / size[0], hw[1] / size[1])


def auto_refines(matter: Any, hw: tuple[int, int]) -> bool:
    """Whether ``--refine auto`` runs the guided filter on a frame of size ``hw`` with ``matter``."""
    return frame_params(matter, hw, AUTO_MIN_FACTOR) is not None


@dataclass(frozen=True)
class GuidedParams:
    """Filter settings for one upsampling factor (see :func:`guided_params`)."""

    radius: int
    eps: float
    subsample: int


def guided_params(factor: float, *, scale: float = 3.0, eps: float = 1e-4) -> GuidedParams:
    """``radius = round(scale * f)`` (at least 1), ``subsample = floor(f)`` (at least 1), ``eps``.

    >>> guided_params(4.17)
    GuidedParams(radius=13, eps=0.0001, subsample=4)
    >>> guided_params(1.0)
    GuidedParams(radius=3, eps=0.0001, subsample=1)
    """
    f = max(float(factor), 1.0)
    return GuidedParams(max(1, round(scale * f)), float(eps), max(1, math.floor(f)))


def frame_params(matter: Any, hw: tuple[int, int], min_factor: Optional[float] = None, *, scale: float = 3.0,
                 eps: float = 1e-4) -> Optional[GuidedParams]:
    """The guided filter's settings for a frame of ``hw`` matted by ``matter`` (:func:`guided_params`
    of its :func:`upsample_factor`), or ``None`` when ``min_factor`` is given and the frame was
    upsampled less than that (``--refine auto`` passes :data:`AUTO_MIN_FACTOR`)."""
    factor = upsample_factor(matter, hw)
    if min_factor is not None and factor < min_factor:
        return None
    return guided_params(factor, scale=scale, eps=eps)
