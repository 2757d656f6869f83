"""Frames a :class:`~vidmatte.runtime.processor.Processor` holds while a look-ahead smoother
waits for the frames after them (its ``delay``): inputs in, completed ones out, in order."""

from __future__ import annotations

from collections import deque
from typing import Any

import torch

__all__ = ["HoldBack"]


class HoldBack:
    """Two FIFOs: the float frames ``x`` (with their stream index) and the caller's items
    (e.g. :class:`~vidmatte.frame.Frame` objects, for their timing)."""

    def __init__(self):
        self._x: deque = deque()
        self._items: deque = deque()

    def __len__(self) -> int:
        return len(self._x)

    def put(self, x: torch.Tensor, first_index: int) -> None:
        """Hold each frame of ``x`` ``(B,3,H,W)``; the first is frame ``first_index`` of the stream."""
        self._x.extend((first_index + i, x[i : i + 1]) for i in range(x.shape[0]))

    def take(self, n: int, like: torch.Tensor) -> tuple[torch.Tensor, int]:
        """The ``n`` oldest frames ``(n,3,H,W)`` and the index of the first (``like[:0]``, -1 for none)."""
        if n == 0:
            return like[:0], -1
        held = [self._x.popleft() for _ in range(min(n, len(self._x)))]
        return torch.cat([h[1] for h in held]), held[0][0]

    def put_items(self, items) -> None:
        self._items.extend(items)

    def take_items(self, n: int) -> list[Any]:
        return [self._items.popleft() for _ in range(min(n, len(self._items)))]

    def clear(self) -> None:
        self._x.clear()
        self._items.clear()
