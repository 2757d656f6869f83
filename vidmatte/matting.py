"""The Matter protocol: frames in, alpha out, whatever model runs behind it.

Every matting model (BiRefNet in torch, ONNX exports, a chroma keyer) exposes
``predict(images) -> alpha``. Nothing else in the pipeline knows which model runs.
:class:`TorchMatter` holds the shared pre/post-processing: resize to the model size,
normalise, run, sigmoid, resize back.
"""

from __future__ import annotations

from typing import Protocol, Sequence, Union, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "Matter",
    "TorchMatter",
    "ChromaKeyMatter",
    "as_batch",
    "round_size",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ImageBatch = Union[torch.Tensor, np.ndarray]


@runtime_checkable
class Matter(Protocol):
    """Anything that turns RGB frames into alpha mattes.

    Attributes:
        name: short human name ("birefnet-lite", "modnet", ...).
        size: ``(H, W)`` the model runs at.
        device: where ``predict`` returns its tensor.
    """

    name: str
    size: tuple[int, int]
    device: torch.device

    def predict(self, images: ImageBatch) -> torch.Tensor:
        """``images``: uint8 RGB ``(B,H,W,3)`` or ``(B,3,H,W)`` (or one ``(H,W,3)`` frame).

        Returns float32 alpha ``(B,1,H,W)`` in [0, 1] at the input size, on ``device``.
        """
        ...


def round_size(size: Union[int, Sequence[int]], multiple: int = 32) -> tuple[int, int]:
    """``N`` or ``(H, W)`` rounded to the nearest multiple (at least one multiple)."""
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    h, w = (max(multiple, int(round(int(s) / multiple)) * multiple) for s in size)
    return h, w


def as_batch(images: ImageBatch, device: torch.device | str = "cpu") -> torch.Tensor:
    """Any accepted image layout → float32 ``(B,3,H,W)`` in [0, 1] on ``device``.

    Accepts uint8 (0..255) or floating (0..1) data, ``(H,W,3)``, ``(B,H,W,3)`` or
    ``(B,3,H,W)``, numpy or torch.
    """
    t = torch.from_numpy(np.ascontiguousarray(images)) if isinstance(images, np.ndarray) else images
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"expected a numpy array or torch tensor, got {type(images).__name__}")
    if t.ndim == 3:
        t = t.unsqueeze(0)
    if t.ndim != 4:
        raise ValueError(f"expected (B,H,W,3) or (B,3,H,W) images, got shape {tuple(t.shape)}")
    if t.shape[-1] == 3 and t.shape[1] != 3:
        t = t.permute(0, 3, 1, 2)
    elif t.shape[1] != 3:
        raise ValueError(f"expected 3 colour channels, got shape {tuple(t.shape)}")
    t = t.to(device, non_blocking=True)
    if t.dtype == torch.uint8:
        return t.float().div_(255.0)
    return t.float()


class TorchMatter:
    """Shared pre/post-processing for matters that run a torch module.

    ``predict``: resize ``(B,3,H,W)`` to :attr:`size` (bilinear, antialiased when shrinking),
    normalise with ``mean``/``std``, call :meth:`logits`, apply a sigmoid (unless the model
    already outputs alpha) and resize back to ``(H, W)`` bilinearly.
    """

    name = "torch"
    output_is_alpha = False

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
        x = as_batch(images, self.device)
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

    def __init__(self, key=(0, 255, 0), inner: float = 0.15, outer: float = 0.35, device="cpu"):
        if not 0 <= inner < outer:
            raise ValueError("need 0 <= inner < outer")
        self.device = torch.device(device)
        self.key = torch.tensor(key, dtype=torch.float32, device=self.device).view(1, 3, 1, 1) / 255.0
        self.inner, self.outer = float(inner), float(outer)
        self.size = (0, 0)  # runs at the input size

    @torch.inference_mode()
    def predict(self, images: ImageBatch) -> torch.Tensor:
        x = as_batch(images, self.device)
        d = (x - self.key).square().sum(1, keepdim=True).sqrt()
        return ((d - self.inner) / (self.outer - self.inner)).clamp_(0.0, 1.0)
