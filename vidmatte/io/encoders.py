"""Hardware video encoders: NVENC when the GPU has one, libx264 otherwise.

On a CUDA run the H.264 sink asks :func:`hardware_encoder` whether ``h264_nvenc`` opens
here (it needs an NVIDIA GPU with an encoder block and FFmpeg built with NVENC; PyAV's
wheels are). The answer is probed once per process with a tiny test open, so a machine
without NVENC (a CPU, or a data-centre GPU such as the H100/H200 that has no encoder
hardware) falls back to libx264 at once, and :data:`PROBED` keeps why.

Quality: x264's ``crf`` maps to NVENC's constant-quality ``cq`` in VBR mode, and the x264
speed names map to NVENC presets p1 (fastest) … p7 (slowest).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

__all__ = ["hardware_encoder", "nvenc_options", "PROBED", "HARDWARE_FOR"]

#: software codec → hardware encoders tried for it, in order
HARDWARE_FOR = {"libx264": ("h264_nvenc",), "libx265": ("hevc_nvenc",)}
_NVENC_PRESET = {"ultrafast": "p1", "superfast": "p1", "veryfast": "p2", "faster": "p3", "fast": "p3",
                 "medium": "p4", "slow": "p5", "slower": "p6", "veryslow": "p7", "placebo": "p7"}
#: encoder name → None when it opened, else the reason it did not
PROBED: dict[str, Optional[str]] = {}


def nvenc_options(crf: int, speed: str) -> dict[str, str]:
    """NVENC options equivalent to x264's ``crf`` and speed preset name."""
    return {"preset": _NVENC_PRESET.get(speed, "p4"), "tune": "hq", "rc": "vbr", "cq": str(crf), "b": "0"}


def _probe(name: str) -> Optional[str]:
    import av

    if name not in av.codecs_available:
        return "not in this FFmpeg build"
    try:
        ctx = av.CodecContext.create(name, "w")
        ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = 256, 256, "yuv420p", Fraction(1, 30)
        ctx.open()
        ctx.close()
    except Exception as exc:  # no GPU, no encoder block, driver without NVENC: any failure means no
        return f"{type(exc).__name__}: {exc}"
    return None


def hardware_encoder(codec: str) -> Optional[str]:
    """The first hardware encoder for software ``codec`` that opens here, or ``None``."""
    for name in HARDWARE_FOR.get(codec, ()):
        if name not in PROBED:
            PROBED[name] = _probe(name)
        if PROBED[name] is None:
            return name
    return None
