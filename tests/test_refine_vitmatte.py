"""``--refine vitmatte``: automatic trimap, tiles, and transformers' ViTMatte inside the band.

The network here is a tiny random-initialised ``VitMatteForImageMatting`` saved with
``save_pretrained`` (no network access): it checks the plumbing — shapes, tiling, where the
refined alpha lands, weights rules, the command line — not matting quality. The quality test
with the real checkpoint runs only where ``vitmatte-small`` is in the Hugging Face cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("transformers", reason="--refine vitmatte needs transformers (pip install 'vidmatte[refine]')")

from conftest import shared_path  # noqa: E402
from media import make_clip, read_frames  # noqa: E402
from vidmatte import ChromaKeyMatter, Processor  # noqa: E402
from vidmatte.errors import WeightsError  # noqa: E402
from vidmatte.refine.tiles import run_tiled, tile_starts  # noqa: E402
from vidmatte.refine.trimap import UNKNOWN, Trimap, band_radius, make_trimap  # noqa: E402
from vidmatte.refine.vitmatte import VitMatteRefiner  # noqa: E402

REPO = "models--hustvl--vitmatte-small-composition-1k"


def tiny_vitmatte(seed: int = 0):
    """A ViTMatte with a 2-layer, 16-wide ViTDet backbone (32 k parameters), random weights."""
    from transformers import VitDetConfig, VitMatteConfig, VitMatteForImageMatting

    backbone = VitDetConfig(num_channels=4, image_size=64, pretrain_image_size=64, patch_size=16, hidden_size=16,
                            num_attention_heads=2, num_hidden_layers=2, mlp_ratio=2, window_size=2,
                            use_absolute_position_embeddings=True, use_relative_position_embeddings=True,
                            window_block_indices=[0], residual_block_indices=[1], out_features=["stage2"])
    config = VitMatteConfig(backbone_config=backbone, hidden_size=16, convstream_hidden_sizes=[4, 8, 16],
                            fusion_hidden_sizes=[16, 8, 8, 4])
    torch.manual_seed(seed)
    return VitMatteForImageMatting(config).eval()


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("vitmatte") / "tiny"
    tiny_vitmatte().save_pretrained(d)
    from transformers import VitMatteImageProcessor

    VitMatteImageProcessor().save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def refiner(tiny_dir):
    return VitMatteRefiner.load(weights=tiny_dir, download=False, tile=64, overlap=16)


def _disc(h=48, w=64, soft=3.0):
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    d = ((yy - h / 2) ** 2 + (xx - w / 2) ** 2).sqrt() - h / 3
    return (0.5 - d / (2 * soft)).clamp(0, 1)[None, None]


# -- trimap ------------------------------------------------------------------------------
def test_trimap_values_and_band_width():
    alpha = ((torch.arange(128, dtype=torch.float32) - 40) / 12).clamp(0, 1).expand(1, 1, 96, 128)  # ramp 40..52
    soft = [i for i in range(128) if 0.05 < float(alpha[0, 0, 0, i]) < 0.95]
    for r in (0, 2, 5):
        t = make_trimap(alpha, r)
        assert t.shape == alpha.shape and t.dtype == alpha.dtype
        assert torch.unique(t).tolist() == pytest.approx([0.0, UNKNOWN, 1.0])
        unknown = ((t > 0) & (t < 1))[0, 0]
        cols = unknown.any(0).nonzero().flatten().tolist()
        assert cols == list(range(soft[0] - r, soft[-1] + r + 1)) and unknown[:, cols].all()  # widened by r
        assert (t[0, 0, :, :soft[0] - r] == 0).all() and (t[0, 0, :, soft[-1] + r + 1:] == 1).all()
    alpha = _disc(96, 128, soft=4.0)
    assert torch.equal(Trimap(band=0.02)(alpha), make_trimap(alpha, band_radius((96, 128))))
    assert band_radius((2160, 3840)) == 2 * band_radius((1080, 1920)) - 1 and band_radius((10, 10)) == 1
    hard = torch.zeros(1, 1, 20, 20)
    hard[..., 10:] = 1
    t = make_trimap(hard, 3)
    assert ((t > 0) & (t < 1)).sum() == 20 * 6 and float(t[0, 0, 0, 0]) == 0.0 and float(t[0, 0, 0, -1]) == 1.0


@pytest.mark.parametrize("bad,err", [(torch.rand(1, 3, 8, 8), ValueError), (torch.rand(8, 8), ValueError),
                                     ((torch.rand(1, 1, 8, 8) * 9).long(), TypeError)])
def test_trimap_refuses_bad_input(bad, err):
    with pytest.raises(err):
        make_trimap(bad, 2)
    with pytest.raises(ValueError, match="lo < hi"):
        make_trimap(torch.rand(1, 1, 8, 8), 2, lo=0.9, hi=0.1)


# -- tiles -------------------------------------------------------------------------------
def test_tiles_cover_and_blend_exactly():
    for n, tile, overlap in [(250, 100, 20), (100, 100, 10), (37, 64, 8), (129, 64, 16)]:
        starts = tile_starts(n, tile, overlap)
        covered = np.zeros(n, bool)
        for s in starts:
            covered[s:s + min(tile, n)] = True
        assert covered.all() and starts[0] == 0 and starts[-1] + min(tile, n) == n
    x = torch.rand(2, 4, 100, 130)
    calls = []

    def pointwise(t):
        calls.append(tuple(t.shape))
        return t[:, :1] * 2 + t[:, 3:] ** 2

    out, covered = run_tiled(pointwise, x, 48, 8)
    assert covered.all() and torch.allclose(out, pointwise(x), atol=1e-6)
    assert all(c == (1, 4, 48, 48) for c in calls[:-1])  # every tile full size
    need = torch.zeros(2, 1, 100, 130, dtype=torch.bool)
    need[0, 0, 5, 5] = True  # one pixel: only the tiles holding it run
    calls.clear()
    out, covered = run_tiled(pointwise, x, 48, 8, need=need)
    assert len(calls) == 1 and bool(covered[0, 0, 5, 5]) and not covered[1].any()
    assert torch.allclose(out[covered.expand_as(out)], pointwise(x)[covered.expand_as(out)], atol=1e-6)


# -- the refiner -------------------------------------------------------------------------
def test_refined_alpha_lands_only_inside_the_band(refiner):
    image = torch.rand(2, 3, 48, 64, generator=torch.Generator().manual_seed(3))
    alpha = torch.cat([_disc(), _disc().flip(-1).roll(5, -1)])
    out = refiner(image, alpha)
    assert out.shape == alpha.shape and out.dtype == alpha.dtype
    trimap = refiner.trimap(alpha)
    band = (trimap > 0) & (trimap < 1)
    assert torch.equal(out[~band], alpha[~band])  # certain regions untouched
    direct = torch.cat([refiner.predict(image[i:i + 1], trimap[i:i + 1]) for i in range(2)])
    assert torch.allclose(out[band], direct[band].clamp(0, 1), atol=1e-5)  # one tile: the network's own output
    assert float((out - alpha)[band].abs().mean()) > 1e-3
    half = refiner(image, alpha.half())
    assert half.dtype == torch.float16
    flat = torch.ones(1, 1, 48, 64)
    assert refiner(image[:1], flat) is flat  # no band: nothing to run


def test_tiling_equals_untiled_on_a_small_frame(refiner):
    image = torch.rand(1, 3, 60, 90, generator=torch.Generator().manual_seed(4))
    alpha = _disc(60, 90)
    trimap = refiner.trimap(alpha)
    band = (trimap > 0) & (trimap < 1)
    whole = refiner.predict(image, trimap).clamp(0, 1)
    for tile in (96, 128):  # the frame fits in one tile: exactly the untiled network
        assert torch.equal(refiner(image, alpha, tile=tile), torch.where(band, whole, alpha))
    before = refiner.tiles_run
    tiled = refiner(image, alpha, tile=64)  # columns 0-63 and 26-89, overlapping on 26-63
    assert refiner.tiles_run - before == 2 and torch.equal(tiled[~band], alpha[~band])
    left = refiner.predict(image[..., :64], trimap[..., :64]).clamp(0, 1)
    right = refiner.predict(image[..., 26:], trimap[..., 26:]).clamp(0, 1)
    b = band[0, 0]
    assert torch.allclose(tiled[0, 0, :, :26][b[:, :26]], left[0, 0, :, :26][b[:, :26]], atol=1e-6)
    assert torch.allclose(tiled[0, 0, :, 64:][b[:, 64:]], right[0, 0, :, 38:][b[:, 64:]], atol=1e-6)
    lo = torch.minimum(left[0, 0, :, 26:], right[0, 0, :, :38])
    hi = torch.maximum(left[0, 0, :, 26:], right[0, 0, :, :38])
    mid = tiled[0, 0, :, 26:64]
    assert ((mid >= lo - 1e-6) | ~b[:, 26:64]).all() and ((mid <= hi + 1e-6) | ~b[:, 26:64]).all()  # a blend


def test_processor_smooths_after_vitmatte(refiner):
    seen = []

    class Smoother:
        def __call__(self, alpha, image):
            seen.append(alpha.clone())
            return alpha

        def reset(self):
            pass

    frame = (torch.rand(48, 64, 3) * 255).to(torch.uint8).numpy()
    frame[..., 1] = 255  # mostly green: the keyer's matte has edges
    frame[16:32, 20:44] = (200, 40, 160)
    proc = Processor(ChromaKeyMatter(), format="gray", smoothing=Smoother(), refine=refiner)
    proc(frame)
    raw = ChromaKeyMatter().predict(frame[None])
    assert torch.allclose(seen[0], refiner(torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255, raw))


# -- weights -----------------------------------------------------------------------------
def _hub_cache(root, src):
    snap = root / REPO / "snapshots" / ("ab" * 20)
    snap.mkdir(parents=True)
    for f in src.iterdir():
        (snap / f.name).write_bytes(f.read_bytes())
    (root / REPO / "refs").mkdir()
    (root / REPO / "refs" / "main").write_text("ab" * 20)
    return snap


def test_weights_rules(tiny_dir, tmp_path, monkeypatch):
    from vidmatte.refine.vitmatte_load import load_vitmatte

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    (tmp_path / "hub").mkdir()
    with pytest.raises(WeightsError, match="vidmatte models download vitmatte-small") as exc:
        load_vitmatte(download=False)
    assert "--refine-weights DIR" in str(exc.value) and "\n" not in str(exc.value)
    snap = _hub_cache(tmp_path / "hub", tiny_dir)
    model, processor = load_vitmatte(download=False)  # by name, from the cache, offline
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in tiny_vitmatte().parameters())
    assert not model.training
    assert load_vitmatte(weights=snap / "model.safetensors")[0].config.hidden_size == 16  # a file inside the folder
    with pytest.raises(WeightsError, match="weights folder not found"):
        load_vitmatte(weights=tmp_path / "nowhere")
    bad = tmp_path / "bad"
    bad.mkdir()
    with pytest.raises(WeightsError, match="no config.json"):
        load_vitmatte(weights=bad)
    (bad / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(WeightsError, match="not ViTMatte"):
        load_vitmatte(weights=bad)
    other = tmp_path / "other"
    other.mkdir()
    (other / "model.safetensors").write_bytes((tiny_dir / "model.safetensors").read_bytes())
    cfg = json.loads((tiny_dir / "config.json").read_text())
    cfg["convstream_hidden_sizes"] = [8, 8, 16]  # weights no longer fit
    (other / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WeightsError, match="do not fit|could not be loaded"):
        load_vitmatte(weights=other)
    from vidmatte.models.factory import load_matter

    with pytest.raises(WeightsError, match="--refine vitmatte"):
        load_matter("vitmatte-small")


def _cli(*args, env=None):
    full = dict(os.environ, OMP_NUM_THREADS="2", **(env or {}))
    full.pop("VIDMATTE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "vidmatte_cli.main", *args], capture_output=True, text=True,
                          env=full, timeout=300)


def test_models_download_and_cli_offline_by_name(tiny_dir, tmp_path, monkeypatch, capsys):
    from vidmatte.io.stills import read_image, write_image
    from vidmatte_cli.main import main

    env = {"HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}
    (tmp_path / "hub").mkdir()
    res = _cli("models", "download", "vitmatte-small", env=env)
    err = res.stderr.strip()
    assert res.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "HF_HUB_OFFLINE" in err and "hf download hustvl/vitmatte-small-composition-1k model.safetensors" in err
    snap = _hub_cache(tmp_path / "hub", tiny_dir)
    res = _cli("models", "download", "vitmatte-small", env=env)
    assert res.returncode == 0 and res.stdout.strip() == str(snap), res.stderr
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert main(["models", "info", "vitmatte-small", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["folder"] == str(snap) and info["model_type"] == "vitmatte" and info["hidden_size"] == 16
    assert info["parameters"] == sum(p.numel() for p in tiny_vitmatte().parameters())
    src = tmp_path / "in.png"
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[..., 1] = 255
    frame[12:36, 16:48] = (200, 40, 160)
    write_image(src, frame)
    res = _cli("image", str(src), "-o", str(tmp_path / "out.png"), "--model", "chroma", "--refine", "vitmatte",
               "--offline", env=env)
    assert res.returncode == 0, res.stderr
    assert read_image(tmp_path / "out.png", mode="rgba").shape == (48, 64, 4)


def test_cli_matte_and_image_end_to_end(tiny_dir, tmp_path):
    from vidmatte.io.stills import read_image, write_image
    from vidmatte_cli.main import main

    clip = make_clip(tmp_path / "in.mp4", frames=4, size=(64, 48))
    outs = {}
    for refine in ("none", "vitmatte"):
        extra = ["--refine-weights", str(tiny_dir)] if refine == "vitmatte" else []
        out = tmp_path / f"m_{refine}"
        assert main(["matte", str(clip.path), "-o", str(out), "--format", "png", "--model", "chroma", "--no-smooth",
                     "--refine", refine, "-q", *extra]) == 0
        outs[refine] = [read_image(p, mode="rgba")[..., 3].astype(int) for p in sorted(out.glob("*.png"))]
    assert len(outs["vitmatte"]) == 4
    first = read_frames(clip.path)[0]  # what the job decoded
    trimap = make_trimap(ChromaKeyMatter().predict(first[None]), band_radius((48, 64)))
    band = ((trimap > 0) & (trimap < 1))[0, 0].numpy()
    assert band.any() and np.array_equal(outs["none"][0][~band], outs["vitmatte"][0][~band])
    assert not np.array_equal(outs["none"][0], outs["vitmatte"][0])
    still = tmp_path / "still.png"
    write_image(still, first)
    assert main(["image", str(still), "-o", str(tmp_path / "cut.png"), "--model", "chroma", "--refine", "vitmatte",
                 "--refine-weights", str(tiny_dir), "-q"]) == 0
    assert read_image(tmp_path / "cut.png", mode="rgba").shape == (48, 64, 4)


def test_cli_refuses_weights_without_vitmatte_and_vitmatte_live(tiny_dir, tmp_path, capsys):
    from vidmatte_cli.main import main

    assert main(["image", "x.png", "-o", str(tmp_path / "o.png"), "--model", "chroma",
                 "--refine-weights", str(tiny_dir)]) == 2
    assert "--refine-weights is for --refine vitmatte" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["webcam", "--preview", "--refine", "vitmatte"])
    assert "invalid choice: 'vitmatte'" in capsys.readouterr().err


def test_missing_transformers_is_one_line(tiny_dir, tmp_path):
    prog = ("import sys; sys.modules['transformers'] = None\nfrom vidmatte_cli.main import main\n"
            f"sys.exit(main(['image', 'x.png', '-o', {str(tmp_path / 'o.png')!r}, '--model', 'chroma', "
            f"'--refine', 'vitmatte', '--refine-weights', {str(tiny_dir)!r}]))")
    res = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=240)
    err = res.stderr.strip()
    assert res.returncode == 2 and err.splitlines() == [err], err
    assert 'pip install "vidmatte[refine]"' in err


# -- quality, with the real checkpoint ------------------------------------------------------
@pytest.mark.shared
@pytest.mark.slow
def test_vitmatte_small_improves_modnet_on_alphamatting(capsys):
    from vidmatte.models.weights.hub import cached_weights, hub_cache_dir
    from vidmatte.models.weights.registry import get_checkpoint

    if cached_weights(get_checkpoint("vitmatte-small")) is None:
        pytest.skip(f"vitmatte-small is not in the Hugging Face cache ({hub_cache_dir()}); "
                    "run `vidmatte models download vitmatte-small` online to enable this test")
    from vidmatte_cli.main import main

    data = shared_path("data", "alphamatting")
    scores = {}
    for refine in ("none", "vitmatte"):
        assert main(["eval", "--images", str(data / "input"), "--gt", str(data / "gt"), "--model", "modnet",
                     "--model-size", "512", "--refine", refine, "--offline", "--limit", "8", "--json"]) == 0
        scores[refine] = json.loads(capsys.readouterr().out)["mean"]
    assert scores["vitmatte"]["Grad"] < scores["none"]["Grad"], scores
    assert scores["vitmatte"]["SAD"] < scores["none"]["SAD"], scores


def test_bench_refine_vitmatte_runs(tiny_dir, capsys):
    from vidmatte_cli.main import main

    assert main(["bench", "refine", "--method", "vitmatte", "--weights", str(tiny_dir), "--frames", "128x96",
                 "--tile", "64", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert row["frame"] == "128x96" and row["tiles"] >= 2 and row["seconds"] > 0 and row["memory_mb"] > 0
