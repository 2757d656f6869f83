"""``--background`` strings → :class:`~vidmatte.compose.backgrounds.base.Background` objects."""

from __future__ import annotations

import os

from typing import TYPE_CHECKING

from vidmatte.errors import InputError
from vidmatte.io.formats import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

if TYPE_CHECKING:
    from vidmatte.compose.backgrounds.base import Background

__all__ = ["parse_background", "as_background", "check_background_spec"]

_SPEC_HELP = "an image or video file, #RRGGBB, R,G,B, a colour name, blur[:SIGMA] or green"


def parse_background(spec: str) -> Background:
    """A CLI ``--background`` string → :class:`Background`.

    Accepted: an image file (``.png``, ``.jpg``, ...), a video file (``.mp4``, ``.mov``,
    ``.webm``, ...; looped), ``#RRGGBB`` / ``#RGB`` / ``R,G,B``, a name from
    :data:`NAMED_COLORS`, ``blur`` or ``blur:SIGMA`` (pixels at 1080p), ``green``.
    Raises :class:`InputError` with a one-line message otherwise.
    """
    s = check_background_spec(spec)
    # the background classes (and torch) load only once the spec is known to be usable
    from vidmatte.compose.backgrounds.blur import BlurBackground
    from vidmatte.compose.backgrounds.image import ImageBackground
    from vidmatte.compose.backgrounds.solid import ColorBackground, GreenBackground
    from vidmatte.compose.backgrounds.video import VideoBackground

    low = s.lower()
    if low == "green":
        return GreenBackground()
    if low == "blur" or low.startswith("blur:"):
        value = low.partition(":")[2]
        if not value:
            return BlurBackground()
        try:
            sigma = float(value)
        except ValueError:
            raise InputError(f"cannot read blur strength {value!r}: use blur or blur:SIGMA, e.g. blur:20") from None
        return BlurBackground(sigma)
    ext = os.path.splitext(low)[1]
    if ext in VIDEO_EXTENSIONS:
        return VideoBackground(s)
    if ext in IMAGE_EXTENSIONS:
        return ImageBackground(s)
    if os.path.isfile(s):  # unknown extension: an image cv2 reads, else a video
        for kind in (ImageBackground, VideoBackground):
            try:
                return kind(s)
            except InputError:
                pass
        raise InputError(f"cannot read background {s}: neither an image nor a video file")
    try:
        return ColorBackground(s)
    except InputError:
        pass
    raise InputError(f"background {s!r} is not a file here nor a colour: give {_SPEC_HELP}")


def check_background_spec(spec: str) -> str:
    """The stripped spec, or one-line :class:`InputError` for an empty spec or a named image /
    video file that is not there. Imports nothing heavy: commands call it before a model loads."""
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(f"empty background: give {_SPEC_HELP}")
    s = spec.strip()
    ext = os.path.splitext(s.lower())[1]
    if ext in VIDEO_EXTENSIONS and not os.path.isfile(s):
        raise InputError(f"background video not found: {s}")
    if ext in IMAGE_EXTENSIONS and not os.path.isfile(s):
        raise InputError(f"background image not found: {s}")
    return s


def as_background(value) -> "Background | None":
    """What the library accepts as a background → ``None`` (transparent) or a Background.

    ``None`` and Background objects (anything callable) pass through; strings and paths go
    to :func:`parse_background`; an RGB tuple becomes a colour.
    """
    if value is None or callable(value):
        return value
    if isinstance(value, (str, os.PathLike)):
        return parse_background(os.fspath(value))
    from vidmatte.compose.backgrounds.solid import ColorBackground

    return ColorBackground(value)
