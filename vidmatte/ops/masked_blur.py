"""Background blur from the background alone: normalised convolution under a matte.

A plain blur of the frame spreads the person's colours into the background (a glow around
the silhouette). The masked blur weighs each pixel by how surely it is background and
divides by the blurred weights (normalised convolution), then fills the hole the person
leaves from its surroundings::

    w   = (1 - box_f(a))^k                     weight: 0 on the person, 1 on background
    num = g_s(box_f(I) w)       den = g_s(w)   at 1/f size (box_f: f x f means)
    B~  = num / max(den, t)     c = min(den, t) / t       (t = FILL_THRESHOLD * max(den))
    B^  = push_pull(B~, c)                     where c < 1, blend in a coarser estimate
    out = bilinear_up_f(B^)[:H, :W]

``f = floor(sigma / 1.5)`` and ``s = sqrt((sigma/f)^2 - 1/4)`` are the wide-blur fast path
of :class:`~vidmatte.compose.backgrounds.blur.BlurBackground` (area downscale, blur the
1.5-3 px left, bilinear upscale by exactly ``f``): with ``a = 0`` the result *is* that
blur. The weights come from the matte smoothed by the same ``f x f`` area means; the power
``k`` (default 4) makes a small pixel that is partly person count little (a quarter person:
weight 0.32). Where the blur cannot reach any background (deep inside a large subject) the
push-pull pyramid fills in: each level is ``n + (1 - c) up(coarser)`` with ``n, c`` the 2x2
means of ``B~ c`` and ``c`` (odd sizes padded by repeating the edge), the coarsest level is
the ``c``-weighted mean of the whole image. The threshold is relative to the image's largest
blurred weight and weights never reach 0 (``+ 1e-6``): a frame that is all person (equal
tiny weights) gets the plain blur.

Twins: :func:`masked_blur` runs tensors anywhere (``backend="torch"``, any batch); with
``backend="auto"`` float32 CPU tensors go to :func:`masked_blur_np` (OpenCV, one image at a
time, no copy for channels-last frames). Both compute the same numbers (to ~1e-5).

Shapes: image ``(B,3,H,W)`` / ``(H,W,3)``, alpha ``(B,1,H,W)`` / ``(H,W)``, floats in [0, 1].
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidmatte.checks import check_image_alpha
from vidmatte.ops.twins import host_twin
from vidmatte.ops.gaussian import gaussian_blur
from vidmatte.ops.gaussian_np import gaussian_np

__all__ = ["masked_blur", "masked_blur_np", "MaskedBlur", "fast_path", "POWER", "FILL_THRESHOLD"]

#: exponent of the background weight ``(1 - a)^k``
POWER = 4.0
#: blurred weight (relative to the image's largest) from which the normalised blur is trusted
#: alone; below it the fill blends in
FILL_THRESHOLD = 0.05
_FLOOR = 1e-6


def fast_path(sigma: float) -> tuple[int, float]:
    """``(f, s)``: downscale factor and the gaussian std left to apply at ``1/f`` size."""
    f = max(1, int(sigma / 1.5))
    if f == 1:
        return 1, float(sigma)
    # the box downscale and the bilinear upscale blur by ~0.5 small px themselves
    return f, math.sqrt(max((sigma / f) ** 2 - 0.25, 0.25))


def _check_sigma(sigma: float, power: float) -> None:
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"masked_blur sigma must be a number >= 0, got {sigma!r}")
    if not (isinstance(power, (int, float)) and math.isfinite(power) and power > 0):
        raise ValueError(f"masked_blur power must be a number > 0, got {power!r}")


# ---------------------------------------------------------------- torch
def _pool2_t(x: torch.Tensor) -> torch.Tensor:
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
    return F.avg_pool2d(x, 2)


def _push_pull_t(n: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    h, w = n.shape[-2:]
    if h * w <= 4:
        mean = n.sum((-2, -1), keepdim=True) / c.sum((-2, -1), keepdim=True).clamp_min(1e-12)
        return mean.expand(n.shape)
    coarse = _push_pull_t(_pool2_t(n), _pool2_t(c))
    up = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    return torch.addcmul(n, 1.0 - c, up)


def _masked_blur_t(image: torch.Tensor, alpha: torch.Tensor, sigma: float, power: float) -> torch.Tensor:
    h, w = image.shape[-2:]
    f, s = fast_path(sigma)
    small, a = image, alpha
    if f > 1:
        small = F.avg_pool2d(image, f, ceil_mode=True)
        a = F.avg_pool2d(alpha, f, ceil_mode=True)
    wt = (1.0 - a.clamp(0.0, 1.0)).pow_(power).add_(_FLOOR)
    num = gaussian_blur(small * wt, s)
    den = gaussian_blur(wt, s)
    t = den.amax((-2, -1), keepdim=True).mul_(FILL_THRESHOLD)
    n = num / torch.maximum(den, t)
    c = torch.minimum(den, t).div_(t)
    bg = _push_pull_t(n, c)
    if f > 1:
        bg = F.interpolate(bg, scale_factor=f, mode="bilinear", align_corners=False)[..., :h, :w]
    return bg.clamp(0.0, 1.0)


# ---------------------------------------------------------------- numpy / OpenCV
def _pool_ceil_np(x: np.ndarray, f: int) -> np.ndarray:
    """``f x f`` means, the last partial blocks averaged over what they hold (``avg_pool2d``
    with ``ceil_mode=True``): integer-factor area resizes of the four parts."""
    h, w = x.shape[:2]
    hf, wf, hc, wc = h // f, w // f, -(-h // f), -(-w // f)
    out = np.empty((hc, wc) + x.shape[2:], x.dtype)

    def area(part, size):  # (width, height)
        res = cv2.resize(part, size, interpolation=cv2.INTER_AREA)
        return res.reshape((size[1], size[0]) + x.shape[2:])

    if hf and wf:
        out[:hf, :wf] = area(x[: hf * f, : wf * f], (wf, hf))
    if hc > hf and wf:
        out[hf:, :wf] = area(x[hf * f :, : wf * f], (wf, 1))
    if wc > wf and hf:
        out[:hf, wf:] = area(x[: hf * f, wf * f :], (1, hf))
    if hc > hf and wc > wf:
        out[hf:, wf:] = x[hf * f :, wf * f :].mean(axis=(0, 1))
    return out


def _pool2_np(x: np.ndarray) -> np.ndarray:
    h, w = x.shape[:2]
    if h % 2 or w % 2:
        x = cv2.copyMakeBorder(x, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
    res = cv2.resize(x, (x.shape[1] // 2, x.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return res.reshape((x.shape[0] // 2, x.shape[1] // 2) + x.shape[2:])


def _push_pull_np(n: np.ndarray, c: np.ndarray) -> np.ndarray:
    h, w = c.shape
    if h * w <= 4:
        mean = n.reshape(-1, 3).sum(0) / max(float(c.sum()), 1e-12)
        return np.broadcast_to(mean.astype(n.dtype), n.shape)
    coarse = np.ascontiguousarray(_push_pull_np(_pool2_np(n), _pool2_np(c)))
    up = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR).reshape(n.shape)
    up *= (1.0 - c)[..., None]
    up += n
    return up


def masked_blur_np(image: np.ndarray, alpha: np.ndarray, sigma: float, power: float = POWER) -> np.ndarray:
    """The masked blur (module docstring) of one ``(H,W,3)`` float32 image with its ``(H,W)``
    matte; ``sigma`` in pixels of this image. Returns ``(H,W,3)`` float32 (a view of a
    slightly larger array when the size is not a multiple of ``f``; ``image`` itself when
    ``sigma < 0.3``)."""
    _check_sigma(sigma, power)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"masked_blur_np: image must be (H,W,3), got {image.shape}")
    if alpha.ndim == 3 and alpha.shape[2] == 1:
        alpha = alpha[..., 0]
    if alpha.shape != image.shape[:2]:
        raise ValueError(f"masked_blur_np: alpha {alpha.shape} does not match image {image.shape}")
    if sigma < 0.3:
        return image
    h, w = alpha.shape
    image = np.ascontiguousarray(image, np.float32)
    alpha = np.ascontiguousarray(alpha, np.float32)
    f, s = fast_path(sigma)
    small, a = (image, alpha) if f == 1 else (_pool_ceil_np(image, f), _pool_ceil_np(alpha, f))
    wt = np.power(1.0 - np.clip(a, 0.0, 1.0), np.float32(power), dtype=np.float32)
    wt += np.float32(_FLOOR)
    num = gaussian_np(small * wt[..., None], s)
    den = gaussian_np(wt, s)
    t = np.float32(float(den.max()) * FILL_THRESHOLD)
    num /= np.maximum(den, t)[..., None]
    c = np.minimum(den, t)
    c /= t
    bg = np.ascontiguousarray(_push_pull_np(num, c))
    if f > 1:
        bg = cv2.resize(bg, (bg.shape[1] * f, bg.shape[0] * f), interpolation=cv2.INTER_LINEAR)[:h, :w]
    return np.clip(bg, 0.0, 1.0, out=bg)


# ---------------------------------------------------------------- entry points
def _numpy_backend(image: torch.Tensor, alpha: torch.Tensor, sigma: float, power: float) -> torch.Tensor:
    outs = []
    for img, a in zip(image.detach(), alpha.detach()):
        hwc = img.permute(1, 2, 0).numpy()  # a view for channels-last frames
        outs.append(torch.from_numpy(masked_blur_np(hwc, a[0].numpy(), sigma, power)).permute(2, 0, 1))
    return outs[0][None] if len(outs) == 1 else torch.stack(outs)


def masked_blur(image: torch.Tensor, alpha: torch.Tensor, sigma: float, power: float = POWER,
                backend: str = "auto") -> torch.Tensor:
    """Blur of the background of ``image`` ``(B,3,H,W)`` under ``alpha`` ``(B,1,H,W)`` (module
    docstring); ``sigma`` in pixels of this image.

    Args:
        power: ``k`` of the weight ``(1 - a)^k``.
        backend: ``"auto"`` (OpenCV for float32 CPU tensors) or ``"torch"`` (what runs on GPUs).

    Returns:
        ``(B,3,H,W)`` in [0, 1], the dtype and device of ``image`` (``image`` itself when
        ``sigma < 0.3``). Half precision is computed in float32.
    """
    check_image_alpha(image, alpha, "masked_blur")
    _check_sigma(sigma, power)
    if sigma < 0.3:
        return image
    if host_twin(backend, image, alpha, name="masked_blur backend"):
        return _numpy_backend(image, alpha, float(sigma), float(power))
    work = torch.float32 if image.dtype in (torch.float16, torch.bfloat16) else image.dtype
    with torch.no_grad():
        out = _masked_blur_t(image.to(work), alpha.to(work), float(sigma), float(power))
    return out.to(image.dtype)


class MaskedBlur(nn.Module):
    """Module form of :func:`masked_blur`: ``(image, alpha) -> (B,3,H,W)``."""

    def __init__(self, sigma: float, power: float = POWER, backend: str = "auto"):
        super().__init__()
        _check_sigma(sigma, power)
        self.sigma, self.power, self.backend = float(sigma), float(power), backend

    def forward(self, image: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        return masked_blur(image, alpha, self.sigma, self.power, self.backend)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma:g}, power={self.power:g}"
