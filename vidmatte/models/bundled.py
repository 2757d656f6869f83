"""The model shipped inside the package: MODNet portrait matting (ONNX, Apache-2.0), in two
precisions: float32 (file jobs) and int8 (live on a CPU; made from the float32 file by
``scripts/quantize_modnet.py``, byte-identical on reruns).

Licence and provenance of both are in ``LICENSES/MODNet-NOTICE.md``. Torch-free, so listing
models does not load a runtime.
"""

from __future__ import annotations

from pathlib import Path

from vidmatte.errors import WeightsError

__all__ = ["BUNDLED_MODNET", "BUNDLED_MODNET_INT8", "bundled_model_path", "BUNDLED_LICENCE", "PRECISIONS"]

BUNDLED_MODNET = Path(__file__).with_name("data") / "modnet_photographic_portrait_matting.onnx"
BUNDLED_MODNET_INT8 = BUNDLED_MODNET.with_name("modnet_photographic_portrait_matting_int8.onnx")
BUNDLED_LICENCE = "Apache-2.0"
#: precision → bundled file
PRECISIONS = {"fp32": BUNDLED_MODNET, "int8": BUNDLED_MODNET_INT8}


def bundled_model_path(precision: str = "fp32") -> Path:
    """The bundled MODNet file in ``precision`` (``fp32`` or ``int8``); a WeightsError if the
    installation lost it."""
    path = PRECISIONS[precision]
    if not path.is_file():
        raise WeightsError(f"the bundled model {path} is missing; reinstall vidmatte "
                           "(pip install --force-reinstall vidmatte)")
    return path
