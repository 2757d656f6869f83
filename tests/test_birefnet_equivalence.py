"""Our BiRefNet reproduces the official one: fill-rule weights, strict loading, logits
of both patch orders and the captured intermediates of ../shared/birefnet's vectors."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from conftest import shared_path
from fillrule import build_fill_state_dict, checksum_mismatches
from safetensors.torch import load_file

from vidmatte.models.birefnet.network import BiRefNet
from vidmatte.models.birefnet.blocks import stack_patches

pytestmark = [pytest.mark.shared, pytest.mark.slow]

LOGITS_TOL = 1e-4          # README: recommended logits max abs diff
INTER_ABS, INTER_REL = 5e-4, 1e-4   # README: intermediates, abs or relative to max |ref|
VECTORS = {"A": "lite_A_1x256x256", "B": "lite_B_1x224x320", "C": "lite_C_2x128x192"}
N_KEYS = {"lite": 586, "full": 754}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _rows(variant: str) -> list:
    return json.loads(shared_path("birefnet", f"{variant}_keys.json").read_text())


def _vector(name: str) -> dict[str, torch.Tensor]:
    return load_file(shared_path("birefnet", f"{name}.safetensors"))


def _loaded(variant: str, sd: dict) -> BiRefNet:
    if variant == "full":   # skip 220 M parameters of default init: build on meta, assign
        with torch.device("meta"):
            model = BiRefNet("full", patch_order="current")
        model.load_state_dict(dict(sd), strict=True, assign=True)
    else:
        model = BiRefNet(variant, patch_order="current")
        model.load_state_dict(sd, strict=True)
    return model.eval()


@pytest.fixture(scope="module")
def fill_sd() -> dict:
    """Fill-rule state dicts, built once per module: ``fill_sd[variant]``."""
    return {v: build_fill_state_dict(_rows(v)) for v in ("lite", "full")}


@pytest.fixture(scope="module")
def lite(fill_sd) -> BiRefNet:
    return _loaded("lite", fill_sd["lite"])


def _maxdiff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return (a.float() - b.float()).abs().max().item()


@pytest.mark.parametrize("variant", ["lite", "full"])
def test_fill_rule_matches_checksums(fill_sd, variant):
    rows = _rows(variant)
    assert len(rows) == N_KEYS[variant]
    sd = fill_sd[variant]
    checks = json.loads(shared_path("birefnet", f"{variant}_fill_checksums.json").read_text())
    assert len(checks) >= len(rows) - sum(1 for r in rows if r[2] == "int64")
    assert checksum_mismatches(sd, checks) == []


def test_fill_rule_rejects_unknown_leaf():
    from fillrule import fill_tensor
    with pytest.raises(ValueError, match="leaf"):
        fill_tensor("decoder.some.gamma", [4], "float32")


@pytest.mark.parametrize("variant", ["lite", "full"])
def test_state_dict_keys_and_shapes_match_manifest(variant):
    with torch.device("meta"):
        model = BiRefNet(variant)
    ours = {k: (list(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in model.state_dict().items()}
    ref = {k: (list(s), d) for k, s, d in _rows(variant)}
    assert ours == ref


@pytest.mark.parametrize("vec", sorted(VECTORS))
def test_lite_logits_and_intermediates(lite, vec):
    t = _vector(VECTORS[vec])
    x, taps = t["input"], {}
    with torch.inference_mode():   # the patch order only matters to the decoder: encode once
        feats = lite.encode(x, taps)
        lite.patch_order = "current"
        taps["logits"] = lite.decoder(x, *feats, taps)
        lite.patch_order = "legacy"
        legacy = lite.decoder(x, *feats)
        lite.patch_order = "current"
    assert _maxdiff(taps["logits"], t["logits"]) <= LOGITS_TOL
    assert _maxdiff(legacy, t["logits_legacy_patch_order"]) <= LOGITS_TOL
    checked = 0
    for name, ref in t.items():
        if name in ("input", "logits", "logits_legacy_patch_order"):
            continue
        assert name in taps, f"no intermediate named {name}"
        d = _maxdiff(taps[name], ref)
        assert d <= INTER_ABS or d / ref.abs().max().item() <= INTER_REL, f"{name}: {d}"
        checked += 1
    assert checked >= 6


def test_fused_channels_last_model_still_matches(lite):
    """The inference form (BN folded, merged offset convs, head fold, channels-last) keeps 1e-4."""
    fused = copy.deepcopy(lite).fuse_for_inference().set_channels_last(True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    for vec, order, key in (("A", "current", "logits"), ("A", "legacy", "logits_legacy_patch_order"),
                            ("C", "legacy", "logits_legacy_patch_order")):
        t = _vector(VECTORS[vec])
        fused.patch_order = order
        with torch.inference_mode():
            out = fused(t["input"].contiguous(memory_format=torch.channels_last))
        assert _maxdiff(out, t[key]) <= LOGITS_TOL, (vec, order)


def test_full_model_logits_both_orders(fill_sd):
    model = _loaded("full", fill_sd["full"])
    t = _vector("full_A_1x256x256")
    x, taps = t["input"], {}
    with torch.inference_mode():
        feats = model.encode(x, taps)
        taps["logits"] = model.decoder(x, *feats)
        model.patch_order = "legacy"
        legacy = model.decoder(x, *feats)
    d4 = _maxdiff(taps["bb_full.x4"], t["bb_full.x4"])
    assert d4 <= INTER_ABS or d4 / t["bb_full.x4"].abs().max().item() <= INTER_REL
    assert _maxdiff(taps["logits"], t["logits"]) <= LOGITS_TOL
    assert _maxdiff(legacy, t["logits_legacy_patch_order"]) <= LOGITS_TOL


def test_patch_order_example_matches_stack_patches():
    t = _vector("patch_order_example")
    img = t["image"]
    grid = (img.shape[-2] // t["patches_current"].shape[-2], img.shape[-1] // t["patches_current"].shape[-1])
    assert torch.equal(stack_patches(img, grid, "current"), t["patches_current"])
    assert torch.equal(stack_patches(img, grid, "legacy"), t["patches_legacy"])
    assert torch.equal(stack_patches(img, grid, "legacy", channels_last=True), t["patches_legacy"])
    assert not torch.equal(t["patches_current"], t["patches_legacy"])
