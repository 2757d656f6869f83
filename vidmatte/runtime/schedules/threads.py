"""``threads``: one thread per stage, joined by bounded queues::

    feed ─(read thread)─▶ q_in ─(this thread: model)─▶ q_mid ─(finish thread: refine, smooth,
         composite, output format)─▶ q_out ─(write thread)─▶ sinks

Chosen where cores are to spare beyond the model's threads, or where the light stages cost
as much as the model. Queues are bounded (:class:`~vidmatte.runtime.queues.StopQueue`), so
memory stays flat; nothing is dropped (a full queue blocks its producer). An error in any
stage stops the others (:meth:`~vidmatte.runtime.core.Run.fail`). The CUDA schedule
(:mod:`.streams`) uses the same read and write threads around its own middle stage.
"""

from __future__ import annotations

import threading
from typing import Callable

from vidmatte.runtime.core import SKIP
from vidmatte.runtime.queues import END, StopQueue, Stopped
from vidmatte.runtime.schedules import register_schedule

__all__ = ["around", "queues", "threads"]


def _stage(run, body: Callable[[], None]) -> None:
    """Run one stage body; errors stop the others and go to the driver."""
    try:
        body()
    except Stopped:
        pass
    except BaseException as exc:  # noqa: BLE001 - handed to the driving thread
        run.fail(exc)


def queues(run, queue_size: int = 8, batch_size: int = 1) -> tuple[StopQueue, StopQueue]:
    """The read queue (batches) and the write queue (frames), bound to the run's stop event."""
    return (StopQueue(max(2, queue_size // batch_size), run.stop_event),
            StopQueue(max(queue_size, batch_size), run.stop_event))


def around(run, middle: Callable[[], None], q_in: StopQueue, q_out: StopQueue, extra: tuple = ()) -> None:
    """A read thread filling ``q_in`` and a write thread draining ``q_out`` around ``middle()``
    on this thread (plus the ``extra`` stage bodies, each on its own thread). The stage that
    feeds ``q_out`` ends it with ``END``."""

    def read() -> None:
        while (batch := run.take()) is not None:
            if batch is not SKIP:
                q_in.put_or_stop(batch)
        q_in.put_or_stop(END)

    def write() -> None:
        while (frame := q_out.get_or_stop()) is not END:
            run.write([frame])

    bodies = (read, write, *extra)
    workers = [threading.Thread(target=_stage, args=(run, b), name=f"vidmatte-{b.__name__}", daemon=True)
               for b in bodies]
    for th in workers:
        th.start()
    try:
        _stage(run, middle)
        workers[1].join()  # the writer drains q_out, then ends
        run.raise_errors()
    except BaseException:
        run.stop_event.set()
        raise
    finally:
        for th in workers:
            th.join(timeout=5)


@register_schedule("threads")
def threads(run, *, queue_size: int = 8, batch_size: int = 1, **_options) -> str:
    q_in, q_out = queues(run, queue_size, batch_size)
    q_mid = StopQueue(2, run.stop_event)

    def model() -> None:
        while (batch := q_in.get_or_stop()) is not END:
            q_mid.put_or_stop((batch, run.infer(batch)))
        q_mid.put_or_stop(END)

    def finish() -> None:
        while (item := q_mid.get_or_stop()) is not END:
            for out in run.finish(*item):
                q_out.put_or_stop(out)
        for out in run.flush():
            q_out.put_or_stop(out)
        q_out.put_or_stop(END)

    around(run, model, q_in, q_out, extra=(finish,))
    return "threads: read | model | finish | write"
