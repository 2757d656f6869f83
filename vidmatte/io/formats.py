"""What vidmatte reads and writes, as plain tables (no codec library is imported here).

* :data:`IMAGE_EXTENSIONS`, :data:`VIDEO_EXTENSIONS`: files taken as stills / videos
  (inputs, backgrounds, evaluation).
* :data:`PRESETS`: how each output kind is encoded; :data:`MUXERS` and
  :data:`DEFAULT_PRESET`: container by extension; :data:`ALPHA_CONTAINERS`: the containers
  that carry alpha and the preset written there; :data:`SEQUENCE_FORMATS`: image sequences;
  :data:`DEFAULT_ALPHA_MODE`: straight or premultiplied colour, per output format.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "SEQUENCE_FORMATS", "SEQUENCE_EXTENSIONS", "Preset", "PRESETS", "CODEC_SPEEDS",
    "MUXERS", "DEFAULT_PRESET", "ALPHA_CONTAINERS", "codec_options", "DEFAULT_ALPHA_MODE", "alpha_mode_for",
    "VIDEO_FORMATS", "MATTE_FORMATS",
]

#: stills FFmpeg's image decoders read (inputs, sequences, backgrounds, ground truth)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".exr", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".dpx")
#: files opened as video (backgrounds are looped)
VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".gif", ".ts")
#: image-sequence outputs
SEQUENCE_FORMATS = ("png", "exr", "tiff")
#: file extension (no dot) → sequence format
SEQUENCE_EXTENSIONS = {"png": "png", "exr": "exr", "tif": "tiff", "tiff": "tiff"}
#: colour in RGBA outputs unless asked otherwise: EXR is premultiplied by convention (OpenEXR;
#: what Nuke and Resolve assume), the others keep straight colour
DEFAULT_ALPHA_MODE = {"exr": "premultiplied"}


def alpha_mode_for(format: str) -> str:
    """The alpha mode written to ``format`` (``"exr"``, ``"png"``, ``"prores"``, ...) by default.

    >>> alpha_mode_for("exr"), alpha_mode_for("png")
    ('premultiplied', 'straight')
    """
    return DEFAULT_ALPHA_MODE.get(format, "straight")


@dataclass(frozen=True)
class Preset:
    """How one output kind is encoded."""

    name: str
    codec: str
    pix_fmt: str
    extensions: tuple[str, ...]
    alpha: bool = False  # the file carries an alpha channel
    matte: bool = False  # the picture *is* the alpha (greyscale)
    even: bool = False  # the codec needs even width/height
    accepts: tuple[str, ...] = ("rgb24", "yuv420p")  # frame pixel formats taken, preferred first


PRESETS: dict[str, Preset] = {
    "h264": Preset("h264", "libx264", "yuv420p", (".mp4", ".mkv", ".mov", ".m4v"), even=True),
    "prores": Preset("prores", "prores_ks", "yuva444p10le", (".mov", ".mkv"), alpha=True,
                     accepts=("rgba", "rgba64", "rgb24", "rgb48")),
    "webm": Preset("webm", "libvpx-vp9", "yuva420p", (".webm", ".mkv"), alpha=True, accepts=("rgba", "rgb24")),
    "alpha": Preset("alpha", "libx264", "yuv420p", (".mp4", ".mkv", ".mov", ".m4v"), matte=True, even=True,
                    accepts=("gray", "rgba")),
}
#: ``--format`` of composites (``replace``): the presets that are not a matte
VIDEO_FORMATS = tuple(name for name, p in PRESETS.items() if not p.matte)
#: ``--format`` of plates (``matte``, ``batch --matte``): videos with alpha or a matte, and image sequences
MATTE_FORMATS = tuple(name for name, p in PRESETS.items() if p.alpha or p.matte) + SEQUENCE_FORMATS

#: x264 preset names → libvpx ``cpu-used`` (higher is faster)
CODEC_SPEEDS = {"placebo": 0, "veryslow": 0, "slower": 1, "slow": 2, "medium": 3, "fast": 4,
                "faster": 5, "veryfast": 6, "superfast": 7, "ultrafast": 8}


def codec_options(preset: Preset, crf: int, speed: str) -> dict[str, str]:
    """Encoder options for ``preset`` at quality ``crf`` and x264-style ``speed``."""
    if preset.codec == "libx264":
        return {"crf": str(crf), "preset": speed}
    if preset.codec == "libvpx-vp9":
        return {"crf": str(crf), "b": "0", "deadline": "good", "row-mt": "1",
                "cpu-used": str(CODEC_SPEEDS.get(speed, 3))}
    if preset.codec == "prores_ks":
        return {"profile": "4444", "vendor": "apl0", "alpha_bits": "16"}
    return {}


#: container (muxer) by output extension
MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}
#: preset written to each extension when nothing else is asked
DEFAULT_PRESET = {".mp4": "h264", ".m4v": "h264", ".mov": "h264", ".mkv": "h264", ".webm": "webm"}
#: containers that carry alpha → the alpha preset written there
ALPHA_CONTAINERS = {".mov": "prores", ".webm": "webm", ".mkv": "prores"}
