"""Load the official BiRefNet code (github.com/ZhengPeng7/BiRefNet, MIT) from a local checkout,
to time it beside ours in the same process. Nothing of it is part of vidmatte: give the
folder of a checkout (the reference vectors in ../shared were made at commit 25cb930).

The official ``Config`` picks its backbone by list index in ``config.py`` (Swin-L by
default); the checkout is copied to a temporary folder and that one index is set to the
requested backbone there, so the checkout itself stays untouched. The network is built with
``bb_pretrained=False`` and eval mode; load weights with ``load_state_dict`` (our state dicts
use the official keys).
"""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import sys
import tempfile
from pathlib import Path

__all__ = ["load_official_birefnet"]

_MODULES = ("config", "models", "dataset", "utils", "image_proc")


def _patch_backbone(config_py: Path, backbone: str) -> None:
    text = config_py.read_text()
    m = re.search(r"self\.bb = (\[.*?\])\[(\d+)\]", text, re.S)
    if m is None:
        raise RuntimeError(f"{config_py}: cannot find the backbone choice (self.bb = [...][N])")
    names = ast.literal_eval(m.group(1))
    if backbone not in names:
        raise RuntimeError(f"{config_py}: backbone {backbone!r} is not among {names}")
    config_py.write_text(text[: m.start(2)] + str(names.index(backbone)) + text[m.end(2):])


def load_official_birefnet(checkout, backbone: str = "swin_v1_t"):
    """The official ``BiRefNet(bb_pretrained=False)`` for ``backbone``, in eval mode (CPU)."""
    src = Path(checkout)
    if not (src / "models" / "birefnet.py").is_file() or not (src / "config.py").is_file():
        raise FileNotFoundError(f"{src} is not a checkout of ZhengPeng7/BiRefNet (no models/birefnet.py, config.py)")
    tmp = Path(tempfile.mkdtemp(prefix="birefnet-official-"))
    shutil.copytree(src, tmp / "code", ignore=shutil.ignore_patterns(".git"))
    _patch_backbone(tmp / "code" / "config.py", backbone)
    for name in list(sys.modules):  # a clean import of the copy's top-level modules
        if name.split(".")[0] in _MODULES:
            del sys.modules[name]
    sys.path.insert(0, str(tmp / "code"))
    try:
        model = importlib.import_module("models.birefnet").BiRefNet(bb_pretrained=False)
    finally:
        sys.path.remove(str(tmp / "code"))
    return model.eval()
