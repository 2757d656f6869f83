"""Safe loading of BiRefNet weights: formats, prefixes, variants, the Hub cache, offline paths."""

from __future__ import annotations

import hashlib
import os
import time

import pytest
import torch
from safetensors.torch import save_file

from fillrule import build_fill_state_dict
from vidmatte.errors import WeightsError
from vidmatte.models.birefnet.network import BiRefNet
from vidmatte.models.weights.hub import resolve_weights
from vidmatte.models.weights.loader import (check_state_dict, detect_variant, expected_entries, load_birefnet,
                                    load_state_dict_file, strip_prefixes)

torch.set_num_threads(2)


def model_rows(variant: str) -> list:
    """``[key, shape, dtype]`` rows from our own network (no ../shared needed)."""
    return [[k, list(s), "float32" if d.is_floating_point else "int64"] for k, (s, d) in expected_entries(variant).items()]


@pytest.fixture(scope="module")
def lite_sd() -> dict:
    return build_fill_state_dict(model_rows("lite"))


@pytest.fixture(scope="module")
def x64() -> torch.Tensor:
    return torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def forward(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return net.eval()(x)


def direct(sd: dict, x: torch.Tensor, order: str = "legacy") -> torch.Tensor:
    net = BiRefNet("lite", patch_order=order)
    net.load_state_dict(sd, strict=True)
    return forward(net, x)


@pytest.fixture(scope="module")
def ref_out(lite_sd, x64) -> torch.Tensor:
    return direct(lite_sd, x64)


def _cast(sd, dtype):
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}


def _prefix(sd, prefix):
    return {prefix + k: v for k, v in sd.items()}


# (file name, how to write it, dtype the values were rounded through)
FORMATS = {
    "fp32.safetensors": (lambda sd, p: save_file(sd, p), torch.float32),
    "fp16.safetensors": (lambda sd, p: save_file(_cast(sd, torch.float16), p), torch.float16),
    "bf16.safetensors": (lambda sd, p: save_file(_cast(sd, torch.bfloat16), p), torch.bfloat16),
    "plain.pth": (lambda sd, p: torch.save(sd, p), torch.float32),
    "container.pth": (lambda sd, p: torch.save({"state_dict": sd, "epoch": 232}, p), torch.float32),
    "module.pth": (lambda sd, p: torch.save(_prefix(sd, "module."), p), torch.float32),
    "orig_mod.bin": (lambda sd, p: torch.save({"model": _prefix(sd, "_orig_mod.")}, p), torch.float32),
    "both.ckpt": (lambda sd, p: torch.save({"model": _prefix(sd, "module._orig_mod.")}, p), torch.float32),
}


@pytest.mark.parametrize("fname", list(FORMATS))
def test_every_format_loads_and_matches_direct_load(fname, lite_sd, x64, ref_out, tmp_path):
    write, dtype = FORMATS[fname]
    path = tmp_path / fname
    write(lite_sd, str(path))
    net, info = load_birefnet("lite", weights=path)
    out = forward(net, x64)
    assert info.variant == "lite" and info.patch_order == "legacy" and info.from_file
    assert info.num_keys == len(lite_sd)
    assert info.dtypes.get(str(dtype).replace("torch.", "")) == sum(v.is_floating_point() for v in lite_sd.values())
    if dtype == torch.float32:
        assert torch.equal(out, ref_out)
    else:  # identical to the dict rounded through the stored dtype, close to the fp32 one
        assert torch.equal(out, direct(_cast(_cast(lite_sd, dtype), torch.float32), x64))
        tol = 0.05 if dtype == torch.float16 else 0.3
        diff = (out - ref_out).abs().max().item()
        assert 0 < diff < tol, diff


def test_patch_order_override_changes_outputs(lite_sd, x64, ref_out, tmp_path):
    path = tmp_path / "w.safetensors"
    save_file(lite_sd, str(path))
    net, info = load_birefnet("lite", weights=path, patch_order="current")
    assert info.patch_order == "current" and net.patch_order == "current"
    out = forward(net, x64)
    assert torch.equal(out, direct(lite_sd, x64, order="current"))
    assert (out - ref_out).abs().max() > 1e-3


def test_load_matter_with_weights_uses_the_file(lite_sd, tmp_path):
    from vidmatte.models.birefnet.matter import BiRefNetMatter
    from vidmatte.models.factory import load_matter

    path = tmp_path / "w.pth"
    torch.save({"state_dict": _prefix(lite_sd, "module.")}, path)
    img = torch.randint(0, 256, (1, 96, 80, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    got = load_matter("lite", weights=path, size=64, device="cpu", dtype="fp32").predict(img)
    net = BiRefNet("lite")
    net.load_state_dict(lite_sd)
    want = BiRefNetMatter(net, size=64, device="cpu", dtype=torch.float32).predict(img)
    assert got.shape == (1, 1, 96, 80)
    assert torch.equal(got, want)


def test_bad_patch_order_is_a_user_error(tmp_path):
    from vidmatte.errors import InputError

    with pytest.raises(InputError, match="'legacy' or 'current'"):
        load_birefnet("lite", weights=tmp_path / "never-read.safetensors", patch_order="diagonal")


def test_strip_prefixes_repeated_and_combined():
    sd = {"module._orig_mod.module.a.b": torch.zeros(1), "_orig_mod.c": torch.ones(1), "d.module.e": torch.ones(1)}
    assert sorted(strip_prefixes(sd)) == ["a.b", "c", "d.module.e"]


def test_hub_snapshot_folder_is_accepted(lite_sd, tmp_path):
    snap = tmp_path / "snapshot"
    snap.mkdir()
    save_file(lite_sd, str(snap / "model.safetensors"))
    (snap / "config.json").write_text("{}")
    _, info = load_birefnet(None, weights=snap)
    assert info.path == snap / "model.safetensors" and info.variant == "lite"


def test_load_state_dict_file_casts_floats_keeps_ints(lite_sd, tmp_path):
    path = tmp_path / "w.safetensors"
    save_file(_cast(lite_sd, torch.bfloat16), str(path))
    sd = load_state_dict_file(path)
    assert {v.dtype for v in sd.values()} == {torch.float32, torch.int64}
    key = "bb.layers.0.blocks.0.attn.relative_position_index"
    assert torch.equal(sd[key], lite_sd[key])
    kept = load_state_dict_file(path, dtype=None)
    assert {v.dtype for v in kept.values()} == {torch.bfloat16, torch.int64}


def test_full_variant_detected_from_a_slice():
    full = expected_entries("full")
    key = "bb.patch_embed.proj.weight"
    part = {key: torch.zeros(full[key][0]), "bb.patch_embed.proj.bias": torch.zeros(full[key][0][0])}
    assert detect_variant(part) == "full"
    assert detect_variant({key: torch.zeros(expected_entries("lite")[key][0])}) == "lite"
    with pytest.raises(WeightsError, match=f"{len(full) - 2} keys missing"):
        check_state_dict(part, "full", "slice.safetensors")


def test_unknown_swin_width_is_rejected():
    with pytest.raises(WeightsError, match="neither lite .96. nor full .192."):
        detect_variant({"bb.patch_embed.proj.weight": torch.zeros(128, 3, 4, 4)})


# ---- the Hugging Face cache and the offline / unreachable paths --------------------------------

def _populate_hub_cache(root, repo_id: str, filename: str, payload: bytes, rev: str = "ab" * 20):
    """The real huggingface_hub layout: blobs/<sha256>, snapshots/<rev>/<file> -> blob, refs/main."""
    repo = root / ("models--" + repo_id.replace("/", "--"))
    blob = repo / "blobs" / hashlib.sha256(payload).hexdigest()
    blob.parent.mkdir(parents=True)
    blob.write_bytes(payload)
    snap = repo / "snapshots" / rev / filename
    snap.parent.mkdir(parents=True)
    snap.symlink_to(os.path.relpath(blob, snap.parent))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(rev)
    return snap


@pytest.fixture
def hub_env(tmp_path, monkeypatch):
    """An empty hub cache and a Hub endpoint that refuses connections (deterministic offline)."""
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    return cache


def test_lite_resolves_offline_from_the_hub_cache(hub_env, monkeypatch, lite_sd, x64, ref_out, tmp_path):
    src = tmp_path / "src.safetensors"
    save_file(_cast(lite_sd, torch.float16), str(src))
    snap = _populate_hub_cache(hub_env, "ZhengPeng7/BiRefNet_lite", "model.safetensors", src.read_bytes())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_weights("lite") == snap
    net, info = load_birefnet("lite")
    assert info.name == "lite" and not info.from_file and info.repo_id == "ZhengPeng7/BiRefNet_lite"
    assert info.size == (1024, 1024) and info.dtypes["float16"] > 500
    assert torch.equal(forward(net, x64), direct(_cast(_cast(lite_sd, torch.float16), torch.float32), x64))
    _populate_hub_cache(hub_env, "ZhengPeng7/BiRefNet", "model.safetensors", src.read_bytes())
    with pytest.raises(WeightsError, match="holds a lite checkpoint but 'general' is full"):
        load_birefnet("general")


def test_offline_and_missing_gives_one_clear_line(hub_env, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.monotonic()
    with pytest.raises(WeightsError) as err:
        resolve_weights("lite")
    msg = str(err.value)
    assert time.monotonic() - t0 < 5
    assert "\n" not in msg and "ZhengPeng7/BiRefNet_lite/model.safetensors" in msg and "HF_HUB_OFFLINE" in msg
    assert "vidmatte models download lite" in msg and "hf download ZhengPeng7/BiRefNet_lite model.safetensors" in msg
    assert "--weights FILE" in msg
    with pytest.raises(WeightsError, match="--offline"):
        resolve_weights("lite", download=False)


def test_unreachable_hub_fails_fast(hub_env):
    t0 = time.monotonic()
    with pytest.raises(WeightsError, match="huggingface.co cannot be reached") as err:
        resolve_weights("portrait")
    assert time.monotonic() - t0 < 8, "must not sit in the Hub client's retry loop"
    assert "vidmatte models download portrait" in str(err.value)


def test_blackholed_hub_respects_the_probe_timeout(hub_env, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "https://192.0.2.1")  # TEST-NET-1: never answers
    monkeypatch.setenv("VIDMATTE_HUB_PROBE_TIMEOUT", "1")
    t0 = time.monotonic()
    with pytest.raises(WeightsError, match="cannot be reached"):
        resolve_weights("lite")
    assert time.monotonic() - t0 < 4


def test_unknown_name_lists_known_ones():
    with pytest.raises(WeightsError, match="known names: lite, lite-2k, general"):
        resolve_weights("nope")
