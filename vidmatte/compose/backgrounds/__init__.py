"""Backgrounds to composite onto: colour, image, looped video, blur of the frame, green.

``base`` holds the interface; each kind has its own module; ``spec`` turns a user string
(``beach.jpg``, ``#2060ff``, ``blur:20``, ``green``) into one of them and is the only module
that knows every kind.
"""

from vidmatte._lazy import attach

_NAMES = {
    "Background": "base", "cover_geometry": "base", "cover_fit": "base",
    "ColorBackground": "solid", "GreenBackground": "solid", "parse_color": "solid",
    "BROADCAST_GREEN": "solid", "NAMED_COLORS": "solid",
    "ImageBackground": "image", "VideoBackground": "video", "BlurBackground": "blur",
    "parse_background": "spec",
}
__all__ = list(_NAMES)
__getattr__, __dir__ = attach(__name__, globals(), _NAMES)
