"""`vidmatte models list|download|info`, and one clear line for every kind of bad weights file."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys

import pytest

from vidmatte.errors import WeightsError
import torch
from safetensors.torch import save_file

from fillrule import build_fill_state_dict
from vidmatte.models.weights.loader import expected_entries
from vidmatte_cli.main import main


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``vidmatte ARGS`` in a fresh interpreter (what a user runs)."""
    full_env = dict(os.environ, OMP_NUM_THREADS="2", **(env or {}))
    full_env.pop("VIDMATTE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "vidmatte_cli.main", *args], capture_output=True, text=True,
                          env=full_env, timeout=240)


def assert_one_line_error(res: subprocess.CompletedProcess, *needles: str) -> str:
    err = res.stderr.strip()
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    assert "Traceback" not in res.stderr
    assert len(err.splitlines()) == 1 and err.startswith("vidmatte: error:"), err
    for n in needles:
        assert n in err, (n, err)
    return err


@pytest.fixture(scope="module")
def lite16(tmp_path_factory) -> tuple[dict, object]:
    """Fill-rule lite weights (shapes from our own network) and their fp16 safetensors file."""
    rows = [[k, list(s), "float32" if d.is_floating_point else "int64"] for k, (s, d) in expected_entries("lite").items()]
    sd = {k: v.half() if v.is_floating_point() else v for k, v in build_fill_state_dict(rows).items()}
    path = tmp_path_factory.mktemp("w") / "lite16.safetensors"
    save_file(sd, str(path))
    return sd, path


def test_list_shows_every_checkpoint_and_flags_non_commercial(capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    for name, repo in [("lite", "ZhengPeng7/BiRefNet_lite"), ("lite-2k", "ZhengPeng7/BiRefNet_lite-2K"),
                       ("general", "ZhengPeng7/BiRefNet"), ("portrait", "ZhengPeng7/BiRefNet-portrait"),
                       ("matting", "ZhengPeng7/BiRefNet-matting"), ("rmbg-2.0", "briaai/RMBG-2.0")]:
        assert any(line.startswith(name + " ") and repo in line for line in out.splitlines()), name
    rmbg = next(line for line in out.splitlines() if line.startswith("rmbg-2.0 "))
    assert "NON-COMMERCIAL" in rmbg and "2560x1440" in out
    bundled = next(line for line in out.splitlines() if line.startswith("modnet (bundled)"))
    assert "Apache-2.0" in bundled and bundled.rstrip().endswith("yes")  # the bundled model is always here
    assert "Defaults per model and device" in out
    assert main(["models", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in data["checkpoints"]}
    assert rows["rmbg-2.0"]["commercial"] is False and rows["lite"]["commercial"] is True
    assert rows["general"]["variant"] == "full" and rows["lite-2k"]["size"] == [1440, 2560]
    models = {r["name"]: r for r in data["models"]}
    assert models["modnet"]["available"] is True and set(models) >= set(rows)
    live_cpu = [d for d in data["defaults"] if (d["family"], d["device"], d["job"]) == ("modnet", "cpu", "live")]
    assert live_cpu and live_cpu[0]["size"] == "384" and live_cpu[0]["dtype"] == "int8"


def test_info_describes_a_good_file(lite16):
    sd, path = lite16
    res = run_cli("models", "info", str(path), "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    n_params = sum(p.numel() for p in _meta_lite().parameters())
    assert data["variant"] == "lite" and data["keys"] == len(sd) and data["parameters"] == n_params
    assert data["stored_dtypes"] == {"float16": sum(v.is_floating_point() for v in sd.values()),
                                     "int64": sum(not v.is_floating_point() for v in sd.values())}
    assert data["patch_order"] == "legacy" and data["file_mb"] == round(path.stat().st_size / 1e6, 1)


def _meta_lite():
    from vidmatte.models.birefnet.network import BiRefNet

    with torch.device("meta"):
        return BiRefNet("lite")


def _write_bad(kind: str, sd: dict, d) -> tuple[str, list[str], tuple[str, ...]]:
    """Write one faulty file; return (path, extra CLI args, expected message fragments)."""
    p = d / f"{kind}.safetensors"
    if kind == "missing":
        return str(d / "nowhere.safetensors"), [], ("not found",)
    if kind == "empty":
        p.write_bytes(b"")
        return str(p), [], ("empty file",)
    if kind == "truncated":
        save_file(sd, str(p))
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
        return str(p), [], ("truncated",)
    if kind == "random_bytes":
        data = random.Random(7).randbytes(1 << 16)
        assert data[8:9] != b"{" and data[:1] != b"\x80" and data[:2] != b"PK"
        p.write_bytes(data)
        return str(p), [], ("not a safetensors or torch checkpoint",)
    if kind == "truncated_pth":
        p = d / "cut.pth"
        torch.save(sd, p)
        p.write_bytes(p.read_bytes()[:100_000])
        return str(p), [], ("torch file is truncated or corrupt",)
    if kind == "lite_as_full":
        save_file(sd, str(p))
        return str(p), ["--variant", "full"], ("holds a BiRefNet lite checkpoint but the full network was asked",)
    if kind == "not_birefnet":
        save_file({"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.bias": torch.zeros(10)}, str(p))
        return str(p), [], ("does not look like a BiRefNet checkpoint",)
    if kind == "full_slice":
        w = expected_entries("full")["bb.patch_embed.proj.weight"][0]
        save_file({"bb.patch_embed.proj.weight": torch.zeros(w)}, str(p))
        return str(p), [], (f"does not fit BiRefNet full: {len(expected_entries('full')) - 1} keys missing",)
    if kind == "missing_keys":
        drop = [k for k in sd if k.startswith("decoder.")][:12]
        save_file({k: v for k, v in sd.items() if k not in drop}, str(p))
        return str(p), [], ("12 keys missing, e.g. " + drop[0],)
    if kind == "extra_keys":
        extra = {f"decoder.extra{i}.weight": torch.zeros(2) for i in range(3)}
        save_file({**sd, **extra}, str(p))
        return str(p), [], ("3 unexpected keys, e.g. decoder.extra0.weight",)
    if kind == "wrong_shape":
        key = "squeeze_module.0.conv_in.weight"
        bad = dict(sd)
        bad[key] = sd[key][:, :-1].contiguous()
        save_file(bad, str(p))
        want = tuple(sd[key].shape)
        got = (want[0], want[1] - 1, *want[2:])
        return str(p), [], (f"shape mismatch at {key}: file {got} vs model {want}",)
    if kind == "nan":
        bad = dict(sd)
        bad["decoder.conv_out1.0.weight"] = torch.full_like(sd["decoder.conv_out1.0.weight"], float("nan"))
        save_file(bad, str(p))
        return str(p), [], ("NaN or Inf values at decoder.conv_out1.0.weight",)
    if kind == "pickle_object":
        p = d / "evil.pth"
        marker = d / "payload_ran"
        torch.save({"state_dict": {"a": torch.ones(1)}, "hook": _Payload(str(marker))}, p)
        return str(p), [], ("refuses", "weights_only")
    raise AssertionError(kind)


class _Payload:
    """Unpickling this would create a file: proof that no code runs on load."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


BAD = ["missing", "empty", "truncated", "random_bytes", "truncated_pth", "lite_as_full", "not_birefnet", "full_slice",
       "missing_keys", "extra_keys", "wrong_shape", "nan", "pickle_object"]


@pytest.mark.parametrize("kind", BAD)
def test_bad_weights_give_one_clear_line(kind, lite16, tmp_path):
    sd, _ = lite16
    path, extra, needles = _write_bad(kind, sd, tmp_path)
    err = assert_one_line_error(run_cli("models", "info", path, *extra), *needles)
    assert os.path.basename(path) in err
    if kind == "pickle_object":
        assert not (tmp_path / "payload_ran").exists()
    if kind not in ("missing", "lite_as_full"):
        assert "--weights FILE" in err


def _hub_cache(root, payload: bytes, rev: str = "cd" * 20):
    repo = root / "models--ZhengPeng7--BiRefNet_lite"
    blob = repo / "blobs" / hashlib.sha256(payload).hexdigest()
    blob.parent.mkdir(parents=True)
    blob.write_bytes(payload)
    snap = repo / "snapshots" / rev / "model.safetensors"
    snap.parent.mkdir(parents=True)
    snap.symlink_to(os.path.relpath(blob, snap.parent))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(rev)
    return snap


def test_download_and_info_by_name_use_the_hub_cache_offline(lite16, tmp_path):
    _, path = lite16
    cache = tmp_path / "hub"
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}
    cache.mkdir()
    err = assert_one_line_error(run_cli("models", "download", "lite", env=env),
                                "HF_HUB_OFFLINE", "hf download ZhengPeng7/BiRefNet_lite model.safetensors")
    assert "vidmatte models download lite" in err
    assert_one_line_error(run_cli("models", "info", "lite", env=env), "not downloaded", "vidmatte models download lite")
    snap = _hub_cache(cache, path.read_bytes())
    res = run_cli("models", "download", "lite", env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(snap)
    res = run_cli("models", "info", "lite", env=env)
    assert res.returncode == 0, res.stderr
    assert "ZhengPeng7/BiRefNet_lite" in res.stdout and "float16 x" in res.stdout and "legacy" in res.stdout
    listed = run_cli("models", "list", env=env).stdout.splitlines()
    assert next(line for line in listed if line.startswith("lite ")).rstrip().endswith("yes")
    assert next(line for line in listed if line.startswith("general ")).rstrip().endswith("no")


def test_auto_picks_lite_when_cached_else_the_bundled_modnet(lite16, tmp_path, monkeypatch):
    from vidmatte.models.factory import load_matter

    _, path = lite16
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fallback = load_matter("auto", device="cpu")
    assert fallback.name == "modnet" and max(fallback.size) == 512
    assert "bundled MODNet" in fallback.notice and "HF_HUB_OFFLINE" in fallback.notice
    assert "vidmatte models download lite" in fallback.notice and "\n" not in fallback.notice
    live = load_matter("auto", device="cpu", live=True)
    assert live.name == "modnet" and max(live.size) == 384 and "live" in live.notice
    _hub_cache(cache, path.read_bytes())
    lite = load_matter("auto", device="cpu", size=64)
    assert lite.name == "birefnet-lite" and getattr(lite, "notice", None) is None
    with pytest.raises(WeightsError):  # a named model never falls back
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
        load_matter("general", device="cpu")


def test_unknown_name_is_one_line():
    assert_one_line_error(run_cli("models", "download", "birefnet-xxl"), "unknown model", "vidmatte models list")


def test_download_says_when_the_cache_cannot_be_written(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should go")
    env = {"HF_HUB_CACHE": str(blocker / "hub"), "HF_ENDPOINT": "http://127.0.0.1:9"}
    assert_one_line_error(run_cli("models", "download", "lite", env=env), "cannot write to the Hugging Face cache",
                          "HF_HUB_CACHE")


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 2 MB filesystem (tmpfs); skipped where this process may not mount one."""
    import subprocess as sp

    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if sp.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)")
    yield mnt
    sp.run(["umount", str(mnt)], capture_output=True)


def test_download_says_when_the_disk_is_too_small(tiny_disk):
    env = {"HF_HUB_CACHE": str(tiny_disk / "hub"), "HF_ENDPOINT": "http://127.0.0.1:9"}
    err = assert_one_line_error(run_cli("models", "download", "lite", env=env), "not enough disk space", "MB free")
    assert "HF_HUB_CACHE" in err
