"""Optional packages the refiners need, checked without importing torch (so the command line
says what to install before it reads or loads anything)."""

from __future__ import annotations

import importlib.util

from vidmatte.errors import VidmatteError

__all__ = ["INSTALL_HINT", "require_transformers"]

INSTALL_HINT = '--refine vitmatte needs the optional package transformers: pip install "vidmatte[refine]"'


def require_transformers() -> None:
    """One-line :class:`VidmatteError` saying what to install when transformers is missing."""
    if importlib.util.find_spec("transformers") is None:
        raise VidmatteError(INSTALL_HINT)
