"""CUDA graphs for a model's forward: capture a fixed-shape call once, replay it.

A BiRefNet forward is ~1,500 small kernels; on a GPU their launch overhead costs more than
their work at video sizes. Replaying a captured graph removes it. Only constructed when the
model runs on CUDA.
"""

from __future__ import annotations

from typing import Callable

import torch

__all__ = ["GraphedModule"]


class GraphedModule:
    """Replays a CUDA graph of ``fn(x)`` captured for one input shape and dtype.

    Inputs of another shape run ``fn`` eagerly. The returned tensor is a view of the
    graph's static output: it is overwritten by the next call, so consume (or clone) it first.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], example: torch.Tensor, warmup: int = 3):
        if example.device.type != "cuda":
            raise ValueError("GraphedModule needs a CUDA example input")
        self.fn = fn
        self.static_in = example.clone()
        side = torch.cuda.Stream(device=example.device)
        side.wait_stream(torch.cuda.current_stream(example.device))
        with torch.cuda.stream(side), torch.inference_mode():
            for _ in range(warmup):  # cuDNN autotuning and allocator warm-up outside capture
                fn(self.static_in)
        torch.cuda.current_stream(example.device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        # thread_local: another pipeline or the live loop may use the GPU from its own thread meanwhile
        with torch.cuda.graph(self.graph, capture_error_mode="thread_local"), torch.inference_mode():
            self.static_out = fn(self.static_in)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape != self.static_in.shape or x.dtype != self.static_in.dtype:
            return self.fn(x)
        self.static_in.copy_(x, non_blocking=True)
        self.graph.replay()
        return self.static_out
