"""The per-frame compute: matter → smoother → compositor, on one device.

A :class:`Processor` turns a batch of decoded frames into output frames. It owns the
recurrent state (the smoother), so the caller decides when it resets (new clip, scene cut
handled inside the smoother). I/O stays outside: sources hand frames in, sinks take the
frames it returns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import torch

from vidmatte.frame import Frame
from vidmatte.matting import Matter

__all__ = ["Processor", "StageTimes", "OUTPUTS"]

# What a processor emits per frame:
#   composite  (H,W,3) uint8 RGB  — the person on the new background
#   rgba       (H,W,4) uint8      — estimated foreground + alpha (straight or premultiplied)
#   rgba_float (H,W,4) float32    — same with linear-light colour, for EXR
#   alpha      (H,W,1) uint8      — the matte alone
OUTPUTS = ("composite", "rgba", "rgba_float", "alpha")


@dataclass
class StageTimes:
    """Seconds spent per stage (summed over frames), filled by whoever runs the stage."""

    seconds: dict = field(default_factory=dict)

    def add(self, stage: str, dt: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + dt

    def per_frame_ms(self, frames: int) -> dict:
        return {k: 1000.0 * v / max(frames, 1) for k, v in self.seconds.items()}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Processor:
    """Matter + smoother + compositor for one stream of frames.

    Args:
        matter: any :class:`vidmatte.matting.Matter`.
        smoother: callable ``(alpha (B,1,H,W), image (B,3,H,W)) -> alpha`` with ``reset()``,
            or ``None`` for no smoothing.
        compositor: callable ``(image, alpha, index) -> (B,3|4,H,W)``; may be ``None`` when
            ``output == "alpha"``.
        output: one of :data:`OUTPUTS`.
        device: where the tensors live (defaults to the matter's device).
    """

    def __init__(
        self,
        matter: Matter,
        smoother=None,
        compositor=None,
        output: str = "composite",
        device: Optional[torch.device | str] = None,
        times: Optional[StageTimes] = None,
    ):
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        if compositor is None and output != "alpha":
            raise ValueError("a compositor is needed unless output='alpha'")
        self.matter = matter
        self.smoother = smoother
        self.compositor = compositor
        self.output = output
        self.device = torch.device(device) if device is not None else getattr(matter, "device", torch.device("cpu"))
        self.times = times if times is not None else StageTimes()
        self.timed = True

    def reset(self) -> None:
        if self.smoother is not None:
            self.smoother.reset()

    def set_compositor(self, compositor) -> None:
        """Swap the compositor (e.g. a new background while live)."""
        self.compositor = compositor

    def _tick(self, stage: str, t0: float) -> float:
        if self.timed:
            _sync(self.device)
        t1 = time.perf_counter()
        self.times.add(stage, t1 - t0)
        return t1

    @torch.inference_mode()
    def infer_tensor(self, images_u8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B,H,W,3)`` uint8 (any device) → ``(x (B,3,H,W) float [0,1], raw alpha (B,1,H,W))``."""
        t = time.perf_counter()
        x = images_u8.to(self.device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)
        t = self._tick("to_tensor", t)
        alpha = self.matter.predict(x)
        self._tick("model", t)
        return x, alpha

    @torch.inference_mode()
    def finish_tensor(self, x: torch.Tensor, alpha: torch.Tensor, first_index: int = 0) -> torch.Tensor:
        """Smoothing and compositing: → output tensor ``(B,C,H,W)`` float in [0,1].

        Must see batches in time order (the smoother is recurrent)."""
        t = time.perf_counter()
        if self.smoother is not None:
            alpha = self.smoother(alpha, x)
            t = self._tick("smooth", t)
        if self.output == "alpha":
            return alpha
        out = self.compositor(x, alpha, first_index)
        self._tick("composite", t)
        return out

    def process_tensor(self, images_u8: torch.Tensor, first_index: int = 0) -> torch.Tensor:
        """``(B,H,W,3)`` uint8 (any device) → output tensor ``(B,C,H,W)`` float in [0,1]."""
        return self.finish_tensor(*self.infer_tensor(images_u8), first_index)

    def infer(self, frames: Sequence[Frame]) -> tuple[torch.Tensor, torch.Tensor]:
        """First half of :meth:`process`: decoded frames → ``(x, raw alpha)`` tensors."""
        t = time.perf_counter()
        batch = torch.from_numpy(np.stack([np.asarray(f.image) for f in frames]))
        if self.device.type == "cuda":
            batch = batch.pin_memory()
        self.times.add("to_tensor", time.perf_counter() - t)
        return self.infer_tensor(batch)

    def finish(self, frames: Sequence[Frame], x: torch.Tensor, alpha: torch.Tensor, yuv: bool = False) -> list[Frame]:
        """Second half of :meth:`process`: smooth, composite and convert for the sink."""
        out = self.finish_tensor(x, alpha, frames[0].index)
        t = time.perf_counter()
        if yuv:
            from vidmatte.io.yuv import rgb_to_yuv420

            arrays = rgb_to_yuv420(out).unbind()
            self.times.add("to_yuv", time.perf_counter() - t)
        else:
            arrays = self.to_numpy(out)
            self.times.add("to_output", time.perf_counter() - t)
        return [
            Frame(image=a, pts=f.pts, time_base=f.time_base, index=f.index, meta=f.meta)
            for a, f in zip(arrays, frames)
        ]

    def process(self, frames: Sequence[Frame], yuv: bool = False) -> list[Frame]:
        """Decoded frames (``image`` (H,W,3) uint8) → output frames with the same timing.

        Equal to ``finish(frames, *infer(frames))``; the pipeline runs the two halves in
        different threads so the model of frame t+1 overlaps the compositing of frame t.
        With ``yuv=True`` the images are converted to :class:`vidmatte.io.yuv.Yuv420` planes
        in torch, on the processor's device.
        """
        if not frames:
            return []
        return self.finish(frames, *self.infer(frames), yuv=yuv)

    def to_output_dtype(self, out: torch.Tensor) -> torch.Tensor:
        """``(B,C,H,W)`` float [0,1] → ``(B,H,W,C)`` contiguous tensor in the sink's dtype, on the
        same device: uint8, or float32 with linear-light colour for ``rgba_float`` (EXR)."""
        out = out.permute(0, 2, 3, 1)
        if self.output == "rgba_float":
            out = out.float()
            rgb = out[..., :3]
            lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
            return torch.cat([lin, out[..., 3:]], dim=-1).contiguous()
        return out.mul(255.0).add_(0.5).clamp_(0, 255).to(torch.uint8).contiguous()

    def to_numpy(self, out: torch.Tensor) -> list[np.ndarray]:
        """``(B,C,H,W)`` float [0,1] → list of ``(H,W,C)`` arrays in the output's dtype."""
        return list(self.to_output_dtype(out).cpu().numpy())
