"""Jupyter notebooks: code cells linted as one module, reported per cell, fixed in place byte for byte."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from devlint.cli import main
from devlint.notebook import parse_notebook, python_module

from conftest import FIXTURES, devlint_env, docs_block

ROPE = FIXTURES / "notebooks" / "rope_cache.ipynb"

DL001_CELL_5 = (
    "rope_cache.ipynb:cell 5:3:27: DL001 [*] `torch.arange` puts its result on the platform device `\"cuda\"`, "
    "but it is combined with `inv_freq` in `torch.outer` (line 4); `inv_freq` is a tensor: returned by "
    "`torch.arange` (cell 3, line 2); use `device=inv_freq.device`")
DL001_CELL_8 = (
    "rope_cache.ipynb:cell 8:1:30: DL001 [*] `torch.ones` puts its result on the platform device `\"cuda\"`, "
    "but it is combined with `inv_freq` in `*` (line 1); `inv_freq` is a tensor: returned by `torch.arange` "
    "(cell 3, line 2); use `device=inv_freq.device`")
NOQA = "  # noqa: DL001 (kept on the GPU on purpose)"


def run(*args: str, input: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", "--no-cache", *args], input=input)
    return result.exit_code, result.output


@pytest.fixture
def rope(in_tmp: Path) -> Path:
    shutil.copy(ROPE, in_tmp / "rope_cache.ipynb")
    return in_tmp / "rope_cache.ipynb"


def notebook(*sources: str | list[str], kinds: tuple[str, ...] = (), **dump: object) -> str:
    """A notebook as Jupyter writes one (key order as given, not sorted), with `json.dumps` options."""
    cells = []
    for number, source in enumerate(sources):
        kind = kinds[number] if number < len(kinds) else "code"
        cell: dict[str, object] = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    document = {"metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5,
                "cells": cells}
    return json.dumps(document, **dump)  # type: ignore[arg-type]


# Reporting.

def test_the_rope_notebook_is_reported_by_cell_with_the_sibling_from_an_earlier_cell(rope: Path) -> None:
    code, out = run("rope_cache.ipynb")
    # Cell 8's `torch.ones(..., device="cuda") * inv_freq` carries a DL001 suppression; the
    # `%%bash` cell 6 (which echoes a `device='cuda'` factory) is not Python and not checked.
    assert (code, out) == (1, DL001_CELL_5 + "\nFound 1 finding in 1 file (1 fixable).\n")


def test_noqa_works_per_line_in_a_cell(rope: Path) -> None:
    rope.write_text(rope.read_text().replace(NOQA, ""))
    code, out = run("rope_cache.ipynb")
    assert (code, out) == (1, DL001_CELL_5 + "\n" + DL001_CELL_8 + "\nFound 2 findings in 1 file (2 fixable).\n")


def test_a_folder_discovers_notebooks_but_not_jupyter_checkpoints(rope: Path) -> None:
    checkpoints = rope.parent / ".ipynb_checkpoints"
    checkpoints.mkdir()
    shutil.copy(rope, checkpoints / "rope_cache-checkpoint.ipynb")
    result = CliRunner().invoke(main, ["check", "--show-files", "."])
    assert result.output == f"{rope}\n"
    assert run(".") == (1, DL001_CELL_5 + "\nFound 1 finding in 1 file (1 fixable).\n")


def test_json_keeps_row_and_column_relative_to_the_cell_and_adds_the_cell(rope: Path) -> None:
    code, out = run("--output-format", "json", "rope_cache.ipynb")
    [finding] = json.loads(out)
    assert finding["cell"] == 5
    assert (finding["location"], finding["end_location"], finding["noqa_row"]) == (
        {"row": 3, "column": 27}, {"row": 3, "column": 40}, 3)
    assert finding["fix"]["edits"] == [{"content": "inv_freq.device", "location": {"row": 3, "column": 34},
                                        "end_location": {"row": 3, "column": 40}}]


def _file_position(path: Path, needle: str) -> tuple[int, int]:
    """1-based row and column of `needle` in the file's own lines (the JSON as stored)."""
    for row, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return row, line.index(needle) + 1
    raise AssertionError(needle)


def test_github_annotations_point_at_the_line_of_the_ipynb_file(rope: Path) -> None:
    row, column = _file_position(rope, 'device=\\"cuda\\", dtype=inv_freq.dtype')
    code, out = run("--output-format", "github", "rope_cache.ipynb")
    message = DL001_CELL_5.replace(" [*]", "")
    # `device=\"cuda\"` is 15 characters in the file (escaped quotes), 13 in the cell.
    assert out == (f"::error title=devlint (DL001),file=rope_cache.ipynb,line={row},col={column},endLine={row},"
                   f"endColumn={column + 15}::{message}\n")


def test_sarif_places_the_result_in_the_file_and_the_cell_in_properties(rope: Path) -> None:
    row, column = _file_position(rope, 'device=\\"cuda\\", dtype=inv_freq.dtype')
    code, out = run("--output-format", "sarif", "rope_cache.ipynb")
    jsonschema.validate(json.loads(out), json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text()))
    [result] = json.loads(out)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"] == {
        "startLine": row, "startColumn": column, "endLine": row, "endColumn": column + 15}
    assert result["properties"] == {"notebookCell": 5, "cellRegion": {"startLine": 3, "startColumn": 27,
                                                                       "endLine": 3, "endColumn": 40}}
    assert result["message"]["text"].startswith("cell 5:3:27: `torch.arange` puts its result")
    assert "fixes" not in result  # they edit the cell, not the file's JSON


def test_full_format_shows_the_cell_line(rope: Path) -> None:
    code, out = run("--output-format", "full", "rope_cache.ipynb")
    assert out.splitlines()[1:6] == [
        '    3 | t = torch.arange(seq_len, device="cuda", dtype=inv_freq.dtype)',
        "                                  ^^^^^^^^^^^^^",
        "  safe fix: Use `device=inv_freq.device`",
        '    -t = torch.arange(seq_len, device="cuda", dtype=inv_freq.dtype)',
        "    +t = torch.arange(seq_len, device=inv_freq.device, dtype=inv_freq.dtype)",
    ]


# IPython syntax.

def test_magics_shell_escapes_and_help_become_placeholders_on_the_same_rows() -> None:
    cell = ["%%time\n", "for name in ('cos', 'sin'):\n", "    %time table = name.upper()\n", "label = (\n",
            "    'rope %s'\n", "    % 'cache'\n", ")\n", "gpus = !nvidia-smi -L\n", "torch.outer?\n", "?torch\n",
            "doc = '''\n", "%not a magic inside a string\n", "'''\n", "!echo done"]
    text = notebook(["\n", "%%bash\n", "echo hi"], cell, "x = 1")
    module = python_module(parse_notebook(text))
    assert module.text == (
        "# devlint-notebook-cell\n"
        "pass  # devlint-ipython-0\n"
        "for name in ('cos', 'sin'):\n"
        "    pass  # devlint-ipython-1\n"
        "label = (\n"
        "    'rope %s'\n"
        "    % 'cache'\n"  # a continuation inside brackets is Python, not a magic
        ")\n"
        "pass  # devlint-ipython-2\n"
        "pass  # devlint-ipython-3\n"
        "pass  # devlint-ipython-4\n"
        "doc = '''\n"
        "%not a magic inside a string\n"
        "'''\n"
        "pass  # devlint-ipython-5\n"
        "# devlint-notebook-cell\n"
        "x = 1\n")
    assert (module.indexes, module.first_rows) == ((2, 3), (2, 17))  # the %%bash cell 1 is left out
    assert module.split(module.text) == {2: "".join(cell), 3: "x = 1"}


def test_a_line_magic_between_the_sibling_and_the_factory_keeps_positions(in_tmp: Path) -> None:
    (in_tmp / "nb.ipynb").write_text(notebook(
        ["import torch\n", "%matplotlib inline\n", "inv_freq = torch.ones(8)\n"],
        ["!nvidia-smi\n", "t = torch.arange(4, device=\"cuda\")\n", "%timeit torch.outer(t, inv_freq)\n",
         "freqs = torch.outer(t, inv_freq)\n"], indent=1))
    code, out = run("nb.ipynb")
    assert out.splitlines()[0].startswith("nb.ipynb:cell 2:2:21: DL001 [*] `torch.arange` puts its result")
    assert "combined with `inv_freq` in `torch.outer` (line 4)" in out
    assert "returned by `torch.ones` (cell 1, line 3)" in out


# Fixing: only the edited cell's `source` changes, byte for byte.

def test_fix_edits_one_line_of_the_cell_and_nothing_else(rope: Path) -> None:
    before = rope.read_bytes()
    code, out = run("--fix", "rope_cache.ipynb")
    assert (code, out) == (0, "Fixed 1 finding.\n")
    assert rope.read_bytes() == before.replace(b'device=\\"cuda\\", dtype=inv_freq.dtype',
                                               b'device=inv_freq.device, dtype=inv_freq.dtype', 1)
    assert run("rope_cache.ipynb") == (0, "All checks passed!\n")


BUGGY_CELLS = (
    ["import torch\n", "# \u03b8: the RoPE base, caf\u00e9 notes\n", "inv_freq = torch.ones(8)"],
    ["t = torch.arange(4, device=\"cuda\")  # \u03b8\n", "freqs = torch.outer(t, inv_freq)"],
)


def test_fix_keeps_indent_two_ascii_escapes_and_a_missing_final_newline(in_tmp: Path) -> None:
    path = in_tmp / "nb.ipynb"
    before = notebook(*BUGGY_CELLS, indent=2, ensure_ascii=True)  # no trailing newline, `\u03b8` escapes
    path.write_text(before)
    assert run("--fix", "nb.ipynb")[0] == 0
    old = '"t = torch.arange(4, device=\\"cuda\\")  # \\u03b8\\n"'
    assert old in before
    assert path.read_text() == before.replace(old, '"t = torch.arange(4, device=inv_freq.device)  # \\u03b8\\n"')


def test_fix_keeps_raw_non_ascii_and_indent_one_with_a_final_newline(in_tmp: Path) -> None:
    path = in_tmp / "nb.ipynb"
    before = notebook(*BUGGY_CELLS, indent=1, ensure_ascii=False) + "\n"
    path.write_bytes(before.encode())
    assert run("--fix", "nb.ipynb")[0] == 0
    assert path.read_bytes() == before.replace('device=\\"cuda\\")  # \u03b8',
                                               'device=inv_freq.device)  # \u03b8').encode()


def test_fix_of_a_source_given_as_one_string_and_of_a_compact_notebook(in_tmp: Path) -> None:
    path = in_tmp / "nb.ipynb"
    cells = ["".join(cell) for cell in BUGGY_CELLS]
    before = notebook(*cells, separators=(",", ":"), ensure_ascii=False)  # one line, `source` strings
    path.write_text(before)
    assert run("--fix", "nb.ipynb")[0] == 0
    assert path.read_text() == before.replace(json.dumps(cells[1], ensure_ascii=False), json.dumps(
        cells[1].replace('device="cuda"', "device=inv_freq.device"), ensure_ascii=False))


def test_fix_keeps_windows_line_breaks_between_json_tokens(in_tmp: Path) -> None:
    path = in_tmp / "nb.ipynb"
    before = notebook(*BUGGY_CELLS, indent=1).replace("\n", "\r\n").encode()  # strings escape their own \n
    path.write_bytes(before)
    assert run("--fix", "nb.ipynb")[0] == 0
    assert path.read_bytes() == before.replace(b'device=\\"cuda\\")', b"device=inv_freq.device)")


def test_a_fix_that_removes_a_line_rebuilds_the_list_in_the_same_layout(in_tmp: Path) -> None:
    path = in_tmp / "nb.ipynb"
    before = notebook(["import torch\n", "x = torch.ones(2)\n"],
                      ["y = torch.zeros(2)\n", "# devlint: ignore[DL001]\n", "z = y + 1"], indent=1)
    path.write_text(before)
    code, out = run("--fix", "nb.ipynb")  # DL100: the unused whole-line suppression goes, line and all
    assert (code, out) == (0, "Fixed 1 finding.\n")
    assert path.read_text() == before.replace('    "y = torch.zeros(2)\\n",\n    "# devlint: ignore[DL001]\\n",\n',
                                              '    "y = torch.zeros(2)\\n",\n')


def test_diff_shows_one_hunk_per_changed_cell_and_writes_nothing(rope: Path) -> None:
    before = rope.read_bytes()
    code, out = run("--diff", "rope_cache.ipynb")
    assert (code, out) == (1, (
        "--- a/rope_cache.ipynb:cell 5\n"
        "+++ b/rope_cache.ipynb:cell 5\n"
        "@@ -1,5 +1,5 @@\n"
        " %%time\n"
        " seq_len = 4096\n"
        '-t = torch.arange(seq_len, device="cuda", dtype=inv_freq.dtype)\n'
        "+t = torch.arange(seq_len, device=inv_freq.device, dtype=inv_freq.dtype)\n"
        " freqs = torch.outer(t, inv_freq)\n"
        " cos, sin = freqs.cos(), freqs.sin()\n"
        "Would fix 1 finding.\n"))
    assert rope.read_bytes() == before


def test_add_noqa_comments_the_cell_lines(rope: Path) -> None:
    rope.write_text(rope.read_text().replace(NOQA, ""))
    before = rope.read_text()
    code, out = run("--add-noqa", "rope_cache.ipynb")
    assert (code, out) == (0, "Added noqa comments for 2 findings in 1 file.\n")
    assert rope.read_text() == before.replace(
        'dtype=inv_freq.dtype)\\n"', 'dtype=inv_freq.dtype)  # noqa: DL001\\n"').replace(
        '* inv_freq\\n"', '* inv_freq  # noqa: DL001\\n"')
    assert run("rope_cache.ipynb") == (0, "All checks passed!\n")


# The rest of the pipeline: standard input, cache, baseline, changed lines.

def test_stdin_filename_ipynb_reads_a_notebook_and_fix_prints_it(in_tmp: Path) -> None:
    data = ROPE.read_bytes()
    code, out = run("--stdin-filename", "rope_cache.ipynb", input=data)
    assert (code, out) == (1, DL001_CELL_5 + "\nFound 1 finding in 1 file (1 fixable).\n")
    result = CliRunner().invoke(main, ["check", "--no-cache", "--fix", "--stdin-filename",
                                                       "rope_cache.ipynb"], input=data)
    assert result.stdout_bytes == data.replace(b'device=\\"cuda\\", dtype', b"device=inv_freq.device, dtype")


def test_a_cached_run_reports_the_same_cell_positions(rope: Path) -> None:
    args = ["check", "--cache-dir", "cache", "--output-format", "github", "rope_cache.ipynb"]
    first = CliRunner().invoke(main, args).output
    assert list((rope.parent / "cache").rglob("*.json"))
    assert CliRunner().invoke(main, args).output == first
    assert CliRunner().invoke(main, args[:3] + ["rope_cache.ipynb"]).output.startswith(DL001_CELL_5)


def test_a_baseline_records_notebook_findings(rope: Path) -> None:
    assert run("--write-baseline", "baseline.json", "rope_cache.ipynb")[0] == 0
    assert run("--baseline", "baseline.json", "rope_cache.ipynb") == (0, "All checks passed!\n")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                   capture_output=True)


def test_diff_base_keeps_findings_on_changed_lines_of_the_notebook(rope: Path) -> None:
    _git(rope.parent, "init", "-q")
    _git(rope.parent, "add", "rope_cache.ipynb")
    _git(rope.parent, "commit", "-qm", "notebook")
    assert run("--diff-base", "HEAD", "rope_cache.ipynb") == (0, "All checks passed!\n")
    # Running the notebook changes every cell's execution count (and outputs), not the lines of its code.
    rope.write_text(rope.read_text().replace('"execution_count": null', '"execution_count": 7'))
    assert run("--diff-base", "HEAD", "rope_cache.ipynb") == (0, "All checks passed!\n")
    rope.write_text(rope.read_text().replace(NOQA, ""))  # a new finding in cell 8; cell 5's is old
    assert run("--diff-base", "HEAD", "rope_cache.ipynb") == (
        1, DL001_CELL_8 + "\nFound 1 finding in 1 file (1 fixable).\n")


# Files that are not notebooks devlint can read: one E902 line each, and the run goes on.

@pytest.mark.parametrize(("content", "reason"), [
    ('{"cells": [', "not valid JSON: Expecting value: line 1 column 12 (char 11)"),
    ('{"nbformat": 4}', "not a notebook devlint can read: no `cells` list; nbformat 4 is expected"),
    ('{"worksheets": [], "nbformat": 3}',
     "not a notebook devlint can read: an nbformat 3 notebook (`worksheets`); nbformat 4 is expected"),
    ('{"cells": [{"cell_type": "code", "source": 3}]}',
     "cell 1: `source` is neither a string nor a list of strings"),
    ('{"cells": [{"cell_type": "code", "source": ["x", 1]}]}',
     "cell 1: `source` is neither a string nor a list of strings"),
    ('{"cells": ["x"]}', "cell 1 is not an object with a `cell_type`"),
    ("[1, 2]", "not a notebook: the JSON document is not an object"),
])
def test_a_malformed_notebook_is_one_e902_line(in_tmp: Path, content: str, reason: str) -> None:
    (in_tmp / "bad.ipynb").write_text(content)
    shutil.copy(ROPE, in_tmp / "rope_cache.ipynb")
    code, out = run("bad.ipynb", "rope_cache.ipynb")
    assert (code, out) == (1, f"bad.ipynb:1:1: E902 {reason}\n{DL001_CELL_5}\n"
                              "Found 1 finding in 1 file (1 fixable). 1 file could not be checked.\n")


def test_a_syntax_error_in_a_cell_is_reported_in_that_cell(in_tmp: Path) -> None:
    (in_tmp / "nb.ipynb").write_text(notebook(["# Notes"], "import torch\n",
                                              ["x = torch.zeros((1, device=\"cuda\")\n", "y = 2\n"],
                                              kinds=("markdown",)))
    code, out = run("nb.ipynb")
    assert (code, out) == (1, "nb.ipynb:cell 3:1:21: E999 syntax error: invalid syntax. Maybe you meant '==' or "
                              "':=' instead of '='?\n"
                              "No findings in the files checked. 1 file could not be checked.\n")


def test_a_notebook_of_another_language_has_nothing_checked(in_tmp: Path) -> None:
    document = json.loads(notebook('x <- torch$zeros(3, device = "cuda")'))
    document["metadata"] = {"kernelspec": {"language": "R", "name": "ir"}}
    (in_tmp / "r.ipynb").write_text(json.dumps(document))
    assert run("r.ipynb") == (0, "All checks passed!\n")


def test_the_command_in_a_subprocess_imports_neither_torch_nor_jupyter(tmp_path: Path) -> None:
    shutil.copy(ROPE, tmp_path / "rope_cache.ipynb")
    done = subprocess.run([sys.executable, "-m", "devlint", "check", "--no-cache", "."], cwd=tmp_path,
                          capture_output=True, text=True, env=devlint_env(), timeout=120)
    assert (done.returncode, done.stdout) == (1, DL001_CELL_5 + "\nFound 1 finding in 1 file (1 fixable).\n")
    probe = ("import sys; from devlint.api import lint_paths; lint_paths(['rope_cache.ipynb']); "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'nbformat', 'IPython', 'jupyter'}))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                            env=devlint_env(), timeout=120)
    assert loaded.stdout == "[]\n", loaded.stderr


def test_the_readme_example_is_what_devlint_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    block = docs_block("$ devlint check tests/fixtures/notebooks/rope_cache.ipynb", "README.md")
    command, expected = block.split("\n", 1)
    monkeypatch.chdir(FIXTURES.parent.parent)
    assert run(*command.split()[3:]) == (1, expected)


@pytest.mark.parametrize("line", ["# devlint-notebook-cell", "pass  # devlint-ipython-0"])
def test_a_cell_holding_a_line_devlint_reserves_is_refused_not_rewritten(in_tmp: Path, line: str) -> None:
    (in_tmp / "nb.ipynb").write_text(notebook("%time 1\n", ["import torch\n", line + "\n",
                                                           "t = torch.zeros(2, device='cuda') + torch.ones(2)"]))
    before = (in_tmp / "nb.ipynb").read_bytes()
    assert run("--fix", "nb.ipynb") == (1, "nb.ipynb:1:1: E902 cell 2 holds a line devlint reserves "
                                           "(`# devlint-notebook-cell` or `pass  # devlint-ipython-N`)\n"
                                           "No findings in the files checked. 1 file could not be checked.\n")
    assert (in_tmp / "nb.ipynb").read_bytes() == before


def test_a_notebook_with_large_outputs_is_checked_and_a_bom_is_kept(in_tmp: Path) -> None:
    document = json.loads(notebook(*BUGGY_CELLS, indent=1))
    image = "iVBORw0KGgo" * (11 * 2**20 // 11)  # 11 MiB of output: over the limit for a .py file
    document["cells"][1]["outputs"] = [{"output_type": "display_data", "data": {"image/png": image},
                                        "metadata": {}}]
    before = b"\xef\xbb\xbf" + json.dumps(document, indent=1).encode()
    (in_tmp / "nb.ipynb").write_bytes(before)
    assert run("nb.ipynb")[1].startswith("nb.ipynb:cell 2:1:21: DL001 [*]")
    assert run("--fix", "nb.ipynb") == (0, "Fixed 1 finding.\n")
    assert (in_tmp / "nb.ipynb").read_bytes() == before.replace(b'device=\\"cuda\\")', b"device=inv_freq.device)")


def test_a_notebook_that_is_not_utf8_is_one_e902_line(in_tmp: Path) -> None:
    (in_tmp / "nb.ipynb").write_bytes(notebook("x = 'caf\u00e9'", ensure_ascii=False).encode("latin-1"))
    code, out = run("nb.ipynb")
    assert (code, out.splitlines()[0]) == (1, "nb.ipynb:1:1: E902 not valid utf-8 (byte 0xe9 at line 1); "
                                              "notebooks are UTF-8 JSON")


def test_splicing_cells_equals_rewriting_the_whole_notebook_with_the_writers_options() -> None:
    """For notebooks `json.dumps` wrote (as Jupyter does), replacing cells' sources in the text gives
    exactly the bytes `json.dumps` gives for the edited document with the same options: the layout of the
    edited cell is the writer's, and nothing else moves."""
    import random

    chooser = random.Random(16)
    words = ["x = torch.zeros(4)", "    y = x + 1", "# θ café", "", "print('a\\tb')", '"q"', "z = x\\\\2"]
    for case in range(300):
        options = chooser.choice([{"indent": 1}, {"indent": 2, "ensure_ascii": True}, {},
                                  {"indent": 1, "ensure_ascii": False}, {"separators": (",", ":")}])
        sources = [[line + "\n" for line in chooser.choices(words, k=chooser.randint(0, 4))]
                   for _ in range(chooser.randint(1, 4))]
        for source in sources:
            if source and chooser.random() < 0.5:
                source[-1] = source[-1].rstrip("\n")
        as_string = chooser.random() < 0.2
        text = notebook(*(["".join(s) for s in sources] if as_string else sources), **options)
        parsed = parse_notebook(text)
        # Whether a file escapes non-ASCII text shows only once it holds some: edits add it only then.
        pool = words if not "".join(map("".join, sources)).isascii() else [w for w in words if w.isascii()]
        edited = {cell.index: "\n".join(chooser.choices(pool, k=chooser.randint(0, 3))) + chooser.choice(["", "\n"])
                  for cell in parsed.cells if chooser.random() < 0.6}
        document = json.loads(text)
        for index, new in edited.items():
            if new == parsed.cell(index).text:
                continue  # an unchanged cell keeps its own strings (here, an empty last one)
            document["cells"][index - 1]["source"] = new if as_string else new.splitlines(keepends=True)
        assert parsed.with_cell_texts(edited) == json.dumps(document, **options), (case, options, edited)  # type: ignore[arg-type]


def test_lines_of_the_edited_cell_that_did_not_change_keep_their_own_escapes(in_tmp: Path) -> None:
    # A hand-edited file: raw non-ASCII in the markdown, `\u00e9` and `\/` escapes in the edited cell.
    before = notebook(["# R\u00e9sum\u00e9 \u03b8"], ["import torch\n", "inv_freq = torch.ones(8)\n"],
                      ["# caf\u00e9 a/b\n", "t = torch.arange(4, device=\"cuda\")\n", "freqs = torch.outer(t, inv_freq)"],
                      kinds=("markdown",), indent=1, ensure_ascii=False)
    before = before.replace('"# caf\u00e9 a/b\\n"', '"# caf\\u00e9 a\\/b\\n"')
    (in_tmp / "nb.ipynb").write_text(before)
    assert run("--fix", "nb.ipynb") == (0, "Fixed 1 finding.\n")
    assert (in_tmp / "nb.ipynb").read_text() == before.replace('device=\\"cuda\\")', "device=inv_freq.device)")


def test_a_failure_of_the_notebook_layer_is_an_e001_and_the_run_goes_on(rope: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import devlint.notebook

    def broken(notebook: object) -> None:
        raise IndexError("cell out of range")

    monkeypatch.setattr(devlint.notebook, "python_module", broken)
    (rope.parent / "model.py").write_text("import torch\nx = torch.ones(2)\nt = torch.zeros(2, device='cuda') + x\n")
    result = CliRunner().invoke(main, ["check", "--no-cache", "rope_cache.ipynb", "model.py"])  # in this process
    assert result.exit_code == 2
    assert result.stderr.startswith("devlint: error: rope_cache.ipynb: internal error: IndexError: cell out of range "
                                    "(at test_notebook.py:")
    assert result.stdout.startswith("model.py:3:20: DL001 [*]")
