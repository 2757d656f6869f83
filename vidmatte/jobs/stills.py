"""Still images → RGBA cut-outs or composites (:func:`images`).

Set-up happens once per call (one model, one processor); the images then flow through one
of two schedules, chosen from the model and the cores (:func:`plan`):

* **parallel images** (``"N workers"``): a model with a thread-safe numpy path
  (``predict_array``: ONNX models on the CPU) making cut-outs: N threads each read, matte,
  cut out (:func:`vidmatte.compose.cutout.cutout_rgba`) and write one image at a time,
  the model using ``cores // N`` threads. Nothing single-threaded waits for anything, no
  thread pool spins against another, and torch is never imported.
* **overlapped** (``"read | model | write"``): every other case runs the
  :class:`~vidmatte.runtime.processor.Processor` on the calling thread with all the model's
  threads, while one helper decodes the next image and another encodes the previous one.
"""

from __future__ import annotations

import os
from collections import deque
from contextlib import nullcontext
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

from vidmatte.defaults import FG_ESTIMATION, REFINE
from vidmatte.errors import InputError, OutputError
from vidmatte.jobs.common import as_matter
from vidmatte.runtime.threads import cpu_cores, opencv_threads

__all__ = ["images", "expand_inputs", "check_inputs", "plan", "StillsPlan", "model_threads_hint"]

PathLike = Union[str, os.PathLike]


def expand_inputs(inputs: Sequence[PathLike]) -> list:
    """Folders and patterns (``shots/``, ``'shots/*.png'``) become the images they hold."""
    from vidmatte.io.sequence_files import is_sequence_spec, list_sequence, no_frames_advice

    out: list = []
    for p in inputs:
        if Path(p).is_dir() or (is_sequence_spec(os.fspath(p)) and not Path(p).exists()):
            files = list_sequence(p)
            if not files:
                raise InputError(no_frames_advice(p))
            out += files
        else:
            out.append(p)
    return out


def check_inputs(inputs: Sequence[PathLike]) -> None:
    """One-line :class:`InputError` for no inputs or a missing one (cheap: nothing decoded)."""
    if not inputs:
        raise InputError("no input images given")
    for p in inputs:
        if not Path(p).is_file():
            raise InputError(f"image not found: {p}")


def _targets(inputs: Sequence[PathLike], output: PathLike, composite: bool, overwrite: bool) -> list[Path]:
    from vidmatte.io.atomic import check_output_path

    out = Path(output)
    if len(inputs) > 1 or out.is_dir() or os.fspath(output).endswith(("/", os.sep)):
        out.mkdir(parents=True, exist_ok=True)
        targets = [out / (Path(p).stem + ".png") for p in inputs]
    else:
        targets = [out]
    for t in targets:
        if t.suffix.lower() not in (".png", ".jpg", ".jpeg", ".exr"):
            raise OutputError(f"cannot write {t.suffix or 'files without an extension'} images; use .png (.jpg for composites)")
        if not composite and t.suffix.lower() in (".jpg", ".jpeg"):
            raise OutputError(f"{t} cannot hold transparency; use .png for cut-outs")
        check_output_path(t, overwrite=overwrite, inputs=tuple(inputs))
    return targets


@dataclass(frozen=True)
class StillsPlan:
    """How :func:`images` schedules its work: ``workers`` images at a time (each model call
    with ``model_threads`` threads) on the numpy path (``arrays``), or overlapped I/O."""

    arrays: bool
    workers: int
    model_threads: Optional[int]

    @property
    def policy(self) -> str:
        if self.arrays:
            return f"{self.workers} image workers, model {self.model_threads} thread(s) each, no torch"
        return "read | model | write threads (processor on the calling thread)"


def plan(matter: Any, n_images: int, *, background: Any = None, fg_estimation: str = FG_ESTIMATION,
         workers: Optional[int] = None, cores: Optional[int] = None, refine: Any = REFINE) -> StillsPlan:
    """The schedule for ``n_images`` images with ``matter`` (see the module docstring); the
    numpy path takes refinement ``"none"``, ``"auto"`` and ``"guided"`` (the guided filter in
    numpy, :mod:`vidmatte.refine.guided_np`)."""
    cores = cores or cpu_cores()
    arrays = (callable(getattr(matter, "predict_array", None)) and getattr(matter, "device_type", "cpu") == "cpu"
              and _numpy_job(background, fg_estimation, refine))
    if not arrays:
        return StillsPlan(False, 1, None)
    threads = getattr(matter, "threads", None)
    if workers is None:
        workers = max(1, min(n_images, cores // threads if threads else cores))
    return StillsPlan(True, workers, threads or max(1, cores // workers))


def _numpy_job(background: Any, fg_estimation: str, refine: Any) -> bool:
    """Whether the job itself (not the model) suits the numpy path: cut-outs, blur or no
    foreground estimation, no refinement or the guided filter."""
    from vidmatte.compose.cutout import CUTOUT_FG_ESTIMATIONS

    return background is None and fg_estimation in CUTOUT_FG_ESTIMATIONS and refine in (None, "none", "auto", "guided")


def model_threads_hint(n_images: int, *, background: Any = None, fg_estimation: str = FG_ESTIMATION,
                       refine: Any = REFINE, cores: Optional[int] = None) -> Optional[int]:
    """Threads per model call an ONNX model will get on the numpy path (one image per core),
    so the command line can open its session that way once; ``None`` when the job takes the
    processor instead (the model then keeps its default threads)."""
    if not _numpy_job(background, fg_estimation, refine):
        return None
    cores = cores or cpu_cores()
    return max(1, cores // max(1, min(cores, n_images)))


def _run(n: int, read: Callable, render: Callable, write: Callable, workers: int) -> None:
    """``write(i, render(read(i)))`` for every ``i``; see the module docstring for the overlap."""
    if workers > 1:
        with ThreadPoolExecutor(workers, thread_name_prefix="vidmatte-still") as pool:
            pending: deque = deque()
            try:
                for i in range(n):
                    if len(pending) >= 2 * workers:  # bounded: a few decoded images in memory
                        pending.popleft().result()
                    pending.append(pool.submit(lambda k: write(k, render(read(k))), i))
                while pending:
                    pending.popleft().result()
            except BaseException:
                for f in pending:
                    f.cancel()
                raise
        return
    with ThreadPoolExecutor(2, thread_name_prefix="vidmatte-io") as io:
        ahead, writing = io.submit(read, 0), None
        try:
            for i in range(n):
                image = ahead.result()
                if i + 1 < n:
                    ahead = io.submit(read, i + 1)
                out = render(image)
                if writing is not None:
                    writing.result()
                writing = io.submit(write, i, out)
            if writing is not None:
                writing.result()
        except BaseException:
            ahead.cancel()
            raise


def images(inputs: Sequence[PathLike], output: PathLike, *, matter: Any = "auto", background: Any = None,
           fg_estimation: str = FG_ESTIMATION, overwrite: bool = False, refine: Any = REFINE,
           workers: Optional[int] = None, stats: Optional[dict] = None, choke: float = 0.0,
           feather: float = 0.0) -> list[Path]:
    """Still images → RGBA PNG cut-outs (``background=None``) or composites.

    One input: ``output`` is a file (``.png``; ``.jpg`` for composites). Several inputs:
    ``output`` is a folder, and each result is named after its input (``.png``); a folder or a
    pattern (``'shots/*.jpg'``) stands for the images it holds. No smoothing (stills are not
    a sequence); the result is what a :class:`~vidmatte.runtime.processor.Processor` makes of
    each image alone, ``refine`` included (``"vitmatte"`` for the offline quality tier).
    Returns the written paths.

    Args:
        workers: images in flight on the numpy path (default: one per core; see :func:`plan`).
            An ONNX matter built without ``threads`` is switched to ``cores // workers``.
        stats: if given, receives ``policy`` (the schedule, in words).
        choke, feather: matte edge controls in pixels, as the Processor (default 0: off).
    """
    from vidmatte.io.atomic import atomic_path
    from vidmatte.io.stills import read_image, write_image
    from vidmatte.runtime.tuning import tune_allocator

    inputs = expand_inputs(inputs)
    check_inputs(inputs)
    if background is not None and not callable(background):
        from vidmatte.compose.backgrounds.spec import as_background

        background = as_background(background)
    targets = _targets(inputs, output, background is not None, overwrite)
    matter = as_matter(matter)
    how = plan(matter, len(inputs), background=background, fg_estimation=fg_estimation, workers=workers, refine=refine)
    if stats is not None:
        stats["policy"] = how.policy
    tune_allocator()  # large buffers stay mapped between images

    def read(i: int):
        return read_image(inputs[i])

    def write(i: int, result) -> None:
        with atomic_path(targets[i], overwrite=overwrite) as tmp:
            write_image(tmp, result)

    def make_processor():
        from vidmatte.runtime.processor import Processor

        return Processor(matter, background, smoothing=None, fg_estimation=fg_estimation, refine=refine, choke=choke,
                         feather=feather)

    if how.arrays:
        from vidmatte.compose.cutout import cutout_rgba
        from vidmatte.ops.edges_np import adjust_edges_np, check_edges
        from vidmatte.refine.factor import AUTO_MIN_FACTOR, frame_params
        from vidmatte.refine.guided_np import guided_refine_np

        check_edges(choke, feather)
        if getattr(matter, "threads", None) != how.model_threads and hasattr(matter, "set_threads"):
            matter.set_threads(how.model_threads)

        def render(img):
            alpha = matter.predict_array(img)[0, 0]
            if refine in ("auto", "guided"):   # the settings GuidedUpsampler uses in a Processor
                p = frame_params(matter, img.shape[:2], AUTO_MIN_FACTOR if refine == "auto" else None)
                if p is not None:
                    alpha = guided_refine_np(img, alpha, p.radius, p.eps, p.subsample)
            if choke or feather:  # as the Processor: on the final matte
                alpha = adjust_edges_np(alpha, choke, feather)
            return cutout_rgba(img, alpha, fg_estimation)

        with opencv_threads(1) if how.workers > 1 else nullcontext():  # one OpenCV thread per worker
            _run(len(inputs), read, render, write, how.workers)
        return list(targets)
    with make_processor() as proc:
        _run(len(inputs), read, proc, write, 1)
    return list(targets)
