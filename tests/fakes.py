"""Small stand-ins the pipeline and live tests share: a sink that keeps frames, a slow keyer."""

from __future__ import annotations

import threading
import time

from vidmatte import ChromaKeyMatter


class ListSink:
    """Keeps what it is given; counts close/abort calls; ``fail_at``: raise on that write."""

    def __init__(self, fail_at=None):
        self.frames, self.closed, self.aborted, self.fail_at = [], 0, 0, fail_at

    def write(self, frame):
        if self.fail_at is not None and len(self.frames) == self.fail_at:
            raise RuntimeError("disk full")
        self.frames.append(frame)

    def close(self):
        self.closed += 1

    def abort(self):
        self.aborted += 1


class SlowKey(ChromaKeyMatter):
    """A stateless keyer whose call takes ``cost`` s (sleeping, as a model's threads leave the
    GIL), records when each call ran, and raises on call number ``fail_at``."""

    def __init__(self, cost=0.03, fail_at=None):
        super().__init__()
        self.cost, self.fail_at, self.spans, self.calls = cost, fail_at, [], 0
        self._lock = threading.Lock()

    def predict(self, images):
        with self._lock:
            self.calls += 1
            call = self.calls
        if self.fail_at == call:
            raise RuntimeError("model blew up")
        t0 = time.perf_counter()
        time.sleep(self.cost)
        out = super().predict(images)
        self.spans.append((t0, time.perf_counter()))
        return out


def overlapping(spans) -> int:
    """How many of the time spans start before the one before them ended."""
    spans = sorted(spans)
    return sum(1 for (a0, a1), (b0, b1) in zip(spans, spans[1:]) if b0 < a1)
