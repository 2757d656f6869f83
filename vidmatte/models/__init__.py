"""models"""

from vidmatte.models.birefnet import BiRefNet
from vidmatte.models.birefnet_matter import BiRefNetMatter

__all__ = ["BiRefNet", "BiRefNetMatter"]
