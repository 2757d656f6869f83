"""ONNX matting models (MODNet, U²-Net, IS-Net, BiRefNet exports) behind the Matter protocol.

Each family differs only in pre- and post-processing, described by an :class:`OnnxPreset`:

* input: RGB in [0, 1] (``x/255``, or ``x/max(x)`` for U²-Net), resized to the model size,
  then ``(x - mean) / std`` per channel;
* output: ``outputs[output_index][:, 0]``, then a sigmoid (logit models) or a per-image
  min-max stretch (saliency models), resized back to the input size bilinearly.

=========  ===========================  ======================  ==============================
preset     size                         normalisation           output
=========  ===========================  ======================  ==============================
modnet     long side 512, aspect kept,  mean 0.5, std 0.5       the only output, alpha
           multiples of 32              (= (x-127.5)/127.5)
u2net      320²                         x/max(x), ImageNet      output 0 (d0), min-max
isnet      1024²                        mean 0.5, std 1.0       output 0 (d1), min-max
birefnet   1024²                        ImageNet                last output, sigmoid
=========  ===========================  ======================  ==============================

IS-Net follows the official DIS inference code (``x/255 - 0.5``); rembg's session uses
mean (0.485, 0.456, 0.406) with std 1.0 after ``x/max(x)`` — pass ``mean=`` to match it.
Frames are resized as uint8 with ``cv2.INTER_AREA`` (enlarging: ``INTER_LINEAR``), which
reproduces the published MODNet numbers on alphamatting.com (SAD 30.0, MSE 0.053); resizing
in float gives SAD 29.35 there. The matte goes back to the frame size with the same rule
(bilinear up, area down), in float32.

Everything here is numpy, OpenCV and onnxruntime: :meth:`OnnxMatter.predict_array` never
imports torch (the still-image job runs without it); :meth:`OnnxMatter.predict` wraps the
same array in a tensor on ``device``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Union

from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from vidmatte.errors import DeviceError, InputError
from vidmatte.checks import check_declared_output, check_images, check_model_output
from vidmatte.frame import round_to_multiple
from vidmatte.models.onnx_presets import PRESETS, OnnxPreset, detect_preset, model_size, preset_from_metadata

if TYPE_CHECKING:
    import torch

__all__ = ["OnnxMatter", "OnnxPreset", "PRESETS", "detect_preset"]

Size = Union[int, Sequence[int], None]


class OnnxMatter:
    """Run an ONNX matting model with onnxruntime.

    Args:
        path: the ``.onnx`` file.
        preset: ``birefnet``, ``modnet``, ``u2net`` or ``isnet``; ``None`` recognises the
            family from the graph (input/output names, shapes, number of outputs).
        size: model input size. ``N``: the long side for models trained at any aspect
            (MODNet), ``N×N`` otherwise; ``(H, W)`` or the text ``"WxH"``: exactly that. Rounded to multiples of
            32 for dynamic-size models. A fixed-size model only runs at its own size.
        mean, std, output_index, sigmoid: override the preset's values.
        providers: onnxruntime execution providers (default: from ``device``, see
            :mod:`vidmatte.models.providers`); ``providers`` (attribute) lists what the
            session really uses, and a one-line warning says when the first asked fell back.
        device: ``"cpu"``, ``"cuda"`` (``"cuda:N"``), ``"tensorrt"``, ``"openvino"``,
            ``"directml"`` or ``"coreml"``; ``predict`` returns its tensor on the GPU for
            cuda/tensorrt, on the host otherwise.
        threads: intra-op threads of the CPU provider (default: onnxruntime's choice);
            :meth:`set_threads` changes it later.
        runtime: ``onnxruntime``, ``openvino`` (OpenVINO's own runtime runs each call, see
            :mod:`vidmatte.models.openvino_runtime`) or ``auto``: OpenVINO for ``--device openvino``
            when onnxruntime has no OpenVINO provider here, else onnxruntime.
    """

    stateless = True  # predict may run on several batches at once

    def __init__(
        self,
        path: Union[str, Path],
        *,
        preset: Optional[str] = None,
        size: Size = None,
        mean: Optional[Sequence[float]] = None,
        std: Optional[Sequence[float]] = None,
        output_index: Optional[int] = None,
        sigmoid: Optional[bool] = None,
        providers: Optional[Sequence[str]] = None,
        device: Union[str, "torch.device"] = "cpu",
        threads: Optional[int] = None,
        runtime: str = "auto",
    ):
        from vidmatte.models.providers import PerThreads, open_session, providers_for, torch_device_for

        self.path = Path(path)
        self.accelerator = str(device)  # the --device asked: cpu, cuda[:N], tensorrt, openvino, directml, coreml
        if self.accelerator.split(":")[0] == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise DeviceError("device 'cuda' was asked but no CUDA device is available; use --device cpu")
        self._device = torch_device_for(self.accelerator)
        self.device_type = self._device.split(":")[0]
        from vidmatte.models.openvino_runtime import choose_runtime

        self.runtime = choose_runtime(runtime, self.accelerator, providers)
        ov = self.runtime == "openvino"
        self._providers = (["CPUExecutionProvider"] if ov else list(providers) if providers is not None
                           else providers_for(self.accelerator))
        self.threads = threads
        # onnxruntime reads the file (names, shapes, metadata, the load-time check) in every case
        self.session = open_session(self.path, self._providers, self.device_type, 1 if ov else threads)
        self.runner = self._open_runner(threads) if ov else self.session  # what forward calls
        self.providers = [self.runner.provider] if ov else list(self.session.get_providers())
        self._runners = PerThreads(self._open_runner, threads, self.runner)
        inp = self.session.get_inputs()[0]
        self._input_name = inp.name
        self._fixed_batch = isinstance(inp.shape[0], int) and inp.shape[0] == 1
        self._fixed_hw = model_size(inp.shape)
        if preset is not None and preset not in PRESETS:
            raise InputError(f"unknown --preset {preset!r}; choose one of {', '.join(PRESETS)}")
        # a `vidmatte export onnx` file says what it is in its metadata; others are recognised by their interface
        base = PRESETS[preset] if preset else (preset_from_metadata(self.session)
                                                or detect_preset(self.session, self.path.name))
        self.preset = base.replace(mean=mean, std=std, output_index=output_index, sigmoid=sigmoid)
        outputs = self.session.get_outputs()
        if not -len(outputs) <= self.preset.output_index < len(outputs):
            raise InputError(f"--output-index {self.preset.output_index} is out of range: {self.path.name} "
                             f"has {len(outputs)} output(s)")
        self._output_name = outputs[self.preset.output_index].name
        self.name = self.preset.name
        self.size = self._resolve_size(size)
        self._output_checked = False
        check_declared_output(self.path.name, model_size(list(inp.shape)), outputs[self.preset.output_index],
                              self.preset.output_index)
        probe = self._probe() if self._probe_size() is not None else None
        if probe is not None:
            self._check_output(*probe)

    @property
    def device(self) -> "torch.device":
        """Where :meth:`predict` puts its tensor (asking for it loads torch)."""
        import torch

        return torch.device(self._device)

    def set_threads(self, threads: Optional[int]) -> None:
        """Run on ``threads`` intra-op threads from now on (a session per count, opened once)."""
        if threads != self.threads:
            self.runner, self.threads = self._runners(threads), threads

    def _open_runner(self, threads: Optional[int]):
        if self.runtime == "openvino":
            from vidmatte.models.openvino_runtime import OpenVinoRunner

            return OpenVinoRunner(self.path, threads)
        from vidmatte.models.providers import open_session

        return open_session(self.path, self._providers, self.device_type, threads)

    def _resolve_size(self, size: Size) -> tuple[int, int]:
        if self._fixed_hw is not None:
            if size is not None and _as_hw(size) != self._fixed_hw:
                h, w = self._fixed_hw
                raise InputError(f"{self.path.name} has a fixed input size {w}x{h} (WxH); drop --model-size "
                                 "or export the model with dynamic height and width")
            return self._fixed_hw
        hw = _as_hw(self.preset.size if size is None else size)
        return tuple(round_to_multiple(s) for s in hw)  # type: ignore[return-value]

    def run_size(self, hw: tuple[int, int]) -> tuple[int, int]:
        """Model input ``(h, w)`` for a frame of size ``hw`` (long-side rule when aspect is kept)."""
        if self._fixed_hw is not None or not self.preset.keep_aspect or self.size[0] != self.size[1]:
            return self.size
        scale = self.size[0] / max(hw)
        return tuple(round_to_multiple(s * scale) for s in hw)  # type: ignore[return-value]

    def preprocess(self, x: np.ndarray) -> np.ndarray:
        """uint8 ``(B,H,W,3)`` RGB → normalised ``(B,3,h,w)`` float32 input.

        Frames are resized as uint8 (as the reference evaluations did), then scaled.
        """
        hw_in = (int(x.shape[1]), int(x.shape[2]))
        h, w = self.run_size(hw_in)
        if (h, w) != hw_in:
            shrink = h <= hw_in[0] and w <= hw_in[1]
            interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            x = np.stack([cv2.resize(im, (w, h), interpolation=interp) for im in x])
        return self._normalise(x)

    def _normalise(self, x: np.ndarray) -> np.ndarray:
        """uint8 ``(B,h,w,3)`` at the model size → ``(B,3,h,w)`` float32, scaled and normalised."""
        x = x.astype(np.float32) / 255.0
        p = self.preset
        if p.scale == "max":
            x = x / np.maximum(x.max(axis=(1, 2, 3), keepdims=True), 1e-6)
        x = (x - np.asarray(p.mean, np.float32)) / np.asarray(p.std, np.float32)
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Normalised ``(B,3,h,w)`` → raw ``(B,1,h',w')`` output picked by ``output_index``."""
        if self._fixed_batch and x.shape[0] > 1:
            return np.concatenate([self.forward(x[i : i + 1]) for i in range(x.shape[0])])
        out = self.runner.run([self._output_name], {self._input_name: x})[0]
        if not self._output_checked:  # once: the first real batch (the load-time probe may not run)
            self._check_output(x, out)
        out = np.asarray(out, dtype=np.float32)
        return out[:, None] if out.ndim == 3 else out

    # ---- the output is a matte: checked once --------------------------------------------
    def _probe_size(self) -> Optional[tuple[int, int]]:
        """Model-space ``(h, w)`` of the load-time probe, ``None`` when a probe would cost a full
        large inference (a fixed input over 512²: the first real batch is checked instead)."""
        if self._fixed_hw is None:
            return PROBE_HW  # dynamic size: a small, non-square probe (a transposed output shows)
        return self._fixed_hw if self._fixed_hw[0] * self._fixed_hw[1] <= 512 * 512 else None

    def _probe(self) -> Optional[tuple[np.ndarray, Any]]:
        """Run the model once on a varied synthetic picture (ramps and a disc) at the probe size;
        ``None`` when it does not run there (a graph with a minimum size: the first batch is checked)."""
        h, w = self._probe_size()  # type: ignore[misc]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        disc = ((yy - h / 2) ** 2 + (xx - w / 2) ** 2) < (min(h, w) / 3) ** 2
        img = np.stack([xx / max(w - 1, 1) * 255, yy / max(h - 1, 1) * 255, disc * 200.0 + 30], axis=-1)
        x = self._normalise(img.astype(np.uint8)[None])
        try:
            out = self.session.run([self._output_name], {self._input_name: x})[0]
        except Exception:  # onnxruntime's own types: too small for this graph; the first batch is checked
            return None
        return x, out

    def _check_output(self, x: np.ndarray, out: Any) -> None:
        check_model_output(self.path.name, tuple(x.shape), out, self.preset.output_index,
                           bounded=not (self.preset.sigmoid or self.preset.minmax))
        self._output_checked = True

    def postprocess(self, out: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
        """Raw output → alpha ``(B,1,H,W)`` float32 in [0,1] at the frame size ``hw``."""
        a = out.astype(np.float32, copy=True)
        if self.preset.sigmoid:  # 1 / (1 + exp(-x)); exp overflowing to inf gives 0, as it should
            with np.errstate(over="ignore"):
                np.exp(np.negative(a, out=a), out=a)
            np.reciprocal(np.add(a, 1.0, out=a), out=a)
        if self.preset.minmax:
            lo = a.min(axis=(1, 2, 3), keepdims=True)
            hi = a.max(axis=(1, 2, 3), keepdims=True)
            a = (a - lo) / np.maximum(hi - lo, 1e-8)
        if tuple(a.shape[-2:]) != hw:
            shrink = a.shape[-2] > hw[0] or a.shape[-1] > hw[1]
            interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            a = np.stack([cv2.resize(m[0], (hw[1], hw[0]), interpolation=interp) for m in a])[:, None]
        return np.clip(a, 0.0, 1.0, out=a)

    def predict_array(self, images: Any) -> np.ndarray:
        """uint8 RGB ``(B,H,W,3)``/``(H,W,3)`` (numpy) → float32 alpha ``(B,1,H,W)`` in [0,1], numpy.

        Safe to call from several threads at once (onnxruntime sessions are)."""
        x = _to_nhwc(images)
        return self.postprocess(self.forward(self.preprocess(x)), (int(x.shape[1]), int(x.shape[2])))

    def predict(self, images: Any) -> "torch.Tensor":
        """uint8 RGB ``(B,H,W,3)``/``(H,W,3)`` → float32 alpha ``(B,1,H,W)`` in [0,1] on ``device``."""
        import torch

        return torch.from_numpy(self.predict_array(images)).to(self._device)

    def __repr__(self) -> str:
        return (f"OnnxMatter({self.path.name!r}, preset={self.name!r}, size={self.size}, device={self.accelerator}, "
                f"providers={self.providers})")


#: model-space ``(h, w)`` of the load-time probe of a dynamic-size model
PROBE_HW = (64, 96)


def _to_nhwc(images: Any) -> np.ndarray:
    """Checked uint8 frames → contiguous numpy ``(B,H,W,3)`` on the host."""
    x = check_images(images)
    x = x.detach().cpu().numpy() if hasattr(x, "detach") else x
    return np.ascontiguousarray(x)


def _as_hw(size: Union[int, str, Sequence[int]]) -> tuple[int, int]:
    if isinstance(size, str):  # "WxH" text, as on the command line
        from vidmatte.frame import parse_size

        size = parse_size(size)
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    h, w = size
    return int(h), int(w)
