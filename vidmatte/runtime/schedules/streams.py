"""``streams``: the CUDA schedule. Read and write threads (as :mod:`.threads`) around this
thread, which queues each batch's upload, model, finishing and download on CUDA streams
(:class:`~vidmatte.runtime.cuda.CudaStreamer`) and keeps ``depth`` batches in flight::

    feed ─(read thread)─▶ q_in ─(this thread: submit t+1 while t downloads)─▶ q_out ─(write thread)─▶ sinks

Held-back frames of a look-ahead smoother stay in the processor's
:class:`~vidmatte.runtime.holdback.HoldBack`, as on the CPU.
"""

from __future__ import annotations

from collections import deque

from vidmatte.runtime.queues import END
from vidmatte.runtime.schedules import register_schedule
from vidmatte.runtime.schedules.threads import around, queues

__all__ = ["streams"]


@register_schedule("streams")
def streams(run, *, queue_size: int = 8, batch_size: int = 1, depth: int = 2, **_options) -> str:
    from vidmatte.runtime.cuda import CudaStreamer

    q_in, q_out = queues(run, queue_size, batch_size)

    def on_streams() -> None:
        streamer = CudaStreamer(run.processor)
        inflight: deque = deque()
        while (batch := q_in.get_or_stop()) is not END:
            for w in run.watchers:
                w.poll()
            inflight.append(streamer.submit(batch))
            if len(inflight) >= depth:
                for out in inflight.popleft().result():
                    q_out.put_or_stop(out)
        if run.claim_flush():  # held-back frames, finished on the streams too
            inflight.append(streamer.flush())
        while inflight:
            for out in inflight.popleft().result():
                q_out.put_or_stop(out)
        q_out.put_or_stop(END)

    around(run, on_streams, q_in, q_out)
    return "streams: read | model on CUDA streams | write"
