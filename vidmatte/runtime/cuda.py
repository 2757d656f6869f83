"""The CUDA frame path: pinned host buffers and separate copy/compute streams.

On a GPU the model is fast enough that the copies and the CPU-side conversions become
the bottleneck (RVM: 104 fps for the network, 2–30 fps end to end). The model's own
forward is replayed from a CUDA graph (:class:`vidmatte.models.cuda_graph.GraphedModule`);
:class:`CudaStreamer` runs batch *t+1*'s upload on a copy stream while batch *t* computes,
and batch *t*'s download on another copy stream while *t+1* computes. Host buffers are
pinned and reused (a ring), so copies are asynchronous DMA. The ``streams`` schedule
(:mod:`vidmatte.runtime.schedules.streams`) drives it.

Everything here is only constructed when ``torch.cuda.is_available()``; CPU runs never
import CUDA state.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from vidmatte.frame import Frame

__all__ = ["CudaStreamer", "Pending"]


class Pending:
    """A batch in flight: its output frames are ready once its download event completes."""

    def __init__(self, frames: Sequence[Frame], host, event: Optional[torch.cuda.Event], convert: Optional[Callable],
                 format: str):
        self.frames, self.host, self.event, self.convert, self.format = list(frames), host, event, convert, format

    def result(self) -> list[Frame]:
        if not self.frames:
            return []
        self.event.synchronize()
        arrays = self.convert(self.host)
        return [f.with_image(a, self.format) for a, f in zip(arrays, self.frames)]


class CudaStreamer:
    """Overlaps upload, compute and download for a :class:`vidmatte.runtime.processor.Processor`.

    ``submit(frames)`` returns at once with a :class:`Pending`; keep ``depth`` batches in
    flight and call ``result()`` on the oldest. Uploads use ``up`` stream, the processor runs
    on ``compute``, downloads use ``down``; events order them. When the processor's format
    is ``yuv420p`` the composite is converted to YUV 4:2:0 on the GPU and only the planes
    come back; otherwise the output is converted to its dtype on the GPU.
    """

    def __init__(self, processor, *, ring: int = 4):
        self.processor = processor
        self.device = processor.device
        self.yuv = processor.format == "yuv420p"
        self.up = torch.cuda.Stream(self.device)
        self.compute = torch.cuda.Stream(self.device)
        self.down = torch.cuda.Stream(self.device)
        self._ring = ring  # must exceed the number of batches kept in flight
        self._slots: dict = {}
        processor.timed = False  # per-stage syncs would serialise the streams

    def _slot(self, shape, dtype) -> list:
        """The oldest pinned buffer of this shape in a ring of ``ring``: ``[tensor, event]``.

        Before it is handed out again, the copy that last used it must have finished.
        """
        ring = self._slots.setdefault((tuple(shape), dtype), deque())
        if len(ring) < self._ring:
            slot = [torch.empty(tuple(shape), dtype=dtype, pin_memory=True), None]
        else:
            slot = ring.popleft()
            if slot[1] is not None:
                slot[1].synchronize()
        ring.append(slot)
        return slot

    @torch.inference_mode()
    def submit(self, frames: Sequence[Frame]) -> Pending:
        """Queue ``frames``; the :class:`Pending` holds the frames this batch completes (all of
        them, or with a look-ahead smoother the oldest held ones, possibly none: the
        processor's :class:`~vidmatte.runtime.holdback.HoldBack` keeps the others)."""
        stacked = np.stack([np.asarray(f.image) for f in frames])
        slot_in = self._slot(stacked.shape, torch.from_numpy(stacked[:0]).dtype)
        slot_in[0].numpy()[...] = stacked
        with torch.cuda.stream(self.up):
            dev_in = slot_in[0].to(self.device, non_blocking=True)
            uploaded = torch.cuda.Event()
            uploaded.record(self.up)
            slot_in[1] = uploaded
        with torch.cuda.stream(self.compute):
            self.compute.wait_event(uploaded)
            dev_in.record_stream(self.compute)
            done, out = self.processor.finish(frames, *self.processor.infer(frames, images=dev_in), host=False)
        return self._download(done, out)

    @torch.inference_mode()
    def flush(self) -> Pending:
        """After the last :meth:`submit`: the frames a look-ahead smoother held back."""
        with torch.cuda.stream(self.compute):
            done, out = self.processor.flush(host=False)
        return self._download(done, out.to(self.device))

    def _download(self, frames: list, out: torch.Tensor) -> Pending:
        """Convert ``out`` on the compute stream and copy it to pinned host buffers."""
        if not frames:
            return Pending([], None, None, None, self.processor.format)
        with torch.cuda.stream(self.compute):
            if self.yuv:
                from vidmatte.ops.color import rgb_to_yuv420

                planes = rgb_to_yuv420(out)
                outs = (planes.y, planes.u, planes.v)
            else:
                outs = (self.processor.to_output(out),)
            computed = torch.cuda.Event()
            computed.record(self.compute)
        with torch.cuda.stream(self.down):
            self.down.wait_event(computed)
            slots = []
            for t in outs:
                t.record_stream(self.down)
                slot = self._slot(t.shape, t.dtype)
                slot[0].copy_(t, non_blocking=True)
                slots.append(slot)
            done = torch.cuda.Event()
            done.record(self.down)
            for slot in slots:
                slot[1] = done
        return Pending(frames, [s[0] for s in slots], done, self._convert, self.processor.format)

    def _convert(self, hosts) -> list:
        if self.yuv:
            from vidmatte.ops.color import Yuv420

            y, u, v = (h.numpy().copy() for h in hosts)
            return [Yuv420(y[i], u[i], v[i]) for i in range(y.shape[0])]
        return list(hosts[0].numpy().copy())

