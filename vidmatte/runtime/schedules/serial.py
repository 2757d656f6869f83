"""``serial``: take ▶ model ▶ finish ▶ write, one frame after another on this thread.

The live default with one frame in flight: the frame is read as late as possible (the newest
one) and nothing runs beside the model.
"""

from __future__ import annotations

from vidmatte.runtime.core import SKIP
from vidmatte.runtime.schedules import register_schedule


@register_schedule("serial")
def serial(run, **_options) -> str:
    while (batch := run.take()) is not None:
        if batch is not SKIP:
            run.write(run.finish(batch, run.infer(batch)))
    return "serial"
