"""The smoother contract: ``smoother(alpha (B,1,H,W), image (B,3,H,W)) -> alpha``.

The caller owns the state: one smoother per stream, frames in time order (batches hold
consecutive frames), ``reset()`` between clips. Returned tensors may be the smoother's
state: do not modify them in place.
"""

from __future__ import annotations

from typing import Optional

import torch

__all__ = ["Smoother", "NoSmoothing", "check_inputs"]


def check_inputs(alpha: torch.Tensor, image: Optional[torch.Tensor], need_image: bool) -> None:
    if not isinstance(alpha, torch.Tensor) or alpha.ndim != 4 or alpha.shape[1] != 1:
        raise ValueError(f"smoother: alpha must be (B,1,H,W), got {getattr(alpha, 'shape', type(alpha).__name__)}")
    if image is None:
        if need_image:
            raise ValueError("smoother: this smoother needs the frames (B,3,H,W) as well as alpha")
        return
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"smoother: image must be (B,3,H,W), got {tuple(image.shape)}")
    if image.shape[0] != alpha.shape[0] or image.shape[-2:] != alpha.shape[-2:]:
        raise ValueError(f"smoother: image {tuple(image.shape)} does not match alpha {tuple(alpha.shape)}")


class Smoother:
    """Base: ``smoother(alpha (B,1,H,W), image (B,3,H,W)) -> alpha``; ``reset()`` forgets.

    ``delay`` is how many future frames the smoother needs before a frame is complete (0:
    causal, one output per input). A look-ahead smoother (``delay > 0``) returns only the
    completed frames, in order, and :meth:`flush` returns the rest at the end of a stream.
    """

    needs_image = False
    delay = 0

    def __init__(self):
        self.prev: Optional[torch.Tensor] = None

    def reset(self) -> None:
        self.prev = None

    def __call__(self, alpha: torch.Tensor, image: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_inputs(alpha, image, self.needs_image)
        out = [self.step(alpha[i : i + 1], None if image is None else image[i : i + 1]) for i in range(alpha.shape[0])]
        return out[0] if len(out) == 1 else torch.cat(out)

    def step(self, alpha: torch.Tensor, image: Optional[torch.Tensor]) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def flush(self) -> Optional[torch.Tensor]:
        """The frames still held at the end of a stream ``(n,1,H,W)``; ``None`` when none are."""
        return None

    def _stale(self, alpha: torch.Tensor) -> bool:
        p = self.prev
        return p is None or p.shape != alpha.shape or p.device != alpha.device or p.dtype != alpha.dtype


class NoSmoothing(Smoother):
    """Returns the alpha unchanged."""

    def __call__(self, alpha: torch.Tensor, image: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_inputs(alpha, image, False)
        return alpha
