"""Compositing: foreground colour estimation, backgrounds, and the compositor.

Pure tensor code in ``(B,C,H,W)`` layout with values in [0, 1]; runs wherever its inputs
live (CPU or GPU). See :class:`Compositor` for the stage the pipeline uses.
"""

from vidmatte.compose.background_spec import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, parse_background
from vidmatte.compose.backgrounds import (
    BROADCAST_GREEN,
    Background,
    ColorBackground,
    GreenBackground,
    ImageBackground,
    cover_fit,
    cover_geometry,
    parse_color,
)
from vidmatte.compose.blur_background import BlurBackground, gaussian_blur
from vidmatte.compose.blur_fusion import BlurFusion, blur_fusion_radii, estimate_foreground
from vidmatte.compose.box import BoxBlur, box_blur
from vidmatte.compose.composite import ALPHA_MODES, FG_ESTIMATIONS, Compositor, composite
from vidmatte.compose.ml_foreground import estimate_foreground_ml, pymatting_available
from vidmatte.compose.video_background import VideoBackground

__all__ = [
    "box_blur",
    "BoxBlur",
    "estimate_foreground",
    "blur_fusion_radii",
    "BlurFusion",
    "estimate_foreground_ml",
    "pymatting_available",
    "Background",
    "ColorBackground",
    "GreenBackground",
    "ImageBackground",
    "VideoBackground",
    "BlurBackground",
    "gaussian_blur",
    "BROADCAST_GREEN",
    "parse_background",
    "parse_color",
    "cover_fit",
    "cover_geometry",
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "composite",
    "Compositor",
    "FG_ESTIMATIONS",
    "ALPHA_MODES",
]
