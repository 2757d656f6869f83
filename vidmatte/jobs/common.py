"""What the jobs share: turning ``matter`` arguments into a matter, running a pipeline."""

from __future__ import annotations

import os
from typing import Any, Optional

from vidmatte.errors import OutputError
from vidmatte.frame import pick_format

__all__ = ["as_matter", "output_format", "run_pipeline"]


def as_matter(matter: Any, *, live: bool = False):
    """A :class:`~vidmatte.matting.Matter`, or a name / file for :func:`vidmatte.load_matter`."""
    if isinstance(matter, (str, os.PathLike)):
        from vidmatte.models.factory import load_matter

        return load_matter(os.fspath(matter), live=live)
    return matter


def output_format(sink, product: str, matter, *, deep: bool = False) -> str:
    """The pixel format to hand ``sink`` (see :func:`vidmatte.frame.pick_format`)."""
    device = str(getattr(getattr(matter, "device", None), "type", "cpu"))
    try:
        return pick_format(getattr(sink, "accepts", ("rgb24",)), product, device=device, deep=deep)
    except ValueError as exc:
        sink.abort()
        raise OutputError(f"{exc}; choose another output format") from None


def run_pipeline(source, processor, sink, *, batch_size: int, progress: Optional[Any]):
    """Run the overlapped pipeline; the sink is finished on success and aborted on failure."""
    from vidmatte.runtime.pipeline import Pipeline

    total = getattr(source, "frame_count", None)
    with sink, processor:
        return Pipeline(source, processor, sink, batch_size=batch_size, progress=progress, total=total).run()
