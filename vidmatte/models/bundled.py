"""The model shipped inside the package: MODNet portrait matting (ONNX, Apache-2.0).

Its licence and provenance are in ``LICENSES/MODNet-NOTICE.md``. Torch-free, so listing
models does not load a runtime.
"""

from __future__ import annotations

from pathlib import Path

from vidmatte.errors import WeightsError

__all__ = ["BUNDLED_MODNET", "bundled_model_path", "BUNDLED_LICENCE"]

BUNDLED_MODNET = Path(__file__).with_name("data") / "modnet_photographic_portrait_matting.onnx"
BUNDLED_LICENCE = "Apache-2.0"


def bundled_model_path() -> Path:
    """The bundled MODNet file; a WeightsError if the installation lost it."""
    if not BUNDLED_MODNET.is_file():
        raise WeightsError(f"the bundled model {BUNDLED_MODNET} is missing; reinstall vidmatte "
                           "(pip install --force-reinstall vidmatte)")
    return BUNDLED_MODNET
