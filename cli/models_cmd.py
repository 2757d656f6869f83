"""``vidmatte models list|download|info``: the known checkpoints, fetching them, checking a file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="list, download or inspect model weights (BiRefNet; ViTMatte for --refine)",
                              description="List the known BiRefNet checkpoints, download one into the Hugging "
                                          "Face cache, or check a weights file.")
    sub = p.add_subparsers(dest="models_action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="known checkpoints with size, input size, patch order and licence")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    dl = sub.add_parser("download", help="fetch a checkpoint into the Hugging Face cache and print its path")
    dl.add_argument("name", metavar="NAME", help="checkpoint name (see `vidmatte models list`)")
    info = sub.add_parser("info", help="check a checkpoint (name or file) and describe it")
    info.add_argument("target", metavar="NAME|FILE", help="checkpoint name (looked up in the cache only) or file")
    info.add_argument("--variant", choices=("lite", "full"), help="require this network (default: from the file)")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return {"list": _list, "download": _download, "info": _info}[args.models_action](args)


def _table(head: tuple, rows: list) -> None:
    widths = [max(len(str(r[i])) for r in (head, *rows)) for i in range(len(head))]
    for r in (head, *rows):
        print("  ".join(str(cell).ljust(w) for cell, w in zip(r, widths)).rstrip())


def _list(args) -> int:
    from vidmatte.models.catalog import default_rows, model_rows

    rows, defaults = model_rows(), default_rows()
    if args.json:
        from vidmatte.models.weights.registry import CHECKPOINTS

        checkpoints = [dict(c.__dict__, size=list(c.size)) for c in CHECKPOINTS.values()]
        print(json.dumps({"models": [r.__dict__ for r in rows], "checkpoints": checkpoints, "defaults": defaults,
                          "onnx_devices": _providers()}, indent=1))
        return 0
    label = {True: "yes", False: "no"}
    _table(("NAME", "SOURCE", "FAMILY", "MB", "TRAINED WxH", "PATCHES", "LICENCE", "AVAILABLE"),
           [(r.name + (" (bundled)" if r.source.startswith("bundled") else ""), r.source, r.family, r.mb,
             r.trained_size, r.patches, r.licence, label[r.available]) for r in rows])
    print()
    for r in rows:
        print(f"{r.name}: {r.notes}")
    print("auto (the default): lite when its weights are here or the Hub answers, else the bundled modnet; "
          "live on a CPU: modnet.")
    print("aliases: full = general, rmbg = rmbg-2.0.  Download with `vidmatte models download NAME`.")
    print("\nDefaults per model and device (--model-size, --dtype override):")
    _table(("FAMILY", "DEVICE", "JOB", "SIZE", "DTYPE", "WHY"),
           [(d["family"], d["device"], d["job"], d["size"], d["dtype"], d["why"]) for d in defaults])
    from vidmatte.models.providers import provider_table

    print("\nONNX models (modnet, .onnx files): --device, the onnxruntime provider it asks for, and whether the "
          "installed wheels have it (a run warns when a provider cannot start):")
    _table(("DEVICE", "PROVIDER", "HERE"), provider_table())
    return 0


def _providers() -> list:
    from vidmatte.models.providers import provider_table

    return [{"device": d, "provider": p, "status": s} for d, p, s in provider_table() if d]


def _vitmatte(name: str):
    """The checkpoint when ``name`` is a ViTMatte refiner (``vitmatte-small``), else ``None``."""
    from vidmatte.models.weights.registry import CHECKPOINTS, get_checkpoint

    if name.strip().lower() not in CHECKPOINTS:
        return None
    ckpt = get_checkpoint(name)
    return ckpt if ckpt.variant == "vitmatte" else None


def _vitmatte_download(ckpt) -> int:
    import importlib.util

    from vidmatte.models.weights.hub import resolve_folder

    folder = resolve_folder(ckpt.name, download=True)  # weights + config.json + preprocessor_config.json
    if importlib.util.find_spec("transformers") is not None:
        from vidmatte.refine.vitmatte_load import load_vitmatte

        load_vitmatte(ckpt.name, folder)  # loads with strict key checks
    print(folder)
    return 0


def _vitmatte_info(ckpt, as_json: bool) -> int:
    import math

    from safetensors import safe_open

    from vidmatte.errors import WeightsError
    from vidmatte.models.weights.hub import resolve_folder

    try:
        folder = resolve_folder(ckpt.name, download=False)
    except WeightsError:
        from vidmatte.models.weights.hub import hub_cache_dir

        raise WeightsError(f"{ckpt.name!r} is not downloaded (looked in {hub_cache_dir()}); "
                           f"run `vidmatte models download {ckpt.name}`") from None
    path = folder / ckpt.filename
    try:
        with safe_open(str(path), "pt") as f:
            params = sum(int(math.prod(f.get_slice(k).get_shape())) for k in f.keys()
                         if ".running_" not in k and "num_batches_tracked" not in k)  # as BiRefNet's info
        config = json.loads((folder / "config.json").read_text())
    except Exception as exc:
        raise WeightsError(f"{path}: unreadable ({type(exc).__name__}); run `vidmatte models download {ckpt.name}` "
                           f"again") from None
    backbone = config.get("backbone_config") or {}
    data = {"folder": str(folder), "file_mb": round(path.stat().st_size / 1e6, 1), "repo": ckpt.repo_id,
            "licence": ckpt.licence, "parameters": params, "model_type": config.get("model_type"),
            "hidden_size": backbone.get("hidden_size"), "layers": backbone.get("num_hidden_layers")}
    if as_json:
        print(json.dumps(data, indent=1))
    else:
        for k, v in data.items():
            print(f"{k + ':':<13}{v:,}" if isinstance(v, int) else f"{k + ':':<13}{v}")
    return 0


def _download(args) -> int:
    from vidmatte.models.weights.loader import open_weights

    if _vitmatte(args.name) is not None:
        return _vitmatte_download(_vitmatte(args.name))
    _, info = open_weights(args.name, download=True)  # resolves (downloads if needed) and checks keys/shapes
    print(info.path)
    return 0


def _info(args) -> int:
    from vidmatte.models.weights.loader import open_weights

    target = args.target
    is_file = Path(target).exists() or "/" in target or Path(target).suffix.lower() in {
        ".safetensors", ".pth", ".pt", ".bin", ".ckpt"}
    if not is_file and _vitmatte(target) is not None:
        return _vitmatte_info(_vitmatte(target), args.json)
    if is_file:
        _, info = open_weights(None, weights=target, variant=args.variant)
    else:
        from vidmatte.errors import WeightsError
        from vidmatte.models.weights.hub import cached_weights, hub_cache_dir
        from vidmatte.models.weights.registry import get_checkpoint

        ckpt = get_checkpoint(target)
        if cached_weights(ckpt) is None:
            raise WeightsError(f"{ckpt.name!r} is not downloaded (looked in {hub_cache_dir()}); "
                               f"run `vidmatte models download {ckpt.name}`, or give a weights file to inspect")
        _, info = open_weights(ckpt.name, download=False, variant=args.variant)
    data = {
        "file": str(info.path),
        "file_mb": round(info.file_bytes / 1e6, 1),
        "variant": info.variant,
        "backbone": {"lite": "swin_v1_t", "full": "swin_v1_l"}[info.variant],
        "stored_dtypes": info.dtypes,
        "keys": info.num_keys,
        "parameters": info.num_params,
        "patch_order": info.patch_order,
        "input_size": list(info.size),
        "defaults_from": info.name,
        "licence": info.licence,
    }
    if args.json:
        print(json.dumps(data, indent=1))
        return 0
    dtypes = ", ".join(f"{k} x{n}" for k, n in sorted(info.dtypes.items()))
    origin = (f"from --weights file (defaults of {info.name!r}; override with --patch-order)" if info.from_file
              else f"{info.name} ({info.repo_id}, licence {info.licence}{'' if info.commercial else ', NON-COMMERCIAL'})")
    print(f"file:        {info.path} ({info.file_bytes / 1e6:.1f} MB)")
    print(f"checkpoint:  {origin}")
    print(f"variant:     {info.variant} ({data['backbone']}); keys and shapes match the network")
    print(f"stored:      {dtypes}")
    print(f"keys:        {info.num_keys}")
    print(f"parameters:  {info.num_params:,}")
    print(f"patch order: {info.patch_order}")
    print(f"input size:  {info.size[0]}x{info.size[1]} (HxW)")
    return 0
