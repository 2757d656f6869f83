"""`vidmatte export onnx`: the traceable deformable conv and attention, exported fill-rule
checkpoints reproducing ../shared/birefnet's reference logits in onnxruntime, fp16, metadata
read by the ONNX backend, a job through it, and bad input (one line, exit 2, no file)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import shared_path as shared
from torchvision.ops import deform_conv2d

from vidmatte.errors import InputError, OutputError, WeightsError
from vidmatte.models.birefnet.deform import DeformableConv2d, deform_conv2d_sample
from vidmatte.models.birefnet.swin import SwinBlock

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

LOGITS_TOL = 1e-4  # ../shared/birefnet/README.md: logits max abs diff, fp32


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="2")
    return subprocess.run([sys.executable, "-m", "vidmatte_cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def _one_line_error(res: subprocess.CompletedProcess) -> str:
    err = "\n".join(line for line in res.stderr.strip().splitlines() if not line.startswith("export: "))  # progress
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    assert "Traceback" not in err and err.startswith("vidmatte: error:") and len(err.splitlines()) == 1, err
    return err


def _no_leftovers(folder: Path) -> None:
    assert [p.name for p in folder.iterdir() if p.suffix == ".onnx" or ".partial-" in p.name] == []


# --- the traceable forms, eager and traced --------------------------------------------------

@pytest.mark.parametrize("k,b,h,w", [(1, 1, 9, 11), (3, 2, 12, 10), (7, 1, 16, 13), (3, 1, 1, 1)])
def test_deform_sample_equals_torchvision(k, b, h, w):
    g = torch.Generator().manual_seed(k)
    x = torch.randn(b, 5, h, w, generator=g)
    off = 3 * torch.randn(b, 2 * k * k, h, w, generator=g)      # reaches well outside the image
    mask = 2 * torch.rand(b, k * k, h, w, generator=g)
    wt, bias = torch.randn(6, 5, k, k, generator=g), torch.randn(6, generator=g)
    ref = deform_conv2d(x, off, wt, bias, padding=(k // 2, k // 2), mask=mask)
    out = deform_conv2d_sample(x, off, mask, wt, bias, k // 2)
    assert out.shape == ref.shape and (out - ref).abs().max() < 1e-4


def _onnx_run(module: torch.nn.Module, *xs: torch.Tensor, dynamic: bool = False, feed=None) -> np.ndarray:
    f = io.BytesIO()
    names = [f"x{i}" for i in range(len(xs))]
    dyn = {n: {0: "b"} for n in names} if dynamic else None
    with torch.no_grad():
        torch.onnx.export(module, xs, f, opset_version=17, dynamo=False, input_names=names, dynamic_axes=dyn)
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    return sess.run(None, {n: t.numpy() for n, t in zip(names, feed or xs)})[0]


@pytest.mark.parametrize("k", [1, 3, 7])
def test_deformable_conv_exports(k):
    """The gather path's ``mm(out=buffer[slice])`` is lost by a trace (the branch came out as
    zeros, logits off by 0.8); while tracing the module takes the sampling path."""
    torch.manual_seed(k)
    dc = DeformableConv2d(16, 8, k, k // 2).eval()
    with torch.no_grad():
        dc.offset_conv.weight.mul_(20)  # offsets of several pixels
    x = torch.randn(1, 16, 12, 14)
    with torch.no_grad():
        ref = dc(x)
    assert ref.abs().max() > 0.1
    assert np.abs(_onnx_run(dc, x) - ref.numpy()).max() < 1e-4


def test_shifted_window_block_exports_with_dynamic_batch():
    torch.manual_seed(0)
    blk = SwinBlock(24, 3, 7, 3).eval()
    x1, x2 = torch.randn(1, 16, 20, 24), torch.randn(3, 16, 20, 24)
    with torch.no_grad():
        ref = blk(x2)
    got = _onnx_run(blk, x1, dynamic=True, feed=[x2])  # traced at batch 1, run at batch 3
    assert got.shape == ref.shape and np.abs(got - ref.numpy()).max() < 1e-4


# --- exported fill-rule checkpoints against the reference vectors --------------------------

def _fill_file(tmp_path_factory, variant: str) -> Path:
    from fillrule import build_fill_state_dict
    from safetensors.torch import save_file

    rows = json.loads(shared("birefnet", f"{variant}_keys.json").read_text())
    path = tmp_path_factory.mktemp(f"{variant}_ckpt") / f"{variant}_fill.safetensors"
    save_file({k: v.contiguous() for k, v in build_fill_state_dict(rows).items()}, str(path))
    return path


def _vector(name: str) -> dict:
    from safetensors.torch import load_file

    return load_file(str(shared("birefnet", f"{name}.safetensors")))


def _ort(path: Path, x: torch.Tensor, dtype=np.float32) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(sess.run(["output_image"], {"input_image": x.numpy().astype(dtype)})[0], np.float32)


@pytest.fixture(scope="module")
def lite_file(tmp_path_factory) -> Path:
    return _fill_file(tmp_path_factory, "lite")


@pytest.fixture(scope="module")
def lite_onnx(lite_file, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The lite fill-rule checkpoint exported at vector A's size through the command line."""
    out = tmp_path_factory.mktemp("export") / "lite256.onnx"
    res = run_cli("export", "onnx", "--model", str(lite_file), "--size", "256", "--patch-order", "current",
                  "-o", str(out))
    assert res.returncode == 0, res.stderr[-3000:]
    return out, res


@pytest.mark.shared
@pytest.mark.slow
def test_cli_export_lite_reproduces_reference_logits(lite_onnx):
    path, res = lite_onnx
    summary = res.stdout.strip()
    assert len(summary.splitlines()) == 1 and "256x256 fp32" in summary and "opset 17" in summary
    assert "parity vs torch fp32" in summary and "max |Δalpha|" in summary
    assert "export: tracing" in res.stderr and "export: parity check" in res.stderr  # progress lines
    model = onnx.load(str(path))
    domains = {op.domain for op in model.opset_import}
    assert domains <= {"", "ai.onnx"} and {n.domain for n in model.graph.node} <= {"", "ai.onnx"}  # standard ops only
    assert "GridSample" in {n.op_type for n in model.graph.node}
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["vidmatte.family"] == "birefnet" and meta["vidmatte.input_size"] == "256x256"
    assert meta["vidmatte.patch_order"] == "current" and meta["vidmatte.output"] == "logits"
    assert meta["vidmatte.mean"] == "0.485,0.456,0.406" and meta["vidmatte.std"] == "0.229,0.224,0.225"
    t = _vector("lite_A_1x256x256")
    got = _ort(path, t["input"])
    assert got.shape == (1, 1, 256, 256)
    assert np.abs(got - t["logits"].numpy()).max() <= LOGITS_TOL


@pytest.mark.shared
@pytest.mark.slow
def test_exported_dynamic_batch_reproduces_batch_two_vector(lite_file, tmp_path):
    """Vector C: batch 2, 128x192 (non-square; the half-res pass ends at 2x3), legacy order."""
    from vidmatte.models.export import export_onnx

    res = export_onnx("lite", tmp_path / "c.onnx", weights=lite_file, size=(128, 192), dynamic_batch=True)
    assert res.parity_alpha is not None and res.parity_alpha < 1e-5 and res.patch_order == "legacy"
    t = _vector("lite_C_2x128x192")
    got = _ort(res.path, t["input"])
    assert got.shape == (2, 1, 128, 192)
    assert np.abs(got - t["logits_legacy_patch_order"].numpy()).max() <= LOGITS_TOL
    one = _ort(res.path, t["input"][1:])  # the batch axis is free: batch 1 too
    assert np.abs(one - got[1:]).max() < 1e-5


@pytest.mark.shared
@pytest.mark.slow
def test_fp16_export_stays_close_to_fp32(lite_onnx, lite_file, tmp_path):
    """The fp16 step of `export --fp16` (finish_graph) on the fixture's traced fp32 graph: one trace
    fewer in CI. The end-to-end `export_onnx(fp16=True)` adds only the trace and this check."""
    import shutil

    from vidmatte.models.export_graph import check_parity, finish_graph
    from vidmatte.models.weights.loader import load_birefnet

    path = tmp_path / "h.onnx"
    shutil.copy(lite_onnx[0], path)
    finish_graph(path, {"vidmatte.dtype": "fp16"}, "fp16 test", fp16=True)
    net, _ = load_birefnet("lite", weights=lite_file, patch_order="current")
    x = torch.randn(1, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        ref = net.eval().fuse_for_inference()(x)
    _, d_alpha = check_parity(path, x, ref, fp16=True)  # fp16 file (fp16 input) against torch fp32
    assert d_alpha <= 2e-3, d_alpha
    model = onnx.load(str(path))
    assert {p.key: p.value for p in model.metadata_props}["vidmatte.dtype"] == "fp16"
    big = [i for i in model.graph.initializer if np.prod(i.dims) > 4096]
    assert big and all(i.data_type == onnx.TensorProto.FLOAT16 for i in big)   # weights really are fp16
    assert path.stat().st_size < 0.6 * lite_onnx[0].stat().st_size
    x = _vector("lite_A_1x256x256")["input"]
    fp32, fp16 = _ort(lite_onnx[0], x), _ort(path, x, np.float16)
    sig = lambda a: 1 / (1 + np.exp(-a.astype(np.float64)))  # noqa: E731
    d = np.abs(sig(fp16) - sig(fp32))
    # measured on this fill-rule net (|logit| <= 2.5): alpha max 3.4e-4, mean 7.4e-5 (docs/export.md)
    assert d.max() <= 2e-3 and d.mean() <= 2e-4, (d.max(), d.mean())
    assert np.abs(fp16 - fp32).max() <= 1e-2
    producer = {o: n for n in model.graph.node for o in n.output}
    grid = [n for n in model.graph.node if n.op_type == "GridSample"]
    assert len(grid) == 60  # 5 deformable ASPPs x (1 + 1 + 3 + 7 kernel rows)
    for n in grid:  # sampling kept in fp32: its image input is cast up from the fp16 activations
        cast = producer[n.input[0]]
        assert cast.op_type == "Cast" and cast.attribute[0].i == onnx.TensorProto.FLOAT, n.name
        pos = producer[n.input[1]]  # its positions come from fp32 nodes straight, not via an fp16 round trip
        assert not (pos.op_type == "Cast" and producer[pos.input[0]].op_type == "Cast"), n.name


@pytest.mark.shared
@pytest.mark.slow
def test_full_export_reproduces_reference_logits(tmp_path):
    """The full (Swin-L) fill-rule net, built in memory (no 880 MB file written and read back)."""
    from fillrule import build_fill_state_dict

    from vidmatte.models.birefnet.network import BiRefNet
    from vidmatte.models.export import export_network

    rows = json.loads(shared("birefnet", "full_keys.json").read_text())
    net = BiRefNet(variant="full", patch_order="current")
    net.load_state_dict({k: v.float() if v.is_floating_point() else v
                         for k, v in build_fill_state_dict(rows).items()}, strict=True)
    res = export_network(net.eval(), tmp_path / "full.onnx", (256, 256), checkpoint="general")
    assert res.variant == "full" and res.parity_alpha < 1e-5
    del net
    t = _vector("full_A_1x256x256")
    assert np.abs(_ort(res.path, t["input"]) - t["logits"].numpy()).max() <= LOGITS_TOL


# --- through vidmatte's ONNX backend ---------------------------------------------------------

@pytest.mark.shared
@pytest.mark.slow
def test_exported_model_runs_an_image_job_without_flags(lite_onnx, tmp_path):
    """`vidmatte image --model exported.onnx`: the metadata choose the BiRefNet preset (ImageNet
    mean/std, sigmoid); the alpha equals a by-hand run of the same file."""
    import cv2

    from vidmatte.models.onnx import OnnxMatter

    path = lite_onnx[0]
    matter = OnnxMatter(path)
    assert matter.name == "birefnet" and matter.preset.sigmoid and matter.size == (256, 256)
    assert matter.preset.mean == (0.485, 0.456, 0.406) and matter.preset.std == (0.229, 0.224, 0.225)
    yy, xx = np.mgrid[0:300, 0:400]
    img = np.stack([(xx * 255 // 400), (yy * 255 // 300), ((xx + yy) % 256)], -1).astype(np.uint8)
    src, out = tmp_path / "in.png", tmp_path / "cut.png"
    cv2.imwrite(str(src), img[..., ::-1])
    res = run_cli("image", str(src), "--model", str(path), "--refine", "none", "-o", str(out), timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rgba = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (300, 400, 4)
    # by hand: area-resize to 256², ImageNet normalisation, the session, sigmoid, bilinear back
    x = cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    x = (x - np.float32([0.485, 0.456, 0.406])) / np.float32([0.229, 0.224, 0.225])
    logits = _ort(path, torch.from_numpy(x.transpose(2, 0, 1)[None].copy()))[0, 0]
    alpha = cv2.resize(1 / (1 + np.exp(-logits)), (400, 300), interpolation=cv2.INTER_LINEAR)
    assert np.abs(rgba[..., 3].astype(np.float32) / 255 - alpha).max() <= 2 / 255
    assert alpha.std() > 0.01  # not a constant matte


# --- bad input: one line, exit 2, no file -------------------------------------------------------

def _main(capsys, *args: str) -> str:
    """``vidmatte ARGS`` in this process (the real entry point, without a fresh interpreter
    per case); returns its one error line after checking exit 2 and no traceback."""
    from vidmatte_cli.main import main

    code = main(list(args))
    cap = capsys.readouterr()
    return _one_line_error(subprocess.CompletedProcess(args, code, cap.out, cap.err))


def test_cli_rejects_bad_input_with_one_line(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert "multiple of 32" in _one_line_error(run_cli("export", "onnx", "--size", "250", "-o", str(out)))
    assert "unknown model 'nosuch'" in _main(capsys, "export", "onnx", "--model", "nosuch", "-o", str(out))
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1" + b"\0" * 64)
    assert "corrupt" in _main(capsys, "export", "onnx", "--model", str(bad), "-o", str(out))
    junk = tmp_path / "junk.pth"
    junk.write_bytes(os.urandom(256))
    assert "junk.pth" in _main(capsys, "export", "onnx", "--model", str(junk), "-o", str(out))
    missing = tmp_path / "nope.safetensors"
    assert "not found" in _main(capsys, "export", "onnx", "--model", str(missing), "-o", str(out))
    assert "does not exist" in _main(capsys, "export", "onnx", "-o", str(tmp_path / "no" / "such" / "m.onnx"))
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    _main(capsys, "export", "onnx", "-o", str(blocker / "m.onnx"))
    assert "already an ONNX model" in _main(capsys, "export", "onnx", "--model", "x.onnx", "-o", str(out))
    _no_leftovers(tmp_path)


def test_existing_output_needs_overwrite(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"old")
    assert "--overwrite" in _main(capsys, "export", "onnx", "--model", "nosuch", "-o", str(out))
    assert out.read_bytes() == b"old"


def test_a_failed_write_leaves_no_partial_file(lite_file, tmp_path, monkeypatch):
    """The disk fills during the trace: one OutputError, the partial file is removed."""
    import errno

    from vidmatte.models import export

    def trace(net, x, path, opset, dynamic_batch):
        Path(path).write_bytes(b"half an onnx file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export, "trace", trace)
    with pytest.raises(OutputError, match="No space left"):
        export.export_onnx("lite", tmp_path / "m.onnx", weights=lite_file, size=64, parity=False)
    _no_leftovers(tmp_path)
    with pytest.raises(InputError, match="multiple of 32"):
        export.export_onnx("lite", tmp_path / "m.onnx", weights=lite_file, size=(64, 80))
    with pytest.raises(WeightsError, match="not a BiRefNet matting model"):
        export.export_onnx("vitmatte-small", tmp_path / "m.onnx")
    _no_leftovers(tmp_path)


def _tiny_onnx(path: Path, meta: dict) -> Path:
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.full((1, 3, 1, 1), 0.5, np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["input", "w"], ["output"])], "tiny",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 64, 96])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, 64, 96])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for k, v in meta.items():
        p = model.metadata_props.add()
        p.key, p.value = k, v
    onnx.save(model, str(path))
    return path


def test_backend_reads_the_metadata(tmp_path):
    """Without metadata this graph (input/output names, fixed 64x96) is read as MODNet and its
    logits are refused; the vidmatte.* keys make it BiRefNet with their mean/std and a sigmoid;
    bad values are one line."""
    from vidmatte.models.onnx import OnnxMatter

    with pytest.raises(InputError, match="not a matte in"):  # read as MODNet, its logits are refused
        OnnxMatter(_tiny_onnx(tmp_path / "plain.onnx", {}))
    meta = {"vidmatte.family": "birefnet", "vidmatte.mean": "0.5,0.4,0.3", "vidmatte.std": "0.2,0.2,0.25",
            "vidmatte.input_size": "96x64", "vidmatte.output": "logits"}  # WxH
    m = OnnxMatter(_tiny_onnx(tmp_path / "meta.onnx", meta))
    assert m.name == "birefnet" and m.preset.sigmoid and m.size == (64, 96)
    assert m.preset.mean == (0.5, 0.4, 0.3) and m.preset.std == (0.2, 0.2, 0.25)
    img = np.full((1, 64, 96, 3), 255, np.uint8)   # x = 1: (1 - mean) / std = 2.5, 3, 2.8; conv 0.5 * sum
    assert np.allclose(m.predict_array(img), 1 / (1 + np.exp(-0.5 * (2.5 + 3 + 2.8))), atol=1e-5)
    from vidmatte.models.factory import load_matter

    assert load_matter(str(tmp_path / "meta.onnx"), device="cpu", live=True).size == (64, 96)  # no default resize
    with pytest.raises(InputError, match="malformed"):
        OnnxMatter(_tiny_onnx(tmp_path / "bad.onnx", {**meta, "vidmatte.mean": "red"}))
    with pytest.raises(InputError, match="unknown family"):
        OnnxMatter(_tiny_onnx(tmp_path / "fam.onnx", {"vidmatte.family": "sam"}))


def test_licence_note_for_named_and_file_weights():
    from vidmatte.models.export import _licence_note
    from vidmatte.models.weights.loader import LoadInfo
    from vidmatte.models.weights.registry import get_checkpoint

    rmbg = get_checkpoint("rmbg-2.0")
    info = LoadInfo(path=Path("x"), variant="full", patch_order="legacy", size=(1024, 1024), name=rmbg.name,
                    licence=rmbg.licence, commercial=rmbg.commercial)
    assert "CC BY-NC 4.0" in _licence_note(info) and "NON-COMMERCIAL" in _licence_note(info)
    info.licence, info.commercial = "MIT", True
    assert _licence_note(info) == "MIT"
    info.licence = None  # --model FILE: the file's licence is not known
    assert "unknown" in _licence_note(info)
