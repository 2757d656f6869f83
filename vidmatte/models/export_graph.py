"""The ONNX file's three steps for :mod:`vidmatte.models.export`: trace the network, check it
against torch in onnxruntime, then write the metadata (and convert to float16)."""

from __future__ import annotations

from pathlib import Path

from vidmatte.errors import InputError

__all__ = ["INPUT_NAME", "OUTPUT_NAME", "trace", "check_parity", "finish_graph", "drop_round_trips"]

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
        drop_round_trips(m, set(keep))
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    m.doc_string = doc
    m.producer_name = "vidmatte"
    onnx.save(m, str(path))


def drop_round_trips(m, fp32_nodes: set) -> int:
    """Remove the float32 → float16 → float32 round trips the converter puts between two nodes it
    keeps in float32; returns how many Casts went.

    onnxruntime's converter casts every kept node's output to float16 and every kept node's input
    back to float32, so a chain of kept nodes (the deformable sampling: positions, modulation,
    GridSample) still rounds each intermediate to float16. Here a ``Cast(to=float32)`` fed by a
    ``Cast(to=float16)`` of a kept node's output is bypassed (its consumers read that float32
    output), and the float16 Cast goes when nothing else reads it. On BiRefNet-lite at 256² this
    takes the alpha error against fp32 from 2.5e-3 to 3.2e-4 (docs/export.md).
    """
    import onnx

    g, f16, f32 = m.graph, onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT
    producer = {o: n for n in g.node for o in n.output}
    outputs = {o.name for o in g.output}

    def cast_to(n, t) -> bool:
        return n.op_type == "Cast" and any(a.name == "to" and a.i == t for a in n.attribute)

    rename, dead = {}, set()
    for k in g.node:  # Cast(to=fp32) of a Cast(to=fp16) of a kept node's output
        down = producer.get(k.input[0]) if cast_to(k, f32) else None
        if down is None or not cast_to(down, f16) or k.output[0] in outputs:
            continue
        src = producer.get(down.input[0])
        if src is not None and src.name in fp32_nodes:
            rename[k.output[0]] = down.input[0]
            dead.add(k.name)
    for n in g.node:
        for j, name in enumerate(n.input):
            if name in rename:
                n.input[j] = rename[name]
    read = {i for n in g.node if n.name not in dead for i in n.input} | outputs
    dead |= {n.name for n in g.node if cast_to(n, f16) and n.output[0] not in read and producer.get(n.input[0]) is not None
             and producer[n.input[0]].name in fp32_nodes}
    alive = [n for n in g.node if n.name not in dead]
    removed = len(g.node) - len(alive)
    del g.node[:]
    g.node.extend(alive)
    return removed
