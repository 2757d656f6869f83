"""A virtual camera sink (what Zoom, Meet or OBS pick as "vidmatte"), over pyvirtualcam.

Backends: pyvirtualcam's built-in ones (``v4l2loopback`` on Linux, ``obs`` on macOS and
Windows, ``unitycapture`` on Windows), plus plugins:

* ``backend="package.module:Class"`` imports ``Class`` and registers it under that name;
* packages may declare an entry point in the group ``vidmatte.virtualcam`` (name → class),
  then ``backend="name"`` finds it.

A backend class follows pyvirtualcam's Backend interface (``__init__(*, width, height, fps,
fourcc, device, **kw)``, ``send(frame)``, ``close()``, ``device()``, ``native_fourcc()``).
"""

from __future__ import annotations

import importlib
import platform
import re
from importlib.metadata import entry_points
from typing import Optional

import numpy as np
import pyvirtualcam

from vidmatte.checks import channels_last
from vidmatte.errors import DeviceError
from vidmatte.frame import Frame

__all__ = ["VirtualCamSink", "as_rgb24", "resolve_backend", "HOW_TO_CREATE", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "vidmatte.virtualcam"

HOW_TO_CREATE = {
    "Linux": "create one with: sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=vidmatte",
    "Windows": "start OBS's virtual camera once (OBS Studio > Start Virtual Camera), then try again",
    "Darwin": "start OBS's virtual camera once (OBS Studio > Start Virtual Camera), then try again",
}


def as_rgb24(image, size: Optional[tuple[int, int]] = None) -> np.ndarray:
    """Any frame image → contiguous ``(H, W, 3)`` uint8 RGB, resized to ``size=(H, W)`` if given.

    Accepts ``(H,W,3|4)`` uint8 or float [0,1], and ``(3,H,W)`` tensors, numpy or torch.
    """
    img = channels_last(image)[..., :3]
    if img.dtype != np.uint8:
        img = (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if size is not None and img.shape[:2] != tuple(size):
        import cv2

        img = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


def resolve_backend(name: Optional[str]) -> Optional[str]:
    """Make ``name`` usable by pyvirtualcam: import ``module:Class`` or an entry-point plugin."""
    if name is None or name in pyvirtualcam.camera.BACKENDS:
        return name
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            clazz = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise DeviceError(f"cannot load virtual camera backend {name!r}: {exc}; give an importable "
                              "module:Class or one of: " + ", ".join(_known())) from None
        pyvirtualcam.register_backend(name, clazz)
        return name
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            pyvirtualcam.register_backend(name, ep.load())
            return name
    raise DeviceError(f"unknown virtual camera backend {name!r}; available: {', '.join(_known()) or 'none'} "
                      "(or a module:Class plugin)")


def _known() -> list[str]:
    return sorted(set(pyvirtualcam.camera.BACKENDS) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


class VirtualCamSink:
    """Sends RGB frames to a virtual camera.

    Args:
        width, height, fps: the stream the camera advertises; frames of another size are resized.
        device: e.g. ``/dev/video10`` or ``"OBS Virtual Camera"`` (``None``: the first free one).
        backend: a pyvirtualcam backend name, an entry-point plugin name or ``module:Class``.
        pace: call ``sleep_until_next_frame`` after each frame (off: the capture paces us).
    """

    def __init__(self, width: int, height: int, fps: float, *, device: Optional[str] = None,
                 backend: Optional[str] = None, pace: bool = False):
        backend = resolve_backend(backend)
        tried = [backend] if backend else list(pyvirtualcam.camera.BACKENDS)
        self.pace, self.size = pace, (int(height), int(width))
        try:
            self._cam = pyvirtualcam.Camera(int(width), int(height), float(fps), device=device, backend=backend,
                                            fmt=pyvirtualcam.PixelFormat.RGB)
        except Exception as exc:
            lines = [re.sub(r"^'([^']+)' backend: ", r"\1: ", ln.strip()) for ln in str(exc).splitlines()]
            tried_text = "; ".join(ln for ln in lines if ln) if tried else "none registered"
            what = f"virtual camera {device} is not available" if device else "no virtual camera is available"
            how = HOW_TO_CREATE.get(platform.system(), "install a virtual camera driver (v4l2loopback or OBS)")
            raise DeviceError(f"{what} (tried backends: {tried_text}); {how}") from None
        self.device, self.backend = self._cam.device, self._cam.backend
        self.frames_sent = 0

    def send(self, image) -> None:
        """Send one image (any layout :func:`as_rgb24` accepts)."""
        if self._cam is None:
            raise DeviceError("the virtual camera was already closed")
        self._cam.send(as_rgb24(image, self.size))
        self.frames_sent += 1
        if self.pace:
            self._cam.sleep_until_next_frame()

    accepts = ("rgb24",)

    def write(self, frame: Frame) -> None:
        """Sink interface: send ``frame.image``."""
        self.send(frame.image)

    def close(self) -> None:
        """Release the device (idempotent)."""
        cam, self._cam = getattr(self, "_cam", None), None
        if cam is not None:
            cam.close()

    def __enter__(self) -> "VirtualCamSink":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
