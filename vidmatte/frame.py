"""The unit that travels through the pipeline: pixels plus their timing."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

import numpy as np

__all__ = ["Frame"]


@dataclass
class Frame:
    """One video frame.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB (numpy or torch, CPU or GPU). Stages may replace it
            with a float ``(3, H, W)`` tensor after upload; sinks convert at the edge.
        pts: presentation timestamp in ``time_base`` units (``None`` for stills).
        time_base: seconds per ``pts`` tick.
        index: 0-based position in the source.
        alpha: ``(1, H, W)`` float alpha in [0, 1] once a matter has run.
        meta: free-form per-frame data (capture time for latency, source name, ...).
    """

    image: Any
    pts: Optional[int] = None
    time_base: Optional[Fraction] = None
    index: int = 0
    alpha: Any = None
    meta: dict = field(default_factory=dict)

    @property
    def time(self) -> Optional[float]:
        """Presentation time in seconds, or ``None`` when the frame has no timestamp."""
        if self.pts is None or self.time_base is None:
            return None
        return float(self.pts * self.time_base)

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)`` of the image."""
        shape = tuple(self.image.shape)
        if len(shape) == 3 and shape[0] in (1, 3, 4) and shape[-1] not in (1, 3, 4):
            return int(shape[1]), int(shape[2])
        return int(shape[0]), int(shape[1])

    def numpy(self) -> np.ndarray:
        """The image as a contiguous ``(H, W, 3)`` uint8 numpy array."""
        img = self.image
        if hasattr(img, "detach"):
            img = img.detach().cpu().numpy()
        return np.ascontiguousarray(img)
