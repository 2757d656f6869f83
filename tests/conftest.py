"""Shared test fixtures: where ../shared is, and a skip when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("VIDMATTE_SHARED", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """Path inside ../shared, or skip the calling test with the reason."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs {p} (the read-only ../shared folder beside the checkout; CI has it)")
    return p


@pytest.fixture
def shared():
    """Callable fixture: ``shared('birefnet', 'lite_keys.json')`` → Path or skip."""
    return shared_path


@pytest.fixture
def one_torch_thread():
    """One intra-op torch thread for a test (restored after). Small tensors and busy 2-core
    CI machines: a second thread only adds OpenMP barrier waits, sometimes whole scheduler slices."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
