"""vidmatte: video matting and virtual backgrounds with BiRefNet."""

from vidmatte.errors import DeviceError, InputError, OutputError, VidmatteError, WeightsError
from vidmatte.frame import Frame
from vidmatte.matting import ChromaKeyMatter, Matter, TorchMatter

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "Frame",
    "Matter",
    "TorchMatter",
    "ChromaKeyMatter",
    "VidmatteError",
    "InputError",
    "OutputError",
    "WeightsError",
    "DeviceError",
]
