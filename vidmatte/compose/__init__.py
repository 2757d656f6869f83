"""Compositing: foreground colour estimation, backgrounds, and the compositor.

Pure tensor code in ``(B,C,H,W)`` layout with values in [0, 1]; runs wherever its inputs
live (CPU or GPU). :class:`Compositor` is the stage the processor uses.
"""

from vidmatte._lazy import attach

_NAMES = {
    "estimate_foreground": "blur_fusion", "blur_fusion_radii": "blur_fusion", "BlurFusion": "blur_fusion",
    "estimate_foreground_ml": "ml_foreground",
    "composite": "compositor", "Compositor": "compositor",
    "Background": "backgrounds.base", "ColorBackground": "backgrounds.solid", "GreenBackground": "backgrounds.solid",
    "ImageBackground": "backgrounds.image", "VideoBackground": "backgrounds.video",
    "BlurBackground": "backgrounds.blur", "BROADCAST_GREEN": "backgrounds.solid", "parse_color": "backgrounds.solid",
    "parse_background": "backgrounds.spec", "cover_fit": "backgrounds.base", "cover_geometry": "backgrounds.base",
}
__all__ = list(_NAMES)
__getattr__, __dir__ = attach(__name__, globals(), _NAMES)
