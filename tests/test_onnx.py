"""OnnxMatter: real MODNet / U²-Net-p from ../shared, and tiny graphs written here byte by byte.

The `onnx` package is not a dependency, so the tiny graphs are serialised with a minimal
protobuf writer (ModelProto field numbers from onnx.proto). They exercise preset detection
and the exact pre/post-processing arithmetic without any weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidmatte.errors import DeviceError, InputError, WeightsError
from vidmatte.matting import IMAGENET_MEAN, IMAGENET_STD, Matter
from vidmatte.models.onnx import OnnxMatter
from onnxwriter import _int, _msg, _value_info

torch.set_num_threads(2)
MODNET = "modnet_photographic_portrait_matting.onnx"


# --- a minimal ONNX writer -------------------------------------------------------------
def _reduce(op: str, src: str, dst: str) -> bytes:
    axes = _msg(1, "axes") + _int(8, 1) + _int(20, 7)  # ints=[1], type INTS
    keep = _msg(1, "keepdims") + _int(3, 1) + _int(20, 2)  # i=1, type INT
    return _msg(1, src) + _msg(2, dst) + _msg(4, op) + _msg(5, axes) + _msg(5, keep)


def write_tiny_onnx(path, in_name, in_dims, outputs):
    """``outputs``: list of ``(name, op)``, op = ReduceMean or ReduceMax over channels."""
    nodes = b"".join(_msg(1, _reduce(op, in_name, name)) for name, op in outputs)
    out_dims = [in_dims[0], 1, in_dims[2], in_dims[3]]
    graph = (nodes + _msg(2, "tiny") + _msg(11, _value_info(in_name, in_dims))
             + b"".join(_msg(12, _value_info(name, out_dims)) for name, _ in outputs))
    path.write_bytes(_int(1, 7) + _msg(8, _int(2, 13)) + _msg(7, graph))  # ir 7, opset 13
    return path


def _solid(h, w, rgb):
    return np.broadcast_to(np.array(rgb, np.uint8), (h, w, 3)).copy()


# --- tiny graphs: detection and exact arithmetic ----------------------------------------
def test_unrecognised_graph_names_the_options(tmp_path):
    path = write_tiny_onnx(tmp_path / "tiny.onnx", "x", [1, 3, 64, 64], [("y", "ReduceMean")])
    with pytest.raises(InputError) as err:
        OnnxMatter(path)
    msg = str(err.value)
    assert "\n" not in msg and "tiny.onnx" in msg
    for option in ("--preset", "--model-size", "--mean", "--std", "--output-index", "--sigmoid"):
        assert option in msg


def test_overrides_make_an_unknown_graph_usable(tmp_path):
    path = write_tiny_onnx(tmp_path / "tiny.onnx", "x", [1, 3, 64, 64], [("y", "ReduceMean")])
    m = OnnxMatter(path, preset="modnet", mean=[0.0], std=[1.0], sigmoid=False)
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    alpha = m.predict(img)
    # mean over channels of x/255, no resize (the model is fixed at 64x64)
    expected = img.astype(np.float64).mean(axis=2) / 255.0
    assert alpha.shape == (1, 1, 64, 64) and alpha.dtype == torch.float32
    np.testing.assert_allclose(alpha[0, 0].numpy(), expected, atol=1e-6)
    with pytest.raises(InputError, match="fixed input size 64x64"):
        OnnxMatter(path, preset="modnet", size=128)
    with pytest.raises(InputError, match="out of range"):
        OnnxMatter(path, preset="modnet", output_index=3)
    with pytest.raises(InputError, match="unknown --preset"):
        OnnxMatter(path, preset="rvm")
    with pytest.raises(InputError, match="--std"):
        OnnxMatter(path, preset="modnet", std=[1.0, 0.0, 1.0])


@pytest.mark.parametrize("outputs", [
    [("output_image", "ReduceMean")],
    [("m4", "ReduceMax"), ("m3", "ReduceMax"), ("m2", "ReduceMax"), ("logits", "ReduceMean")],
])
def test_birefnet_like_graph_sigmoid_of_last_output(tmp_path, outputs):
    path = write_tiny_onnx(tmp_path / "b.onnx", "input_image", [1, 3, 1024, 1024], outputs)
    m = OnnxMatter(path)
    assert m.name == "birefnet" and m.size == (1024, 1024)
    rgb = (200, 30, 90)
    alpha = m.predict(_solid(90, 150, rgb))
    z = np.mean([(c / 255.0 - mu) / sd for c, mu, sd in zip(rgb, IMAGENET_MEAN, IMAGENET_STD)])
    assert alpha.shape == (1, 1, 90, 150)
    np.testing.assert_allclose(alpha.numpy(), 1.0 / (1.0 + np.exp(-z)), atol=1e-5)


def test_isnet_like_graph_first_output_min_max(tmp_path):
    outs = [("d1", "ReduceMean")] + [(f"d{i}", "ReduceMax") for i in range(2, 7)]
    path = write_tiny_onnx(tmp_path / "i.onnx", "input", [1, 3, 1024, 1024], outs)
    m = OnnxMatter(path)
    assert m.name == "isnet"
    ramp = np.tile(np.linspace(20, 220, 1024).astype(np.uint8)[None, :, None], (1024, 1, 3))
    ramp[..., 1] //= 2  # channels differ, the mean is still increasing along x
    got = m.predict(ramp)[0, 0].numpy()
    mean = (ramp / 255.0 - 0.5).mean(axis=2)
    expected = (mean - mean.min()) / (mean.max() - mean.min())
    np.testing.assert_allclose(got, expected, atol=1e-5)


# --- files that are not models ------------------------------------------------------------
def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        OnnxMatter(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf at all \xff\xfe" * 10)
    with pytest.raises(WeightsError, match="not a loadable ONNX model") as err:
        OnnxMatter(bad)
    assert "\n" not in str(err.value)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(WeightsError):
        OnnxMatter(empty)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_cuda_without_cuda(tmp_path):
    path = write_tiny_onnx(tmp_path / "b.onnx", "input_image", [1, 3, 1024, 1024], [("o", "ReduceMean")])
    with pytest.raises(DeviceError):
        OnnxMatter(path, device="cuda")


# --- real models ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def modnet():
    from conftest import shared_path

    return OnnxMatter(shared_path("models", MODNET), threads=2)


@pytest.fixture(scope="module")
def u2netp():
    from conftest import shared_path

    return OnnxMatter(shared_path("models", "u2netp.onnx"), threads=2)


@pytest.fixture(scope="module")
def photo():
    from conftest import shared_path
    from vidmatte.eval.files import read_rgb

    return read_rgb(shared_path("data", "alphamatting", "input", "GT04.png"))


@pytest.mark.shared
def test_modnet_detected_and_sized(modnet):
    assert isinstance(modnet, Matter)
    assert modnet.name == "modnet" and modnet.size == (512, 512)
    assert modnet.run_size((360, 640)) == (288, 512)  # long side 512, multiples of 32
    assert modnet.run_size((563, 800)) == (352, 512)
    assert modnet.run_size((800, 640)) == (512, 416)


@pytest.mark.shared
@pytest.mark.parametrize("hw", [(203, 301), (360, 640), (97, 45)])
def test_modnet_output_any_size(modnet, photo, hw):
    import cv2

    img = cv2.resize(photo, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)
    alpha = modnet.predict(img)
    assert alpha.shape == (1, 1, *hw) and alpha.dtype == torch.float32 and alpha.device.type == "cpu"
    assert 0.0 <= float(alpha.min()) and float(alpha.max()) <= 1.0
    assert float(alpha.max()) - float(alpha.min()) > 0.5  # a real matte, not a flat map


@pytest.mark.shared
def test_modnet_batch_matches_single(modnet, photo):
    a, b = photo[:256, :320], photo[-256:, -320:]
    batch = np.stack([a, b])
    together = modnet.predict(batch)
    single = torch.cat([modnet.predict(a), modnet.predict(b)])
    assert together.shape == (2, 1, 256, 320)
    torch.testing.assert_close(together, single, atol=1e-4, rtol=0)
    torch.testing.assert_close(modnet.predict(torch.from_numpy(batch)), together, atol=0, rtol=0)  # torch = numpy
    with pytest.raises(ValueError, match="channels-first"):  # the contract is (B,H,W,3): no silent guess
        modnet.predict(torch.from_numpy(batch).permute(0, 3, 1, 2))


@pytest.mark.shared
def test_modnet_smaller_model_size(photo):
    from conftest import shared_path

    m = OnnxMatter(shared_path("models", MODNET), size=320, threads=2)
    assert m.run_size(photo.shape[:2]) == (224, 320)
    assert m.predict(photo).shape == (1, 1, *photo.shape[:2])


@pytest.mark.shared
def test_u2netp_detected_fixed_batch_one(u2netp, photo):
    assert u2netp.name == "u2net" and u2netp.size == (320, 320)
    assert u2netp._fixed_batch
    a, b = photo[:300, :400], photo[-200:, -400:]
    both = u2netp.predict(np.stack([a[:200], b]))  # per-image runs under the hood
    torch.testing.assert_close(both[1:], u2netp.predict(b), atol=1e-5, rtol=0)
    raw = u2netp.postprocess(u2netp.forward(u2netp.preprocess(a[None])), (320, 320))
    assert float(raw.min()) == pytest.approx(0.0, abs=1e-6)  # min-max stretched
    assert float(raw.max()) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(InputError, match="fixed input size 320x320"):
        OnnxMatter(u2netp.path, size=512)
