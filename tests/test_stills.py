"""The still-image job: its two schedules give the processor's pixels, the ONNX path runs
without torch, failures leave nothing half-written; and `bench stills` reports what it ran."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidmatte.errors import InputError
from vidmatte.io.stills import read_image, write_image
from vidmatte.jobs.stills import images, plan

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def modnet():
    from vidmatte.models.factory import load_matter

    return load_matter("modnet", size=256, device="cpu")  # the bundled model, small: fast


@pytest.fixture
def photos(tmp_path):
    """Three real-photo crops of different sizes (odd ones too) as PNG files."""
    img = read_image(ROOT / "samples" / "astronaut.jpg")
    crops = [img[:241, :320], cv2.resize(img, (200, 150), interpolation=cv2.INTER_AREA), img[-180:, -97:]]
    paths = []
    for i, c in enumerate(crops):
        paths.append(tmp_path / "in" / f"p{i}.png")
        paths[-1].parent.mkdir(exist_ok=True)
        write_image(paths[-1], np.ascontiguousarray(c))
    return paths


def test_plan_picks_parallel_images_only_for_numpy_cutouts(modnet):
    from vidmatte.matting import ChromaKeyMatter

    p = plan(modnet, 27, cores=4)
    assert p.arrays and p.workers == 4 and p.model_threads == 1 and "no torch" in p.policy
    assert plan(modnet, 1, cores=4).workers == 1 and plan(modnet, 1, cores=4).model_threads == 4
    assert not plan(modnet, 27, background="#fff", cores=4).arrays  # composites: the processor
    assert not plan(modnet, 27, fg_estimation="ml", cores=4).arrays
    assert not plan(ChromaKeyMatter(), 27, cores=4).arrays  # torch matters: the processor
    assert plan(modnet, 27, cores=4, refine="guided").arrays and not plan(modnet, 27, cores=4, refine="vitmatte").arrays


def test_the_command_lines_thread_hint_follows_the_plan():
    """One image per core on the numpy path; no hint where the processor runs the model."""
    from vidmatte.jobs.stills import model_threads_hint

    assert model_threads_hint(27, cores=4) == 1 and model_threads_hint(1, cores=4) == 4
    assert model_threads_hint(27, cores=4, refine="guided") == 1
    for kw in ({"background": "#fff"}, {"fg_estimation": "ml"}, {"refine": "vitmatte"}):
        assert model_threads_hint(27, cores=4, **kw) is None, kw


@pytest.mark.parametrize("workers", [1, 2])
def test_numpy_cutouts_equal_the_processor(tmp_path, photos, modnet, workers):
    from vidmatte.runtime.processor import Processor

    stats: dict = {}
    written = images(photos, tmp_path / "out", matter=modnet, workers=workers, stats=stats)
    assert [p.name for p in written] == ["p0.png", "p1.png", "p2.png"] and "workers" in stats["policy"]
    proc = Processor(modnet, None, smoothing=None)
    for src, out in zip(photos, written):
        got, want = read_image(out, with_alpha=True), proc(read_image(src))
        assert got.shape == want.shape and got.dtype == np.uint8
        diff = np.abs(got.astype(int) - want.astype(int))
        assert diff.max() <= 1 and diff.mean() < 0.01, (src.name, diff.max(), diff.mean())
        assert got[..., 3].min() < 20 and got[..., 3].max() > 235  # a real matte, not a flat map


@pytest.mark.parametrize("refine", ["auto", "guided"])
def test_numpy_cutouts_refine_like_the_processor(tmp_path, photos, refine):
    """At model size 128 the 320-px photo is upsampled 2.5x: auto refines it, and the numpy
    guided filter gives the processor's (kornia's) cut-out."""
    from vidmatte.models.factory import load_matter
    from vidmatte.refine.factor import auto_refines
    from vidmatte.runtime.processor import Processor

    small = load_matter("modnet", size=128, device="cpu")
    assert auto_refines(small, (241, 320)) and not auto_refines(small, (180, 97))
    stats: dict = {}
    written = images(photos, tmp_path / "out", matter=small, workers=2, refine=refine, stats=stats)
    assert "no torch" in stats["policy"]
    plain = images(photos[:1], tmp_path / "plain.png", matter=small, refine="none")[0]
    with Processor(small, None, smoothing=None, refine=refine) as proc:
        for src, out in zip(photos, written):
            got, want = read_image(out, with_alpha=True), proc(read_image(src))
            diff = np.abs(got.astype(int) - want.astype(int))
            assert diff.max() <= 1 and diff.mean() < 0.01, (src.name, diff.max(), diff.mean())
    refined, unrefined = read_image(written[0], with_alpha=True), read_image(plain, with_alpha=True)
    assert np.abs(refined[..., 3].astype(int) - unrefined[..., 3]).max() > 10   # the filter did something


def test_overlapped_schedule_for_composites(tmp_path, photos, modnet):
    from vidmatte.runtime.processor import Processor

    stats: dict = {}
    written = images(photos, tmp_path / "comp", matter=modnet, background="#2060ff", stats=stats)
    assert "read | model | write" in stats["policy"]
    proc = Processor(modnet, "#2060ff", smoothing=None)
    for src, out in zip(photos, written):
        np.testing.assert_array_equal(read_image(out), proc(read_image(src)))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_bad_image_stops_the_job_and_leaves_no_partial_file(tmp_path, photos, modnet, workers):
    bad = photos[0].parent / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))  # a PNG signature and garbage
    with pytest.raises(InputError, match="bad.png"):
        images([photos[0], bad, photos[1]], tmp_path / "out", matter=modnet, workers=workers)
    leftovers = [p.name for p in (tmp_path / "out").iterdir() if "partial" in p.name]
    assert leftovers == []
    assert not (tmp_path / "out" / "bad.png").exists()


def test_image_command_with_onnx_never_imports_torch(tmp_path, photos):
    code = ("import sys\nfrom vidmatte_cli.main import main\nrc = main(sys.argv[1:])\n"
            "print('HEAVY', [m for m in ('torch',) if m in sys.modules], rc)")
    res = subprocess.run([sys.executable, "-c", code, "image", *map(str, photos), "-o", f"{tmp_path}/o/",
                          "--model", "modnet", "--model-size", "128", "--device", "cpu"],   # p0: auto refines
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "HEAVY [] 0", res.stdout + res.stderr
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["p0.png", "p1.png", "p2.png"]
    assert "workers" in res.stderr  # the schedule is said


def test_bench_stills_without_rembg_runs_vidmatte_alone(tmp_path, photos, monkeypatch):
    import vidmatte.bench.stills as bs
    from vidmatte.models.factory import bundled_model_path

    monkeypatch.setattr(bs, "find_rembg", lambda: None)
    gt = tmp_path / "gt"
    gt.mkdir()
    for p in photos:  # a ground truth of the right size: only the scoring path is checked here
        write_image(gt / p.name, np.full(read_image(p).shape[:2], 255, np.uint8))
    res = bs.bench_stills(photos[0].parent, bundled_model_path(), gt=gt, runs=1,
                          extra=["--model-size", "256", "--device", "cpu"])
    assert res.images == 3 and len(res.runs_vidmatte_s) == 1 and res.runs_rembg_s == [] and res.ratio is None
    assert "not installed" in res.rembg and "rembg: not run" in res.summary()
    assert set(res.sad) == {"vidmatte"} and res.sad["vidmatte"] > 0
    assert res.cpu_vidmatte_s[0] > 0


def test_rembg_session_names():
    from vidmatte.bench.stills import rembg_session

    assert rembg_session(Path("/m/u2netp.onnx")) == "u2netp"
    assert rembg_session(Path("/m/x.onnx"), "u2net") == "u2net"
    with pytest.raises(InputError, match="--rembg-model"):
        rembg_session(Path("/m/modnet.onnx"))
