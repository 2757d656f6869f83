"""The ONNX file's three steps for :mod:`vidmatte.models.export`: trace the network, check it
against torch in onnxruntime, then write the metadata (and convert to float16)."""

from __future__ import annotations

from pathlib import Path

from vidmatte.errors import InputError

__all__ = ["INPUT_NAME", "OUTPUT_NAME", "trace", "check_parity", "finish_graph"]

#: the names of the graph's input and output
INPUT_NAME, OUTPUT_NAME = "input_image", "output_image"

def trace(net, x, path: Path, opset: int, dynamic_batch: bool) -> None:
    import warnings

    import torch

    dyn = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}} if dynamic_batch else None
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings about shape-derived constants: the size is fixed
        try:
            torch.onnx.export(net, (x,), str(path), opset_version=opset, dynamo=False, do_constant_folding=True,
                              input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], dynamic_axes=dyn)
        except ModuleNotFoundError as exc:
            raise InputError(f"the ONNX export needs the `{exc.name}` package: pip install onnx "
                             "(or pip install 'vidmatte[export]')") from None


def check_parity(path: Path, x, ref, fp16: bool) -> tuple[float, float]:
    import numpy as np
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = x.numpy().astype(np.float16 if fp16 else np.float32)
    got = np.asarray(sess.run([OUTPUT_NAME], {INPUT_NAME: feed})[0], dtype=np.float64)
    want = ref.double().numpy()
    if got.shape != want.shape:
        raise InputError(f"the ONNX export gives shape {got.shape}, torch {want.shape}; nothing was written")
    d_logit = float(np.abs(got - want).max())
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    d_alpha = float(np.abs(sig(got) - sig(want)).max())
    return d_logit, d_alpha


def finish_graph(path: Path, meta: dict, doc: str, fp16: bool) -> None:
    """Metadata in; with ``fp16`` the fp32 graph converted to float16 (weights, activations,
    input and output) by onnxruntime's converter, except the deformable convolutions' position,
    modulation and sampling nodes (fp16 positions would be off by up to 1/8 pixel at 1024²)."""
    import onnx

    m = onnx.load(str(path))
    if fp16:
        from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

        keep = [n.name for n in m.graph.node if "/atrous_conv/" in n.name and n.op_type != "Conv"]
        m = convert_float_to_float16(m, keep_io_types=False, op_block_list=list(DEFAULT_OP_BLOCK_LIST),
                                     node_block_list=keep)
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    m.doc_string = doc
    m.producer_name = "vidmatte"
    onnx.save(m, str(path))
