"""Shared by tests/runtime/ (not a conftest: tests/conftest.py owns that module name)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "runtime"
TWIN = REPO / "tests" / "fixtures" / "reference" / "buggy_dsv4_rope.py"


def load(folder: Path, name: str):
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))


@pytest.fixture(scope="session")
def models():
    pytest.importorskip("torch")
    pytest.importorskip("numpy")
    return load(FIXTURES, "models")


@pytest.fixture(scope="session")
def twin():
    pytest.importorskip("torch")
    return load(TWIN.parent, "buggy_dsv4_rope").BuggyDeepseekV4ScalingRotaryEmbedding


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the only line of `path` that contains `text`."""
    [row] = [i for i, line in enumerate(path.read_text().splitlines(), start=1) if text in line]
    return row
