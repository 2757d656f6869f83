"""The per-frame compute: matter → refiner → smoother → compositor, on one device.

A :class:`Processor` is the whole plugin API: build it once, call it on frames::

    >>> import numpy as np, vidmatte
    >>> proc = vidmatte.Processor(vidmatte.ChromaKeyMatter(), background="#2060ff")
    >>> frame = np.zeros((48, 64, 3), np.uint8); frame[..., 1] = 255   # all green screen
    >>> out = proc(frame)
    >>> out.shape, out.dtype, out[0, 0].tolist(), proc.alpha.shape
    ((48, 64, 3), dtype('uint8'), [32, 96, 255], (48, 64))
    >>> vidmatte.Processor(vidmatte.ChromaKeyMatter())(frame).shape   # no background: RGBA
    (48, 64, 4)

It owns the recurrent state (the smoother: frames must come in time order; ``reset()``
between clips) and its background (``set_background`` closes the one it replaces, ``close``
the current one). I/O stays outside: sources hand frames in, sinks take what it returns.
The pipeline calls the two halves, :meth:`infer` (model) and :meth:`finish` (smoothing,
compositing, output format), from different threads. A look-ahead smoother (``smoothing="flow"``, the file jobs' default) needs :attr:`delay`
frames after a frame before that frame is done: :meth:`finish` / :meth:`process` then return
only the completed frames (in order, timing kept; none at first) and :meth:`flush` returns
the held-back ones at the end of the stream.
"""

from __future__ import annotations

import os
import time
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch

from vidmatte.checks import check_alpha, check_frames
from vidmatte.compose.fast_finish import fast_finish_for
from vidmatte.defaults import FG_ESTIMATION, REFINE, SMOOTHER
from vidmatte.frame import PIXEL_FORMATS, Frame, product_of
from vidmatte.ops.edges import MatteEdges
from vidmatte.refine.refiners import make_refiner
from vidmatte.runtime.arrays import output_frames, process_arrays, to_pixel_format
from vidmatte.runtime.holdback import HoldBack
from vidmatte.runtime.shots import ShotWatch
from vidmatte.runtime.stats import StageTimes
from vidmatte.temporal import as_smoother

__all__ = ["Processor"]


class Processor:
    """Matter + refiner + smoother + compositor for one stream of frames.

    Args:
        matter: a :class:`~vidmatte.matting.Matter`, or a name/file for
            :func:`vidmatte.load_matter` (``"auto"``, ``"lite"``, ``"model.onnx"``, …).
        background: ``None`` (RGBA out), a spec string (image/video file, ``#RRGGBB``,
            ``blur[:SIGMA]``, ``green``), an RGB tuple, or a
            :class:`~vidmatte.compose.backgrounds.base.Background`.
        refine: edge refinement of the upsampled alpha before smoothing (:mod:`vidmatte.refine`):
            ``"auto"`` (default: guided filter where the frame is 2x the model size or more),
            ``"guided"``, ``"vitmatte"``, ``"none"``/``None``, or a ``(image, alpha) -> alpha`` callable.
        smoothing: ``"flow-causal"`` (default), ``"flow"`` (looks ahead: see :attr:`delay`),
            ``"gated"``, ``"ema"``, ``"none"``/``None``, or a smoother object (``(alpha, image)
            -> alpha`` with ``reset()``, optionally ``delay`` and ``flush()``); ``strength``
            in [0, 1] tunes it.
        fg_estimation: ``"blur"`` (blur fusion), ``"ml"`` (pymatting) or ``"none"``.
        format: output pixel format (:data:`vidmatte.frame.PIXEL_FORMATS`); default ``rgb24``
            with a background, ``rgba`` without; ``gray`` gives the matte alone.
        bgr: frames given to and returned by ``proc(image)`` are BGR(A), as OpenCV/OBS use.
        radii: blur-fusion radii (default scaled with the height, (90, 6) at 1080p).
        compositor: replaces the built-in compositing: any ``(image (B,3,H,W), alpha
            (B,1,H,W), index) -> (B,3|4,H,W)`` callable in [0, 1] (``background`` is then
            unused; ``format`` says what it returns, default ``rgb24``).
        choke, feather: edge controls (px) on the final matte: :mod:`vidmatte.ops.edges` (0: off).
        work_lines: on the CPU, finish 8-bit RGB composites at this many lines and composite once at
            full size (:mod:`vidmatte.compose.fast_finish`; ``None``: all at full size, the default).
    """

    def __init__(self, matter: Any, background: Any = None, *, smoothing: Any = SMOOTHER,
                 strength: Optional[float] = None, fg_estimation: str = FG_ESTIMATION,
                 format: Optional[str] = None, bgr: bool = False, radii: Optional[Sequence[int]] = None,
                 compositor: Any = None, device: Optional[Union[str, torch.device]] = None,
                 times: Optional[StageTimes] = None, refine: Any = REFINE, choke: float = 0.0, feather: float = 0.0,
                 work_lines: Optional[int] = None):
        if isinstance(matter, (str, os.PathLike)):
            from vidmatte.models.factory import load_matter

            matter = load_matter(os.fspath(matter))
        self.matter = matter
        self.device = torch.device(device) if device is not None else getattr(matter, "device", torch.device("cpu"))
        fmt = format or ("rgb24" if background is not None or compositor is not None else "rgba")
        self.product = product_of(fmt)
        if compositor is None and (self.product == "composite") != (background is not None):
            raise ValueError(f"format {fmt!r} is a {self.product}: " + (
                "give a background" if background is None else "drop the background (it makes a composite)"))
        self.format, self.bgr, self.edges = fmt, bool(bgr), MatteEdges(choke, feather)
        self.smoother = as_smoother(smoothing, strength)
        self.refiner = make_refiner(refine, matter, device=self.device)
        self.compositor = compositor
        if self.product != "alpha" and compositor is None:
            from vidmatte.compose.backgrounds.spec import as_background
            from vidmatte.compose.compositor import Compositor

            self.compositor = Compositor(as_background(background), fg_estimation=fg_estimation, radii=radii)
        self.times = times if times is not None else StageTimes()
        self.timed = True
        self._alpha: Optional[torch.Tensor] = None  # the last alpha (B,H,W); host copy only when read
        self._single, self._next_index, self._alpha_checked, self._depth_checked = False, 0, False, False
        self._held = HoldBack()  # frames waiting for a look-ahead smoother
        self._shots = ShotWatch()  # when a recurrent model's state must go
        self._fast = fast_finish_for(self, int(work_lines)) if work_lines else None  # the CPU's working size

    # -- the array API -----------------------------------------------------------------
    def __call__(self, image: Any) -> Any:
        """``(H,W,3)`` or ``(B,H,W,3)`` uint8 (uint16: high bit depth) → output of the same rank.

        Grey ``(H,W)``/``(H,W,1)`` frames are spread to RGB. The output is ``(…,H,W,C)`` in
        :attr:`format` (BGR(A) order with ``bgr=True``); :attr:`alpha` holds the matte
        ``(H,W)`` (or ``(B,H,W)``) float32 in [0, 1]. With a look-ahead smoother
        (:attr:`delay` > 0) the result is always a batch ``(n,…,C)`` of the frames completed so
        far (``n`` may be 0); ``[f.image for f in proc.flush()]`` gives the rest at the end.
        """
        return process_arrays(self, image)

    # -- the frame API -----------------------------------------------------------------
    def process(self, frames: Sequence[Frame]) -> list[Frame]:
        """Frames (``rgb24`` or ``rgb48``) → output frames in :attr:`format`, same timing."""
        return self.finish(frames, *self.infer(frames)) if frames else []

    def _tick(self, stage: str, t0: float) -> float:
        if self.timed and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        t1 = time.perf_counter()
        self.times.add(stage, t1 - t0)
        return t1

    @torch.inference_mode()
    def infer(self, frames: Sequence[Frame], images: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """First half: frames → ``(x (B,3,H,W) float in [0,1], raw alpha (B,1,H,W))``.

        ``images``: the frames' pixels already stacked ``(B,H,W,3)`` uint8/uint16 on any
        device (the CUDA schedule uploads them on its copy stream); else they are stacked here."""
        check_frames(frames)
        if images is None:
            t = time.perf_counter()
            images = torch.from_numpy(np.stack([np.asarray(f.image) for f in frames]))
            if self.device.type == "cuda":
                images = images.pin_memory()
            self.times.add("to_tensor", time.perf_counter() - t)
        return self._infer(images, frames[0].index)

    def _infer(self, images: torch.Tensor, first_index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B,H,W,3)`` uint8/uint16 (any device) → ``(x, raw alpha)``; the model sees 8 bits."""
        t = time.perf_counter()
        if images.dtype == torch.uint16:  # travels as int16 bits: uint16 has few kernels on CUDA
            images = images.view(torch.int16).to(self.device, non_blocking=True).to(torch.int32).bitwise_and_(0xFFFF)
            x = images.permute(0, 3, 1, 2).float().div_(65535.0)
            u8 = x.permute(0, 2, 3, 1).mul(255.0).round_().to(torch.uint8)
        else:
            u8 = images = images.to(self.device, non_blocking=True)
            x = images.permute(0, 3, 1, 2).float().div_(255.0)
        t = self._tick("to_tensor", t)
        if x.is_cuda and getattr(self.smoother, "prefetch", None) is not None:  # flow: grey copies before the forward
            self.smoother.prefetch(x)
        if callable(getattr(self.matter, "reset_state", None)) and self._shots.new_shot(u8):
            self.matter.reset_state()  # a recurrent model's state belongs to one shot at one size
        alpha = self.matter.predict(u8)
        check_alpha(alpha, *u8.shape[:3], self.matter, values=not self._alpha_checked)
        self._alpha_checked = True  # values once (a sync on CUDA), shapes every time
        self._tick("model", t)
        self._next_index = first_index + images.shape[0]
        return x, alpha

    @property
    def delay(self) -> int:
        """Frames the smoother must see after a frame before it is complete (0: causal)."""
        return int(getattr(self.smoother, "delay", 0) or 0)

    def _channels(self) -> int:
        return 1 if self.product == "alpha" else (PIXEL_FORMATS[self.format][1] or 3)

    @torch.inference_mode()
    def _finish(self, x: torch.Tensor, alpha: torch.Tensor, first_index: int) -> torch.Tensor:
        """Refinement, smoothing and compositing → ``(n,C,H,W)`` float in [0, 1] (batches in time order).

        ``n = B`` unless the smoother looks ahead: then the frames completed by this batch
        (the oldest held ones first), possibly none."""
        t = time.perf_counter()
        if self.refiner is not None:
            alpha = self.refiner(x, alpha)
            t = self._tick("refine", t)
        if self.smoother is not None:
            if self.delay:
                self._held.put(x, first_index)
            alpha = self.smoother(alpha, x)
            t = self._tick("smooth", t)
            if self.delay:
                x, first_index = self._held.take(alpha.shape[0], x)
        return self._compose(x, alpha, first_index, t)

    def _compose(self, x: torch.Tensor, alpha: torch.Tensor, first_index: int, t: float) -> torch.Tensor:
        alpha = self.edges(alpha)  # choke / feather: the final matte, written and composited alike
        self._alpha, self._single = alpha[:, 0], False
        if self.product == "alpha":
            return alpha
        if alpha.shape[0] == 0:
            return x.new_zeros((0, self._channels(), *x.shape[-2:]))
        out = self.compositor(x, alpha, first_index)
        self._tick("composite", t)
        return out

    @torch.inference_mode()
    def finish(self, frames: Sequence[Frame], x: torch.Tensor, alpha: torch.Tensor, *, host: bool = True):
        """Second half: smooth, composite and convert to :attr:`format` for the sink (only the
        completed frames when the smoother looks ahead; see :meth:`flush`).

        ``host=False`` (the CUDA schedule, which downloads on its own stream) returns
        ``(completed frames, out (n,C,H,W) float in [0,1] on the device)`` instead."""
        if host and self._fast is not None and self._fast.takes(frames, alpha):
            out, self._alpha, self._single = *self._fast.finish_frames(frames, x, alpha), False
            return out
        out = self._finish(x, alpha, frames[0].index)
        if self.delay:
            self._held.put_items(frames)
            frames = self._held.take_items(out.shape[0])
        return self._deliver(frames, out) if host else (list(frames), out)

    @torch.inference_mode()
    def flush(self, *, host: bool = True):
        """At the end of a stream: the frames a look-ahead smoother held back, finished and
        converted (``[]`` for a causal one). Call it after the last :meth:`finish`/:meth:`process`;
        the processor is then ready for a new stream. ``host`` as in :meth:`finish`."""
        t = time.perf_counter()
        alpha = self.smoother.flush() if self.delay else None
        if alpha is None or not len(self._held):
            self._held.clear()
            out = torch.zeros((0, self._channels(), 1, 1), device=self.device)
            return [] if host else ([], out)
        t = self._tick("smooth", t)
        x, first = self._held.take(alpha.shape[0], alpha)
        out = self._compose(x, alpha, first, t)
        frames = self._held.take_items(out.shape[0])
        self._held.clear()
        return self._deliver(frames, out) if host else (frames, out)

    def _deliver(self, frames: Sequence[Frame], out: torch.Tensor) -> list[Frame]:
        t = time.perf_counter()
        done = output_frames(frames, out, self.format)
        self.times.add("to_output", time.perf_counter() - t)
        return done

    def to_output(self, out: torch.Tensor) -> torch.Tensor:
        """``(B,C,H,W)`` float [0,1] → contiguous ``(B,H,W,C)`` in :attr:`format`'s dtype (same device)."""
        return to_pixel_format(out, self.format)

    # -- state and lifetime ------------------------------------------------------------
    @property
    def alpha(self) -> Optional[np.ndarray]:
        """The matte of the last call, float32 in [0, 1]: ``(H,W)`` after ``proc(image)`` of one
        frame, else ``(B,H,W)`` (copied to the host when read, so the GPU path never waits for it)."""
        if self._alpha is None:
            return None
        a = self._alpha.float().cpu().numpy()
        return a[0] if self._single else a

    @property
    def background(self):
        return getattr(self.compositor, "background", None)

    def set_background(self, background: Any) -> None:
        """Swap the background (e.g. live); the previous one is closed. Composites only."""
        if self.product != "composite":
            raise ValueError("set_background needs a processor that makes composites")
        from vidmatte.compose.backgrounds.spec import as_background

        old, self.compositor.background = self.compositor.background, as_background(background)
        if old is not None and old is not self.compositor.background and hasattr(old, "close"):
            old.close()

    def reset(self) -> None:
        """Forget the temporal state, held-back frames included (call between clips)."""
        if self.smoother is not None:
            self.smoother.reset()
        if callable(getattr(self.matter, "reset_state", None)):  # a recurrent model's hidden state
            self.matter.reset_state()
        self._shots.reset()
        self._held.clear()

    def close(self) -> None:
        """Close the background (video decoders); idempotent."""
        if hasattr(self.compositor, "close"):
            self.compositor.close()

    def __enter__(self) -> "Processor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Processor({getattr(self.matter, 'name', type(self.matter).__name__)}, format={self.format!r}, "
                f"background={self.background!r}, smoother={type(self.smoother).__name__ if self.smoother else None})")
