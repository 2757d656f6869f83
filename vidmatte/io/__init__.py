"""Reading and writing media with PyAV: sources, sinks, stills, audio passthrough.

``registry`` holds the Source/Sink interfaces and opens either by name; ``sources`` (video
files), ``image_sources`` (stills, sequences), ``capture`` and ``cameras`` (live) read;
``sinks`` (video), ``sequence`` (PNG/EXR), ``virtualcam``, ``preview`` write; ``formats``
(tables), ``packing`` (pixels → encoder frames), ``audio``, ``atomic`` (temp file + rename)
and ``stills`` (the one image reader/writer) serve them.
"""

from vidmatte._lazy import attach

_NAMES = {
    "open_source": "registry", "open_sink": "registry", "register_source": "registry",
    "register_sink": "registry", "Source": "registry", "Sink": "registry",
    "VideoSource": "sources", "ImageSource": "image_sources", "ImageSequenceSource": "image_sources",
    "LiveSource": "capture", "VideoSink": "sinks", "ImageSequenceSink": "sequence",
    "VirtualCamSink": "virtualcam", "PreviewSink": "preview", "RetimedSink": "retime",
    "Preset": "formats", "PRESETS": "formats", "pack_frame": "packing", "StreamPassthrough": "passthrough",
    "AtomicTarget": "atomic", "atomic_path": "atomic", "check_output_path": "atomic",
    "read_image": "stills", "write_image": "stills",
}
__all__ = list(_NAMES)
__getattr__, __dir__ = attach(__name__, globals(), _NAMES)
