"""``load_matter``: one call from a model name or file to a ready :class:`Matter`.

Names (the same for the command line and the library):

* ``auto`` (the default): BiRefNet-lite when its weights are at hand (``weights=``, the
  Hugging Face cache, or a download when the Hub answers within seconds), otherwise the
  bundled MODNet; live on a CPU it picks MODNet at once (BiRefNet runs below 1 fps there).
  The matter's ``notice`` says which model runs and why, in one line.
* a BiRefNet checkpoint name (``lite``, ``general``, …; see ``vidmatte models list``): never
  falls back; missing weights are a one-line :class:`WeightsError`.
* ``modnet``: the bundled MODNet portrait matting model (ONNX, Apache-2.0).
* ``chroma``: a green-screen keyer.
* a path: ``.onnx`` runs through onnxruntime, any other file is a BiRefNet checkpoint.

Input size and precision default per model family and device from
:data:`vidmatte.defaults.MODEL_DEFAULTS`.

ONNX models never need torch to load or run (:meth:`OnnxMatter.predict_array`): for them
``device="auto"`` means CUDA only when onnxruntime has its CUDA provider (and torch sees a
GPU), so a CPU-only onnxruntime never imports torch just to ask.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from vidmatte.defaults import model_defaults
from vidmatte.errors import DeviceError, InputError, WeightsError
from vidmatte.models.bundled import bundled_model_path

if TYPE_CHECKING:
    import torch

    from vidmatte.matting import Matter

__all__ = ["load_matter", "resolve_device", "resolve_dtype", "bundled_model_path", "GET_BIREFNET"]

_DTYPES = {"fp32": "float32", "float32": "float32", "fp16": "float16", "float16": "float16",
           "bf16": "bfloat16", "bfloat16": "bfloat16"}
GET_BIREFNET = "for BiRefNet-lite run `vidmatte models download lite` once online (or pass --weights FILE)"


def resolve_device(device: Union[str, "torch.device", None] = "auto") -> "torch.device":
    """``auto`` → ``cuda`` when available, else ``cpu``; ``cuda`` without CUDA → DeviceError."""
    import torch

    name = str(device or "auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    from vidmatte.models.providers import ACCELERATORS

    if name in ACCELERATORS:
        raise DeviceError(f"--device {name} runs ONNX models only (--model modnet or a .onnx file); "
                          "BiRefNet and the chroma keyer run on cpu or cuda")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda was asked but no CUDA device is available; use --device cpu (or auto)")
    return dev


def resolve_dtype(dtype: Union[str, "torch.dtype", None], device: "torch.device",
                  family: str = "birefnet") -> "torch.dtype":
    """``auto`` → the family's default on the device (fp16 on CUDA, fp32 on CPU for BiRefNet)."""
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "int8":
        raise InputError("--dtype int8 is for the bundled MODNet only (--model modnet); "
                         "BiRefNet runs fp32, fp16 or bf16")
    if dtype in (None, "auto"):
        dtype = (model_defaults(family, device.type) or model_defaults("birefnet", device.type)).dtype
    try:
        return getattr(torch, _DTYPES[str(dtype)])
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; use fp32, fp16 or bf16") from None


def onnx_device(device: Union[str, "torch.device", None] = "auto") -> str:
    """Where an ONNX model runs, resolved without torch unless CUDA is in play: ``auto`` is
    ``cuda`` only when onnxruntime has its CUDA provider and torch sees a GPU."""
    from vidmatte.models.providers import ACCELERATORS

    name = str(device or "auto")
    if name == "auto":
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            return "cpu"
    if name == "cpu" or name in ACCELERATORS:  # tensorrt/openvino/directml/coreml: onnxruntime providers
        return name
    return str(resolve_device(name))


def _onnx(path: Path, device, size, preset, options: Optional[dict], live: bool) -> "Matter":
    from vidmatte.models.onnx import OnnxMatter

    dev = onnx_device(device)
    if preset is None and path.is_file():
        from vidmatte.models.recurrent import RecurrentOnnxMatter, is_recurrent_onnx

        if is_recurrent_onnx(path):  # RVM-style: state between frames, runs at the frame size
            opts = {k: v for k, v in (options or {}).items() if k in ("threads", "providers", "downsample")}
            return RecurrentOnnxMatter(path, device=dev, **opts)
    matter = OnnxMatter(path, preset=preset, size=size, device=dev, **(options or {}))
    if size is None and matter._fixed_hw is None:  # the family's default on this device, where the table
        # has one and the model can run at it (a fixed-size export runs at its own size only)
        d = model_defaults(matter.name, matter.device_type, live)
        if d is not None and d.size is not None and matter.size != matter._resolve_size(d.size):
            matter = OnnxMatter(path, preset=preset, size=d.size, device=dev, **(options or {}))
    return matter


def _bundled_modnet(device, size, dtype, options: Optional[dict], live: bool) -> "Matter":
    """The bundled MODNet at the precision, size and runtime of :data:`MODEL_DEFAULTS` for this
    device and job, each overridable (``--dtype fp32|int8``, ``--model-size``, ``runtime=``)."""
    from vidmatte.models.onnx import OnnxMatter
    from vidmatte.models.openvino_runtime import openvino_available

    dev = onnx_device(device)
    d = model_defaults("modnet", "cpu" if dev == "cpu" else dev.split(":")[0], live)
    precision = d.dtype if dtype in (None, "auto") or str(dtype) not in ("fp32", "int8") else str(dtype)
    opts = dict(options or {})
    if dev == "cpu" and d.runtime == "openvino" and openvino_available() and "providers" not in opts:
        opts.setdefault("runtime", "openvino")
    return OnnxMatter(bundled_model_path(precision), preset="modnet", size=d.size if size is None else size,
                      device=dev, **opts)


def _birefnet(name: Optional[str], path: Optional[Path], device, size, dtype, patch_order,
              download: bool, live: bool) -> "Matter":
    from vidmatte.models.birefnet.matter import BiRefNetMatter
    from vidmatte.models.weights.loader import load_birefnet

    dev = resolve_device(device)

    net, info = load_birefnet(name or "lite", weights=path, patch_order=patch_order, download=download)
    if size is None:
        d = model_defaults("birefnet", dev.type, live)
        size = info.size if d is None or d.size is None else d.size
    return BiRefNetMatter(net, size=size, device=dev, dtype=resolve_dtype(dtype, dev))


def _lite_available(download: bool) -> Optional[str]:
    """``None`` when BiRefNet-lite can be had now, else why not (cache first, then a quick probe)."""
    from vidmatte.models.weights.hub import cached_weights, check_cache_room, hub_offline, hub_reachable
    from vidmatte.models.weights.registry import get_checkpoint

    lite = get_checkpoint("lite")
    if cached_weights(lite) is not None:
        return None
    if not download:
        return "its weights are not downloaded and downloads are off"
    if hub_offline():
        return "its weights are not downloaded and HF_HUB_OFFLINE is set"
    try:
        check_cache_room(lite)
    except WeightsError as exc:
        return f"its weights are not downloaded and cannot be: {exc}"
    if not hub_reachable(timeout=3.0):
        return "its weights are not downloaded and huggingface.co cannot be reached"
    return None


def load_matter(
    model: str = "auto",
    *,
    weights: Optional[Union[str, Path]] = None,
    size: Optional[Union[int, tuple]] = None,
    device: Union[str, "torch.device", None] = "auto",
    dtype: Union[str, "torch.dtype", None] = "auto",
    patch_order: Optional[str] = None,
    preset: Optional[str] = None,
    download: bool = True,
    onnx_options: Optional[dict] = None,
    live: bool = False,
) -> "Matter":
    """Build a ready-to-run matter (see the module docstring for the names).

    Args:
        model: ``auto``, a checkpoint name, ``modnet``, ``chroma``, or a ``.onnx`` / checkpoint file.
        weights: explicit BiRefNet checkpoint file (variant taken from the file).
        size: model input size: ``N``, ``(H, W)`` or the text ``"WxH"`` (see :mod:`vidmatte.frame`),
            rounded to multiples of 32; default
            from :data:`vidmatte.defaults.MODEL_DEFAULTS` for the family, device and ``live``.
        device, dtype: ``auto`` picks CUDA + the family's precision when available, else CPU + fp32.
        patch_order: override a BiRefNet checkpoint's patch order (``legacy``/``current``).
        preset: ONNX model family (``birefnet``, ``modnet``, ``u2net``, ``isnet``).
        download: allow fetching named weights from the Hugging Face Hub.
        onnx_options: extra :class:`~vidmatte.models.onnx.OnnxMatter` arguments (``mean``,
            ``std``, ``output_index``, ``sigmoid``, ``threads``) for unrecognised ONNX models.
        live: pick defaults for live use (smaller sizes on a CPU).

    The returned matter has a ``notice`` attribute: one line saying which model ``auto``
    chose and why (``None`` when a model was named).
    """
    from vidmatte.frame import as_size

    name = str(model or "auto")
    size = as_size(size)  # text is "WxH", as on the command line
    notice = None
    if name.startswith("chroma"):
        from vidmatte.matting import ChromaKeyMatter

        return ChromaKeyMatter(device=resolve_device(device))
    path = Path(weights) if weights else (Path(name) if _looks_like_path(name) else None)
    if path is not None and path.suffix.lower() == ".onnx":
        return _onnx(path, device, size, preset, onnx_options, live)
    dev: Any = device
    from vidmatte.models.providers import ACCELERATORS

    if name == "auto" and path is None and str(device) in ACCELERATORS:
        name, notice = "modnet", f", because --device {device} runs ONNX models only"
    if name == "auto" and path is None:
        dev = resolve_device(device)
        if live and dev.type == "cpu":
            name, notice = "modnet", ", for live use on a CPU (BiRefNet runs below 1 fps there); pick another with --model"
        else:
            why = _lite_available(download)
            if why is None:
                try:
                    return _birefnet("lite", None, dev, size, dtype, patch_order, download, live)
                except WeightsError as exc:
                    why = f"it could not be loaded: {exc}"
            name, notice = "modnet", f", because BiRefNet-lite is not available ({why}); {GET_BIREFNET}"
    if name == "modnet":
        matter = _bundled_modnet(dev, size, dtype, onnx_options, live)
        if notice is not None:
            matter.notice = f"model: the bundled MODNet (long side {max(matter.size)}){notice}"
        return matter
    ckpt = None if name == "auto" or (path is not None and not weights) else name
    return _birefnet(ckpt, path, dev, size, dtype, patch_order, download, live)


def _looks_like_path(model: str) -> bool:
    m = str(model)
    return "/" in m or "\\" in m or Path(m).suffix.lower() in {".onnx", ".safetensors", ".pth", ".pt", ".bin", ".ckpt"}
