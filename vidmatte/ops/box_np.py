"""The one numpy/OpenCV box mean (torch-free: the stills path and the CPU twins use it).

``box_mean(x, size)[i, j]`` is the mean of ``x`` over a ``size`` window (``k`` or ``(kh, kw)``)
anchored at ``((k - 1) // 2)`` — the centre for odd sizes, as kornia's box filters place an even
one — with reflect-101 borders (``dcb|abcd|cba``), per channel.

    >>> import numpy as np
    >>> row = box_mean(np.arange(5, dtype=np.float32)[None].repeat(3, 0), (1, 3))[0]
    >>> [round(float(v), 3) for v in row]   # reflect-101: the left window is (1, 0, 1)
    [0.667, 1.0, 2.0, 3.0, 3.333]
"""

from __future__ import annotations

from typing import Optional, Union

import cv2
import numpy as np

__all__ = ["box_mean"]


def box_mean(x: np.ndarray, size: Union[int, tuple[int, int]], dst: Optional[np.ndarray] = None) -> np.ndarray:
    """Box mean of ``(H,W)`` or ``(H,W,C)`` ``x`` over a ``size`` window (``k`` or ``(kh, kw)``);
    written into ``dst`` when given (OpenCV may still return a new array: use the result)."""
    kh, kw = (size, size) if isinstance(size, int) else size
    anchor = ((kw - 1) // 2, (kh - 1) // 2)
    return cv2.boxFilter(x, -1, (kw, kh), dst=dst, anchor=anchor, normalize=True, borderType=cv2.BORDER_REFLECT_101)
