"""Schedules: where the loop's steps run. One registration adds one.

A schedule is a function ``schedule(run, **options) -> str`` that drives a
:class:`~vidmatte.runtime.core.Run` to the end of its feed by calling its steps
(``take``, ``infer``, ``finish``, ``write``) and returns what ran and why. Built in:

==========  =====================================================================================
``serial``  take ▶ model ▶ finish ▶ write, one after another (live, one frame in flight)
``inline``  the model alone on the cores, then finishing *t*, writing *t-1* and reading *t+1*
            side by side (:mod:`.inline`)
``frames``  two (``workers``) frames in the model at once, each finished in its turn (:mod:`.frames`)
``overlap`` the model keeps the cores; finishing and writing in a low-priority helper (:mod:`.overlap`)
``threads`` one thread per stage: read | model | finish | write (:mod:`.threads`)
``streams`` CUDA: read | upload, model, finish and download on CUDA streams | write (:mod:`.streams`)
``auto``    files: times the first batches inline, then picks one of the above (:mod:`.auto`)
==========  =====================================================================================

A live run picks ``serial`` or ``frames`` from a warm-up before capture starts (:mod:`.live`).

Add one::

    from vidmatte.runtime.schedules import register_schedule

    @register_schedule("mine")
    def mine(run, **options):
        while (batch := run.take()) is not None:
            if batch is not SKIP:
                run.write(run.finish(batch, run.infer(batch)))
        return "mine"
"""

from __future__ import annotations

import importlib
from typing import Callable

__all__ = ["SCHEDULES", "register_schedule", "get_schedule"]

#: name → schedule function (the built-ins register when :func:`get_schedule` first runs)
SCHEDULES: dict[str, Callable[..., str]] = {}
_BUILTIN = ("serial", "inline", "frames", "overlap", "threads", "streams", "auto")


def register_schedule(name: str):
    """Decorator: register ``fn(run, **options) -> str`` as the schedule ``name``."""
    def deco(fn):
        SCHEDULES[name] = fn
        return fn
    return deco


def get_schedule(name: str) -> Callable[..., str]:
    """The schedule registered as ``name``; one error naming the known ones otherwise."""
    if name not in SCHEDULES and name in _BUILTIN:
        importlib.import_module(f"{__name__}.{name}")
    if name not in SCHEDULES:
        for mod in _BUILTIN:
            importlib.import_module(f"{__name__}.{mod}")
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; known: {', '.join(sorted(SCHEDULES))}")
    return SCHEDULES[name]
