"""Process-wide tuning that every run (library or command line) gets once."""

from __future__ import annotations

import sys

__all__ = ["tune_allocator"]

_done = False
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # glibc mallopt parameters


def tune_allocator() -> None:
    """Keep large frame buffers mapped between frames (glibc only; idempotent).

    * **Thresholds.** By default glibc returns every buffer above 32 MB-ish to the OS and
      faults it back in on the next frame (~38k page faults per 1080p frame in blur fusion).
      Raising the mmap and trim thresholds measured 276 → 207 ms for 1080p blur fusion on a
      2-core CPU.
    * **One arena.** Threads other than the main one allocate from arenas of 64 MB heaps,
      and glibc unmaps such a heap as soon as everything in it is freed: a 1080p frame's
      float buffers (25 MB each) were faulted in again on nearly every frame a worker thread
      composited (compositing 70 → 82 ms median, spikes to 440 ms of CPU time). With one
      arena every thread allocates from the main heap, which the trim threshold keeps:
      ``bench pipeline`` at 1080p on 2 cores, frames schedule, went from 2.53-2.73 to
      2.90-2.96 fps. Threads that already have an arena may keep it, so the command line
      calls this before it starts any thread.
    """
    global _done
    if _done or not sys.platform.startswith("linux"):
        return
    _done = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 256 * 2**20)
        libc.mallopt(_M_TRIM_THRESHOLD, 1024 * 2**20)
        libc.mallopt(_M_ARENA_MAX, 1)
    except (OSError, AttributeError):
        pass
