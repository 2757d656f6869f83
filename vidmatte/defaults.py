"""One table of choices and defaults, read by the library and the command line alike.

Plain Python only (no torch, no codecs), so ``vidmatte --help`` can show these without
loading a model runtime. Per-model, per-device defaults (input size, precision) are in
:data:`MODEL_DEFAULTS`; :func:`model_defaults` looks one up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

__all__ = [
    "ALPHA_MODES", "FG_ESTIMATIONS", "SMOOTHERS", "SMOOTHER", "SMOOTHER_FILES", "SMOOTHER_LIVE", "LIVE_WORK_LINES",
    "SMOOTH_STRENGTH",
    "FG_ESTIMATION", "ALPHA_MODE", "REFINES", "REFINE", "DTYPES", "DEVICES", "POLICIES", "ENGINES", "ModelDefaults",
    "MODEL_DEFAULTS",
    "model_defaults",
    "IMAGENET_MEAN", "IMAGENET_STD",
]

#: colour stored in RGBA outputs: as estimated (straight) or multiplied by alpha
ALPHA_MODES = ("straight", "premultiplied")
ALPHA_MODE = "straight"
#: foreground colour estimation: blur fusion, pymatting's multi-level solver, or the frame itself
FG_ESTIMATIONS = ("blur", "ml", "none")
FG_ESTIMATION = "blur"
#: temporal smoothers: flow-aligned trimmed mean over t-2..t+2 (looks ahead) or t-2..t (causal),
#: motion-gated EMA, plain EMA, none. Measured against ground truth: README.md, "Temporal smoothing".
SMOOTHERS = ("flow", "flow-causal", "gated", "ema", "none")
#: file jobs can wait 2 frames for the future; live output cannot
SMOOTHER_FILES = "flow"
SMOOTHER_LIVE = "flow-causal"
#: lines the live CPU default refines, smooths and estimates colour at (compose/fast_finish.py; docs/live.md)
LIVE_WORK_LINES = 360
#: the Processor's default: causal, so ``proc(frame)`` returns that frame
SMOOTHER = SMOOTHER_LIVE
#: default strength of the EMAs (share of the previous matte kept); the flow smoothers' is 1
SMOOTH_STRENGTH = 0.8
#: edge refinement after the model: guided filter where the alpha was upsampled a lot (auto),
#: always (guided), ViTMatte in a trimap band (vitmatte, offline), or none
REFINES = ("auto", "guided", "vitmatte", "none")
REFINE = "auto"
DTYPES = ("auto", "fp32", "fp16", "bf16", "int8")  # int8: the bundled MODNet only
DEVICES = ("auto", "cpu", "cuda", "tensorrt", "openvino", "directml", "coreml")  # the last four: ONNX models only
#: how an offline run uses the cores (:mod:`vidmatte.runtime.schedules.auto`)
POLICIES = ("auto", "inline", "overlap", "frames", "threads")
#: where ``vidmatte batch`` runs its tasks (:mod:`vidmatte.scale.engines`)
ENGINES = ("local", "ray")
#: input normalisation of ImageNet-trained backbones (BiRefNet, U²-Net), on RGB in [0, 1]
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Size = Union[int, tuple[int, int], None]


@dataclass(frozen=True)
class ModelDefaults:
    """Defaults of one model family on one device.

    Attributes:
        size: model input size (``N`` or ``(H, W)``; for MODNet the long side); ``None``:
            the checkpoint's own training size.
        dtype: ``fp32``, ``fp16`` or ``bf16``; ``int8`` for the bundled MODNet's int8 file.
        why: one line for ``vidmatte models list``.
        runtime: what runs an ONNX model on the CPU: ``onnxruntime``, or ``openvino`` when that
            package is installed (:mod:`vidmatte.models.openvino_runtime`).
    """

    size: Size
    dtype: str
    why: str = ""
    runtime: str = "onnxruntime"


#: (family, device type, live) → defaults. Families: ``birefnet`` (our PyTorch network),
#: ``modnet``, ``u2net``, ``isnet``, ``birefnet-onnx`` (ONNX exports).
MODEL_DEFAULTS: dict[tuple[str, str, bool], ModelDefaults] = {
    ("birefnet", "cuda", False): ModelDefaults(None, "fp16", "trained size; fp16 with CUDA graphs"),
    ("birefnet", "cuda", True): ModelDefaults(None, "fp16", "trained size; fp16 with CUDA graphs"),
    ("birefnet", "cpu", False): ModelDefaults(512, "fp32", "~1.2 s/frame at 512 on 2 cores; bf16 is 7x slower on AVX2"),
    ("birefnet", "cpu", True): ModelDefaults(256, "fp32", "below 1 fps on a CPU: prefer MODNet live"),
    ("modnet", "cuda", False): ModelDefaults(512, "fp32", "published size (long side)"),
    ("modnet", "cuda", True): ModelDefaults(512, "fp32", "published size (long side)"),
    ("modnet", "cpu", False): ModelDefaults(512, "fp32", "published size (long side)"),
    ("modnet", "cpu", True): ModelDefaults(384, "int8", "live on a CPU: int8 at 384 costs what fp32 at 256 did, "
                                           "and leaks less background", "openvino"),
    ("u2net", "cpu", False): ModelDefaults(320, "fp32", "fixed 320x320 graph"),
    ("isnet", "cpu", False): ModelDefaults(1024, "fp32", "trained size"),
    ("birefnet-onnx", "cpu", False): ModelDefaults(1024, "fp32", "trained size"),
}


def model_defaults(family: str, device: str = "cpu", live: bool = False) -> Optional[ModelDefaults]:
    """The defaults of ``family`` on ``device`` (``cpu``/``cuda``) for live or file jobs.

    Falls back to the file-job entry, then to the CPU entry; ``None`` for unknown families.

    >>> model_defaults("modnet", "cpu", live=True).size
    384
    """
    for key in ((family, device, live), (family, device, False), (family, "cpu", live), (family, "cpu", False)):
        if key in MODEL_DEFAULTS:
            return MODEL_DEFAULTS[key]
    return None
