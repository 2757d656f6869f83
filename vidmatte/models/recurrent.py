"""Recurrent video-matting ONNX models (Robust Video Matting style) behind the Matter protocol.

A recurrent model carries hidden state from one frame to the next, so its matte on a frame
depends on the frames before it. The ONNX interface of RVM (Lin et al., WACV 2022; the
exports of ``PeterL1n/RobustVideoMatting``)::

    inputs   src (B,3,H,W) float RGB in [0, 1], r1i r2i r3i r4i (recurrent states),
             downsample_ratio (1,) float32
    outputs  fgr (B,3,H,W), pha (B,1,H,W) in [0, 1], r1o r2o r3o r4o

The states start as ``(1,1,1,1)`` zeros; each call's ``rNo`` becomes the next call's ``rNi``.
The model runs at the frame size and shrinks internally by ``downsample_ratio`` (RVM's
advice: about 0.25 at 1080p/720p, 0.4 at 480p, 1 at 256), so the alpha comes out at the
frame size and :attr:`size` is ``(0, 0)`` (the input size: ``--refine auto`` leaves it).

:class:`RecurrentOnnxMatter` is not ``stateless``: the parallel schedules never run it on two
frames at once, and frames must arrive in time order. The owner of the stream (the
:class:`~vidmatte.runtime.processor.Processor`) calls :meth:`reset_state` between clips, on
a scene cut and when the frame size changes; the matter also resets by itself when the size
changes under it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from vidmatte.errors import InputError, WeightsError
from vidmatte.checks import check_images

__all__ = ["RecurrentOnnxMatter", "is_recurrent_onnx", "auto_downsample"]

STATE_IN = ("r1i", "r2i", "r3i", "r4i")
STATE_OUT = ("r1o", "r2o", "r3o", "r4o")


def is_recurrent_onnx(session_or_path: Any) -> bool:
    """Does the model take RVM-style recurrent inputs (``r1i``…) and a ``downsample_ratio``?"""
    sess = session_or_path
    if isinstance(sess, (str, Path)):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # only the names are read
        try:
            sess = ort.InferenceSession(str(sess), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception:  # not loadable: the ordinary path reports it
            return False
    names = {i.name for i in sess.get_inputs()}
    return set(STATE_IN) <= names


def auto_downsample(hw: tuple[int, int], target: int = 320) -> float:
    """The downsample ratio that brings the long side of ``hw`` to about ``target`` (at most 1).

    >>> auto_downsample((720, 1280)), auto_downsample((1080, 1920)), auto_downsample((144, 256))
    (0.25, 0.16666666666666666, 1.0)
    """
    return min(1.0, target / max(hw))


class RecurrentOnnxMatter:
    """An RVM-style ONNX model: frames in time order → alpha, the hidden state kept between calls.

    Args:
        path: the ``.onnx`` file (inputs ``src``, ``r1i``..``r4i``, ``downsample_ratio``).
        downsample: the ratio fed to the model; ``None``: :func:`auto_downsample` of each frame size.
        device: where :meth:`predict` returns its tensor.
        threads: intra-op threads of the CPU provider (default: onnxruntime's choice).
        providers: onnxruntime execution providers (default CPU).
    """

    stateless = False  # the state: one frame after another, never two calls at once
    name = "recurrent"

    def __init__(self, path: Union[str, Path], *, downsample: Optional[float] = None, device: Any = "cpu",
                 threads: Optional[int] = None, providers: Optional[Sequence[str]] = None):
        from vidmatte.models.providers import PerThreads, open_session

        self.path = Path(path)
        self._device = str(device)
        self.device_type = self._device.split(":")[0]
        self.threads = threads
        self.session = open_session(self.path, providers, self.device_type, threads)
        self._sessions = PerThreads(lambda t: open_session(self.path, providers, self.device_type, t), threads,
                                    self.session)
        names = {i.name: i for i in self.session.get_inputs()}
        missing = [n for n in ("src", *STATE_IN) if n not in names]
        if missing:
            raise WeightsError(f"{self.path.name} is not a recurrent matting model: it has no input(s) "
                               f"{', '.join(missing)} (expected src, r1i..r4i, downsample_ratio)")
        outs = [o.name for o in self.session.get_outputs()]
        if "pha" not in outs or not set(STATE_OUT) <= set(outs):
            raise WeightsError(f"{self.path.name}: a recurrent model needs outputs pha and r1o..r4o, "
                               f"it has {', '.join(outs)}")
        self._has_ratio = "downsample_ratio" in names
        if downsample is not None and not 0 < downsample <= 1:
            raise InputError(f"downsample ratio must be in (0, 1], got {downsample}")
        self.downsample = downsample
        self.size = (0, 0)  # runs at the frame size
        self.name = f"recurrent:{self.path.stem}"
        self._state: Optional[list] = None
        self._hw: Optional[tuple[int, int]] = None
        self.resets = 0  # how many times the state was dropped (tests and logs)

    @property
    def device(self):
        import torch

        return torch.device(self._device)

    def set_threads(self, threads: Optional[int]) -> None:
        """Run on ``threads`` intra-op threads from now on (the state is kept)."""
        if threads != self.threads:
            self.session, self.threads = self._sessions(threads), threads

    def reset_state(self) -> None:
        """Forget the hidden state: the next frame is matted as the first of a clip."""
        if self._state is not None:
            self.resets += 1
        self._state = None

    reset = reset_state

    def _step(self, frame: np.ndarray) -> np.ndarray:
        """One uint8 ``(H,W,3)`` frame → alpha ``(1,1,H,W)`` float32; the state moves on."""
        hw = frame.shape[:2]
        if hw != self._hw:  # another size: the old state is for other feature maps
            self.reset_state()
            self._hw = hw
        if self._state is None:
            self._state = [np.zeros((1, 1, 1, 1), np.float32) for _ in STATE_IN]
        src = np.ascontiguousarray(frame.transpose(2, 0, 1)[None], dtype=np.float32)
        src *= np.float32(1.0 / 255.0)
        feed = {"src": src, **dict(zip(STATE_IN, self._state))}
        if self._has_ratio:
            ratio = self.downsample if self.downsample is not None else auto_downsample(hw)
            feed["downsample_ratio"] = np.asarray([ratio], np.float32)
        outs = self.session.run(["pha", *STATE_OUT], feed)
        self._state = list(outs[1:])
        pha = np.asarray(outs[0], np.float32)
        if pha.shape[-2:] != hw:
            raise InputError(f"{self.path.name}: pha has shape {pha.shape}, expected (1,1,{hw[0]},{hw[1]})")
        return np.clip(pha.reshape(1, 1, *hw), 0.0, 1.0)

    def predict_array(self, images: Any) -> np.ndarray:
        """uint8 RGB ``(B,H,W,3)`` (frames in time order) → alpha ``(B,1,H,W)`` float32, numpy."""
        x = check_images(images)
        x = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
        return np.concatenate([self._step(f) for f in x])

    def predict(self, images: Any):
        import torch

        return torch.from_numpy(self.predict_array(images)).to(self._device)

    def __repr__(self) -> str:
        return f"RecurrentOnnxMatter({self.path.name!r}, downsample={self.downsample or 'auto'})"
