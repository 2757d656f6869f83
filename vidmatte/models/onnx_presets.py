"""Pre/post-processing presets of the ONNX matting families, and their recognition.

A preset is data, not code: how to scale and normalise the input, which output to read,
and whether it needs a sigmoid or a per-image min-max stretch. :func:`detect_preset` picks
one from the graph's interface (number of outputs, input/output names, fixed shapes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Sequence

from vidmatte.errors import InputError
from vidmatte.defaults import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["OnnxPreset", "PRESETS", "detect_preset", "preset_from_metadata", "model_size", "OVERRIDE_HINT"]

OVERRIDE_HINT = ("pass --preset birefnet|modnet|u2net|isnet, or describe it with --model-size N, "
                 "--mean R G B --std R G B, --output-index I and --sigmoid/--no-sigmoid")


@dataclass(frozen=True)
class OnnxPreset:
    """How one model family wants its input and gives its output.

    Attributes:
        name: family name.
        size: default input size (the long side when ``keep_aspect``).
        mean, std: per-channel ``(x - mean) / std`` applied to ``x`` in [0, 1].
        scale: ``"255"``: ``x = uint8 / 255``; ``"max"``: ``x = image / image.max()`` (U²-Net).
        output_index: which graph output holds the matte (negative counts from the end).
        sigmoid: the output is a logit map.
        minmax: stretch each output map to [0, 1] (``(y - min) / (max - min)``).
        keep_aspect: dynamic-size models keep the frame's aspect (long side = ``size``).
    """

    name: str
    size: int
    mean: tuple = (0.5, 0.5, 0.5)
    std: tuple = (0.5, 0.5, 0.5)
    scale: str = "255"
    output_index: int = 0
    sigmoid: bool = False
    minmax: bool = False
    keep_aspect: bool = False

    def replace(self, **overrides) -> "OnnxPreset":
        """A copy with the given non-``None`` fields changed (mean/std as 3-tuples)."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        for key in ("mean", "std"):
            if key in changes:
                vals = tuple(float(v) for v in changes[key])
                if len(vals) == 1:
                    vals = vals * 3
                if len(vals) != 3 or (key == "std" and min(vals) <= 0):
                    raise InputError(f"--{key} needs 1 or 3 {'positive ' if key == 'std' else ''}numbers, "
                                     f"got {changes[key]}")
                changes[key] = vals
        return replace(self, **changes)


PRESETS: dict[str, OnnxPreset] = {
    "birefnet": OnnxPreset("birefnet", 1024, IMAGENET_MEAN, IMAGENET_STD, output_index=-1, sigmoid=True),
    "modnet": OnnxPreset("modnet", 512, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), keep_aspect=True),
    "u2net": OnnxPreset("u2net", 320, IMAGENET_MEAN, IMAGENET_STD, scale="max", minmax=True),
    "isnet": OnnxPreset("isnet", 1024, (0.5, 0.5, 0.5), (1.0, 1.0, 1.0), minmax=True),
}


def model_size(shape: Sequence) -> Optional[tuple[int, int]]:
    """``(H, W)`` of an NCHW input shape when both are fixed integers, else ``None``."""
    if len(shape) != 4:
        return None
    h, w = shape[2], shape[3]
    if isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0:
        return h, w
    return None


def detect_preset(session, filename: str = "model") -> OnnxPreset:
    """Recognise the family of an onnxruntime session from its interface.

    Rules, in order: 7 outputs → U²-Net (d0..d6); 6 or more → IS-Net (d1..d6 and features);
    1 or 4 outputs with BiRefNet's names (``input_image``/``output_image``), 4 outputs, or a
    fixed input of at least 1024² → BiRefNet; a single output with a dynamic height/width,
    or MODNet's names (``input``/``output``) → MODNet. Anything else: :class:`InputError`.
    """
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise InputError(f"{filename} takes {len(inputs)} inputs ({names}); vidmatte runs single-image "
                         "matting models (one (B,3,H,W) input)")
    shape = list(inputs[0].shape)
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
        raise InputError(f"{filename} takes an input of shape {shape}; vidmatte needs a (B,3,H,W) image model")
    fixed = model_size(shape)
    n = len(outputs)
    in_name = inputs[0].name.lower()
    out_names = [o.name.lower() for o in outputs]
    if n == 7:
        return PRESETS["u2net"]
    if n >= 6:
        return PRESETS["isnet"]
    if n == 4 or (n == 1 and (in_name == "input_image" or out_names == ["output_image"])):
        return PRESETS["birefnet"]
    if n == 1 and fixed is not None and min(fixed) >= 1024:
        return PRESETS["birefnet"]
    if n == 1 and (fixed is None or (in_name, out_names) == ("input", ["output"])):
        return PRESETS["modnet"]
    raise InputError(f"cannot tell which model family {filename} is (input {inputs[0].name} {shape}, "
                     f"{n} output(s)); {OVERRIDE_HINT}")


def preset_from_metadata(session) -> Optional[OnnxPreset]:
    """The preset a ``vidmatte export onnx`` file describes in its metadata, else ``None``.

    Keys (``metadata_props``): ``vidmatte.family`` (a preset name), ``vidmatte.mean`` and
    ``vidmatte.std`` (``R,G,B``), ``vidmatte.input_size`` (``WxH``, like ffmpeg), ``vidmatte.output``
    (``logits``: apply a sigmoid; ``alpha``: none). Malformed values are an InputError.
    """
    meta = session.get_modelmeta().custom_metadata_map
    family = meta.get("vidmatte.family")
    if family is None:
        return None
    if family not in PRESETS:
        raise InputError(f"the model's metadata names an unknown family {family!r}; {OVERRIDE_HINT}")
    base, changes = PRESETS[family], {}
    try:
        for key in ("mean", "std"):
            if f"vidmatte.{key}" in meta:
                changes[key] = [float(v) for v in meta[f"vidmatte.{key}"].split(",")]
        if "vidmatte.input_size" in meta:
            w, h = (int(v) for v in meta["vidmatte.input_size"].lower().split("x"))
            changes["size"] = max(h, w)
    except ValueError:
        raise InputError(f"the model's vidmatte metadata is malformed ({dict(meta)}); {OVERRIDE_HINT}") from None
    if "vidmatte.output" in meta:
        changes["sigmoid"] = meta["vidmatte.output"] == "logits"
    return base.replace(**changes)
