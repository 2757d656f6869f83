"""Run an ONNX graph with OpenVINO's own runtime (the ``openvino`` package) on the CPU.

:class:`OnnxMatter` keeps its onnxruntime session for everything it reads from the file (names,
shapes, metadata, the load-time check) and hands the per-frame ``run`` to an
:class:`OpenVinoRunner` when ``runtime="openvino"``. Why a second runtime: on the bundled int8
MODNet at 384×224 it takes 39.5 ms a frame on one thread where onnxruntime takes 52.3 ms, and two
frames at once on two cores 20 ms each against 27 ms (docs/live.md, "The model"), with the same
results: fp32 graphs match onnxruntime exactly and int8 graphs differ from fp32 as onnxruntime's do.

Precision: ``INFERENCE_PRECISION_HINT`` is pinned to ``f32``. OpenVINO's default on CPUs with
AVX512-BF16 or AMX is bf16 for float layers, a silent quality change (mean 0.06, max 70 levels on
MODNet); vidmatte never takes it without being asked.

Threads: ``threads=None`` is OpenVINO's latency mode (one stream on all cores). ``threads=T`` is
how many threads *one call* may use, as for onnxruntime; the runner then opens
``max(1, cores // T)`` streams so that that many callers (the live job's workers) run at once
instead of queueing on one stream. Each calling thread gets its own infer request.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Optional

import numpy as np

from vidmatte.errors import DeviceError, WeightsError

__all__ = ["OpenVinoRunner", "OpenVinoSession", "openvino_available", "choose_runtime", "RUNTIMES", "OPENVINO_INSTALL"]

OPENVINO_INSTALL = "pip install openvino"
#: what runs an ONNX model's calls (``auto``: see :func:`choose_runtime`)
RUNTIMES = ("auto", "onnxruntime", "openvino")


def openvino_available() -> bool:
    """Whether the ``openvino`` package can be imported here (checked without importing it)."""
    from importlib.util import find_spec

    return find_spec("openvino") is not None


def choose_runtime(runtime: str, device: str, providers=None) -> str:
    """``onnxruntime`` or ``openvino`` for a model asked to run on ``device``.

    ``auto`` is OpenVINO's runtime only for ``--device openvino`` when this onnxruntime has no
    OpenVINO provider (the usual ``onnxruntime`` wheel) and no explicit ``providers`` were given.
    Asking for ``openvino`` on a GPU device, or where the package is missing, is a DeviceError.
    """
    from vidmatte.errors import InputError

    if runtime not in RUNTIMES:
        raise InputError(f"unknown ONNX runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    kind = str(device).split(":")[0]
    if runtime == "auto":
        if kind != "openvino" or providers is not None or not openvino_available():
            return "onnxruntime"  # without the package, --device openvino says what to install
        import onnxruntime as ort

        return "onnxruntime" if "OpenVINOExecutionProvider" in ort.get_available_providers() else "openvino"
    if runtime == "openvino":
        if kind not in ("cpu", "openvino"):
            raise DeviceError(f"the OpenVINO runtime runs on the CPU; it cannot run on --device {device}")
        if not openvino_available():
            raise DeviceError(f"the OpenVINO runtime is not installed; {OPENVINO_INSTALL}")
    return runtime


class OpenVinoRunner:
    """``run(output_names, feeds)`` like an onnxruntime session, compiled once per input shape.

    Args:
        path: the ``.onnx`` file.
        threads: threads one call may use (``None``: OpenVINO's latency mode).
    """

    def __init__(self, path: Path, threads: Optional[int] = None):
        try:
            import openvino as ov
        except ImportError:
            raise DeviceError(f"the OpenVINO runtime is not installed; {OPENVINO_INSTALL}") from None
        self.path, self.threads = Path(path), threads
        self._core = ov.Core()
        try:
            self._model = self._core.read_model(str(self.path))
        except Exception as exc:  # OpenVINO raises its own RuntimeError subclasses
            detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise WeightsError(f"OpenVINO cannot read {self.path.name} ({detail}); use --device cpu "
                               "(onnxruntime)") from None
        self.version = ov.get_version().split("-")[0]
        self._compiled: dict[tuple, Any] = {}  # input shapes → compiled model
        self._local = threading.local()  # per calling thread: shapes → infer request
        self._lock = threading.Lock()

    @property
    def provider(self) -> str:
        return f"OpenVINO CPU ({self.version})"

    def config(self) -> dict:
        """The CPU plugin's settings for this runner's thread count."""
        cfg = {"INFERENCE_PRECISION_HINT": "f32", "ENABLE_CPU_PINNING": False}
        if self.threads is None:
            cfg["PERFORMANCE_HINT"] = "LATENCY"
        else:
            streams = max(1, (os.cpu_count() or 1) // int(self.threads))
            cfg.update(NUM_STREAMS=streams, INFERENCE_NUM_THREADS=int(self.threads) * streams)
        return cfg

    def _request(self, feeds: dict[str, np.ndarray]):
        """This thread's infer request for the feeds' shapes, and the model compiled for them."""
        key = tuple((k, v.shape) for k, v in feeds.items())
        requests = getattr(self._local, "requests", None)
        if requests is None:
            requests = self._local.requests = {}
        if key not in requests:
            with self._lock:
                if key not in self._compiled:
                    model = self._model.clone()
                    model.reshape({k: list(v.shape) for k, v in feeds.items()})
                    self._compiled[key] = self._core.compile_model(model, "CPU", self.config())
            requests[key] = self._compiled[key].create_infer_request()
        return requests[key], self._compiled[key]

    def run(self, output_names, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Outputs ``output_names`` (all when ``None``) for ``feeds``, as numpy arrays the caller owns."""
        request, compiled = self._request(feeds)
        request.infer({k: np.ascontiguousarray(v) for k, v in feeds.items()})
        outputs = compiled.outputs if output_names is None else [compiled.output(n) for n in output_names]
        return [np.array(request.get_tensor(o).data, copy=True) for o in outputs]


class OpenVinoSession:
    """An onnxruntime-session look-alike (``get_inputs``, ``get_providers``, ``run``) for code written
    against onnxruntime (``vidmatte bench model --backend openvino``): onnxruntime reads the file
    for its names and types, OpenVINO runs it (one stream of ``threads`` threads when given)."""

    def __init__(self, path, threads: Optional[int] = None):
        import onnxruntime as ort

        self._meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self._runner = OpenVinoRunner(Path(path), threads)

    def get_inputs(self):
        return self._meta.get_inputs()

    def get_providers(self) -> list:
        return [self._runner.provider]

    def run(self, output_names, feeds):
        return self._runner.run(output_names, feeds)
