"""A picture size that changes mid-stream: later frames are fitted to the first size.

A broadcast TS that switches programme, or clips of different sizes joined together, change
their picture size mid-stream. An output (video file, image sequence) and the temporal
smoothers hold one size, so the sources (:class:`~vidmatte.io.sources.VideoSource`,
:class:`~vidmatte.io.image_sources.ImageSequenceSource`) fit every frame to the **first**
frame's size, keeping its aspect: scaled to fit (area filter shrinking, bilinear enlarging),
centred, with black bars (transparent where the frame has alpha) where the aspect differs.
At the end, one warning names the frames that were fitted and their own sizes. Downstream
nothing changes size, so smoothers, compositing and every sink agree.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from vidmatte.errors import warn

__all__ = ["SizeChanges", "fit_inside"]


def fit_inside(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` ``(h, w[, C])`` scaled to fit ``height x width`` keeping its aspect, centred on
    zeros (black, and alpha 0 for a 4th channel). Same dtype."""
    import cv2

    h, w = image.shape[:2]
    s = min(height / h, width / w)
    nh, nw = max(1, min(height, round(h * s))), max(1, min(width, round(w * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(np.ascontiguousarray(image), (nw, nh), interpolation=interp)
    if scaled.ndim < image.ndim:  # cv2 drops a single channel
        scaled = scaled[..., None]
    if (nh, nw) == (height, width):
        return scaled
    out = np.zeros((height, width) + image.shape[2:], image.dtype)
    top, left = (height - nh) // 2, (width - nw) // 2
    out[top: top + nh, left: left + nw] = scaled
    return out


class SizeChanges:
    """Fit frames of another size to ``width x height`` and remember which they were.

    ``fit(image, index)`` returns the image untouched when it has the size; :meth:`summary`
    is the one-line account (``None`` when nothing changed), :meth:`report` warns it once.
    """

    def __init__(self, name: str, width: int, height: int):
        self.name, self.width, self.height = name, int(width), int(height)
        self.runs: list[list] = []  # [first index, last index, (w, h)]
        self._reported = False

    def fit(self, image: np.ndarray, index: int) -> np.ndarray:
        h, w = image.shape[:2]
        if (h, w) == (self.height, self.width):
            return image
        if self.runs and self.runs[-1][2] == (w, h) and self.runs[-1][1] == index - 1:
            self.runs[-1][1] = index
        else:
            self.runs.append([index, index, (w, h)])
        return fit_inside(image, self.height, self.width)

    @property
    def frames(self) -> int:
        return sum(b - a + 1 for a, b, _ in self.runs)

    def summary(self) -> Optional[str]:
        if not self.runs:
            return None
        parts = [f"{a}-{b} ({w}x{h})" if b > a else f"{a} ({w}x{h})" for a, b, (w, h) in self.runs[:6]]
        more = f" and {len(self.runs) - 6} more runs" if len(self.runs) > 6 else ""
        return (f"{self.name} changes picture size mid-stream: frames {', '.join(parts)}{more} were scaled "
                f"to the first size, {self.width}x{self.height}, keeping their aspect (black bars where it "
                "differs)")

    def report(self) -> None:
        msg = self.summary()
        if msg is not None and not self._reported:
            self._reported = True
            warn(msg)
