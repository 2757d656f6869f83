"""The Matter contract: uint8 RGB frames in, alpha out, whatever model runs behind it.

Every matting model (BiRefNet in torch, ONNX exports, a chroma keyer) exposes
``predict(images) -> alpha``:

* ``images``: **uint8 RGB**, ``(H,W,3)`` or ``(B,H,W,3)``, numpy or torch, any device.
  :func:`check_images` enforces this with one clear error (a float frame in 0..1 or a
  channels-first array would otherwise give a silently wrong matte);
* returns float32 alpha ``(B,1,H,W)`` in [0, 1] at the input size, on the matter's device.

Because every caller (``vidmatte eval``, ``image``, ``replace``, ``webcam``) hands the model
the same uint8 frames, one model gives one matte whatever the path. :class:`TorchMatter`
holds the shared pre/post-processing of torch models: resize to the model size, normalise,
run, sigmoid, resize back.

Example:
    >>> import numpy as np
    >>> from vidmatte.matting import ChromaKeyMatter
    >>> frame = np.zeros((4, 6, 3), np.uint8); frame[..., 1] = 255  # pure green
    >>> frame[1:3, 2:4] = (200, 30, 180)                            # a magenta block
    >>> alpha = ChromaKeyMatter().predict(frame)
    >>> tuple(alpha.shape), float(alpha[0, 0, 0, 0]), float(alpha[0, 0, 1, 2])
    ((1, 1, 4, 6), 0.0, 1.0)
"""

from __future__ import annotations

from typing import Protocol, Sequence, Union, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F

from vidmatte.defaults import IMAGENET_MEAN, IMAGENET_STD
from vidmatte.checks import check_images
from vidmatte.frame import round_to_multiple  # the contract itself needs no torch

__all__ = [
    "Matter",
    "TorchMatter",
    "ChromaKeyMatter",
    "ReuseAlpha",
    "check_images",
    "round_size",
    "round_to_multiple",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
]

ImageBatch = Union[torch.Tensor, np.ndarray]


@runtime_checkable
class Matter(Protocol):
    """Anything that turns uint8 RGB frames into alpha mattes.

    Attributes:
        name: short human name ("birefnet-lite", "modnet", ...).
        size: ``(H, W)`` the model runs at (``(0, 0)``: the input size).
        device: where ``predict`` returns its tensor.
        stateless (optional, default false): ``predict`` keeps no state between calls, so a
            CPU run may call it on two batches at once (:mod:`vidmatte.runtime.schedules.frames`).
    """

    name: str
    size: tuple[int, int]
    device: torch.device

    def predict(self, images: ImageBatch) -> torch.Tensor:
        """uint8 RGB ``(B,H,W,3)`` or ``(H,W,3)`` → float32 alpha ``(B,1,H,W)`` in [0, 1]."""
        ...


def round_size(size: Union[int, Sequence[int]], multiple: int = 32) -> tuple[int, int]:
    """``N`` or ``(H, W)`` → ``(H, W)``, each rounded by :func:`round_to_multiple`.

    >>> round_size(144), round_size((1000, 530))
    ((160, 160), (992, 544))
    """
    if isinstance(size, str):  # "WxH" text, as on the command line
        from vidmatte.frame import parse_size

        size = parse_size(size)
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    h, w = (round_to_multiple(int(s), multiple) for s in size)
    return h, w


def _to_float(images: ImageBatch, device: torch.device) -> torch.Tensor:
    """Checked uint8 ``(B,H,W,3)`` → float32 ``(B,3,H,W)`` in [0, 1] on ``device``."""
    x = check_images(images)
    t = torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x
    return t.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)


class TorchMatter:
    """Shared pre/post-processing for matters that run a torch module.

    ``predict``: check the uint8 frames, scale to [0, 1], resize ``(B,3,H,W)`` to
    :attr:`size` (bilinear, antialiased when shrinking), normalise with ``mean``/``std``, call
    :meth:`logits`, apply a sigmoid (unless the model already outputs alpha) and resize back
    to ``(H, W)`` bilinearly.
    """

    name = "torch"
    output_is_alpha = False
    stateless = True  # a subclass that keeps state between calls sets False

    def __init__(
        self,
        size: Union[int, Sequence[int]] = 1024,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ):
        self.size = round_size(size)
        self.device = torch.device(device)
        self.dtype = dtype
        self._mean = torch.tensor(mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(std, device=self.device).view(1, 3, 1, 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Normalised ``(B,3,h,w)`` input (``self.dtype``) → ``(B,1,h,w)`` logits or alpha."""
        raise NotImplementedError

    def preprocess(self, images: ImageBatch) -> tuple[torch.Tensor, tuple[int, int]]:
        x = _to_float(images, self.device)
        hw = (int(x.shape[-2]), int(x.shape[-1]))
        if hw != self.size:
            shrink = self.size[0] < hw[0] or self.size[1] < hw[1]
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False, antialias=shrink)
        x = (x - self._mean) / self._std
        return x.to(self.dtype), hw

    def postprocess(self, out: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        out = out.float()
        alpha = out if self.output_is_alpha else out.sigmoid()
        if tuple(alpha.shape[-2:]) != hw:
            alpha = F.interpolate(alpha, size=hw, mode="bilinear", align_corners=False)
        return alpha.clamp_(0.0, 1.0)

    @torch.inference_mode()
    def predict(self, images: ImageBatch) -> torch.Tensor:
        x, hw = self.preprocess(images)
        return self.postprocess(self.logits(x), hw)


class ChromaKeyMatter:
    """A classic chroma keyer (green/blue screen) behind the Matter interface.

    alpha = clip((d - inner) / (outer - inner), 0, 1) with ``d`` the Euclidean RGB distance
    (0..1 scale) of each pixel to ``key``. Cheap and exact on synthetic key-coloured
    plates, which makes it the stand-in model of the tests, and useful on real green screens.
    """

    name = "chroma"
    stateless = True

    def __init__(self, key=(0, 255, 0), inner: float = 0.15, outer: float = 0.35, device="cpu"):
        if not 0 <= inner < outer:
            raise ValueError("need 0 <= inner < outer")
        self.device = torch.device(device)
        self.key = torch.tensor(key, dtype=torch.float32, device=self.device).view(1, 3, 1, 1) / 255.0
        self.inner, self.outer = float(inner), float(outer)
        self.size = (0, 0)  # runs at the input size

    @torch.inference_mode()
    def predict(self, images: ImageBatch) -> torch.Tensor:
        x = _to_float(images, self.device)
        d = (x - self.key).square().sum(1, keepdim=True).sqrt()
        return ((d - self.inner) / (self.outer - self.inner)).clamp_(0.0, 1.0)


class ReuseAlpha:
    """Matter wrapper for live use: when a frame hardly changed, reuse the previous alpha.

    "Hardly changed" is ``mean |x_t - x_prev| < threshold`` on [0, 1] RGB at 1/8 resolution,
    comparing against the last frame the model actually ran on (so slow drift still triggers).
    """

    def __init__(self, matter: Matter, threshold: float = 0.01):
        self.matter, self.threshold = matter, float(threshold)
        self.name, self.size = f"{matter.name}+reuse", matter.size
        self.device = getattr(matter, "device", torch.device("cpu"))
        self.reused = 0
        self._key = self._alpha = None

    def predict(self, images: ImageBatch) -> torch.Tensor:
        x = check_images(images)
        key = _to_float(x[:, ::8, ::8], self.device)
        if self._key is not None and key.shape == self._key.shape:
            if float((key - self._key).abs().mean()) < self.threshold:
                self.reused += 1
                return self._alpha
        self._alpha, self._key = self.matter.predict(x), key
        return self._alpha
