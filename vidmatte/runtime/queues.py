"""Bounded queues whose blocking calls give up when a shared stop event is set.

Offline stages never drop frames: a full queue blocks its producer, so memory stays flat.
Any stage that fails sets the stop event; every other stage then leaves its ``put``/``get``
with :class:`Stopped` within ``poll`` seconds instead of waiting forever.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

__all__ = ["StopQueue", "Stopped", "END"]

#: sentinel put after a stage's last item
END = object()


class Stopped(Exception):
    """The run was stopped while this thread waited on a queue."""


class StopQueue(queue.Queue):
    """A ``queue.Queue`` of ``maxsize`` items bound to ``stop`` (a ``threading.Event``)."""

    def __init__(self, maxsize: int, stop: threading.Event, poll: float = 0.1):
        super().__init__(maxsize=maxsize)
        self.stop, self.poll = stop, poll

    def put_or_stop(self, item: Any) -> None:
        while True:
            if self.stop.is_set():
                raise Stopped
            try:
                self.put(item, timeout=self.poll)
                return
            except queue.Full:
                continue

    def get_or_stop(self) -> Any:
        while True:
            if self.stop.is_set():
                raise Stopped
            try:
                return self.get(timeout=self.poll)
            except queue.Empty:
                continue
