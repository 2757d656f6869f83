"""vidmatte: video matting and virtual backgrounds with BiRefNet.

The four-line plugin API::

    import vidmatte
    proc = vidmatte.Processor(vidmatte.load_matter("auto"), background="beach.jpg")
    for frame in frames:            # (H, W, 3) uint8 RGB (bgr=True for OpenCV/OBS frames)
        out = proc(frame)           # (H, W, 3) uint8; RGBA (H, W, 4) without a background

Jobs: :func:`replace`, :func:`matte`, :func:`images`, :func:`webcam`, :func:`batch`. Names are imported on
first use, so ``import vidmatte`` is cheap.
"""

from vidmatte._lazy import attach

__version__ = "0.1.0"

_NAMES = {
    # stages and their parts
    "Frame": "frame", "Matter": "matting", "TorchMatter": "matting", "ChromaKeyMatter": "matting",
    "load_matter": "models.factory", "Processor": "runtime.processor", "Pipeline": "runtime.pipeline",
    "Compositor": "compose.compositor", "parse_background": "compose.backgrounds.spec",
    "make_smoother": "temporal", "open_source": "io.registry", "open_sink": "io.registry",
    # jobs
    "replace": "jobs.files", "matte": "jobs.files", "images": "jobs.stills", "webcam": "jobs.live",
    "batch": "jobs.batches",
    # errors
    "VidmatteError": "errors", "InputError": "errors", "OutputError": "errors", "WeightsError": "errors",
    "DeviceError": "errors",
}
__all__ = ["__version__", *_NAMES]
__getattr__, __dir__ = attach(__name__, globals(), _NAMES)
