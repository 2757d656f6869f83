"""What a batch worker does: load the model once, then run tasks (whole files or segments).

The same :class:`Worker` runs in the batch process (``engine="local"``) and inside Ray
actors (``engine="ray"``), so both engines share one code path. Everything it is given
(:class:`JobSpec`, :class:`Task`) is plain data that pickles.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

from vidmatte.defaults import FG_ESTIMATION, SMOOTHER_FILES
from vidmatte.errors import VidmatteError
from vidmatte.jobs.files import OutputPlan, matte_plan, replace_plan
from vidmatte.scale.segments import Segment

__all__ = ["JobSpec", "Task", "TaskResult", "Outcome", "Worker", "task_error"]


@dataclass(frozen=True)
class JobSpec:
    """The options of a batch, shared by every task.

    Attributes:
        mode: ``replace`` (new background, or ``background=None`` for RGBA) or ``matte``.
        matter: model name / file (loaded by each worker), or a picklable Matter.
        model_options: keywords for :func:`vidmatte.load_matter` (``size``, ``device``, …).
        background: a background spec (``"#2060ff"``, ``"beach.jpg"``, ``"blur"``) or ``None``.
        format, alpha_mode: matte mode's format and colour mode (as ``vidmatte matte``).
        threads: torch threads per worker (``None``: the runtime's default).
        choke, feather: matte edge controls in pixels (as the Processor; 0: off).
    """

    mode: str = "replace"
    matter: Any = "auto"
    model_options: dict = field(default_factory=dict)
    background: Any = None
    smoothing: Any = SMOOTHER_FILES
    strength: Optional[float] = None
    fg_estimation: str = FG_ESTIMATION
    crf: int = 18
    codec_preset: str = "medium"
    format: Optional[str] = None
    alpha_mode: Optional[str] = None
    batch_size: int = 1
    threads: Optional[int] = None
    choke: float = 0.0
    feather: float = 0.0

    def plan(self, output: Path) -> OutputPlan:
        """The output plan for ``output`` (see :mod:`vidmatte.jobs.files`)."""
        if self.mode == "matte":
            return matte_plan(output, self.format, self.alpha_mode)
        return replace_plan(output, transparent=self.background is None, crf=self.crf, codec_preset=self.codec_preset)

    def options(self) -> dict:
        """What decides the pixels of an output, as JSON-able data (the manifest compares it)."""
        def plain(v: Any) -> Any:  # objects by their class (and name): a repr can hold an address
            if v is None or isinstance(v, (str, int, float, bool)):
                return v
            if isinstance(v, (tuple, list)):
                return [plain(x) for x in v]
            kind = f"{type(v).__module__}.{type(v).__qualname__}"
            return f"{kind}:{v.name}" if isinstance(getattr(v, "name", None), str) else kind

        names = ("mode", "matter", "background", "smoothing", "strength", "fg_estimation", "crf", "codec_preset",
                 "format", "alpha_mode")
        out = {k: plain(getattr(self, k)) for k in names}
        out.update({k: getattr(self, k) for k in ("choke", "feather") if getattr(self, k)})  # old manifests stay valid
        model = {k: plain(v) for k, v in sorted(self.model_options.items())
                 if k not in ("download", "onnx_options") and v is not None}
        onnx = {k: plain(v) for k, v in sorted((self.model_options.get("onnx_options") or {}).items())
                if k != "threads"}  # threads change the speed, not the result
        if onnx:
            model["onnx_options"] = onnx
        out["model_options"] = model
        bg = self.background
        if isinstance(bg, str) and os.path.isfile(bg):  # a background file that changed makes new outputs
            st = os.stat(bg)
            out["background_file"] = [st.st_size, st.st_mtime_ns]
        return out


@dataclass(frozen=True)
class Task:
    """One unit of work: a whole file (``segment is None``) or one segment of it.

    ``output`` is the final output for whole files, the piece file for segments.
    """

    key: str
    input: str
    output: str
    segment: Optional[Segment] = None
    frames: Optional[int] = None


@dataclass(frozen=True)
class TaskResult:
    key: str
    frames: int
    seconds: float
    pid: int
    model: str = ""


Outcome = Union[TaskResult, BaseException]


def task_error(exc: BaseException) -> BaseException:
    """The error to report for a failed task: a :class:`VidmatteError` as it is, anything
    else as an internal fault with its type."""
    if isinstance(exc, VidmatteError):
        return exc
    return VidmatteError(f"internal error: {type(exc).__name__}: {exc}")


class Worker:
    """Runs tasks of one :class:`JobSpec` with a model loaded once (by :meth:`ready` or the first task).

    Args:
        spec: the batch options.
        report: ``report(task_key, frames_done)`` while a task runs (progress).
    """

    def __init__(self, spec: JobSpec, report: Optional[Callable[[str, int], None]] = None):
        self.spec = spec
        self.report = report
        self.matter: Any = None

    def ready(self) -> tuple[int, str]:
        """Load the model (once); returns ``(process id, model name)``. Model errors are raised here."""
        if self.matter is None:
            from vidmatte.jobs.common import as_matter

            spec = self.spec
            if spec.threads:
                import torch

                torch.set_num_threads(spec.threads)
            matter = spec.matter
            if isinstance(matter, (str, os.PathLike)):
                from vidmatte.models.factory import load_matter

                matter = load_matter(os.fspath(matter), **spec.model_options)
            self.matter = as_matter(matter)
        return os.getpid(), self.model_name

    @property
    def model_name(self) -> str:
        m = self.matter
        return str(getattr(m, "name", type(m).__name__)) + (f" {tuple(m.size)}" if getattr(m, "size", None) else "")

    def pid(self) -> int:
        """The worker's process id (a restarted Ray actor has a new one)."""
        return os.getpid()

    def run(self, task: Task) -> TaskResult:
        """Process ``task``; its output (file or piece) exists only when this returns."""
        t0 = time.perf_counter()
        self.ready()
        frames = self._segment(task) if task.segment is not None else self._whole(task)
        return TaskResult(task.key, frames, time.perf_counter() - t0, os.getpid(), self.model_name)

    def _progress(self, key: str, every: float = 0.25) -> Optional[Callable[[int], None]]:
        """``progress(frames_done)`` for one task, passed on to ``report`` at most every
        ``every`` seconds (the engine learns the final count from the result)."""
        if self.report is None:
            return None
        last = [0.0]

        def progress(frames: int) -> None:
            now = time.monotonic()
            if now - last[0] >= every:
                last[0] = now
                self.report(key, frames)

        return progress

    def _options(self) -> dict:
        s = self.spec
        return {"smoothing": s.smoothing, "strength": s.strength, "fg_estimation": s.fg_estimation,
                "choke": s.choke, "feather": s.feather}

    def _whole(self, task: Task) -> int:
        from vidmatte.jobs.files import run_file

        spec = self.spec
        stats = run_file(spec.plan(Path(task.output)), task.input, task.output, matter=self.matter,
                         background=spec.background, batch_size=spec.batch_size, overwrite=True,
                         progress=self._progress(task.key) or False, **self._options())
        return stats.frames

    def _segment(self, task: Task) -> int:
        from vidmatte.compose.backgrounds.spec import as_background
        from vidmatte.compose.backgrounds.clock import follow_source
        from vidmatte.io.sources import VideoSource
        from vidmatte.jobs.files import make_processor, open_output
        from vidmatte.runtime.pipeline import Pipeline
        from vidmatte.scale.segments import SegmentFrames, SegmentSink

        spec, seg = self.spec, task.segment
        plan = spec.plan(Path(task.output))
        with VideoSource(task.input, threading="frame") as src:
            sink = open_output(plan, src, task.output, overwrite=True, audio=False)
            background = as_background(spec.background)
            processor = make_processor(plan, self.matter, background, sink, src, **self._options())
            with processor:
                if int(getattr(processor, "delay", 0) or 0) > seg.lookahead:
                    sink.abort()
                    raise VidmatteError(f"the smoother looks {processor.delay} frames ahead, the segment was planned "
                                        f"with {seg.lookahead}; run without --segment")
                out = SegmentSink(sink, seg, processor, self._progress(task.key))
                frames = follow_source(background, SegmentFrames(src, seg), origin=src.first_time)  # timed backgrounds
                Pipeline(frames, processor, out, batch_size=spec.batch_size, progress=False).run()
        return out.frames

