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

from vidmatte.defaults import FG_ESTIMATION, REFINE, SMOOTHER
from vidmatte.frame import PIXEL_FORMATS, Frame, product_of
from vidmatte.refine.refiners import make_refiner
from vidmatte.runtime.arrays import output_frames, to_pixel_format
from vidmatte.runtime.frame_checks import check_alpha, check_array, check_frames
from vidmatte.runtime.holdback import HoldBack
from vidmatte.runtime.stats import StageTimes
from vidmatte.temporal import as_smoother

__all__ = ["Processor"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


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
        work_lines: finish 8-bit RGB composites on the CPU at this many lines
            (:class:`~vidmatte.compose.fast_finish.FastFinish`: refine, smooth and blur fusion
            there, one fused composite at full size); ``None`` (default): the full-size path.
            The live job's CPU default is 360 (its error against full size: docs/live.md).
    """

    def __init__(self, matter: Any, background: Any = None, *, smoothing: Any = SMOOTHER,
                 strength: Optional[float] = None, fg_estimation: str = FG_ESTIMATION,
                 format: Optional[str] = None, bgr: bool = False, radii: Optional[Sequence[int]] = None,
                 compositor: Any = None, device: Optional[Union[str, torch.device]] = None,
                 times: Optional[StageTimes] = None, refine: Any = REFINE, work_lines: Optional[int] = None):
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
        self.format, self.bgr = fmt, bool(bgr)
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
        self._fast = None
        if work_lines:
            from vidmatte.compose.fast_finish import fast_finish_for

            self._fast = fast_finish_for(self, int(work_lines))

    # -- the array API -----------------------------------------------------------------
    def __call__(self, image: Any) -> Any:
        """``(H,W,3)`` or ``(B,H,W,3)`` uint8 (uint16: high bit depth) → output of the same rank.

        Grey ``(H,W)``/``(H,W,1)`` frames are spread to RGB. The output is ``(…,H,W,C)`` in
        :attr:`format` (BGR(A) order with ``bgr=True``); :attr:`alpha` holds the matte
        ``(H,W)`` (or ``(B,H,W)``) float32 in [0, 1]. With a look-ahead smoother
        (:attr:`delay` > 0) the result is always a batch ``(n,…,C)`` of the frames completed so
        far (``n`` may be 0); ``[f.image for f in proc.flush()]`` gives the rest at the end.
        """
        batch, single, fmt = check_array(image, self.bgr, depth_check=not self._depth_checked)
        self._depth_checked = self._depth_checked or fmt == "rgb48"  # the 8-bit-in-16 scan: once a stream
        frames = [Frame(img, index=self._next_index + i, format=fmt) for i, img in enumerate(batch)]
        out = self.process(frames)
        result = [f.image for f in out]
        single = single and not self.delay
        if self.format != "yuv420p":
            result = np.stack(result) if result else np.zeros((0, *batch[0].shape[:2], self._channels()), np.uint8)
            if self.bgr and result.shape[-1] in (3, 4):
                result = np.ascontiguousarray(result[..., [2, 1, 0, 3][: result.shape[-1]]])
        self._single = single
        return result[0] if single else result

    # -- the frame API -----------------------------------------------------------------
    def process(self, frames: Sequence[Frame]) -> list[Frame]:
        """Frames (``rgb24`` or ``rgb48``) → output frames in :attr:`format`, same timing."""
        if not frames:
            return []
        return self.finish(frames, *self.infer(frames))

    def _tick(self, stage: str, t0: float) -> float:
        if self.timed:
            _sync(self.device)
        t1 = time.perf_counter()
        self.times.add(stage, t1 - t0)
        return t1

    @torch.inference_mode()
    def infer(self, frames: Sequence[Frame]) -> tuple[torch.Tensor, torch.Tensor]:
        """First half: frames → ``(x (B,3,H,W) float in [0,1], raw alpha (B,1,H,W))``."""
        check_frames(frames)
        t = time.perf_counter()
        batch = torch.from_numpy(np.stack([np.asarray(f.image) for f in frames]))
        if self.device.type == "cuda":
            batch = batch.pin_memory()
        self.times.add("to_tensor", time.perf_counter() - t)
        return self.infer_tensor(batch, frames[0].index)

    @torch.inference_mode()
    def infer_tensor(self, images: torch.Tensor, first_index: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
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
        if callable(getattr(self.matter, "reset_state", None)):
            self._watch_state(u8)
        alpha = self.matter.predict(u8)
        check_alpha(alpha, *u8.shape[:3], self.matter, values=not self._alpha_checked)
        self._alpha_checked = True  # values once (a sync on CUDA), shapes every time
        self._tick("model", t)
        self._next_index = first_index + images.shape[0]
        return x, alpha

    #: mean |difference| (0..255) of two frames' 16x9 thumbnails above which the second is another shot
    CUT_LEVEL = 25.0

    def _watch_state(self, u8: torch.Tensor) -> None:
        """A recurrent matter's state belongs to one shot at one size: drop it on a size change
        or a scene cut (the first frame of the batch against the last one seen)."""
        import torch.nn.functional as F

        thumb = F.adaptive_avg_pool2d(u8.permute(0, 3, 1, 2).float(), (9, 16))
        prev, self._thumb = getattr(self, "_thumb", None), thumb[-1:]
        hw = tuple(u8.shape[1:3])
        if prev is not None and (hw != getattr(self, "_last_hw", hw)
                                 or float((thumb[:1] - prev).abs().mean()) > self.CUT_LEVEL):
            self.matter.reset_state()
        self._last_hw = hw

    @property
    def delay(self) -> int:
        """Frames the smoother must see after a frame before it is complete (0: causal)."""
        return int(getattr(self.smoother, "delay", 0) or 0)

    def _channels(self) -> int:
        return 1 if self.product == "alpha" else (PIXEL_FORMATS[self.format][1] or 3)

    @torch.inference_mode()
    def finish_tensor(self, x: torch.Tensor, alpha: torch.Tensor, first_index: int = 0) -> torch.Tensor:
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
        self._alpha, self._single = alpha[:, 0], False
        if self.product == "alpha":
            return alpha
        if alpha.shape[0] == 0:
            return x.new_zeros((0, self._channels(), *x.shape[-2:]))
        out = self.compositor(x, alpha, first_index)
        self._tick("composite", t)
        return out

    @torch.inference_mode()
    def flush_tensor(self) -> tuple[torch.Tensor, int]:
        """The frames a look-ahead smoother still holds, finished: ``(out (n,C,H,W), index of
        the first)``; ``n = 0`` without one. The processor is then ready for a new stream."""
        t = time.perf_counter()
        alpha = self.smoother.flush() if self.delay else None
        if alpha is None or not len(self._held):
            return torch.zeros((0, self._channels(), 1, 1)), -1
        t = self._tick("smooth", t)
        x, first = self._held.take(alpha.shape[0], alpha)
        return self._compose(x, alpha, first, t), first

    def process_tensor(self, images: torch.Tensor, first_index: int = 0) -> torch.Tensor:
        """``(B,H,W,3)`` uint8/uint16 (any device) → output ``(n,C,H,W)`` float in [0,1] (as
        :meth:`finish_tensor`)."""
        return self.finish_tensor(*self.infer_tensor(images, first_index), first_index)

    def finish(self, frames: Sequence[Frame], x: torch.Tensor, alpha: torch.Tensor) -> list[Frame]:
        """Second half: smooth, composite and convert to :attr:`format` for the sink (only the
        completed frames when the smoother looks ahead; see :meth:`flush`)."""
        if self._fast is not None and alpha.device.type == "cpu" and all(
                f.format == "rgb24" and getattr(f.image, "dtype", None) == np.uint8 for f in frames):
            return self._finish_fast(frames, x, alpha)
        out = self.finish_tensor(x, alpha, frames[0].index)
        if self.delay:
            self._held.put_items(frames)
            frames = self._held.take_items(out.shape[0])
        return self._deliver(frames, out)

    def _finish_fast(self, frames: Sequence[Frame], x: torch.Tensor, alpha: torch.Tensor) -> list[Frame]:
        """:meth:`finish` by :class:`~vidmatte.compose.fast_finish.FastFinish` (numpy, one frame at a time)."""
        outs, alphas = [], []
        for i, f in enumerate(frames):
            out, a = self._fast(np.asarray(f.image), alpha[i, 0].numpy(), f.index, x[i : i + 1])
            outs.append(out)
            alphas.append(a)
        self._alpha, self._single = torch.from_numpy(np.stack(alphas)), False
        return [f.with_image(o, "rgb24") for f, o in zip(frames, outs)]

    def flush(self) -> list[Frame]:
        """At the end of a stream: the frames a look-ahead smoother held back, finished and
        converted (``[]`` for a causal one). Call it after the last :meth:`finish`/:meth:`process`."""
        out, _ = self.flush_tensor()
        frames = self._held.take_items(out.shape[0])
        self._held.clear()
        return self._deliver(frames, out)

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
        self._thumb = None
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
