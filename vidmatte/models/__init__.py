"""Matting models behind the Matter protocol: our BiRefNet (``birefnet/``, weights in
``weights/``), ONNX models through onnxruntime (``onnx``), and :func:`load_matter`
(``factory``), which turns a name or file into a ready matter."""

from vidmatte._lazy import attach

_NAMES = {
    "load_matter": "factory", "BiRefNet": "birefnet.network", "BiRefNetMatter": "birefnet.matter",
    "OnnxMatter": "onnx",
}
__all__ = list(_NAMES)
__getattr__, __dir__ = attach(__name__, globals(), _NAMES)
