"""A preview window (OpenCV HighGUI) with a few keys: ``q``/Esc quit, others by callback."""

from __future__ import annotations

import os
import platform
from typing import Callable, Mapping, Optional

from vidmatte.errors import DeviceError
from vidmatte.frame import Frame
from vidmatte.io.virtualcam import as_rgb24

__all__ = ["PreviewSink", "gui_available", "NO_GUI_MESSAGE"]

NO_GUI_MESSAGE = ("no preview window: OpenCV was built without GUI support; "
                  "pip install opencv-python (instead of opencv-python-headless)")

_QUIT_KEYS = (ord("q"), ord("Q"), 27)


def gui_available() -> bool:
    """Whether this OpenCV build has a HighGUI backend (the headless wheels have none)."""
    import cv2

    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip().upper() not in ("", "NONE")
    return True  # unknown layout: let namedWindow decide


class PreviewSink:
    """Shows frames in a window; :attr:`stop_requested` turns true on ``q``, Esc or closing it.

    Args:
        title: window title.
        keys: extra single-character keys → callbacks, e.g. ``{"b": next_background}``.
    """

    def __init__(self, title: str = "vidmatte", keys: Optional[Mapping[str, Callable[[], None]]] = None):
        import cv2

        if not gui_available():
            raise DeviceError(NO_GUI_MESSAGE)
        if platform.system() == "Linux" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise DeviceError("no preview window: no display ($DISPLAY is unset); run from a desktop session, "
                              "or use --virtual-cam / -o FILE")
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        except cv2.error as exc:
            raise DeviceError(f"no preview window: {str(exc).strip().splitlines()[-1]}") from None
        self._cv2, self.title = cv2, title
        self.keys = {ord(k): fn for k, fn in (keys or {}).items()}
        self.stop_requested = False
        self._open = True

    accepts = ("rgb24",)

    def write(self, frame: Frame) -> None:
        """Show ``frame.image`` and handle the keys pressed since the last frame."""
        if not self._open:
            return
        cv2 = self._cv2
        cv2.imshow(self.title, cv2.cvtColor(as_rgb24(frame.image), cv2.COLOR_RGB2BGR))
        key = cv2.waitKey(1) & 0xFF
        if key in _QUIT_KEYS or cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            self.stop_requested = True
        elif key in self.keys:
            self.keys[key]()

    def close(self) -> None:
        """Close the window (idempotent)."""
        if getattr(self, "_open", False):
            self._open = False
            self._cv2.destroyWindow(self.title)
            self._cv2.waitKey(1)

    def __enter__(self) -> "PreviewSink":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
