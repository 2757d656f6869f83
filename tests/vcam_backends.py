"""Virtual-camera backends for the tests, in pyvirtualcam's Backend interface.

Importable as ``vcam_backends:RecordingBackend`` / ``vcam_backends:EncodingBackend`` (with
``tests/`` on ``PYTHONPATH``), which is how a ``vidmatte webcam`` subprocess gets them:
``--cam-backend vcam_backends:EncodingBackend``.
"""

from __future__ import annotations

import os
from fractions import Fraction

import av
import numpy as np
from pyvirtualcam.util import decode_fourcc

__all__ = ["RecordingBackend", "EncodingBackend", "OUT_ENV"]

OUT_ENV = "VIDMATTE_TEST_VCAM_OUT"


class RecordingBackend:
    """Keeps every frame it is sent (class attribute ``instances`` lists the cameras made)."""

    instances: list = []

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device=None, **kw):
        if decode_fourcc(fourcc) != "raw ":
            raise ValueError(f"only RGB frames, got {decode_fourcc(fourcc)!r}")
        self.width, self.height, self.fps, self._device = width, height, fps, device or "recording-cam"
        self.frames: list[np.ndarray] = []
        self.closed = 0
        RecordingBackend.instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        self.frames.append(frame.reshape(self.height, self.width, 3).copy())

    def close(self) -> None:
        self.closed += 1

    def device(self) -> str:
        return self._device

    def native_fourcc(self):
        return None


class EncodingBackend:
    """A receiving app stand-in: encodes what it gets losslessly (FFV1 in Matroska).

    The file is ``$VIDMATTE_TEST_VCAM_OUT`` (or the ``device`` given); the test reads it back.
    """

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device=None, **kw):
        if decode_fourcc(fourcc) != "raw ":
            raise ValueError(f"only RGB frames, got {decode_fourcc(fourcc)!r}")
        self.path = device or os.environ[OUT_ENV]
        self.width, self.height, self._n = width, height, 0
        self._c = av.open(self.path, "w", format="matroska")
        self._s = self._c.add_stream("ffv1", rate=Fraction(fps).limit_denominator(1001))
        self._s.width, self._s.height, self._s.pix_fmt = width, height, "bgr0"

    def send(self, frame: np.ndarray) -> None:
        vf = av.VideoFrame.from_ndarray(frame.reshape(self.height, self.width, 3), format="rgb24")
        vf.pts, self._n = self._n, self._n + 1
        self._c.mux(self._s.encode(vf.reformat(format="bgr0")))

    def close(self) -> None:
        self._c.mux(self._s.encode(None))
        self._c.close()

    def device(self) -> str:
        return self.path

    def native_fourcc(self):
        return None
