"""The Ray engine: batch workers as Ray actors that load the model once.

On a cluster with GPUs there is one actor per GPU (``num_gpus=1``; Ray sets
``CUDA_VISIBLE_DEVICES``, so each sees its GPU as ``cuda:0``); otherwise one CPU actor per
``worker_cpus`` CPUs. Each actor holds one task at a time; the next is sent when it is
free, so tasks of an input that failed are never sent.

Faults: an actor whose process dies is restarted by Ray (``max_restarts``) and the task it
was running is sent again (``max_task_retries``); the task writes its piece atomically, so
the retry starts clean. The engine notices a restart by the new process id in the result
and counts it in :attr:`RayEngine.restarts`. Progress comes from the workers through a
small actor that the engine polls while it waits.

Ray is imported only here, inside functions: ``pip install 'vidmatte[ray]'``.
"""

from __future__ import annotations

import uuid
from typing import Callable, Iterable, Iterator, Optional

from vidmatte.errors import DeviceError
from vidmatte.scale.worker import JobSpec, Outcome, Task, Worker, task_error

__all__ = ["RayEngine", "import_ray", "WORKER_PREFIX"]

#: actors are named ``vidmatte-worker-<i>-<batch id>``
WORKER_PREFIX = "vidmatte-worker-"


def import_ray():
    """The ``ray`` module, or a one-line :class:`DeviceError` saying what to install."""
    try:
        import ray
    except ImportError:
        raise DeviceError("--engine ray needs Ray: pip install 'vidmatte[ray]' (or use --engine local)") from None
    return ray


class _Progress:
    """Frames done per task, as the workers report them (a tiny Ray actor)."""

    def __init__(self):
        self.frames: dict = {}

    def set(self, key: str, frames: int) -> None:
        self.frames[key] = frames

    def take(self) -> dict:
        out, self.frames = self.frames, {}
        return out


class _Report:
    """The ``report`` callable a worker gets: forwards to the progress actor, no waiting.

    It carries the actor's name, not its handle: constructor arguments that hold handles
    live in the object store, where Ray may lose them before an actor restart."""

    def __init__(self, name: str):
        self.name, self._actor = name, None

    def __getstate__(self) -> dict:
        return {"name": self.name, "_actor": None}

    def __call__(self, key: str, frames: int) -> None:
        if self._actor is None:
            import ray

            self._actor = ray.get_actor(self.name)
        self._actor.set.remote(key, frames)


def _with_threads(spec: JobSpec, threads: int) -> JobSpec:
    """``spec`` with torch and ONNX Runtime limited to ``threads`` threads per worker."""
    from dataclasses import replace

    options = dict(spec.model_options)
    options["onnx_options"] = {"threads": threads, **(options.get("onnx_options") or {})}
    return replace(spec, threads=threads, model_options=options)


class RayEngine:
    """Runs tasks on Ray actors (see the module docstring).

    Args:
        spec, report: as for every engine (:mod:`vidmatte.scale.engines`).
        address: a running cluster (``auto``, ``ray://host:10001``, ``host:6379``); ``None``:
            an initialised Ray, else ``RAY_ADDRESS``, else a new local cluster.
        workers: actors to start (default: one per GPU, else one per ``worker_cpus`` CPUs).
        retries: restarts of a dead actor, and resends of its task.
    """

    name = "ray"

    def __init__(self, spec: JobSpec, report: Optional[Callable[[str, int], None]] = None, *,
                 address: Optional[str] = None, workers: Optional[int] = None, worker_cpus: float = 1.0,
                 retries: int = 3):
        ray = self._ray = import_ray()
        self.report, self.restarts, self._started = report, 0, False
        if not ray.is_initialized():
            try:
                ray.init(address=address, include_dashboard=False, logging_level="WARNING")
            except ConnectionError as e:
                raise DeviceError(f"cannot reach the Ray cluster at {address or 'RAY_ADDRESS'}: {e}; start it with "
                                  "`ray start --head`, or leave out --address for a local one") from None
            self._started = True
        res = ray.cluster_resources()
        gpus, cpus = int(res.get("GPU", 0)), float(res.get("CPU", 1))
        fit = gpus if gpus else max(1, int(cpus // worker_cpus))
        self.workers = max(1, min(workers or fit, fit))
        self.gpu = gpus > 0
        if not gpus and spec.threads is None:  # CPU actors: the model's threads fit the CPUs each reserves
            spec = _with_threads(spec, max(1, int(worker_cpus)))
        actor, tag = ray.remote(Worker), uuid.uuid4().hex[:8]
        report_to = _Report(f"vidmatte-progress-{tag}")
        self._progress = ray.remote(_Progress).options(num_cpus=0, name=report_to.name).remote()
        opts = dict(num_cpus=worker_cpus, num_gpus=1 if gpus else 0, max_restarts=retries, max_task_retries=retries,
                    max_concurrency=2)  # a second thread answers pid() while a task runs
        self.actors = [actor.options(name=f"{WORKER_PREFIX}{i}-{tag}", **opts).remote(spec, report_to)
                       for i in range(self.workers)]
        try:
            ready = ray.get([a.ready.remote() for a in self.actors])  # the model loads once per actor
        except ray.exceptions.RayTaskError as e:
            self.close()
            raise (e.cause or e) from None
        except ray.exceptions.RayActorError as e:
            self.close()
            raise DeviceError(f"a Ray worker could not start: {str(e).splitlines()[0]}") from None
        self.pids = [pid for pid, _ in ready]
        self.model = ready[0][1]
        if len({model for _, model in ready}) > 1:
            self.close()
            raise DeviceError(f"the Ray workers loaded different models ({', '.join(sorted({m for _, m in ready}))}); "
                              "name the model (--model) and put its weights on every node")

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, Outcome]]:
        ray = self._ray
        source, free, inflight, more = iter(tasks), list(range(len(self.actors))), {}, True
        while True:
            while free and more:
                task = next(source, None)
                if task is None:
                    more = False
                    break
                i = free.pop(0)
                inflight[self.actors[i].run.remote(task)] = (task, i)
            if not inflight:
                if more:  # tasks left, but every actor is gone
                    raise DeviceError("every Ray worker died more often than it may be restarted; see the Ray logs")
                return
            done, _ = ray.wait(list(inflight), num_returns=1, timeout=0.2)
            self.poll()
            for ref in done:
                task, i = inflight.pop(ref)
                yield task, self._outcome(ref, i, free)

    def _outcome(self, ref, i: int, free: list) -> Outcome:
        ray = self._ray
        try:
            result = ray.get(ref)
        except ray.exceptions.RayActorError as e:  # died more often than it may be restarted: not freed
            return DeviceError(f"a Ray worker died more often than it may be restarted: {str(e).splitlines()[0]}")
        except ray.exceptions.RayTaskError as e:
            free.append(i)
            return task_error(e.cause or e)
        free.append(i)
        if result.model != self.model:
            return DeviceError(f"a restarted Ray worker loaded {result.model}, the others {self.model}; name the "
                               "model (--model) and put its weights on every node")
        if result.pid != self.pids[i]:  # a new process: the actor was restarted, this task redone
            self.restarts += 1
            self.pids[i] = result.pid
        return result

    def poll(self) -> None:
        """Hand the workers' progress reports to ``report``."""
        if self.report is None:
            return
        for key, frames in self._ray.get(self._progress.take.remote()).items():
            self.report(key, frames)

    def close(self) -> None:
        """Stop the actors (and the local cluster this engine started)."""
        ray = self._ray
        for a in getattr(self, "actors", []) + [getattr(self, "_progress", None)]:
            if a is not None:
                try:
                    ray.kill(a)
                except Exception:  # already gone
                    pass
        self.actors = []
        if self._started:
            ray.shutdown()
            self._started = False
