"""Our PyTorch BiRefNet (Bilateral Reference Network): Swin backbone, deformable ASPP
decoder, and the :class:`BiRefNetMatter` that runs it behind the Matter protocol.

``network`` composes the parts: ``swin`` (backbone), ``deform`` (deformable convolution
and ASPP), ``blocks`` (decoder blocks, patch stacking), ``decoder``; ``matter`` adds the
pre/post-processing, precision and CUDA-graph replay.
"""

from vidmatte._lazy import attach

_NAMES = {"BiRefNet": "network", "BiRefNetMatter": "matter"}
__all__ = list(_NAMES)
__getattr__, __dir__ = attach(__name__, globals(), _NAMES)
