"""The work after the model at a working resolution, one fused composite at full size (CPU, 8 bits).

The full-size path (:meth:`Processor.finish`) refines, smooths, estimates the
foreground and composites on ``(B,3,H,W)`` float tensors at the frame size: at 1280x720 on
one core that is 80-170 ms, more than the model. Yet the matte it works on came from a model
at 256 px: nothing in it is finer than 5 frame pixels at 720p. :class:`FastFinish` does the
same stages on numpy/OpenCV arrays at a working size of ``lines`` lines (default 360) and
brings only their results to full size::

    I_w, a_w  = area(I), area(a)                      frame and model matte at the working size
    I_s, a_s  = area(I_w), area(a_w)                  ... and at half of it
    a_w       = guided(I_w, a_w)                      --refine (its radius for the working size)
    a_w      += up(smoother(a_s, I_s) - a_s)          flow-causal etc. at half that (its change only)
    d_s       = a_s (blur_fusion(I_s, a_s) - I_s)     the foreground colour *correction*, half size
    a, d      = bilinear(a_w), bilinear(d_s)          to full size, once
    out       = B + a (I - B) + a (F_s - I_s)         fixed point, uint8 out (:func:`blend_u8`)

with ``B`` the background at the frame size, converted to uint8 once per background picture
(a still image is scaled and converted once, not every frame). The frame itself stays full
size and uint8 throughout: the picture keeps its own sharpness; only the matte edge and the
colour correction near it are as fine as the working size (smoothing and colour: half of
it). Frames no taller than ``lines`` are refined at their own size.

What it changes against the full-size path is measured by ``scripts/fast_finish_error.py``
(mean and 99th percentile of |difference| in 8-bit levels of the composite; docs/live.md).
"""

from __future__ import annotations

from typing import Any, Optional

import cv2
import numpy as np

from vidmatte.defaults import LIVE_WORK_LINES
from vidmatte.compose.blur_fusion_np import blur_fusion_radii, estimate_foreground_np

__all__ = ["FastFinish", "LIVE_LINES", "fast_finish_for"]

#: the working size of the live CPU default (lines)
LIVE_LINES = LIVE_WORK_LINES


def _area(x: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    return x if x.shape[:2] == hw else cv2.resize(x, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)


def _up(x: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    return x if x.shape[:2] == hw else cv2.resize(x, (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR)


def work_size(hw: tuple[int, int], lines: int) -> tuple[int, int]:
    """The working ``(h, w)`` of a frame ``hw``: at most ``lines`` lines, aspect kept, never up."""
    h, w = hw
    if h <= lines:
        return h, w
    s = lines / h
    return lines, max(1, int(round(w * s)))


def blend_u8(image: np.ndarray, bg: np.ndarray, alpha: np.ndarray, add: Optional[np.ndarray] = None) -> np.ndarray:
    """``B + a (I - B) + add`` in one fixed-point pass chain: uint8 ``(H,W,3)`` image and
    background, float ``(H,W)`` alpha in [0, 1] (quantised to 1/255), optional int16
    ``(H,W,3)`` levels to add; rounded and clipped to uint8. Where ``a`` is 1 the result
    is the image exactly, where 0 the background."""
    a8 = cv2.convertScaleAbs(alpha, alpha=255.0)
    a3 = cv2.merge((a8, a8, a8))
    diff = cv2.subtract(image, bg, dtype=cv2.CV_16S)
    prod = cv2.multiply(diff, a3, scale=1.0 / 255.0, dtype=cv2.CV_16S)
    if add is not None:
        prod = cv2.add(prod, add, dtype=cv2.CV_16S)
    return cv2.add(bg, prod, dtype=cv2.CV_8U)


class FastFinish:
    """Refine → smooth → blur fusion at ``lines`` lines, one fused composite at full size.

    Built by :func:`fast_finish_for` from a processor's parts (its refiner, smoother,
    background, blur-fusion choice); :meth:`__call__` takes one uint8 ``(H,W,3)`` RGB frame,
    its model matte ``(H,W)`` float32 and its stream index and returns ``(out (H,W,3) uint8,
    alpha (H,W) float32)``. Not thread-safe (the smoother's state): frames in time order.
    """

    def __init__(self, *, refiner: Any = None, smoother: Any = None, background: Any = None,
                 fg_estimation: str = "blur", lines: int = LIVE_LINES, times: Any = None, compositor: Any = None):
        if lines < 16:
            raise ValueError(f"the working size must be at least 16 lines, got {lines}")
        if fg_estimation not in ("blur", "none"):
            raise ValueError(f"FastFinish does blur fusion or none, not {fg_estimation!r}")
        self.refiner, self.smoother, self._background, self._compositor = refiner, smoother, background, compositor
        self.fg_estimation, self.lines, self.times = fg_estimation, int(lines), times
        self._bg_key: Optional[tuple] = None
        self._bg_u8: Optional[np.ndarray] = None

    @property
    def background(self) -> Any:
        """The background (the compositor's current one when built from a processor: a swap follows)."""
        return self._compositor.background if self._compositor is not None else self._background

    # -- stages ----------------------------------------------------------------------------
    def _refine(self, img_w: np.ndarray, a_w: np.ndarray) -> np.ndarray:
        params = getattr(self.refiner, "params", None)
        if self.refiner is None or params is None:
            return a_w
        p = params(a_w.shape[:2])  # the upsampling factor of the working size
        if p is None:
            return a_w
        from vidmatte.refine.guided_np import guided_refine_np

        return guided_refine_np(img_w, a_w, p.radius, p.eps, p.subsample)

    def _smooth(self, img_s: np.ndarray, a_w: np.ndarray) -> np.ndarray:
        """The smoother at the small size; its change brought to the working size."""
        if self.smoother is None:
            return a_w
        import torch

        a_s = _area(a_w, img_s.shape[:2])
        x = torch.from_numpy(img_s).permute(2, 0, 1)[None].float().div_(255.0)
        sm = self.smoother(torch.from_numpy(np.ascontiguousarray(a_s))[None, None], x)[0, 0].numpy()
        if sm.shape == a_w.shape:
            return sm
        delta = np.subtract(sm, a_s)
        out = _up(delta, a_w.shape[:2])
        out += a_w
        return np.clip(out, 0.0, 1.0, out=out)

    def _correction(self, img_s: np.ndarray, a_w: np.ndarray) -> Optional[np.ndarray]:
        """``a (F - I)`` in 8-bit levels at the small size (int16), or ``None`` without
        foreground estimation: the composite ``a F + (1-a) B = blend(I, B, a) + a (F - I)``."""
        if self.fg_estimation == "none":
            return None
        i_s = img_s.astype(np.float32) * np.float32(1.0 / 255.0)
        a_s = _area(a_w, img_s.shape[:2])
        fg, _ = estimate_foreground_np(i_s, a_s, blur_fusion_radii(a_s.shape[0]))
        fg -= i_s
        fg *= (a_s * np.float32(255.0))[..., None]
        return np.rint(fg, out=fg).astype(np.int16)

    def background_u8(self, image: np.ndarray, index: int, x: Any = None, alpha: Optional[np.ndarray] = None) -> np.ndarray:
        """The background at the frame's size as uint8 ``(H,W,3)``: converted again only when
        the background hands a new picture (a still image: once). ``x``: the frame as the
        processor's ``(1,3,H,W)`` float tensor, when it has one; ``alpha``: the final ``(H,W)``
        matte, for a background drawn from the pixels it leaves (the masked blur)."""
        import torch

        from vidmatte.compose.backgrounds.base import render_background

        if x is None:
            x = torch.from_numpy(image).permute(2, 0, 1)[None].float().div_(255.0)
        a = None if alpha is None else torch.from_numpy(np.ascontiguousarray(alpha, np.float32))[None, None]
        bg = render_background(self.background, x, index, a)
        try:
            version = bg._version  # an in-place change to a cached picture
        except RuntimeError:  # inference tensors keep no version counter
            version = -1
        key = (bg.data_ptr(), tuple(bg.shape), tuple(bg.stride()), version)
        if key != self._bg_key or self._bg_u8 is None:
            hwc = bg[0].permute(1, 2, 0).float().numpy()
            self._bg_u8 = cv2.convertScaleAbs(np.ascontiguousarray(hwc), alpha=255.0)
            self._bg_key = key
        return self._bg_u8

    def __call__(self, image: np.ndarray, alpha: np.ndarray, index: int = 0,
                 x: Any = None) -> tuple[np.ndarray, np.ndarray]:
        import time

        t = time.perf_counter()
        hw = image.shape[:2]
        whw = work_size(hw, self.lines)
        img_w, a_w = _area(image, whw), _area(np.ascontiguousarray(alpha, np.float32), whw)
        img_s = _area(img_w, work_size(whw, max(16, self.lines // 2)))
        a_w = self._refine(img_w, a_w)
        t = self._tick("refine", t)
        a_w = self._smooth(img_s, a_w)
        t = self._tick("smooth", t)
        ad = self._correction(img_s, a_w)
        a = _up(np.ascontiguousarray(a_w, np.float32), hw)
        bg = self.background_u8(image, index, x, a)
        out = blend_u8(image, bg, a, None if ad is None else _up(ad, hw))
        self._tick("composite", t)
        return out, a

    @staticmethod
    def takes(frames, alpha) -> bool:
        """Can this batch go the fast way: 8-bit RGB frames and a matte on the CPU."""
        return alpha.device.type == "cpu" and all(
            f.format == "rgb24" and getattr(f.image, "dtype", None) == np.uint8 for f in frames)

    def finish_frames(self, frames, x, alpha) -> tuple[list, Any]:
        """A batch: ``(finished frames, their final mattes (B,H,W) float32 tensor)``."""
        import torch

        outs, alphas = [], []
        for i, f in enumerate(frames):
            out, a = self(np.asarray(f.image), alpha[i, 0].numpy(), f.index, x[i : i + 1])
            outs.append(f.with_image(out, "rgb24"))
            alphas.append(a)
        return outs, torch.from_numpy(np.stack(alphas))

    def _tick(self, stage: str, t0: float) -> float:
        import time

        t1 = time.perf_counter()
        if self.times is not None:
            self.times.add(stage, t1 - t0)
        return t1


def fast_finish_for(processor: Any, lines: int = LIVE_LINES) -> Optional[FastFinish]:
    """A :class:`FastFinish` doing what ``processor``'s finishing does, or ``None`` where it
    cannot: not a CPU processor making 8-bit RGB composites with the built-in compositor
    (blur fusion or none) and a causal smoother, or a refiner other than the guided one, or
    with edge controls (choke, feather)."""
    from vidmatte.compose.compositor import Compositor
    from vidmatte.refine.guided import GuidedUpsampler

    comp = getattr(processor, "compositor", None)
    ok = (processor.device.type == "cpu" and processor.format == "rgb24" and not processor.bgr
          and type(comp) is Compositor and comp.background is not None and comp.fg_estimation in ("blur", "none")
          and comp.radii is None and not processor.delay and not processor.edges.active
          and (processor.refiner is None or isinstance(processor.refiner, GuidedUpsampler)))
    if not ok:
        return None
    return FastFinish(refiner=processor.refiner, smoother=processor.smoother, compositor=comp,
                      fg_estimation=comp.fg_estimation, lines=lines, times=processor.times)
