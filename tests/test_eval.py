"""`vidmatte eval` and the evaluation engine on small real files written by the tests."""

from __future__ import annotations

import json
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from vidmatte.eval import metrics as M
from vidmatte.errors import InputError
from vidmatte.eval.engine import evaluate_folders, evaluate_video
from vidmatte.matting import ChromaKeyMatter
from vidmatte_cli.main import main

GREEN, RED = (0, 255, 0), (255, 0, 0)


def _disk(h, w, cy, cx, r):
    yy, xx = np.mgrid[:h, :w]
    return ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r).astype(np.uint8) * 255


def _plate(matte):
    """Red disk on a green screen: RGB uint8 whose true alpha is ``matte``."""
    a = (matte[..., None] > 0)
    return np.where(a, np.array(RED, np.uint8), np.array(GREEN, np.uint8)).astype(np.uint8)


def _write(path, img):
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else img
    assert cv2.imwrite(str(path), bgr)


@pytest.fixture
def dataset(tmp_path):
    """3 images (varied sizes), gt mattes, trimaps, and imperfect predictions."""
    dirs = {k: tmp_path / k for k in ("images", "gt", "trimaps", "pred")}
    for d in dirs.values():
        d.mkdir()
    rng = np.random.default_rng(7)
    mattes = {}
    for i, (h, w) in enumerate([(48, 64), (60, 40), (32, 32)]):
        name = f"item{i}"
        gt = _disk(h, w, h // 2, w // 2, min(h, w) // 3)
        _write(dirs["images"] / f"{name}.png", _plate(gt))
        _write(dirs["gt"] / f"{name}.png", gt)
        band = cv2.dilate(gt, np.ones((5, 5), np.uint8)) - cv2.erode(gt, np.ones((5, 5), np.uint8))
        _write(dirs["trimaps"] / f"{name}.png", np.where(band > 0, 128, gt).astype(np.uint8))
        pred = np.clip(gt.astype(np.int16) + rng.integers(-40, 41, gt.shape), 0, 255).astype(np.uint8)
        _write(dirs["pred"] / f"{name}.png", pred)
        mattes[name] = (pred, gt, np.where(band > 0, 128, gt).astype(np.uint8))
    return dirs, mattes


def test_pred_json_matches_direct_metrics(dataset, capsys):
    dirs, mattes = dataset
    code = main(["eval", "--images", str(dirs["images"]), "--gt", str(dirs["gt"]),
                 "--pred", str(dirs["pred"]), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 3 and out["region"] == "whole image"
    assert [r["name"] for r in out["items"]] == ["item0", "item1", "item2"]
    for row in out["items"]:
        pred, gt, _ = mattes[row["name"]]
        assert row["SAD"] == pytest.approx(M.sad(pred, gt))
        assert row["MSE"] == pytest.approx(M.mse(pred, gt))
        assert row["Conn"] == pytest.approx(M.connectivity_error(pred, gt))
    assert out["mean"]["SAD"] == pytest.approx(np.mean([r["SAD"] for r in out["items"]]))
    assert out["scales"]["SAD"] == 1e-3 and out["scales"]["MSE"] == 1e3


def test_trimaps_restrict_to_unknown_region(dataset, capsys):
    dirs, mattes = dataset
    assert main(["eval", "--gt", str(dirs["gt"]), "--pred", str(dirs["pred"]),
                 "--trimaps", str(dirs["trimaps"]), "--json", "--limit", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 2 and out["region"] == "trimap unknown region"
    pred, gt, tri = mattes["item0"]
    mask = M.unknown_region(tri)
    assert 0 < mask.sum() < mask.size
    assert out["items"][0]["SAD"] == pytest.approx(M.sad(pred, gt, mask))
    assert out["items"][0]["SAD"] < M.sad(pred, gt)


def test_table_output(dataset, capsys):
    dirs, _ = dataset
    assert main(["eval", "--images", str(dirs["images"]), "--gt", str(dirs["gt"]),
                 "--pred", str(dirs["gt"])]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0].split() == ["name", "SAD", "MAD", "MSE", "Grad", "Conn"]
    assert any(line.startswith("item1 ") for line in lines)
    mean = next(line for line in lines if line.startswith("mean"))
    assert [float(v) for v in mean.split()[1:]] == [0.0] * 5  # gt against itself
    assert "SAD/1e3" in text and "MSE*1e3" in text


def test_model_path_with_a_matter(dataset):
    dirs, _ = dataset
    # the chroma keyer recovers a hard red-on-green disk exactly
    report = evaluate_folders(dirs["gt"], images=dirs["images"], matter=ChromaKeyMatter())
    assert len(report.rows) == 3 and report.model == "chroma"
    assert report.mean["SAD"] == pytest.approx(0.0, abs=1e-12)
    assert report.mean["Conn"] == pytest.approx(0.0, abs=1e-12)
    # a keyer for the wrong colour gets everything wrong: SAD = all pixels / 1000
    wrong = evaluate_folders(dirs["gt"], images=dirs["images"], matter=ChromaKeyMatter(key=(255, 0, 0)))
    assert wrong.rows[0]["SAD"] == pytest.approx(48 * 64 / 1000)


@pytest.mark.shared
def test_cli_with_onnx_model(dataset, capsys):
    from conftest import shared_path

    dirs, mattes = dataset
    model = shared_path("models", "u2netp.onnx")
    assert main(["eval", "--images", str(dirs["images"]), "--gt", str(dirs["gt"]), "--model", str(model),
                 "--json", "--threads", "2", "--limit", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 2 and out["model"] == "u2net (u2netp.onnx)"
    for row in out["items"]:
        assert all(np.isfinite(row[k]) and row[k] >= 0 for k in ("SAD", "MAD", "MSE", "Grad", "Conn"))
        gt = mattes[row["name"]][1]
        assert row["SAD"] < 0.5 * M.sad(np.zeros_like(gt), gt)  # finds most of the disk


def _write_video(path, frames, fps=10):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("png", rate=fps)  # lossless, so the keyer sees exact colours
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "rgb24"
        stream.time_base = Fraction(1, fps)
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def test_video_with_per_frame_gt(tmp_path, capsys):
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    gt_dir.mkdir()
    pred_dir.mkdir()
    gts = [_disk(40, 56, 20, 14 + 6 * t, 9) for t in range(5)]
    for t, g in enumerate(gts):
        _write(gt_dir / f"{t:04d}.png", g)
        _write(pred_dir / f"{t:04d}.png", gts[0])  # a frozen prediction: wrong as the disk moves
    video = tmp_path / "clip.mov"
    _write_video(video, [_plate(g) for g in gts])

    report = evaluate_video(video, gt_dir, matter=ChromaKeyMatter())
    assert report.extra["frames"] == 5
    assert report.mean["SAD"] == pytest.approx(0.0, abs=1e-12)
    assert report.mean["dtSSD"] == pytest.approx(0.0, abs=1e-12)

    assert main(["eval", "--gt", str(gt_dir), "--pred", str(pred_dir), "--video", str(video), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["frames"] == 5
    assert out["mean"]["dtSSD"] == pytest.approx(M.dtssd([gts[0]] * 5, gts))
    assert out["mean"]["dtSSD"] > 1.0

    with pytest.raises(InputError, match="has 3 frames"):
        short = tmp_path / "short.mov"
        _write_video(short, [_plate(g) for g in gts[:3]])
        evaluate_video(short, gt_dir, matter=ChromaKeyMatter())


def test_user_errors_are_one_line(dataset, tmp_path, capsys):
    dirs, _ = dataset
    (dirs["gt"] / "item2.png").unlink()
    cases = [
        (["--images", str(dirs["images"]), "--gt", str(dirs["gt"]), "--pred", str(dirs["pred"])], "item2"),
        (["--images", str(dirs["images"]), "--gt", str(tmp_path / "none"), "--pred", str(dirs["pred"])],
         "does not exist"),
        (["--images", str(dirs["images"]), "--gt", str(dirs["gt"]), "--model", "lite", "--offline"], "--weights"),
        (["--gt", str(dirs["gt"]), "--model", "m.onnx"], "--images"),
        (["--images", str(dirs["images"]), "--gt", str(dirs["gt"]), "--pred", str(dirs["pred"]),
          "--limit", "0"], "--limit"),
        (["--images", str(dirs["images"]), "--gt", str(dirs["gt"]), "--model", str(tmp_path / "m.onnx")],
         "not found"),
    ]
    for args, needle in cases:
        assert main(["eval", *args]) == 2, args
        err = capsys.readouterr().err.strip()
        assert err.startswith("vidmatte: error:") and needle in err and "\n" not in err
    # a prediction of the wrong size
    _write(dirs["pred"] / "item0.png", np.zeros((10, 10), np.uint8))
    assert main(["eval", "--gt", str(dirs["gt"]), "--pred", str(dirs["pred"]), "--limit", "1"]) == 2
    assert "same size" in capsys.readouterr().err
