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
