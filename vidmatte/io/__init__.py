"""Reading and writing media with PyAV: sources, sinks, alpha formats, audio passthrough."""

from vidmatte.io.atomic import AtomicTarget, atomic_path, check_output_path
from vidmatte.io.audio import AudioPassthrough
from vidmatte.io.formats import PRESETS, Preset, pack_frame
from vidmatte.io.image_sources import ImageSequenceSource, ImageSource
from vidmatte.io.sequence import ImageSequenceSink
from vidmatte.io.sinks import VideoSink, open_sink
from vidmatte.io.sources import VideoSource, open_source
from vidmatte.io.stills import read_image, write_image
from vidmatte.io.yuv import RgbToYuv420, Yuv420, rgb_to_yuv420

__all__ = [
    "VideoSource",
    "ImageSource",
    "ImageSequenceSource",
    "open_source",
    "VideoSink",
    "ImageSequenceSink",
    "open_sink",
    "Preset",
    "PRESETS",
    "pack_frame",
    "AudioPassthrough",
    "AtomicTarget",
    "atomic_path",
    "check_output_path",
    "read_image",
    "write_image",
    "Yuv420",
    "rgb_to_yuv420",
    "RgbToYuv420",
]
