"""``vidmatte bench model --backend``: one BiRefNet network through torch and onnxruntime's
providers (fp32, int8, CUDA, TensorRT) and OpenVINO (its onnxruntime provider, else its own
runtime), same input, same process, in turns."""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Union

import torch

from vidmatte.errors import InputError
from vidmatte.matting import round_size

__all__ = ["BACKENDS", "BackendBench", "bench_backends"]


#: ``--backend`` names → onnxruntime execution provider (``None``: torch) and the ONNX file they run
BACKENDS: dict[str, tuple[Optional[str], str]] = {
    "torch": (None, ""),
    "onnx": ("CPUExecutionProvider", "fp32"),
    "onnx-int8": ("CPUExecutionProvider", "int8"),
    "openvino": ("OpenVINOExecutionProvider", "fp32"),
    "onnx-cuda": ("CUDAExecutionProvider", "fp32"),
    "onnx-trt": ("TensorrtExecutionProvider", "fp32"),  # TensorRT builds an fp16 engine from it
}


@dataclass
class BackendRow:
    """One backend's timing (ms per frame) or why it was skipped; ``alpha_vs_onnx``: alpha
    difference against the onnxruntime fp32 file on ``images`` (mean and max abs, in [0, 1])."""

    backend: str
    status: str = "ok"
    runs_ms: list[float] = field(default_factory=list)
    median_ms: float = 0.0
    min_ms: float = 0.0
    vs_torch: Optional[float] = None
    note: str = ""
    alpha_vs_onnx: Optional[dict] = None


@dataclass
class BackendBench:
    """Result of :func:`bench_backends`."""

    variant: str
    size: tuple[int, int]
    device: str
    threads: int
    weights: str
    rounds: int
    load_before: str
    load_after: str
    rows: list[BackendRow] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        lines = [f"BiRefNet {self.variant} {self.size[0]}x{self.size[1]} on {self.device}, {self.threads} threads, "
                 f"weights {self.weights}; best of {self.rounds} rounds taken in turns; load {self.load_before} -> "
                 f"{self.load_after}"]
        for r in self.rows:
            if r.status != "ok":
                lines.append(f"  {r.backend:10s} skipped: {r.status}")
                continue
            ratio = "" if r.vs_torch is None else f"  {r.vs_torch:.2f}x torch's time"
            diff = ""
            if r.alpha_vs_onnx:
                d = r.alpha_vs_onnx
                diff = f"; alpha vs onnx fp32 on {d['images']} images: mean {d['mean_abs']:.4f}, max {d['max_abs']:.3f}"
            lines.append(f"  {r.backend:10s} best {r.min_ms:8.1f} ms  median {r.median_ms:8.1f} ms{ratio}"
                         f"{' (' + r.note + ')' if r.note else ''}{diff}")
        return "\n".join(lines)


def _loadavg() -> str:
    import os

    return " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def _ort_session(path, provider: str, threads: int, dev: torch.device):
    import onnxruntime as ort

    from vidmatte.models import openvino_runtime as ovr

    if provider == "OpenVINOExecutionProvider" and provider not in ort.get_available_providers() and ovr.openvino_available():
        return ovr.OpenVinoSession(path, threads)  # OpenVINO's own runtime
    hints = {"OpenVINOExecutionProvider": "pip install openvino (or onnxruntime-openvino in place of onnxruntime)",
             "CUDAExecutionProvider": "pip install onnxruntime-gpu and run on a CUDA machine",
             "TensorrtExecutionProvider": "onnxruntime-gpu with TensorRT libraries, on a CUDA machine"}
    if provider not in ort.get_available_providers():
        raise RuntimeError(f"this onnxruntime has no {provider}; {hints.get(provider, '')}")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # no constant-folding chatter
    if provider in ("CPUExecutionProvider", "OpenVINOExecutionProvider"):
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    prov: list = [provider]
    if provider == "TensorrtExecutionProvider":
        cache = Path(path).with_suffix(".trt-cache")
        prov = [(provider, {"trt_fp16_enable": True, "trt_engine_cache_enable": True,
                            "trt_engine_cache_path": str(cache), "device_id": dev.index or 0}),
                "CUDAExecutionProvider"]
    elif provider == "CUDAExecutionProvider":
        prov = [(provider, {"device_id": dev.index or 0})]
    elif provider == "OpenVINOExecutionProvider":
        prov = [(provider, {"device_type": "CPU", "num_of_threads": threads})]
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=prov)
    if sess.get_providers()[0] != provider:
        raise RuntimeError(f"onnxruntime fell back to {sess.get_providers()[0]}")
    return sess


def _alpha_diff(base, other, images) -> dict:
    """Alpha (after the sigmoid, at the model size) of two ONNX sessions on the same images."""
    import cv2
    import numpy as np

    from vidmatte.defaults import IMAGENET_MEAN, IMAGENET_STD

    inp = base.get_inputs()[0]
    h, w = inp.shape[2], inp.shape[3]
    dt = np.float16 if "float16" in inp.type else np.float32
    means, maxes = [], []
    for p in images:
        im = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if im is None:
            continue
        x = cv2.resize(im[..., ::-1], (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        x = ((x - np.float32(IMAGENET_MEAN)) / np.float32(IMAGENET_STD)).transpose(2, 0, 1)[None].astype(dt)
        a, b = (1 / (1 + np.exp(-s.run(None, {inp.name: x})[0].astype(np.float64))) for s in (base, other))
        means.append(float(np.abs(a - b).mean()))
        maxes.append(float(np.abs(a - b).max()))
    if not means:
        return {}
    return {"images": len(means), "mean_abs": float(np.mean(means)), "max_abs": float(np.max(maxes))}


def bench_backends(
    backends: Sequence[str] = ("torch", "onnx", "onnx-int8"),
    variant: str = "lite",
    size: Union[int, Sequence[int]] = 512,
    device: Union[str, torch.device] = "cpu",
    weights: Optional[str] = None,
    runs: int = 3,
    warmup: int = 1,
    threads: Optional[int] = None,
    images: Optional[Sequence] = None,
    workdir: Optional[str] = None,
    log=None,
) -> BackendBench:
    """The same network through each backend on the same input, same process, in turns.

    ``torch`` is vidmatte's own path (:class:`BiRefNetMatter`: fused, channels-last; on CUDA
    fp16 with CUDA-graph replay). Every other backend runs one file made by
    :func:`~vidmatte.models.export.export_network` (fp32; ``onnx-trt`` gives TensorRT that
    file with ``trt_fp16_enable``, so it builds an fp16 engine; ``onnx-int8`` the fp32 file after
    ``onnxruntime.quantization.quantize_dynamic`` of its MatMuls, int8 weights, per-tensor).
    Each round runs every backend once (warm-up rounds first); best and median per backend.
    ``weights``: a checkpoint file (e.g. fill-rule weights); default a random init, which
    does not change the speed. ``images``: image files on which the int8/OpenVINO/TensorRT
    alphas are compared with the onnxruntime fp32 one. A backend whose provider or package is
    missing is reported as skipped, not an error.
    """
    import tempfile

    from vidmatte.models.factory import resolve_device

    say = log or (lambda _m: None)
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not backends:
        raise InputError(f"unknown --backend {', '.join(unknown) or '(none)'}; choose from {', '.join(BACKENDS)}")
    if runs < 1 or warmup < 0:
        raise InputError("--runs must be at least 1 and --warmup at least 0")
    dev = resolve_device(device)
    if threads:
        torch.set_num_threads(int(threads))
    nthreads = torch.get_num_threads()
    hw = round_size(size)
    load0 = _loadavg()
    net, wname = _bench_net(variant, weights)
    res = BackendBench(variant=net.variant, size=hw, device=str(dev), threads=nthreads, weights=wname, rounds=runs,
                       load_before=load0, load_after="")
    rows = {b: BackendRow(b) for b in backends}
    runners: dict = {}
    sessions: dict = {}
    tmp = tempfile.TemporaryDirectory(prefix="vidmatte-bench-", dir=workdir)
    try:
        files = _bench_files(net, hw, [b for b in backends if b != "torch"], tmp.name, rows, say)
        x = torch.randn(1, 3, *hw, generator=torch.Generator().manual_seed(0))
        for b in backends:
            provider, kind = BACKENDS[b]
            if rows[b].status != "ok":
                continue
            if provider is None:
                from vidmatte.models.birefnet.matter import BiRefNetMatter

                dt = torch.float16 if dev.type == "cuda" else torch.float32
                matter = BiRefNetMatter(copy.deepcopy(net), size=hw, device=dev, dtype=dt)
                xt = x.to(dev, dt)
                rows[b].note = f"vidmatte {'fp16 + CUDA graph' if matter.cuda_graph else str(dt).replace('torch.', '')}"

                def run_torch(matter=matter, xt=xt):
                    matter.logits(xt)
                    if dev.type == "cuda":
                        torch.cuda.synchronize(dev)

                runners[b] = run_torch
                continue
            try:
                sess = _ort_session(files[kind], provider, nthreads, dev)
            except Exception as exc:  # provider absent or refused: say why, keep the others
                why = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
                rows[b].status = why if why.startswith("this onnxruntime") else f"{provider} failed: {why}"
                continue
            sessions[b] = sess
            inp = sess.get_inputs()[0]
            feed = {inp.name: x.numpy().astype("float16" if "float16" in inp.type else "float32")}
            rows[b].note = (f"{sess.get_providers()[0].replace('ExecutionProvider', '')}, {kind} file"
                            + (", fp16 engine" if b == "onnx-trt" else "")
                            + (", host copies of input and output included" if dev.type == "cuda" else ""))
            runners[b] = (lambda sess=sess, feed=feed: sess.run(None, feed))
        times: dict = {b: [] for b in runners}
        for i in range(warmup + runs):
            say(f"round {i + 1}/{warmup + runs}{' (warm-up)' if i < warmup else ''}")
            for b, fn in runners.items():
                t0 = time.perf_counter()
                fn()
                if i >= warmup:
                    times[b].append((time.perf_counter() - t0) * 1000.0)
        for b, ts in times.items():
            r = rows[b]
            r.runs_ms = [round(t, 2) for t in ts]
            r.median_ms, r.min_ms = round(statistics.median(ts), 2), round(min(ts), 2)
        if "torch" in times:
            for b in times:
                rows[b].vs_torch = round(rows[b].min_ms / rows["torch"].min_ms, 3)
        if images:
            base = sessions.get("onnx") or (_ort_session(files["fp32"], "CPUExecutionProvider", nthreads, dev)
                                            if "fp32" in files else None)
            for b, sess in sessions.items():
                if b != "onnx" and base is not None:
                    say(f"alpha of {b} against onnx fp32 on {len(images)} images")
                    rows[b].alpha_vs_onnx = _alpha_diff(base, sess, images)
    finally:
        sessions.clear()
        tmp.cleanup()
    res.rows = [rows[b] for b in backends]
    res.load_after = _loadavg()
    return res


def _bench_net(variant: str, weights: Optional[str]):
    from vidmatte.models.birefnet.network import BiRefNet

    if weights:
        from vidmatte.models.weights.loader import load_birefnet

        net, info = load_birefnet(None, weights=weights)
        return net, Path(weights).name
    return BiRefNet(variant=variant).eval(), "random init (speed does not depend on the values)"


def _bench_files(net, hw, backends, folder: str, rows: dict, say) -> dict:
    """The ONNX files the backends need: ``fp32`` (and ``int8`` from it, ``fp16``)."""
    kinds = {BACKENDS[b][1] for b in backends}
    files: dict = {}
    if not kinds:
        return files
    try:
        import onnx  # noqa: F401
    except ModuleNotFoundError:
        for b in backends:
            rows[b].status = "the export needs the onnx package (pip install onnx)"
        return files
    from vidmatte.models.export import export_network

    folder_p = Path(folder)
    if kinds & {"fp32", "int8"}:
        say("exporting the fp32 ONNX file")
        files["fp32"] = export_network(copy.deepcopy(net), folder_p / "fp32.onnx", hw, parity=False).path
    if "int8" in kinds:
        say("quantizing it to int8 (dynamic, MatMul weights)")
        from onnxruntime.quantization import QuantType, quantize_dynamic

        files["int8"] = folder_p / "int8.onnx"
        quantize_dynamic(str(files["fp32"]), str(files["int8"]), weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"])
    if "fp16" in kinds:
        say("exporting the fp16 ONNX file")
        files["fp16"] = export_network(copy.deepcopy(net), folder_p / "fp16.onnx", hw, fp16=True, parity=False).path
    return files
