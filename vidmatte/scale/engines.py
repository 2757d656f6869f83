"""Engines run a batch's tasks and hand back each one's result as it completes.

An engine is built with the :class:`~vidmatte.scale.worker.JobSpec` and a
``report(task_key, frames_done)`` callback, and offers ``run(tasks)``: an iterator of
``(task, TaskResult or the exception that task raised)`` that pulls tasks from ``tasks``
only when a worker is free (so the caller can stop feeding the tasks of a failed input).

* :class:`LocalEngine`: one :class:`~vidmatte.scale.worker.Worker` in this process, tasks
  one after another, each through the overlapped pipeline.
* :class:`~vidmatte.scale.ray_engine.RayEngine`: workers as Ray actors (``engine="ray"``).
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Optional

from vidmatte.defaults import ENGINES
from vidmatte.errors import InputError
from vidmatte.scale.worker import JobSpec, Outcome, Task, TaskResult, Worker, task_error

__all__ = ["LocalEngine", "make_engine", "ENGINES", "task_error"]



class LocalEngine:
    """Runs every task in this process with one model."""

    name = "local"
    workers = 1

    def __init__(self, spec: JobSpec, report: Optional[Callable[[str, int], None]] = None):
        self.spec, self.report = spec, report
        self._worker: Optional[Worker] = None

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, Outcome]]:
        for task in tasks:
            if self._worker is None:  # the model loads when there is work; its errors stop the batch
                self._worker = Worker(self.spec, self.report)
                self._worker.ready()
            try:
                result: Outcome = self._worker.run(task)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # noqa: BLE001 - this task fails, the batch goes on
                result = task_error(exc)
            yield task, result

    def close(self) -> None:
        self._worker = None


def make_engine(name: str, spec: JobSpec, report: Optional[Callable[[str, int], None]] = None, *,
                address: Optional[str] = None, workers: Optional[int] = None, worker_cpus: float = 1.0):
    """The engine ``name`` (``local`` or ``ray``); ``address``, ``workers`` and
    ``worker_cpus`` are for Ray (see :class:`~vidmatte.scale.ray_engine.RayEngine`)."""
    if name == "local":
        return LocalEngine(spec, report)
    if name == "ray":
        from vidmatte.scale.ray_engine import RayEngine

        return RayEngine(spec, report, address=address, workers=workers, worker_cpus=worker_cpus)
    raise InputError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
