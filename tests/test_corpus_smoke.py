"""Real corpora (vLLM 0.33.0 and 0.22.1, SGLang, transformers wheels) end to end. Slow and needs the package registry: run with
`python -m pytest -m slow`; `benchmarks/corpus_smoke.py` is the same check with its table of counts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.slow
def test_corpora_lint_and_fix_cleanly() -> None:
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "corpus_smoke.py")], capture_output=True,
                          text=True, timeout=3600)
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    assert done.stdout.count("| yes |") == 4
