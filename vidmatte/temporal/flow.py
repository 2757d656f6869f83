"""Motion between two frames for temporal smoothing: low-resolution optical flow and how far
a warp by it can be trusted.

Flow is estimated on grey frames of at most ``height`` lines (default 180: 640x360 → 320x180)
with OpenCV's DIS (Kroeger et al., ECCV 2016; preset ``ultrafast``, ~0.4 ms a pair at 320x180
on one core). On a GPU only those small grey frames go to the host and the flow comes back;
the warps run in torch where the frames are. For frame ``t`` and another frame ``o``, on the
small colour frames ``S`` (area-downscaled, in [0, 1])::

    f      = DIS(grey_t, grey_o)                       flow t → o, (1,2,h,w) pixels
    e_f    = box3(mean_c |S_t - warp(S_o, f)|)         photometric error of the warp
    e_0    = box3(mean_c |S_t - S_o|)                  ... and of no motion at all
    still  = e_0 <= e_f + margin                       where nothing moved, do not resample
    f      = 0 where still;   e = e_0 where still, else e_f
    c      = exp(-(e / sigma)^2)                       confidence in [0, 1]
    c      = 0 everywhere when mean(e) > cut           a scene cut: nothing to borrow

``sigma`` (default 0.04, ~10/255) sits well above codec and sensor noise in a 3x3 mean and
well below the mismatch of a wrong match, so occlusions, flow failures and scene cuts get
``c ≈ 0``; ``cut`` (0.1, the mean error of two unrelated shots is ~0.15-0.3) also stops
the odd patch that happens to match across a cut. Zero flow where the picture is still
keeps still mattes from being blurred by sub-pixel flow noise.

**Off the compute stream** (``worker=True``; ``"auto"``: on CUDA). DIS runs on a worker
thread and the compute stream is never synchronised: :meth:`Motion.view` queues the grey
frame's copy into pinned host memory on the current stream and records an event after it;
:meth:`Motion.request` hands the pair to the worker, which waits for that event (a wait of
its own thread, not of the stream), runs DIS and pins the flow; :meth:`Motion.flow` takes the
result and queues its upload (``non_blocking``). The frames, greys and DIS calls are the
same ones, so the output is bit-identical with and without the worker. Views made before
the model is queued (``FlowSmoother.prefetch``) are copied before the forward runs, so the
flow is ready about when the model's output is.
"""

from __future__ import annotations

import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple, Optional, Union

import numpy as np
import torch

from vidmatte.ops.box import box_blur
from vidmatte.ops.resample import resize
from vidmatte.ops.warp import flow_warp

__all__ = ["FrameView", "Motion", "flow_size", "PRESETS"]

#: DIS presets by name (OpenCV constants 0, 1, 2)
PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}
_LUMA = (0.299, 0.587, 0.114)


#: smallest frame side OpenCV's DIS accepts (12 px fails, 16 px works)
MIN_SIDE = 16


def flow_size(height: int, width: int, lines: int) -> tuple[int, int]:
    """``(h, w)`` of the flow frames: the frame scaled down to at most ``lines`` lines (never up)."""
    if lines < 8:
        raise ValueError(f"flow height must be >= 8 lines, got {lines}")
    s = min(1.0, lines / height)
    return max(1, round(height * s)), max(1, round(width * s))


class HostGrey:
    """A grey frame on its way to the host: a pinned ``(h,w)`` uint8 tensor and the CUDA event
    after its copy. :meth:`numpy` waits for that event only (never for the stream)."""

    def __init__(self, pinned: torch.Tensor, event: Any):
        self.pinned, self.event = pinned, event
        self.shape = tuple(pinned.shape)

    def numpy(self) -> np.ndarray:
        self.event.synchronize()
        return self.pinned.numpy()


class FrameView(NamedTuple):
    """A frame as motion estimation sees it: small colour ``(1,3,h,w)`` float on the frame's
    device, and its grey ``(h,w)`` uint8 for DIS: a numpy array, or a :class:`HostGrey` still
    being copied off a GPU. ``key`` names the view in :class:`Motion`'s requests."""

    small: torch.Tensor
    grey: Union[np.ndarray, HostGrey]
    key: int = -1


def _grey_array(grey: Union[np.ndarray, HostGrey]) -> np.ndarray:
    return grey.numpy() if isinstance(grey, HostGrey) else grey


class Motion:
    """Flow and warp confidence between frames (module docstring).

    Args:
        lines: flow resolution (lines; frames are never upscaled).
        sigma: photometric error (0..1 scale) at which the confidence is ``exp(-1)``.
        margin: how much lower the warped error must be than the unwarped one to move pixels.
        cut: mean photometric error above which the other frame is another shot (no trust).
        preset: DIS preset, ``ultrafast``, ``fast`` or ``medium``.
        worker: run DIS on a worker thread (module docstring): ``True``, ``False``, or ``"auto"``
            (when the frames are on a CUDA device).
    """

    def __init__(self, lines: int = 180, sigma: float = 0.04, margin: float = 0.005, cut: float = 0.1,
                 preset: str = "ultrafast", worker: Union[bool, str] = "auto"):
        if worker not in (True, False, "auto"):
            raise ValueError(f"flow worker must be True, False or 'auto', got {worker!r}")
        if preset not in PRESETS:
            raise ValueError(f"flow preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        if sigma <= 0 or margin < 0 or cut <= 0:
            raise ValueError(f"need sigma > 0, margin >= 0 and cut > 0, got {sigma}, {margin}, {cut}")
        flow_size(lines, lines, lines)  # checks lines
        self.lines, self.sigma, self.margin, self.cut, self.preset = int(lines), float(sigma), float(margin), float(cut), preset
        self.worker = worker
        self._dis = None
        self._pool: Optional[ThreadPoolExecutor] = None
        self._requests: dict[tuple[int, int], Future] = {}
        self._keys = 0
        self._lock = threading.Lock()

    def _use_worker(self, device: torch.device) -> bool:
        return self.worker is True or (self.worker == "auto" and device.type == "cuda")

    def view(self, image: torch.Tensor) -> FrameView:
        """``(1,3,H,W)`` float frame in [0, 1] → its :class:`FrameView`.

        On CUDA with the worker the grey frame is copied to pinned memory on the current
        stream, without waiting for it (module docstring)."""
        h, w = flow_size(image.shape[-2], image.shape[-1], self.lines)
        small = resize(image.float(), (h, w), "area")
        grey = _mix(small, _LUMA)[0, 0].mul_(255.0).round_().clamp_(0, 255).to(torch.uint8)
        with self._lock:
            self._keys += 1
            key = self._keys
        if small.device.type == "cuda" and self._use_worker(small.device):
            pinned = torch.empty(tuple(grey.shape), dtype=torch.uint8, pin_memory=True)
            pinned.copy_(grey, non_blocking=True)
            event = torch.cuda.Event()
            event.record()
            return FrameView(small, HostGrey(pinned, event), key)
        return FrameView(small, np.ascontiguousarray(grey.cpu().numpy()), key)

    def _dis_flow(self, cur_grey, other_grey, pin: bool) -> np.ndarray:
        """DIS on the host; ``(h,w,2)`` float32 (pinned torch tensor when ``pin``)."""
        if self._dis is None:
            import cv2

            self._dis = cv2.DISOpticalFlow_create(PRESETS[self.preset])
        f = self._dis.calc(_grey_array(cur_grey), _grey_array(other_grey), None)
        return torch.from_numpy(f).pin_memory() if pin else f

    def request(self, cur: FrameView, other: FrameView) -> None:
        """Start the flow ``cur → other`` on the worker (no-op without one, or when asked already);
        :meth:`flow` then takes it. Unused requests are dropped by :meth:`reset`."""
        if not self._use_worker(cur.small.device) or min(cur.grey.shape) < MIN_SIDE:
            return
        pair = (cur.key, other.key)
        if pair in self._requests:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="vidmatte-flow")  # one: DIS state is not shared
            weakref.finalize(self, self._pool.shutdown, wait=False)  # the thread ends with its Motion
        self._requests[pair] = self._pool.submit(self._dis_flow, cur.grey, other.grey, cur.small.device.type == "cuda")

    def flow(self, cur: FrameView, other: FrameView) -> torch.Tensor:
        """DIS flow ``cur → other`` as ``(1,2,h,w)`` float32 pixels on the frames' device.

        Frames under :data:`MIN_SIDE` pixels on a side get no flow (zeros): DIS's pyramid needs
        at least that, and such strips hold no motion worth estimating."""
        if min(cur.grey.shape) < MIN_SIDE:
            return torch.zeros((1, 2, *cur.grey.shape), dtype=torch.float32, device=cur.small.device)
        self.request(cur, other)
        job = self._requests.pop((cur.key, other.key), None)
        if job is not None:
            f = job.result()  # a host wait for the worker; the compute stream runs on
        else:
            f = self._dis_flow(cur.grey, other.grey, False)
        f = f if isinstance(f, torch.Tensor) else torch.from_numpy(f)
        # upload the contiguous (pinned) array, then permute: a strided source would be staged
        return f.to(cur.small.device, non_blocking=True).permute(2, 0, 1).unsqueeze(0)

    def reset(self) -> None:
        """Drop the requests not taken (a new stream starts)."""
        for job in self._requests.values():
            job.cancel()
        self._requests.clear()

    def close(self) -> None:
        """Stop the worker thread (a later request starts a new one)."""
        self.reset()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def align(self, cur: FrameView, other: FrameView) -> tuple[torch.Tensor, torch.Tensor]:
        """``(flow (1,2,h,w), confidence (1,1,h,w))`` for pulling ``other`` onto ``cur``."""
        f = self.flow(cur, other)
        e_f = box_blur(_mix((cur.small - flow_warp(other.small, f)).abs_()), 1)
        e_0 = box_blur(_mix((cur.small - other.small).abs_()), 1)
        still = e_0 <= e_f + self.margin
        f = f.masked_fill(still, 0.0)
        e = torch.where(still, e_0, e_f)
        conf = torch.exp(-(e / self.sigma).square()) * (e.mean() <= self.cut)  # no host sync
        return f, conf


def _mix(x: torch.Tensor, weights=(1 / 3, 1 / 3, 1 / 3)) -> torch.Tensor:
    """``sum_c w_c x[:, c]`` of a ``(B,3,H,W)`` tensor → ``(B,1,H,W)`` (default: the channel mean).

    Three sliced multiply-adds: on the CPU a reduction over dim 1 of a channels-last tensor (what
    the OpenCV warps and resizes return) costs 250 µs at 320x180, these 55 µs, whatever the layout."""
    w0, w1, w2 = (float(v) for v in weights)
    return (x[:, 0:1] * w0).add_(x[:, 1:2], alpha=w1).add_(x[:, 2:3], alpha=w2)
