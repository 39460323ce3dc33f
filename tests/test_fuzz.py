"""Generated and mutated Python through the whole pipeline: nothing escapes, nothing is nondeterministic."""

from __future__ import annotations

import random
from pathlib import Path

import libcst as cst
from hypothesis import HealthCheck, given, settings, strategies as st

from devlint.api import lint_paths, lint_source
from devlint.types import FixMode, Settings

from conftest import FIXTURES

SOURCES = [p.read_text() for p in sorted((FIXTURES / "models").glob("*.py"))]
ALPHABET = "()[]{}:,.'\"\n\t #=+*-@\\abcdxyz_0123456789" + "cuda" * 3


@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["delete", "insert", "duplicate-line", "token"]))
        if action == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 40)):]
        elif action == "insert":
            text = text[:position] + draw(st.text(alphabet=ALPHABET, max_size=12)) + text[position:]
        elif action == "token":
            text = text[:position] + draw(st.sampled_from(
                [" device='cuda'", ".cuda()", "(", ")", ":", "\n    ", "# noqa: DL001", "self.", "torch.zeros_like(",
                 ", device=current_platform.device_type", "\"\"\"", "  # devlint: ignore[DL002]"])) + text[position:]
        else:
            lines = text.splitlines(keepends=True)
            if lines:
                index = draw(st.integers(0, len(lines) - 1))
                lines.insert(index, lines[index])
                text = "".join(lines)
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_code_never_breaks_the_pipeline(source: str) -> None:
    first = lint_source(source, "fuzz.py", Settings(), FixMode.UNSAFE)
    assert first.error is None or first.error.code in ("E999", "E902"), first.error
    second = lint_source(source, "fuzz.py", Settings(), FixMode.UNSAFE)
    assert (first.diagnostics, first.error, first.fixed_source) == (second.diagnostics, second.error, second.fixed_source)
    if first.fixed_source is not None:
        cst.parse_module(first.fixed_source)  # fixes never leave a file that does not parse


def test_output_is_the_same_for_any_number_of_jobs(tmp_path: Path) -> None:
    chooser = random.Random(20261129)
    for index in range(48):
        text = chooser.choice(SOURCES)
        cut = chooser.randrange(len(text))
        if index % 3:
            text = text[:cut] + chooser.choice(["(", " device='cuda'", "\n", ""]) + text[cut + chooser.randrange(5):]
        (tmp_path / f"m{index:02}.py").write_text(text)
    runs = [lint_paths([str(tmp_path)], jobs=jobs) for jobs in (1, 2, 3)]
    views = [([(d.path, d.start, d.code, d.message) for d in run.diagnostics],
              [(e.path, e.code, e.reason) for e in run.errors]) for run in runs]
    assert views[0] == views[1] == views[2]
    assert views[0][0] and views[0][1]  # some findings and some broken files, so the comparison means something
