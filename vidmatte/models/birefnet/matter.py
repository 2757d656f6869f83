"""``BiRefNetMatter``: a loaded :class:`BiRefNet` behind the :class:`Matter` interface.

The model is moved to the device and dtype, set to eval, its BatchNorms folded and
(optionally) converted to channels-last. ``TorchMatter`` does the resize, the ImageNet
normalisation, the sigmoid and the resize back.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import Iterator, Optional, Sequence, Union

import torch

from vidmatte.errors import DeviceError
from vidmatte.matting import TorchMatter
from vidmatte.models.birefnet.network import BiRefNet

__all__ = ["BiRefNetMatter"]

_HALF = (torch.float16, torch.bfloat16)


@contextmanager
def _no_cudnn_tf32() -> Iterator[None]:
    """cuDNN convolutions in true fp32 inside the block; the caller's setting is restored."""
    before = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = before


class BiRefNetMatter(TorchMatter):
    """Alpha from BiRefNet: ``predict(uint8 frames) → (B, 1, H, W)`` float32 in [0, 1].

    Args:
        model: a BiRefNet with its weights already loaded.
        size: model input size ``N`` or ``(H, W)``, rounded to multiples of 32.
        device, dtype: fp32 everywhere; fp16/bf16 on CUDA, bf16 also on CPU.
        channels_last: run the convolutions in channels-last memory format.
        cuda_graph: on CUDA, capture the forward for each input shape once and replay it as a
            CUDA graph (removes the launch overhead of ~1,500 small kernels per frame);
            ``None`` = on for CUDA. Ignored on CPU.
    """

    def __init__(self, model: BiRefNet, size: Union[int, Sequence[int]] = 1024,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                 channels_last: bool = True, cuda_graph: Optional[bool] = None):
        dev = torch.device(device)
        if dtype not in (torch.float32, *_HALF):
            raise ValueError(f"unsupported dtype {dtype}; use float32, float16 or bfloat16")
        if dev.type == "cpu" and dtype == torch.float16:
            raise DeviceError("fp16 is not supported on CPU; use fp32 or bf16 (or --device cuda)")
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise DeviceError("CUDA was asked but no CUDA device is available; use --device cpu")
        super().__init__(size=size, device=dev, dtype=dtype)
        self.name = f"birefnet-{model.variant}"
        model = model.to(device=dev).eval().fuse_for_inference()
        # bf16 keeps fp32 weights and runs under autocast, which leaves layer norm and softmax in fp32.
        self._autocast = dtype == torch.bfloat16
        model = model.to(dtype=torch.float32 if self._autocast else dtype)
        if channels_last:
            model.set_channels_last(True)
        self.model = model
        self.channels_last = channels_last
        self.cuda_graph = dev.type == "cuda" if cuda_graph is None else bool(cuda_graph) and dev.type == "cuda"
        self._graphs: dict = {}

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised ``(B, 3, h, w)`` → ``(B, 1, h, w)`` logits (model dtype)."""
        if self.cuda_graph:
            key = (tuple(x.shape), x.dtype)
            graph = self._graphs.get(key)
            if graph is None:
                from vidmatte.models.cuda_graph import GraphedModule

                graph = self._graphs[key] = GraphedModule(self._forward, x)
            return graph(x).clone()
        return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        # fp32 means fp32: on Ampere and later cuDNN runs fp32 convolutions in TF32 by default
        # (10-bit mantissa); fp16/bf16 are the fast paths. Only that one flag is touched.
        exact = self.device.type == "cuda" and self.dtype == torch.float32
        with torch.inference_mode(), _no_cudnn_tf32() if exact else nullcontext():
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            if self._autocast:
                with torch.autocast(self.device.type, dtype=torch.bfloat16):
                    return self.model(x.float())
            return self.model(x)
