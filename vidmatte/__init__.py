"""vidmatte: video matting and virtual backgrounds with BiRefNet."""

from vidmatte.errors import DeviceError, InputError, OutputError, VidmatteError, WeightsError
from vidmatte.frame import Frame
from vidmatte.jobs import images, matte, replace
from vidmatte.matting import ChromaKeyMatter, Matter, TorchMatter
from vidmatte.models.factory import load_matter
from vidmatte.pipeline import Pipeline
from vidmatte.processor import Processor

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "Frame",
    "load_matter",
    "replace",
    "matte",
    "images",
    "Pipeline",
    "Processor",
    "Matter",
    "TorchMatter",
    "ChromaKeyMatter",
    "VidmatteError",
    "InputError",
    "OutputError",
    "WeightsError",
    "DeviceError",
]
