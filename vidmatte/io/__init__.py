"""Reading and writing media with PyAV. The package mirrors the objects of the domain:

* **the registry**: ``registry`` (the Source/Sink interfaces; kinds opened by name, one error
  listing what was tried);
* **sources**: ``sources`` (video files: ``VideoSource``), ``image_sources`` (stills and
  image sequences; ``sequence_files`` lists a sequence's files), ``capture`` and ``cameras``
  (live: newest frame wins), ``pipes`` (stdin and stdout); what sources repair on the way:
  ``convert`` (the one frame → RGB conversion), ``hdr`` (PQ/HLG tone mapping),
  ``deinterlace``, ``orientation`` (EXIF), ``size_changes``, ``damage`` (lost frames);
* **sinks**: ``sinks`` (video files: ``VideoSink``; ``encoders`` picks the codec, ``packing``
  turns pixels into encoder frames, ``threaded`` moves the encoder to its own thread),
  ``sequence`` (PNG/TIFF/EXR sequences), ``virtualcam``, ``preview``, ``retime``
  (recordings of live runs);
* **what an output keeps of its input**: ``audio`` (which streams fit the container, timing
  checks), ``passthrough`` (copies or re-encodes them into the output), ``carry`` (tags,
  chapters, attachments);
* **plain tables and helpers**: ``formats`` (codecs, containers, alpha), ``stills`` (the one
  image reader/writer), ``planes`` (a frame's YUV planes), ``atomic`` (temp file + rename).
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
