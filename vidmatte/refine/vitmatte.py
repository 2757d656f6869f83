"""ViTMatte refinement of a coarse matte (``--refine vitmatte``): the offline quality tier.

The recipe VFX tools use: a segmentation-grade matte from the model, an automatic trimap
from it (:mod:`vidmatte.refine.trimap`), then a trimap-based matting network for the
uncertain band. The network is ViTMatte (Yao et al. 2023; ``hustvl`` checkpoints,
Apache-2.0) as transformers ships it natively: ``VitMatteImageProcessor`` (RGB normalised
with the checkpoint's mean/std, the trimap appended as a fourth channel, zero padding to a
multiple of 32) and ``VitMatteForImageMatting``; no remote code.

Per frame: ``trimap = make_trimap(alpha, band_radius(H, W))``; the network runs over tiles of
``tile`` pixels (:func:`~vidmatte.refine.tiles.run_tiled`; only tiles that touch the band)
so a 4K frame fits in memory; the result replaces the coarse alpha only inside the band
(``unknown``), so certain foreground and background stay exactly as the model gave them.
The refined matte then goes on to temporal smoothing like any other.

Cost (ViTMatte-S, 25.8 M parameters, fp32, random weights, this project's 2 shared CPU cores):
10 s for a 512x512 tile, 25-60 s for 1024x1024 (load 4-13), 1080p = 4 tiles in 241 s at
2.4 GB peak RSS; ``vidmatte bench refine --method vitmatte`` measures it on your machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

import torch

from vidmatte.refine.tiles import run_tiled
from vidmatte.refine.trimap import band_radius, make_trimap

__all__ = ["VitMatteRefiner", "DEFAULT_CHECKPOINT"]

#: the checkpoint ``--refine vitmatte`` loads unless ``--refine-weights`` names one
DEFAULT_CHECKPOINT = "vitmatte-small"


class VitMatteRefiner:
    """``(image (B,3,H,W), alpha (B,1,H,W)) -> alpha``: ViTMatte inside the trimap band.

    Args:
        model: a ``VitMatteForImageMatting`` (eval mode, on the device the frames are on).
        processor: its ``VitMatteImageProcessor`` (default: transformers' defaults).
        band: half-width of the unknown band beyond the soft edge, as a fraction of the
            short side (:func:`~vidmatte.refine.trimap.band_radius`).
        tile, overlap: tile side and overlap in pixels (default ``tile // 8``); frames not
            larger than ``tile`` run in one piece.
        lo, hi: coarse alpha at or below ``lo`` / at or above ``hi`` is certain (before the
            erosion).
    """

    name = "vitmatte"

    def __init__(self, model: Any, processor: Any = None, *, band: float = 0.02, tile: int = 1024,
                 overlap: Optional[int] = None, lo: float = 0.05, hi: float = 0.95):
        if processor is None:
            from vidmatte.refine.vitmatte_load import transformers_classes

            processor = transformers_classes()[1]()
        overlap = int(tile) // 8 if overlap is None else overlap
        if tile < 64 or not 0 <= overlap < tile // 2:
            raise ValueError(f"need tile >= 64 and 0 <= overlap < tile/2, got tile={tile}, overlap={overlap}")
        self.model, self.processor = model, processor
        self.band, self.tile, self.overlap, self.lo, self.hi = float(band), int(tile), int(overlap), lo, hi
        self.tiles_run = 0

    @classmethod
    def load(cls, name: str = DEFAULT_CHECKPOINT, weights: Union[str, Path, None] = None, *, download: bool = True,
             device: Union[str, torch.device] = "cpu", **options: Any) -> "VitMatteRefiner":
        """A refiner with a named checkpoint (Hugging Face cache, or downloaded when allowed) or
        ``weights``: a ``save_pretrained`` folder (or a weights file inside one)."""
        from vidmatte.refine.vitmatte_load import load_vitmatte

        model, processor = load_vitmatte(name, weights, download=download, device=device)
        return cls(model, processor, **options)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.inference_mode()
    def predict(self, image: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
        """The network alone on one piece: ``(1,3,h,w)`` RGB in [0,1] and ``(1,1,h,w)`` trimap →
        ``(1,1,h,w)`` alpha (the processor pads to a multiple of 32; the padding is cropped)."""
        h, w = image.shape[-2:]
        dev = self.device
        inputs = self.processor(images=[image[0].float()], trimaps=[trimap[0, 0].float()], do_rescale=False,
                                return_tensors="pt", device=dev)
        pixels = inputs["pixel_values"].to(device=dev, dtype=next(self.model.parameters()).dtype)
        self.tiles_run += 1
        return self.model(pixel_values=pixels).alphas[..., :h, :w].float()

    def trimap(self, alpha: torch.Tensor) -> torch.Tensor:
        """The trimap :meth:`__call__` uses for ``alpha`` ``(B,1,H,W)``."""
        return make_trimap(alpha, band_radius(tuple(alpha.shape[-2:]), self.band), self.lo, self.hi)

    @torch.inference_mode()
    def __call__(self, image: torch.Tensor, alpha: torch.Tensor, tile: Optional[int] = None) -> torch.Tensor:
        """Refined ``(B,1,H,W)`` alpha (``alpha``'s dtype and device); ``tile`` overrides the tile side."""
        trimap = self.trimap(alpha.float())
        unknown = (trimap > 0.0) & (trimap < 1.0)
        if not bool(unknown.any()):
            return alpha
        dev = self.device
        x = torch.cat([image.float(), trimap], dim=1).to(dev)

        def one(piece: torch.Tensor) -> torch.Tensor:
            return self.predict(piece[:, :3], piece[:, 3:])

        refined, covered = run_tiled(one, x, tile or self.tile, self.overlap, need=unknown.to(dev))
        refined = refined.to(alpha.device, alpha.dtype).clamp_(0.0, 1.0)
        return torch.where(unknown & covered.to(alpha.device), refined, alpha)

    def __repr__(self) -> str:
        return f"VitMatteRefiner(band={self.band}, tile={self.tile}, overlap={self.overlap}, device={self.device})"
