"""onnxruntime execution providers: which ``--device`` asks for which, and which one runs.

=========  ================================================  ==========================================
device     providers asked (CPU always last, as fallback)    package that has them
=========  ================================================  ==========================================
cpu        CPUExecutionProvider                              onnxruntime
cuda       CUDAExecutionProvider                             onnxruntime-gpu (``vidmatte[gpu]``)
tensorrt   TensorrtExecutionProvider, CUDAExecutionProvider  onnxruntime-gpu + TensorRT libraries
openvino   OpenVINOExecutionProvider, else OpenVINO itself   onnxruntime-openvino, else ``openvino``
directml   DmlExecutionProvider                              onnxruntime-directml (Windows)
coreml     CoreMLExecutionProvider                           onnxruntime (macOS wheels)
=========  ================================================  ==========================================

``auto`` is ``cuda`` when onnxruntime has its CUDA provider and torch sees a GPU, else ``cpu``
(an OpenVINO / DirectML / CoreML build is used only when asked: their results and speed
differ per model, so none is picked silently).

onnxruntime quietly falls back to the CPU when a provider is listed but cannot start (a
CUDA provider without cuDNN, a TensorRT provider without TensorRT): :func:`check_session`
compares ``session.get_providers()`` (what the session really uses) with what was asked and
warns in one line. :func:`provider_table` is what ``vidmatte models list`` shows.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Sequence

from vidmatte.errors import DeviceError, WeightsError, warn
from vidmatte.models.openvino_runtime import openvino_available

__all__ = ["open_session", "PerThreads", "ONNX_DEVICES", "ACCELERATORS", "providers_for", "check_session", "available_providers",
           "provider_table", "torch_device_for"]

CPU = "CPUExecutionProvider"
#: ``--device`` name → the providers asked, best first (CPU is appended)
ONNX_DEVICES: dict[str, tuple[str, ...]] = {
    "cpu": (),
    "cuda": ("CUDAExecutionProvider",),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider"),
    "openvino": ("OpenVINOExecutionProvider",),
    "directml": ("DmlExecutionProvider",),
    "coreml": ("CoreMLExecutionProvider",),
}
#: the devices that exist only for ONNX models (torch runs on cpu and cuda)
ACCELERATORS = ("tensorrt", "openvino", "directml", "coreml")
INSTALL = {
    "cuda": "pip uninstall onnxruntime, then pip install 'vidmatte[gpu]' (onnxruntime-gpu; CUDA 12 and cuDNN 9)",
    "tensorrt": "pip install 'vidmatte[gpu]' (onnxruntime-gpu) and the TensorRT libraries (pip install tensorrt)",
    "openvino": "pip install openvino (OpenVINO's own runtime, used when onnxruntime has no OpenVINO provider)",
    "directml": "on Windows: pip install onnxruntime-directml (in place of onnxruntime)",
    "coreml": "on macOS: the onnxruntime wheel has it (pip install onnxruntime)",
}
PLATFORM_ONLY = {"directml": "win32", "coreml": "darwin"}


def available_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def torch_device_for(device: str) -> str:
    """Where :meth:`OnnxMatter.predict` puts its tensor for ``device``: the GPU for
    cuda/tensorrt (when torch sees one), the host for the others."""
    if device.split(":")[0] not in ("cuda", "tensorrt"):
        return "cpu"
    if device.startswith("cuda"):
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def providers_for(device: str, available: Optional[Sequence[str]] = None) -> list[str]:
    """The providers to ask onnxruntime for on ``device``, CPU last.

    Raises :class:`DeviceError` (one line, naming what to install) when ``device`` is an
    accelerator whose providers this onnxruntime build has none of. For ``cuda`` a missing
    provider is a warning and the CPU runs (as before: ``auto`` never asks for it then).
    """
    name = device.split(":")[0]
    if name not in ONNX_DEVICES:
        raise DeviceError(f"unknown device {device!r} for an ONNX model; choose one of {', '.join(ONNX_DEVICES)}")
    available = list(available_providers() if available is None else available)
    wanted = [p for p in ONNX_DEVICES[name] if p in available]
    if ONNX_DEVICES[name] and not wanted:
        where = PLATFORM_ONLY.get(name)
        hint = INSTALL[name]
        if where is not None and sys.platform != where:
            raise DeviceError(f"--device {name} needs {'Windows' if where == 'win32' else 'macOS'}; "
                              f"this onnxruntime has {', '.join(available)}")
        if name == "cuda":
            warn(f"onnxruntime has no CUDA provider here ({hint}); the ONNX model runs on the CPU")
            return [CPU]
        raise DeviceError(f"--device {name}: this onnxruntime has no {ONNX_DEVICES[name][0]} "
                          f"(it has {', '.join(available)}); {hint}")
    options = []
    for p in wanted:
        if p == "CUDAExecutionProvider" and ":" in device:
            options.append((p, {"device_id": device.split(":")[1]}))
        else:
            options.append(p)
    return options + [CPU]


def _name(p) -> str:
    return p[0] if isinstance(p, tuple) else p


def check_session(session, asked: Sequence, model: str = "the ONNX model") -> list[str]:
    """``session.get_providers()``; warns in one line when the first provider asked is not among
    them (onnxruntime fell back, e.g. to the CPU for a CUDA install without cuDNN)."""
    used = list(session.get_providers())
    first = _name(asked[0]) if asked else CPU
    if first not in used:
        runs = used[0] if used else CPU
        warn(f"{model}: onnxruntime could not start {first} and runs on {runs} instead "
             "(check the GPU/accelerator libraries; `vidmatte models list` shows the providers here)")
    return used


#: onnxruntime wheels → the providers each ships besides the CPU's
WHEELS = {"onnxruntime": ("CoreMLExecutionProvider",) if sys.platform == "darwin" else (),
          "onnxruntime-gpu": ("CUDAExecutionProvider", "TensorrtExecutionProvider"),
          "onnxruntime-openvino": ("OpenVINOExecutionProvider",),
          "onnxruntime-directml": ("DmlExecutionProvider",)}


def installed_runtimes() -> dict[str, str]:
    """The onnxruntime wheels installed here → their versions (package metadata: nothing imported)."""
    from importlib import metadata

    found = {}
    for dist in WHEELS:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return found


def provider_table(available: Optional[Sequence[str]] = None) -> list[tuple[str, str, str]]:
    """``(device, provider, status)`` rows for ``vidmatte models list``, then one row naming the
    onnxruntime wheels. Without ``available``, the providers are those the installed wheels
    ship (read from package metadata, so listing never imports onnxruntime); a run still checks
    the session's real providers (:func:`check_session`)."""
    runtimes = installed_runtimes()
    if available is None:
        available = [CPU] + [p for dist in runtimes for p in WHEELS[dist]] if runtimes else []
    rows = []
    for device, provs in ONNX_DEVICES.items():
        prov = provs[0] if provs else CPU
        if any(p in available for p in (provs or (CPU,))):
            status = "yes"
        elif device == "openvino" and openvino_available():
            status = "yes (OpenVINO's runtime)"
        else:
            where = PLATFORM_ONLY.get(device)
            status = ("not on this OS" if where is not None and sys.platform != where
                      else f"missing: {INSTALL[device]}")
        rows.append((device, prov, status))
    wheels = ", ".join(f"{d} {v}" for d, v in runtimes.items()) or "none installed"
    note = "; several wheels share the import name onnxruntime: keep one" if len(runtimes) > 1 else ""
    rows.append(("", "wheels", wheels + note))
    return rows


def open_session(path: Path, providers, device_type: str, threads: Optional[int]):
    """An onnxruntime session for ``path`` on ``providers`` (``threads`` intra-op threads), checked:
    a WeightsError for a file that is missing or not ONNX, a warning when a provider fell back."""
    import onnxruntime as ort

    if not path.is_file():
        raise WeightsError(f"ONNX model {path} not found; check the path (--model FILE.onnx)")
    if providers is None:
        providers = providers_for(device_type)
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=list(providers))
    except Exception as exc:  # onnxruntime raises its own types for bad protobufs
        detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{path} is not a loadable ONNX model ({detail}); "
                           "re-download or re-export it") from None
    check_session(session, list(providers), path.name)
    return session


class PerThreads:
    """What runs a model, one per thread count, each opened once by ``open(threads)``: switching
    back to a count used before is free (``OnnxMatter`` and ``RecurrentOnnxMatter`` keep one)."""

    def __init__(self, open, threads: Optional[int], first):  # noqa: A002  (the opener, not the builtin)
        self._open, self._by = open, {threads: first}

    def __call__(self, threads: Optional[int]):
        if threads not in self._by:
            self._by[threads] = self._open(threads)
        return self._by[threads]
