"""Real notebooks through devlint's notebook layer: read, map and splice without changing a byte by accident.

    python benchmarks/notebook_roundtrip.py          # the test notebooks of jupytext 1.16.4 and nbformat 5.10.4
    python benchmarks/notebook_roundtrip.py DIR ...  # every .ipynb under DIR

The sdists are fetched with `pip download --no-deps --no-binary :all:` into a temporary folder (never the
repository). For every notebook devlint reads (the others must be an E902, never a traceback):

1. Identity: the code cells' module split back and spliced gives the file's exact text.
2. Positions: every line of every code cell maps to the place in the file where its JSON string holds it.
3. Layout: for files Jupyter wrote (`json.dumps(sort_keys=True, indent=1, ensure_ascii=False)` plus a newline
   reproduces them), editing every code cell and splicing gives exactly what Jupyter would write for the
   edited notebook.

Exit status 0 only if every check holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from devlint.notebook import NotebookError, parse_notebook, python_module
from devlint.types import Location

SDISTS = ("jupytext==1.16.4", "nbformat==5.10.4")


def _jupyter_dump(document: dict) -> str:
    return json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def check(path: Path, counts: dict[str, int]) -> list[str]:
    text = path.read_text(encoding="utf-8")
    try:
        notebook = parse_notebook(text)
        module = python_module(notebook)
    except NotebookError:
        counts["not readable (E902)"] += 1
        return []
    problems = []
    counts["notebooks"] += 1
    counts["code cells"] += len(notebook.cells)
    counts["IPython lines skipped"] += len(module.escapes)
    if notebook.with_cell_texts(module.split(module.text)) != text:
        problems.append(f"{path}: the unchanged cells do not splice back to the same text")
    lines = text.splitlines()
    for cell in notebook.cells:
        for row, line in enumerate(cell.text.split("\n"), start=1):
            if not line.strip():
                continue
            where = notebook.file_location(cell.index, Location(row, 1))
            expected = json.dumps(line[:12], ensure_ascii=notebook.ensure_ascii)[1:-1]
            if not lines[where.row - 1][where.column - 1:].startswith(expected):
                problems.append(f"{path}: cell {cell.index} line {row} maps to {where.row}:{where.column}")
                break
    document = json.loads(text)
    if _jupyter_dump(document) == text:
        counts["written by Jupyter"] += 1
        edits = {cell.index: "x = 1\n" + cell.text.replace("import ", "import  ") for cell in notebook.cells}
        for index, new in edits.items():
            document["cells"][index - 1]["source"] = new.splitlines(keepends=True)
        if notebook.with_cell_texts(edits) == _jupyter_dump(document):
            counts["edited as Jupyter would write"] += 1
        else:
            problems.append(f"{path}: edited cells are not laid out as Jupyter writes them")
    return problems


def main(folders: list[str]) -> int:
    with tempfile.TemporaryDirectory() as work:
        if not folders:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                            "-d", work, *SDISTS], check=True)
            for archive in Path(work).glob("*.tar.gz"):
                with tarfile.open(archive) as tar:
                    tar.extractall(work, filter="data")
            folders = [work]
        counts = dict.fromkeys(("files", "notebooks", "not readable (E902)", "code cells", "IPython lines skipped",
                                "written by Jupyter", "edited as Jupyter would write"), 0)
        problems = []
        for folder in folders:
            for path in sorted(Path(folder).rglob("*.ipynb")):
                counts["files"] += 1
                problems += check(path, counts)
    for name, count in counts.items():
        print(f"{name:32} {count}")
    for problem in problems:
        print("FAIL", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
