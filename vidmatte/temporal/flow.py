"""Motion between two frames for temporal smoothing: low-resolution optical flow and how far
a warp by it can be trusted.

Flow is estimated on grey frames of at most ``height`` lines (default 180: 640x360 → 320x180)
with OpenCV's DIS (Kroeger et al., ECCV 2016; preset ``ultrafast``, ~0.4 ms a pair at 320x180
on one core). On a GPU only those small grey frames go to the host and the flow comes back;
the warps run in torch where the frames are. For frame ``t`` and another frame ``o``, on the
small colour frames ``S`` (area-downscaled, in [0, 1])::

    f      = DIS(grey_t, grey_o)                       flow t → o, (1,2,h,w) pixels
    e_f    = box3(mean_c |S_t - warp(S_o, f)|)         photometric error of the warp
    e_0    = box3(mean_c |S_t - S_o|)                  ... and of no motion at all
    still  = e_0 <= e_f + margin                       where nothing moved, do not resample
    f      = 0 where still;   e = e_0 where still, else e_f
    c      = exp(-(e / sigma)^2)                       confidence in [0, 1]
    c      = 0 everywhere when mean(e) > cut           a scene cut: nothing to borrow

``sigma`` (default 0.04, ~10/255) sits well above codec and sensor noise in a 3x3 mean and
well below the mismatch of a wrong match, so occlusions, flow failures and scene cuts get
``c ≈ 0``; ``cut`` (0.1, the mean error of two unrelated shots is ~0.15-0.3) also stops
the odd patch that happens to match across a cut. Zero flow where the picture is still
keeps still mattes from being blurred by sub-pixel flow noise.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from vidmatte.ops.box import box_blur
from vidmatte.ops.resample import resize
from vidmatte.ops.warp import flow_warp

__all__ = ["FrameView", "Motion", "flow_size", "PRESETS"]

#: DIS presets by name (OpenCV constants 0, 1, 2)
PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}
_LUMA = (0.299, 0.587, 0.114)


#: smallest frame side OpenCV's DIS accepts (12 px fails, 16 px works)
MIN_SIDE = 16


def flow_size(height: int, width: int, lines: int) -> tuple[int, int]:
    """``(h, w)`` of the flow frames: the frame scaled down to at most ``lines`` lines (never up)."""
    if lines < 8:
        raise ValueError(f"flow height must be >= 8 lines, got {lines}")
    s = min(1.0, lines / height)
    return max(1, round(height * s)), max(1, round(width * s))


class FrameView(NamedTuple):
    """A frame as motion estimation sees it: small colour ``(1,3,h,w)`` float on the frame's
    device, and its grey ``(h,w)`` uint8 on the host for DIS."""

    small: torch.Tensor
    grey: np.ndarray


class Motion:
    """Flow and warp confidence between frames (module docstring).

    Args:
        lines: flow resolution (lines; frames are never upscaled).
        sigma: photometric error (0..1 scale) at which the confidence is ``exp(-1)``.
        margin: how much lower the warped error must be than the unwarped one to move pixels.
        cut: mean photometric error above which the other frame is another shot (no trust).
        preset: DIS preset, ``ultrafast``, ``fast`` or ``medium``.
    """

    def __init__(self, lines: int = 180, sigma: float = 0.04, margin: float = 0.005, cut: float = 0.1,
                 preset: str = "ultrafast"):
        if preset not in PRESETS:
            raise ValueError(f"flow preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        if sigma <= 0 or margin < 0 or cut <= 0:
            raise ValueError(f"need sigma > 0, margin >= 0 and cut > 0, got {sigma}, {margin}, {cut}")
        flow_size(lines, lines, lines)  # checks lines
        self.lines, self.sigma, self.margin, self.cut, self.preset = int(lines), float(sigma), float(margin), float(cut), preset
        self._dis = None

    def view(self, image: torch.Tensor) -> FrameView:
        """``(1,3,H,W)`` float frame in [0, 1] → its :class:`FrameView`."""
        h, w = flow_size(image.shape[-2], image.shape[-1], self.lines)
        small = resize(image.float(), (h, w), "area")
        luma = torch.tensor(_LUMA, device=small.device).view(1, 3, 1, 1)
        grey = (small * luma).sum(1)[0].mul_(255.0).round_().clamp_(0, 255).to(torch.uint8)
        return FrameView(small, np.ascontiguousarray(grey.cpu().numpy()))

    def flow(self, cur: FrameView, other: FrameView) -> torch.Tensor:
        """DIS flow ``cur → other`` as ``(1,2,h,w)`` float32 pixels on the frames' device.

        Frames under :data:`MIN_SIDE` pixels on a side get no flow (zeros): DIS's pyramid needs
        at least that, and such strips hold no motion worth estimating."""
        if min(cur.grey.shape) < MIN_SIDE:
            return torch.zeros((1, 2, *cur.grey.shape), dtype=torch.float32, device=cur.small.device)
        if self._dis is None:
            import cv2

            self._dis = cv2.DISOpticalFlow_create(PRESETS[self.preset])
        f = self._dis.calc(cur.grey, other.grey, None)
        return torch.from_numpy(f).permute(2, 0, 1).unsqueeze(0).to(cur.small.device)

    def align(self, cur: FrameView, other: FrameView) -> tuple[torch.Tensor, torch.Tensor]:
        """``(flow (1,2,h,w), confidence (1,1,h,w))`` for pulling ``other`` onto ``cur``."""
        f = self.flow(cur, other)
        e_f = box_blur((cur.small - flow_warp(other.small, f)).abs_().mean(1, keepdim=True), 1)
        e_0 = box_blur((cur.small - other.small).abs().mean(1, keepdim=True), 1)
        still = e_0 <= e_f + self.margin
        f = f.masked_fill(still, 0.0)
        e = torch.where(still, e_0, e_f)
        conf = torch.exp(-(e / self.sigma).square()) * (e.mean() <= self.cut)  # no host sync
        return f, conf
