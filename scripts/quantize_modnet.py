"""Static int8 (QDQ) quantisation of the bundled MODNet, calibrated on frames the project makes.

Needs the `onnx` package, which vidmatte does not depend on: run it in a throwaway venv::

    python -m venv /tmp/q && /tmp/q/bin/pip install onnx onnxruntime numpy
    .venv/bin/python scripts/quantize_modnet.py calib /tmp/calib.npz      # frames -> model inputs
    /tmp/q/bin/python scripts/quantize_modnet.py quantize /tmp/calib.npz \
        vidmatte/models/data/modnet_photographic_portrait_matting_int8.onnx

``calib`` runs in the project's venv: samples/talk.mp4 at 1280x720 (every 6th frame) and the
busy-background clips of vidmatte/eval/busy.py without a foreground, preprocessed exactly as
OnnxMatter does at long side 384, the size the live default runs the int8 file at (calibrating on
256 and 384 together scored 1.026x/1.030x MODNet-512 on the live gate, onnxruntime/OpenVINO, against
1.021x/1.026x for 384 alone). ``quantize`` upgrades the graph to opset 13 (the
file is opset 11, whose DequantizeLinear has no per-channel axis) after onnxruntime's
pre-processing (constant folding, BatchNorm fused: 26 → 7 MB after quantisation), then quantises weights
int8 per channel and activations uint8 (QDQ, MinMax calibration). Results: docs/live.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "vidmatte" / "models" / "data" / "modnet_photographic_portrait_matting.onnx"


def calib(out: str) -> None:
    import av
    import numpy as np

    from vidmatte.eval.busy import KINDS, busy_picture
    from vidmatte.models.onnx import OnnxMatter

    with av.open(str(ROOT / "samples" / "talk.mp4")) as c:
        imgs = [f.to_ndarray(format="rgb24", width=1280, height=720) for f in c.decode(video=0)][::6]
    imgs += [busy_picture(k, 720, 1280, seed=s) for k in KINDS for s in range(2)]
    xs = []
    for size in (384,):
        m = OnnxMatter(MODEL, preset="modnet", size=size)
        xs += [m.preprocess(im[None]) for im in imgs]
    np.savez(out, *xs)
    print(f"{len(xs)} calibration inputs -> {out}")


def quantize(calib_file: str, out: str) -> None:
    import numpy as np
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    data = np.load(calib_file)
    inputs = [data[k] for k in data.files]
    pre, tmp = Path(out).with_suffix(".pre.onnx"), Path(out).with_suffix(".opset13.onnx")
    quant_pre_process(str(MODEL), str(pre), skip_symbolic_shape=True)  # folds BatchNorm etc.: a smaller file
    onnx.save(version_converter.convert_version(onnx.load(str(pre)), 13), str(tmp))
    pre.unlink()

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(inputs)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {"input": x}

    quantize_static(str(tmp), out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    tmp.unlink()
    print(f"int8 model -> {out} ({Path(out).stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:] or ["help"]
    if cmd == "calib" and len(rest) == 1:
        calib(rest[0])
    elif cmd == "quantize" and len(rest) == 2:
        quantize(*rest)
    else:
        sys.exit(__doc__)
