"""Export a BiRefNet checkpoint to ONNX, checked against torch before the file appears.

``export_onnx("lite", "lite.onnx", size=1024)``: any checkpoint :func:`load_birefnet`
loads (a name of ``vidmatte models list`` or a file), traced with the TorchScript exporter
at a fixed input size, standard ONNX ops only (opset 17 by default; ``GridSample`` needs
16). The deformable convolutions take their traceable form while tracing
(:func:`vidmatte.models.birefnet.deform.deform_conv2d_sample`: ``GridSample`` + ``Conv``).

Interface of the file: input ``input_image`` ``(B, 3, H, W)`` float (ImageNet-normalised
RGB in [0, 1]), output ``output_image`` ``(B, 1, H, W)`` logits (alpha = sigmoid). ``B``
is 1, or dynamic with ``dynamic_batch``. ``fp16`` stores weights and activations in
float16 (input and output too), converted from the traced fp32 graph by onnxruntime's
float16 converter; the deformable convolutions' positions, modulation and sampling stay fp32
(without the converter's fp16 round trips between them: alpha within 3.4e-4 of fp32).

Metadata (``metadata_props``, keys :data:`META_KEYS`) tell vidmatte's ONNX backend the
family, size, mean/std and output kind, so ``--model file.onnx`` needs no flags; they also
record the checkpoint, patch order and licence.

The parity check runs the written file in onnxruntime (CPU) and the torch fp32 model on
the same seeded random input: max abs difference of the logits and of the alpha. The
export fails (no file) when it exceeds :data:`PARITY_TOL` for its precision. The file is
written beside the target and renamed into place only after the check (atomic).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

from vidmatte.defaults import IMAGENET_MEAN, IMAGENET_STD
from vidmatte.errors import InputError, OutputError, WeightsError
from vidmatte.models.export_graph import INPUT_NAME, OUTPUT_NAME, check_parity, finish_graph, trace

__all__ = ["ExportResult", "export_onnx", "export_network", "read_metadata", "META_KEYS", "PARITY_TOL", "DEFAULT_OPSET",
           "INPUT_NAME", "OUTPUT_NAME"]

DEFAULT_OPSET = 17
MIN_OPSET = 16  # GridSample
#: max |Δalpha| allowed between onnxruntime and torch fp32 at export (random input)
PARITY_TOL = {"fp32": 1e-3, "fp16": 5e-3}  # fp16: measured 3.4e-4 on a fill-rule lite (docs/export.md)
META_KEYS = ("vidmatte.family", "vidmatte.variant", "vidmatte.checkpoint", "vidmatte.input_size",
             "vidmatte.mean", "vidmatte.std", "vidmatte.output", "vidmatte.patch_order", "vidmatte.dtype",
             "vidmatte.batch", "vidmatte.licence")
_NONCOMMERCIAL = ("weights licensed {lic}: NON-COMMERCIAL use only; the ONNX file carries the same "
                  "licence as the checkpoint it was made from")

Size = Union[int, Sequence[int], None]
Progress = Optional[Callable[[str], None]]


@dataclass
class ExportResult:
    """What :func:`export_onnx` wrote and measured."""

    path: Path
    checkpoint: str
    variant: str
    size: tuple[int, int]
    dtype: str
    opset: int
    dynamic_batch: bool
    patch_order: str
    licence: str
    bytes: int = 0
    seconds: float = 0.0
    parity_logits: Optional[float] = None
    parity_alpha: Optional[float] = None
    metadata: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return d

    def summary(self) -> str:
        parity = ("parity not checked" if self.parity_alpha is None else
                  f"parity vs torch fp32 (onnxruntime CPU, random input): max |Δlogit| {self.parity_logits:.2g}, "
                  f"max |Δalpha| {self.parity_alpha:.2g}")
        batch = "dynamic batch" if self.dynamic_batch else "batch 1"
        return (f"wrote {self.path}: BiRefNet {self.variant} ({self.checkpoint}) {self.size[0]}x{self.size[1]} "
                f"{self.dtype}, {batch}, {self.bytes / 1e6:.0f} MB, opset {self.opset}; {parity}; "
                f"{self.seconds:.0f} s")


def _hw(size: Size, default: tuple[int, int]) -> tuple[int, int]:
    if size is None:
        return default
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if h <= 0 or w <= 0 or h % 32 or w % 32:
        def up(n: int) -> int:
            return max(32, (n + 31) // 32 * 32)
        raise InputError(f"--size {h}x{w}: BiRefNet needs height and width that are each a positive multiple of 32 "
                         f"(e.g. --size {up(h)}x{up(w)})")
    return h, w


def _licence_note(info) -> str:
    if info.licence is None:
        return "unknown (weights from a file: the ONNX carries the licence of that checkpoint)"
    if not info.commercial:
        return _NONCOMMERCIAL.format(lic=info.licence)
    return info.licence


def read_metadata(path: Union[str, Path]) -> dict:
    """The ``vidmatte.*`` metadata of an ONNX file (empty when it has none); needs onnxruntime only."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    return {k: v for k, v in sess.get_modelmeta().custom_metadata_map.items() if k.startswith("vidmatte.")}


def export_onnx(
    model: str = "lite",
    output: Union[str, Path] = "model.onnx",
    *,
    weights: Union[str, Path, None] = None,
    size: Size = None,
    fp16: bool = False,
    dynamic_batch: bool = False,
    patch_order: Optional[str] = None,
    opset: int = DEFAULT_OPSET,
    overwrite: bool = False,
    parity: bool = True,
    download: bool = True,
    seed: int = 0,
    progress: Progress = None,
) -> ExportResult:
    """Export ``model`` (a checkpoint name, or a weights file) to ``output``; see the module docstring.

    Args:
        model: checkpoint name (``lite``, ``lite-2k``, ``general``, ``portrait``, ``matting``,
            ``rmbg-2.0``) or a checkpoint file; ``weights`` gives a file explicitly.
        size: ``N`` or ``(H, W)``, multiples of 32 (default: the checkpoint's training size).
        fp16: float16 weights and activations. dynamic_batch: leave the batch axis free.
        patch_order: override the checkpoint's (``legacy``/``current``).
        opset: ONNX opset, 16 or newer. parity: run the check (it gates the export).
    Raises :class:`InputError`, :class:`WeightsError` or :class:`OutputError` (one line);
    nothing is left at ``output`` then.
    """
    import torch

    from vidmatte.io.atomic import check_output_path
    from vidmatte.models.weights.loader import load_birefnet

    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    if int(opset) < MIN_OPSET:
        raise InputError(f"--opset {opset}: the export needs opset {MIN_OPSET} or newer (GridSample)")
    out = Path(output)
    if out.suffix.lower() != ".onnx":
        raise OutputError(f"output {out} should end in .onnx")
    if size is not None:
        _hw(size, (0, 0))  # size errors before any loading
    check_output_path(out, overwrite=overwrite)
    name, path = _model_arg(model, weights)
    say(f"loading {'weights ' + str(path) if path else repr(name)}")
    net, info = load_birefnet(name, weights=path, patch_order=patch_order, download=download)
    checkpoint = info.name if not info.from_file else Path(info.path).name
    res = export_network(net, out, _hw(size, tuple(info.size)), fp16=fp16, dynamic_batch=dynamic_batch, opset=opset,
                         overwrite=overwrite, parity=parity, seed=seed, progress=progress, checkpoint=checkpoint,
                         licence=_licence_note(info))
    res.seconds = time.perf_counter() - t0
    return res


def export_network(
    net,
    output: Union[str, Path],
    size: tuple[int, int],
    *,
    fp16: bool = False,
    dynamic_batch: bool = False,
    opset: int = DEFAULT_OPSET,
    overwrite: bool = False,
    parity: bool = True,
    seed: int = 0,
    progress: Progress = None,
    checkpoint: str = "unnamed",
    licence: str = "unknown",
) -> ExportResult:
    """Export a loaded :class:`~vidmatte.models.birefnet.BiRefNet` (fused in place: pass a
    copy to keep it as it was) at ``size = (H, W)``; see :func:`export_onnx`."""
    import torch

    from vidmatte.io.atomic import atomic_path

    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    out = Path(output)
    hw = _hw(size, (0, 0))
    net = net.float().eval().fuse_for_inference()
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 3, *hw, generator=gen)
    ref = None
    if parity:
        with torch.inference_mode():
            ref = net(x.contiguous(memory_format=torch.channels_last) if net.decoder.channels_last else x)
    dtype = "fp16" if fp16 else "fp32"
    res = ExportResult(path=out, checkpoint=checkpoint, variant=net.variant, size=hw, dtype=dtype, opset=int(opset),
                       dynamic_batch=dynamic_batch, patch_order=net.patch_order, licence=licence)
    meta = {
        "vidmatte.family": "birefnet", "vidmatte.variant": net.variant, "vidmatte.checkpoint": checkpoint,
        "vidmatte.input_size": f"{hw[1]}x{hw[0]}", "vidmatte.mean": ",".join(map(str, IMAGENET_MEAN)),
        "vidmatte.std": ",".join(map(str, IMAGENET_STD)), "vidmatte.output": "logits",
        "vidmatte.patch_order": net.patch_order, "vidmatte.dtype": dtype,
        "vidmatte.batch": "dynamic" if dynamic_batch else "1", "vidmatte.licence": licence,
    }
    with atomic_path(out, overwrite=overwrite) as tmp:  # renamed on success; removed on any error
        say(f"tracing BiRefNet {net.variant} at {hw[0]}x{hw[1]} (TorchScript exporter, opset {opset})")
        trace(net, x, tmp, int(opset), dynamic_batch)
        say("converting to fp16 (deformable sampling positions stay fp32); writing metadata" if fp16
            else "writing metadata")
        finish_graph(tmp, meta, f"BiRefNet {net.variant} ({checkpoint}) exported by vidmatte; licence: {licence}",
                     fp16)
        if parity:
            say("parity check: onnxruntime (CPU) against torch fp32 on a random input")
            res.parity_logits, res.parity_alpha = check_parity(tmp, x, ref, fp16)
            tol = PARITY_TOL[dtype]
            if not res.parity_alpha <= tol:  # NaN fails too
                raise InputError(f"the ONNX export of {checkpoint} does not match torch: max |Δalpha| "
                                 f"{res.parity_alpha:.3g} > {tol:g} on a random input; nothing was written "
                                 f"(run again with --debug and report it)")
        res.metadata = meta
        res.bytes = tmp.stat().st_size
    res.seconds = time.perf_counter() - t0
    return res


def _model_arg(model: str, weights) -> tuple[Optional[str], Optional[Path]]:
    """``(checkpoint name, weights file)`` from ``--model`` / ``weights``."""
    from vidmatte.models.weights.registry import get_checkpoint

    if weights is not None:
        return (model if model and model not in ("auto", "file") else None), Path(weights)
    text = str(model)
    p = Path(text).expanduser()
    if p.suffix.lower() == ".onnx":
        raise InputError(f"{text} is already an ONNX model; export takes a BiRefNet checkpoint (name or file)")
    if not _known(text) and ("/" in text or "\\" in text or p.suffix or p.exists()):
        if not p.exists():
            raise WeightsError(f"checkpoint file not found: {p}; check the path (or use a name: `vidmatte models list`)")
        return None, p
    ckpt = get_checkpoint(text)  # unknown names: one WeightsError listing the known ones
    if ckpt.variant not in ("lite", "full"):
        raise WeightsError(f"{ckpt.name!r} is not a BiRefNet matting model; export one of the BiRefNet checkpoints")
    return ckpt.name, None


def _known(name: str) -> bool:
    from vidmatte.models.weights.registry import get_checkpoint

    try:
        get_checkpoint(name)
        return True
    except WeightsError:
        return False
