"""Batch job: many inputs into one output folder, on this machine or on a Ray cluster.

:func:`batch` plans every input (output name, skip when finished earlier, segments), hands
the tasks to an engine (:mod:`vidmatte.scale.engines`: ``local`` or ``ray``), joins the
pieces of segmented inputs (:func:`vidmatte.scale.join.join_pieces`) and records finished
outputs in the folder's manifest (:mod:`vidmatte.scale.manifest`). An input that fails
fails alone, with its one-line reason in the :class:`~vidmatte.scale.report.BatchReport`.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Union

from vidmatte.defaults import FG_ESTIMATION, SMOOTHER_FILES
from vidmatte.errors import InputError, OutputError, VidmatteError
from vidmatte.io.atomic import cleanup_partials
from vidmatte.scale.engines import ENGINES, make_engine
from vidmatte.scale.inputs import expand_inputs
from vidmatte.scale.manifest import Manifest
from vidmatte.scale.plan import PIECES_FOLDER, Item, plan_items, portable
from vidmatte.scale.report import BatchReport, Progress
from vidmatte.scale.worker import JobSpec, Task

__all__ = ["batch", "BatchReport"]

PathLike = Union[str, os.PathLike]


def batch(inputs: Union[PathLike, Iterable[PathLike]], outdir: PathLike, *, matte: bool = False,
          background: Any = None, matter: Any = "auto", model_options: Optional[dict] = None,
          smoothing: Any = SMOOTHER_FILES, strength: Optional[float] = None, fg_estimation: str = FG_ESTIMATION,
          format: Optional[str] = None, alpha_mode: Optional[str] = None, crf: int = 18,
          codec_preset: str = "medium", batch_size: int = 1, threads: Optional[int] = None,
          engine: str = "local", address: Optional[str] = None, workers: Optional[int] = None,
          worker_cpus: float = 1.0, segment: Optional[float] = None, overwrite: bool = False,
          progress: Any = None, choke: float = 0.0, feather: float = 0.0) -> BatchReport:
    """Process every input into ``outdir/<input file name>`` as :func:`~vidmatte.jobs.files.replace`
    (or, with ``matte=True``, :func:`~vidmatte.jobs.files.matte`) would.

    Args:
        inputs: files, folders (their video files) and glob patterns.
        background: a spec as for ``replace`` (``None``: transparent RGBA output, .mov/.webm).
        matter, model_options: a model name / file and keywords for :func:`vidmatte.load_matter`
            (each worker loads it once), or a picklable Matter.
        format, alpha_mode: matte mode as ``vidmatte matte`` (png/exr give a folder per input).
        engine: ``local`` (this process, inputs one after another) or ``ray`` (actors on a
            cluster: ``address``, ``workers``, ``worker_cpus``; see :mod:`vidmatte.scale.ray_engine`).
        segment: cut video inputs longer than this many seconds at keyframes into segments
            processed separately (in parallel on Ray) and joined without re-encoding.
        overwrite: redo outputs that are finished or were not made by a batch.
        progress: ``None`` (a bar on a terminal), ``True``/``False``, or ``progress(frames_done)``.
        choke, feather: matte edge controls in pixels, as the Processor (default 0: off).

    Re-running the same call skips the outputs it finished (``outdir/.vidmatte-batch.json``).
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    from vidmatte.ops.edges_np import check_edges

    try:
        check_edges(choke, feather)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if segment is not None and segment <= 0:
        raise InputError(f"--segment must be a positive number of seconds, got {segment}")
    spec = portable(JobSpec("matte" if matte else "replace", matter, dict(model_options or {}), background,
                             smoothing, strength, fg_estimation, crf, codec_preset, format, alpha_mode, batch_size,
                             threads, float(choke), float(feather)), engine)
    t0 = time.perf_counter()
    outdir = _outdir(outdir)
    report = BatchReport(engine=engine)
    files, problems = expand_inputs(list(inputs))
    report.failed += problems
    manifest = Manifest(outdir)
    items = plan_items(files, outdir, spec, manifest, segment, overwrite, report)
    try:
        if items:
            _run(items, spec, manifest, report, progress, engine=engine, address=address, workers=workers,
                 worker_cpus=worker_cpus)
    finally:
        _remove_empty(outdir / PIECES_FOLDER)
    report.wall_s = time.perf_counter() - t0
    return report


def _outdir(outdir: PathLike) -> Path:
    out = Path(outdir).absolute()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"output folder {out} is a file; give a folder") from None
    except OSError as e:
        raise OutputError(f"cannot create output folder {out}: {e.strerror or e}") from None
    if not os.access(out, os.W_OK):
        raise OutputError(f"output folder {out} is not writable; choose another one")
    return out


def _run(items: list, spec: JobSpec, manifest: Manifest, report: BatchReport, progress: Any, **engine_kw) -> None:
    by_key = {t.key: item for item in items for t in item.tasks}
    frames = [t.frames for item in items for t in item.tasks]
    bar = Progress(progress, None if None in frames else sum(frames))
    for item in items:
        _clean(item)
        if item.pieces is not None:
            item.pieces.mkdir(parents=True, exist_ok=True)
    engine = make_engine(engine_kw.pop("engine"), spec, bar.report, **engine_kw)
    report.workers = engine.workers
    try:
        for task, outcome in engine.run(_pending(items)):
            item = by_key[task.key]
            if item.failed:
                continue
            if isinstance(outcome, BaseException):
                item.failed = True
                bar.drop(task.key)
                report.failed.append((item.name, str(outcome)))
                _clean(item)
                continue
            bar.finish(task.key, outcome.frames)
            item.written += outcome.frames
            item.left -= 1
            if item.left == 0:
                _finish(item, spec, manifest, report)
    finally:
        report.restarts = getattr(engine, "restarts", 0)
        engine.close()
        bar.close()
        for item in items:
            if item.left and not item.failed:  # interrupted
                _clean(item)


def _pending(items: list) -> Iterator[Task]:
    """The tasks in order, leaving out those of inputs that have failed meanwhile."""
    for item in items:
        for task in item.tasks:
            if not item.failed:
                yield task


def _finish(item: Item, spec: JobSpec, manifest: Manifest, report: BatchReport) -> None:
    from vidmatte.io.formats import MUXERS
    from vidmatte.scale.join import join_pieces

    frames = item.written
    try:
        if item.pieces is not None:
            pieces = [(t.output, shift) for t, shift in zip(item.tasks, item.shifts)]
            frames = join_pieces(pieces, item.output, muxer=MUXERS[item.output.suffix.lower()], audio_from=item.input,
                                 overwrite=True)
    except VidmatteError as e:
        item.failed = True
        report.failed.append((item.name, str(e)))
        return
    finally:
        _clean(item)
    manifest.record(item.output.name, item.entry, frames=frames)
    report.done.append((item.name, str(item.output)))
    report.frames += frames


def _clean(item: Item) -> None:
    """Remove the item's pieces and half-written outputs left by killed workers or runs."""
    if item.pieces is not None:
        shutil.rmtree(item.pieces, ignore_errors=True)
    cleanup_partials(item.output.parent, item.output.stem)


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
