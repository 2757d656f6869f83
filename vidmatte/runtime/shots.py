"""When a recurrent model's state stops being valid: a new shot (a scene cut) or a new size.

A recurrent matter (:class:`~vidmatte.models.recurrent.RecurrentOnnxMatter`) carries hidden
state from frame to frame; that state describes one shot at one size. The
:class:`~vidmatte.runtime.processor.Processor` owns it and, through :class:`ShotWatch`, resets
it when the frame size changes or the picture jumps: the mean absolute difference (0..255) of
two frames' 16x9 thumbnails above :data:`CUT_LEVEL`.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

__all__ = ["ShotWatch", "CUT_LEVEL"]

#: mean |difference| (0..255) of two frames' 16x9 thumbnails above which the second is another shot
CUT_LEVEL = 25.0


class ShotWatch:
    """``new_shot(u8 (B,H,W,3))``: does this batch start another shot than the last one seen?"""

    def __init__(self, level: float = CUT_LEVEL):
        self.level = level
        self._thumb: Optional[torch.Tensor] = None
        self._hw: Optional[tuple] = None

    def new_shot(self, u8: torch.Tensor) -> bool:
        thumb = F.adaptive_avg_pool2d(u8.permute(0, 3, 1, 2).float(), (9, 16))
        prev, hw = self._thumb, tuple(u8.shape[1:3])
        cut = prev is not None and (hw != self._hw or float((thumb[:1] - prev).abs().mean()) > self.level)
        self._thumb, self._hw = thumb[-1:], hw
        return cut

    def reset(self) -> None:
        self._thumb = self._hw = None
