"""Hot reload: a background file that changes on disk is loaded again while running live."""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable, Optional

from vidmatte.errors import VidmatteError

__all__ = ["BackgroundWatcher"]


class BackgroundWatcher:
    """Re-reads a background file when it changes on disk and hands it to ``apply``.

    ``poll()`` is cheap (one ``stat`` at most every ``interval`` s). A file that fails to load
    (e.g. half-written) keeps the current background; the error goes to ``on_error`` once.
    """

    def __init__(self, path: str, apply: Callable[[Any], None], *, load: Optional[Callable[[str], Any]] = None,
                 interval: float = 0.5, on_error: Optional[Callable[[Exception], None]] = None):
        self.path, self.apply, self.interval = str(path), apply, float(interval)
        self.load = load or _parse_background
        self.on_error = on_error or (lambda exc: print(f"vidmatte: background not reloaded: {exc}", file=sys.stderr))
        self.reloads, self._next = 0, 0.0
        self._seen = self._loaded = self._signature()

    def _signature(self):
        try:
            st = os.stat(self.path)
            return st.st_mtime_ns, st.st_size
        except OSError:
            return None

    def poll(self) -> bool:
        """Reload if the file changed since the last successful load; True when it did."""
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.interval
        sig = self._signature()
        if sig is None or sig == self._loaded:
            return False
        try:
            background = self.load(self.path)
        except (VidmatteError, OSError, ValueError) as exc:
            if sig != self._seen:
                self.on_error(exc)
            self._seen = sig
            return False
        self.apply(background)
        self._seen = self._loaded = sig
        self.reloads += 1
        return True


def _parse_background(path: str):
    from vidmatte.compose.backgrounds.spec import parse_background

    return parse_background(path)
