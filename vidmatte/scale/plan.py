"""Planning a batch: each input's output, whether it is due, and its tasks.

An input is *skipped* when its output exists and the folder's manifest says it was made
from the same input (size, modification time) with the same options, or when the output
exists and was not made by a batch (unless ``overwrite``). Otherwise it becomes an
:class:`Item` with its tasks: the whole file, or (``segment`` seconds, video outputs) its
segments, with the warm-up and look-ahead frames its smoother needs. Unreadable inputs fail
here, alone, before any worker starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from vidmatte.errors import InputError, VidmatteError
from vidmatte.io.formats import SEQUENCE_FORMATS
from vidmatte.scale.inputs import output_name
from vidmatte.scale.manifest import Manifest
from vidmatte.scale.worker import JobSpec, Task

__all__ = ["Item", "plan_items", "portable", "PIECES_FOLDER"]

#: hidden folder in OUTDIR where segment pieces live until they are joined
PIECES_FOLDER = ".vidmatte-pieces"


@dataclass
class Item:
    """One input being processed."""

    name: str  # the input as the caller named it
    input: Path
    output: Path
    entry: dict
    tasks: list = field(default_factory=list)
    pieces: Optional[Path] = None  # segmented: the folder of its pieces
    shifts: list = field(default_factory=list)
    left: int = 0
    written: int = 0
    failed: bool = False


def portable(spec: JobSpec, engine: str) -> JobSpec:
    """Files named relative to here made absolute (workers may run elsewhere: shared
    storage), and the background checked once before any worker starts."""
    from dataclasses import replace

    from vidmatte.compose.backgrounds.spec import as_background

    def absolute(v: Any) -> Any:
        return os.path.abspath(v) if isinstance(v, (str, os.PathLike)) and os.path.isfile(v) else v

    if engine != "local" and not (spec.background is None or isinstance(spec.background, (str, tuple))):
        raise InputError("the ray engine takes a background spec (a file, #RRGGBB, blur, green), not an object")
    bg = as_background(spec.background)  # raises InputError for a missing / unreadable background
    if bg is not None and bg is not spec.background and hasattr(bg, "close"):
        bg.close()
    options = dict(spec.model_options)
    if options.get("weights"):
        options["weights"] = absolute(options["weights"])
    return replace(spec, matter=absolute(spec.matter), background=absolute(spec.background), model_options=options)


def plan_items(files, outdir: Path, spec: JobSpec, manifest: Manifest, segment, overwrite: bool, report) -> list:
    from vidmatte.io.atomic import check_output_path

    items, names, options = [], {}, spec.options()
    for n, f in enumerate(files):
        name = output_name(f, mode=spec.mode, transparent=spec.background is None, format=spec.format)
        if name in names:
            report.failed.append((str(f), f"its output name {name} is taken by {names[name]}; rename one"))
            continue
        names[name] = str(f)
        out = outdir / name
        try:
            entry = Manifest.entry(f, options)
            if (out.exists() or out.is_symlink()) and not overwrite:
                if manifest.finished(name, entry):
                    report.skipped.append((str(f), f"{out} is done (same input and options)"))
                    continue
                if not manifest.known(name):
                    report.skipped.append((str(f), f"{out} exists and was not made by vidmatte batch; "
                                                   "pass --overwrite to replace it"))
                    continue
            plan = spec.plan(out)
            check_output_path(out, overwrite=True, inputs=(f,), folder=plan.format in SEQUENCE_FORMATS)
            item = Item(str(f), f.absolute(), out, entry)
            _tasks(item, n, spec, segment)
        except VidmatteError as e:
            report.failed.append((str(f), str(e)))
            continue
        except OSError as e:
            report.failed.append((str(f), f"cannot read {f}: {e.strerror or e}"))
            continue
        items.append(item)
    return items


def _tasks(item: Item, n: int, spec: JobSpec, segment: Optional[float]) -> None:
    """Fill ``item.tasks``: segments when asked and possible, else the whole file."""
    from vidmatte.io.formats import MUXERS

    muxer = MUXERS.get(item.output.suffix.lower())
    if segment and muxer:
        from vidmatte.scale.segments import plan_segments, scan, warmup_frames
        from vidmatte.temporal import as_smoother

        sc = scan(item.input)
        if sc is not None:
            smoother = as_smoother(spec.smoothing, spec.strength)
            after = int(getattr(smoother, "delay", 0) or 0)
            segs = plan_segments(sc, segment, context=warmup_frames(smoother), after=after,
                                 shift=muxer in ("mp4", "mov"))
            if len(segs) > 1:
                item.pieces = item.output.parent / PIECES_FOLDER / item.output.name
                ext = item.output.suffix
                item.tasks = [Task(f"{n}:{j}", str(item.input), str(item.pieces / f"piece-{j:05d}{ext}"), s, s.frames)
                              for j, s in enumerate(segs)]
                item.shifts = [s.shift * sc.time_base for s in segs]
                item.left = len(item.tasks)
                return
    from vidmatte.jobs.files import open_input

    with open_input(item.input) as src:  # fails here, alone, when the input is unreadable
        frames = getattr(src, "frame_count", None)
    item.tasks, item.left = [Task(f"{n}", str(item.input), str(item.output), None, frames)], 1

