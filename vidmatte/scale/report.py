"""What a batch tells its caller: the summary (:class:`BatchReport`) and one progress bar
over all frames of all inputs (:class:`Progress`)."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["BatchReport", "Progress"]


@dataclass
class BatchReport:
    """The outcome of :func:`vidmatte.batch`.

    Attributes:
        done: ``(input, output)`` of each output written by this run.
        skipped: ``(input, reason)``: finished earlier, or an output that is not ours.
        failed: ``(input, reason)``: the one-line reason each input failed.
        frames: frames written by this run; ``wall_s`` its seconds.
        restarts: workers that died and were restarted (their segment was redone).
    """

    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    frames: int = 0
    wall_s: float = 0.0
    engine: str = "local"
    workers: int = 1
    restarts: int = 0

    @property
    def ok(self) -> bool:
        """No input failed."""
        return not self.failed

    def summary(self) -> str:
        """A headline, then one line per skipped or failed input."""
        fps = self.frames / self.wall_s if self.wall_s > 0 else 0.0
        head = (f"{len(self.done)} done, {len(self.skipped)} skipped, {len(self.failed)} failed; "
                f"{self.frames} frames in {self.wall_s:.1f} s ({fps:.1f} fps), engine {self.engine} "
                f"with {self.workers} worker{'s' if self.workers != 1 else ''}")
        if self.restarts:
            head += f"; {self.restarts} worker restart{'s' if self.restarts != 1 else ''} (their work was redone)"
        lines = [head]
        lines += [f"  skipped {inp}: {why}" for inp, why in self.skipped]
        lines += [f"  failed  {inp}: {why}" for inp, why in self.failed]
        return "\n".join(lines)


class Progress:
    """Frames done over all tasks, shown as one bar (or passed to a callable).

    Args:
        progress: ``None`` (a tqdm bar when stderr is a terminal), ``True``/``False``, or a
            callable ``progress(frames_done)``.
        total: frames of all tasks (``None``: unknown).

    :meth:`report` takes a task's running count (a restarted task starts again from 0,
    so nothing is counted twice); :meth:`finish` its final count.
    """

    def __init__(self, progress: Any, total: Optional[int]):
        self._frames: dict = {}
        self._lock = threading.Lock()
        self._callable = progress if callable(progress) else None
        self._bar = None
        show = sys.stderr.isatty() if progress is None else progress is True
        if show and self._callable is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="frame", dynamic_ncols=True, smoothing=0.1)

    @property
    def done(self) -> int:
        return sum(self._frames.values())

    def report(self, key: str, frames: int) -> None:
        with self._lock:
            self._frames[key] = frames
            done = self.done
        if self._bar is not None:
            self._bar.update(done - self._bar.n)
        if self._callable is not None:
            self._callable(done)

    def finish(self, key: str, frames: int) -> None:
        self.report(key, frames)

    def drop(self, key: str) -> None:
        """Forget a task that failed (its frames are not done)."""
        with self._lock:
            self._frames.pop(key, None)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
