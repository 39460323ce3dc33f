"""Jupyter notebooks (`.ipynb`): the code cells linted as one module, findings mapped back to their cells,
fixes spliced into the file's own text.

The code cells are joined into one Python module, as ruff does, so a tensor built in cell 1 is a sibling in
cell 3. Each cell is preceded by a marker comment line (`CELL_MARK`), which keeps the cells apart when fixed
text is split back. IPython syntax that is not Python is replaced, line for line, by a placeholder
(`pass  # devlint-ipython-N`) at the same indentation, so rows and columns of every other line stay those
of the cell:

- line magics (`%time f()`, `%matplotlib inline`), shell escapes (`!pip install x`), help (`?obj`, `obj?`,
  `obj??`), auto-call prefixes (`/f x`, `,f x`, `;f x`) and captured escapes (`files = !ls`,
  `t = %timeit -o f()`), wherever a statement may start (not inside brackets, strings or a continued line);
- cell magics: `%%time`, `%%timeit`, `%%capture`, `%%prun` and `%%debug` run their body as Python in the
  kernel, so only their first line is replaced; any other (`%%bash`, `%%writefile`, `%%html`, `%%python`,
  which runs in another process, ...) makes the whole cell not Python, and it is left out.

A notebook whose metadata names another language (`language_info.name`, `kernelspec.language`) has no cell
checked. Writing back replaces only the `source` value of each edited cell, in the layout of the original:
the list's indentation and separators, and the original JSON string of every line that did not change;
every byte outside the edited cells stays as it was. Reading uses plain `json`, never nbformat or IPython.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import functools
import hashlib
import json
import os
import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devlint.source import SourceError, SourceText, line_starts, read_bytes
from devlint.types import Diagnostic, Edit, FileError, FileResult, FixMode, Location, NotebookCell

if TYPE_CHECKING:
    from devlint.engine import Checker

NOTEBOOK_SUFFIX = ".ipynb"
MAX_NOTEBOOK_BYTES = 100 * 1024 * 1024
"""Notebooks carry their outputs (images, tables): far larger than the code in them, so a larger limit than
for Python files."""
CELL_MARK = "# devlint-notebook-cell"
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
"""Cell magics whose body is Python run in the kernel: the cell is checked, its magic line skipped."""

_PLACEHOLDER = "pass  # devlint-ipython-{}"
_PLACEHOLDER_LINE = re.compile(r"^[ \t]*pass  # devlint-ipython-(\d+)(?=\r?$)", re.MULTILINE)
_MARK_LINE = re.compile(r"^" + re.escape(CELL_MARK) + r"\n", re.MULTILINE)
_ESCAPE_START = re.compile(
    r"""[ \t]*(?:
        [%!?/,;]                                   # %magic  !shell  ?help  /autocall  ,autoquote  ;autoquote
      | [\w.*\[\]]+\?{1,2}[ \t\r]*$                # obj?  obj??  np.*load*?
      | [\w.\[\](),* \t]*?[\w\])][ \t]*=[ \t]*[!%]  # files = !ls   result = %timeit -o f()
    )""", re.VERBOSE)
_SCAN = re.compile(r"""(?P<quote>'''|\"\"\"|'|")|(?P<comment>\#)|(?P<open>[(\[{])|(?P<close>[)\]}])""")
_LINE_REFERENCE = re.compile(r"\(line (\d+)\)")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NON_ASCII_ESCAPE = re.compile(r"(?<!\\)\\u(?:00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{3})")
_DECODER = json.JSONDecoder()
_MEMBER_SEPARATOR = re.compile(r"[ \t\r\n]*,([ \t]*)")
_INDENT_UNIT = re.compile(r"[ \t\r\n]*\{\r?\n([ \t]+)\S")  # the indentation of the document's first key
_INDENT = re.compile(r"[ \t]*")


class NotebookError(Exception):
    """The file is not a notebook devlint can read; the message says why (an E902)."""


def is_notebook(path: str) -> bool:
    return path.endswith(NOTEBOOK_SUFFIX)


# Reading the file.

def decode_notebook(data: bytes) -> SourceText:
    """A notebook's bytes as text: UTF-8 (nbformat's encoding), a BOM tolerated."""
    digest = hashlib.sha256(data).hexdigest()
    has_bom = data.startswith(b"\xef\xbb\xbf")
    try:
        text = data[3:].decode("utf-8") if has_bom else data.decode("utf-8")
    except UnicodeDecodeError as exc:
        body = data[3:] if has_bom else data
        line = body[:exc.start].count(b"\n") + 1
        raise SourceError(f"not valid utf-8 (byte 0x{body[exc.start]:02x} at line {line}); notebooks are UTF-8 "
                          "JSON") from None
    return SourceText(text=text, encoding="utf-8", has_bom=has_bom, digest=digest)


def read_notebook(path: str) -> SourceText:
    """Read a notebook file; every failure becomes a SourceError with a plain reason."""
    return decode_notebook(read_bytes(path, MAX_NOTEBOOK_BYTES))


# The JSON document and where each cell's source sits in its text.

@dataclass(frozen=True)
class _Piece:
    """One string of a list-valued `source`: its decoded value and the span of its JSON token (quotes
    included) in the file's text."""

    value: str
    start: int
    end: int


@dataclass(frozen=True)
class Cell:
    """A code cell: its number (1-based among all cells), its text, and where its `source` value is."""

    index: int
    text: str
    span: tuple[int, int]  # the `source` value's JSON text
    pieces: tuple[_Piece, ...] | None  # a list's strings; None when `source` is one string


@dataclass(frozen=True)
class Notebook:
    text: str
    cells: tuple[Cell, ...]  # the code cells, in order
    ensure_ascii: bool  # the file escapes non-ASCII characters (`\u00e9`), so new strings do too

    def cell(self, index: int) -> Cell:
        for cell in self.cells:
            if cell.index == index:
                return cell
        raise KeyError(index)

    def file_location(self, index: int, location: Location) -> Location:
        """The position in the file's lines of `location` (relative to cell `index`): in the JSON string
        that holds that character, counted in characters of the file as stored (escapes included)."""
        cell = self.cell(index)
        starts = line_starts(cell.text)
        row = min(max(location.row, 1), len(starts))
        offset = min(starts[row - 1] + location.column - 1, len(cell.text))
        if cell.pieces is None:
            position = cell.span[0] + 1 + _raw_length(self.text, cell.span[0] + 1, offset)
        elif not cell.pieces:
            position = cell.span[0]
        else:
            firsts = list(_accumulate(len(p.value) for p in cell.pieces))
            number = max(bisect.bisect_right(firsts, offset) - 1, 0)
            piece = cell.pieces[number]
            inside = min(offset - firsts[number], len(piece.value))
            position = piece.start + 1 + _raw_length(self.text, piece.start + 1, inside)
        file_starts = self.file_line_starts
        file_row = bisect.bisect_right(file_starts, position)
        return Location(file_row, position - file_starts[file_row - 1] + 1)

    @functools.cached_property
    def file_line_starts(self) -> list[int]:
        return line_starts(self.text)

    def with_cell_texts(self, texts: dict[int, str]) -> str:
        """The file's text with the given cells' sources replaced; every other byte unchanged."""
        text = self.text
        for cell in sorted(self.cells, key=lambda c: c.span, reverse=True):
            new = texts.get(cell.index)
            if new is None or new == cell.text:
                continue
            text = text[:cell.span[0]] + self._source_json(cell, new) + text[cell.span[1]:]
        return text

    def _source_json(self, cell: Cell, new: str) -> str:
        def token(value: str) -> str:
            return json.dumps(value, ensure_ascii=self.ensure_ascii)

        if cell.pieces is None:
            return token(new)
        known = {}
        for piece in reversed(cell.pieces):
            known[piece.value] = self.text[piece.start:piece.end]  # a line that did not change keeps its bytes
        tokens = [known.get(line) or token(line) for line in _lines(new)]
        if not tokens:
            return "[]"
        if cell.pieces:
            prefix = self.text[cell.span[0] + 1:cell.pieces[0].start]
            suffix = self.text[cell.pieces[-1].end:cell.span[1] - 1]
        else:  # `[]`: indent as the writer would, one level below the `source` key's line
            prefix = suffix = ""
            line_start = self.text.rfind("\n", 0, cell.span[0]) + 1
            unit = _INDENT_UNIT.match(self.text)
            if line_start and unit:
                newline = "\r\n" if self.text[line_start - 2:line_start] == "\r\n" else "\n"
                indent = _INDENT.match(self.text, line_start)
                suffix = newline + (indent.group() if indent else "")
                prefix = suffix + unit.group(1)
        if len(cell.pieces) > 1:
            separator = self.text[cell.pieces[0].end:cell.pieces[1].start]
        elif "\n" in prefix:  # indented: one string a line, at the first one's indentation
            separator = "," + prefix
        else:  # on one line: the separator the writer put after the `source` member (`, ` or `,`)
            after = _MEMBER_SEPARATOR.match(self.text, cell.span[1])
            separator = "," + after.group(1) if after else ", "
        return "[" + prefix + separator.join(tokens) + suffix + "]"


def _accumulate(lengths: Iterable[int]) -> Iterable[int]:
    total = 0
    for length in lengths:
        yield total
        total += length


def _raw_length(text: str, start: int, characters: int) -> int:
    """How many characters of JSON string text, from `start`, decode to `characters` characters."""
    position = start
    for _ in range(characters):
        if text[position] != "\\":
            position += 1
        elif text[position + 1] != "u":
            position += 2
        else:
            unit = int(text[position + 2:position + 6], 16)
            position += 6
            if 0xD800 <= unit < 0xDC00 and text.startswith("\\u", position):  # a surrogate pair: one character
                position += 6
    return position - start


def _lines(text: str) -> list[str]:
    """Lines with their line break, as nbformat stores a `source` list."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def _skip_space(text: str, position: int) -> int:
    match = _WHITESPACE.match(text, position)
    assert match is not None
    return match.end()


def _value_end(text: str, position: int) -> int:
    return _DECODER.raw_decode(text, position)[1]


def _members(text: str, position: int) -> dict[str, tuple[int, int]]:
    """The span of each member's value in the JSON object at `position` (the last of duplicate keys, as
    `json.loads` keeps)."""
    spans: dict[str, tuple[int, int]] = {}
    position = _skip_space(text, position + 1)
    while text[position] != "}":
        key, position = _DECODER.raw_decode(text, position)
        position = _skip_space(text, _skip_space(text, position) + 1)  # the colon
        end = _value_end(text, position)
        spans[key] = (position, end)
        position = _skip_space(text, end)
        if text[position] == ",":
            position = _skip_space(text, position + 1)
    return spans


def _elements(text: str, position: int) -> list[tuple[int, int]]:
    """The span of each element of the JSON array at `position`."""
    spans = []
    position = _skip_space(text, position + 1)
    while text[position] != "]":
        end = _value_end(text, position)
        spans.append((position, end))
        position = _skip_space(text, end)
        if text[position] == ",":
            position = _skip_space(text, position + 1)
    return spans


def _language(document: dict[str, Any]) -> str | None:
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return None
    for key, field in (("language_info", "name"), ("kernelspec", "language")):
        entry = metadata.get(key)
        if isinstance(entry, dict) and isinstance(entry.get(field), str):
            return entry[field].lower()
    return None


def parse_notebook(text: str) -> Notebook:
    """The code cells of a notebook and where their sources are; NotebookError if it is not one."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise NotebookError("not valid JSON: nested too deeply") from None
    except ValueError as exc:
        raise NotebookError(f"not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise NotebookError("not a notebook: the JSON document is not an object")
    cells = document.get("cells")
    if not isinstance(cells, list):
        found = "an nbformat 3 notebook (`worksheets`)" if "worksheets" in document else "no `cells` list"
        raise NotebookError(f"not a notebook devlint can read: {found}; nbformat 4 is expected")
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise NotebookError(f"cell {number} is not an object with a `cell_type`")
        source = cell.get("source")
        if cell["cell_type"] == "code" and not (
                isinstance(source, str) or isinstance(source, list) and all(isinstance(s, str) for s in source)):
            raise NotebookError(f"cell {number}: `source` is neither a string nor a list of strings")
    language = _language(document)
    if language is not None and not language.startswith(("python", "ipython")):
        return Notebook(text=text, cells=(), ensure_ascii=False)
    start = _skip_space(text, 0)
    cell_spans = _elements(text, _members(text, start)["cells"][0])
    code = []
    for number, (cell, (cell_start, _)) in enumerate(zip(cells, cell_spans, strict=True), start=1):
        if cell["cell_type"] != "code":
            continue
        span = _members(text, cell_start)["source"]
        source = cell["source"]
        pieces = None
        if isinstance(source, list):
            pieces = tuple(_Piece(value, a, b) for value, (a, b) in zip(source, _elements(text, span[0]),
                                                                        strict=True))
        code.append(Cell(index=number, text="".join(source), span=span, pieces=pieces))
    ensure_ascii = text.isascii() and _NON_ASCII_ESCAPE.search(text) is not None
    return Notebook(text=text, cells=tuple(code), ensure_ascii=ensure_ascii)


# The code cells as one Python module.

@dataclass(frozen=True)
class CellModule:
    """The Python module the code cells make, and how its rows map back to cells."""

    text: str
    indexes: tuple[int, ...]  # the cells in the module, in order
    first_rows: tuple[int, ...]  # the module row of each cell's first line (its marker is the row before)
    added_newline: tuple[bool, ...]  # a line break was added after the cell's last line
    escapes: tuple[str, ...]  # the original text of each placeholder line, by its number

    def cell_location(self, location: Location) -> tuple[int, Location]:
        """(cell index, location in the cell) of a module location."""
        position = max(bisect.bisect_right(self.first_rows, location.row) - 1, 0)
        return self.indexes[position], Location(max(location.row - self.first_rows[position] + 1, 1),
                                                location.column)

    def module_row(self, index: int, row: int) -> int:
        return self.first_rows[self.indexes.index(index)] + row - 1

    def split(self, text: str) -> dict[int, str]:
        """Cell texts from (fixed) module text, the IPython lines restored."""
        chunks = _MARK_LINE.split(text)
        if chunks[0] or len(chunks) - 1 != len(self.indexes):
            raise NotebookError("the fixed module no longer has one marker line per cell")
        texts = {}
        for index, chunk, added in zip(self.indexes, chunks[1:], self.added_newline, strict=True):
            if added and chunk.endswith("\n"):
                chunk = chunk[:-1]
            texts[index] = _PLACEHOLDER_LINE.sub(lambda match: self.escapes[int(match.group(1))], chunk)
        return texts


def _python_lines(text: str, escapes: list[str]) -> list[str] | None:
    """The cell's lines with IPython escapes replaced by numbered placeholders (their text appended to
    `escapes`), or None when a cell magic makes the cell not Python."""
    lines = _lines(text)
    magic_line = None  # the line of a Python-body cell magic (`%%time`)
    first = next((number for number, line in enumerate(lines) if line.strip()), 0)
    if lines and lines[first].startswith("%%"):  # IPython drops blank lines before a cell magic
        words = lines[first][2:].split(None, 1)
        if not words or words[0] not in PYTHON_CELL_MAGICS:
            return None
        magic_line = first
    out = list(lines)
    quote: str | None = None  # the closing delimiter of a string still open at the end of a line
    depth = 0
    continued = False
    for number, line in enumerate(lines):
        if number == magic_line or quote is None and depth == 0 and not continued and _ESCAPE_START.match(line):
            body = line.rstrip("\r\n")
            indent = body[:len(body) - len(body.lstrip(" \t"))]
            out[number] = indent + _PLACEHOLDER.format(len(escapes)) + line[len(body):]
            escapes.append(body)
            continued = False
            continue
        quote, depth = _scan(line, quote, depth)
        stripped = line.rstrip("\r\n")
        continued = quote is None and stripped.endswith("\\") and "#" not in stripped
    return out


def _scan(line: str, quote: str | None, depth: int) -> tuple[str | None, int]:
    """The string still open and the bracket depth after `line` (enough Python lexing to know where a
    statement may start; a one-quote string does not run past its line)."""
    position = 0
    while True:
        if quote is not None:
            end = _closing(line, position, quote)
            if end < 0:
                return (quote if len(quote) == 3 else None), depth
            position, quote = end, None
        match = _SCAN.search(line, position)
        if match is None:
            return None, depth
        kind = match.lastgroup
        if kind == "comment":
            return None, depth
        if kind == "quote":
            quote = match.group()
        elif kind == "open":
            depth += 1
        else:
            depth = max(depth - 1, 0)
        position = match.end()


def _closing(line: str, position: int, quote: str) -> int:
    """The offset after `quote` closes in `line` (from `position`), or -1."""
    while True:
        found = line.find(quote, position)
        if found < 0:
            return -1
        backslashes = len(line[:found]) - len(line[:found].rstrip("\\"))
        if backslashes % 2 == 0:
            return found + len(quote)
        position = found + 1


def python_module(notebook: Notebook) -> CellModule:
    """The code cells joined into one module, each after a marker line, IPython escapes replaced."""
    parts: list[str] = []
    escapes: list[str] = []
    indexes, first_rows, added = [], [], []
    row = 1
    for cell in notebook.cells:
        if "# devlint-" in cell.text and (_MARK_LINE.search(cell.text + "\n") or _PLACEHOLDER_LINE.search(cell.text)):
            # Lines devlint writes into the module itself: one in a cell could not be told apart from them.
            raise NotebookError(f"cell {cell.index} holds a line devlint reserves (`{CELL_MARK}` or "
                                "`pass  # devlint-ipython-N`)")
        lines = _python_lines(cell.text, escapes)
        if lines is None:
            continue
        body = "".join(lines)
        newline = bool(body) and not body.endswith("\n")
        body += "\n" if newline else ""
        parts.append(CELL_MARK + "\n" + body)
        indexes.append(cell.index)
        first_rows.append(row + 1)
        added.append(newline)
        row += 1 + body.count("\n")
    return CellModule(text="".join(parts), indexes=tuple(indexes), first_rows=tuple(first_rows),
                      added_newline=tuple(added), escapes=tuple(escapes))


# From module findings to cell findings.

def _cell_place(notebook: Notebook, index: int, start: Location, end: Location,
                rows: tuple[int, int]) -> NotebookCell:
    first = notebook.file_location(index, Location(rows[0], 1)).row
    last = notebook.file_location(index, Location(rows[1], 1)).row
    file_start = notebook.file_location(index, start)
    return NotebookCell(index=index, file_start=file_start, file_end=notebook.file_location(index, end),
                        file_rows=(min(first, file_start.row), max(last, file_start.row)))


def _in_cell(module: CellModule, location: Location) -> Location:
    return module.cell_location(location)[1]


def _to_cells(d: Diagnostic, module: CellModule, notebook: Notebook) -> Diagnostic:
    index, start = module.cell_location(d.start)
    end_index, end = module.cell_location(d.end)
    if end_index != index:
        end = start
    cover = d.cover or (d.start.row, d.end.row)
    first_cell, first = module.cell_location(Location(cover[0], 1))
    last_cell, last = module.cell_location(Location(cover[1], 1))
    rows = (first.row, last.row) if first_cell == last_cell == index else (start.row, end.row)
    fix = d.fix
    if fix is not None:
        fix = dataclasses.replace(fix, edits=tuple(
            Edit(e.content, _in_cell(module, e.start), _in_cell(module, e.end)) for e in fix.edits))

    def reference(match: re.Match[str]) -> str:
        cell, where = module.cell_location(Location(int(match.group(1)), 1))
        return f"(line {where.row})" if cell == index else f"(cell {cell}, line {where.row})"

    return dataclasses.replace(
        d, start=start, end=end, cover=rows if d.cover is not None else None, fix=fix,
        message=_LINE_REFERENCE.sub(reference, d.message), cell=_cell_place(notebook, index, start, end, rows))


def _error_to_cell(error: FileError, module: CellModule, notebook: Notebook) -> FileError:
    if error.location is None or not module.indexes:
        return error
    index, where = module.cell_location(error.location)
    return dataclasses.replace(error, location=where, cell=_cell_place(notebook, index, where, where,
                                                                       (where.row, where.row)))


def check_notebook(source: SourceText, path: str, checker: Checker, fix_mode: FixMode = FixMode.NONE) -> FileResult:
    """Lint a notebook's code cells as one module (devlint.engine.check_source); findings come back
    relative to their cells, and the fixed text (when fixes applied) is the whole notebook's. A file that
    is not a notebook is an E902; a failure of this layer an E001, as in the engine."""
    try:
        return _check_notebook(source, path, checker, fix_mode)
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the run
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return FileResult(path=path, source_digest=source.digest, error=FileError(
            code="E001", path=path,
            reason=(f"internal error: {type(exc).__name__}: {exc} (at {os.path.basename(where.filename)}:"
                    f"{where.lineno}); please report this with the file")))


def _check_notebook(source: SourceText, path: str, checker: Checker, fix_mode: FixMode) -> FileResult:
    from devlint.engine import check_source

    result = FileResult(path=path, source_digest=source.digest)
    try:
        notebook = parse_notebook(source.text)
        module = python_module(notebook)
    except NotebookError as exc:
        result.error = FileError(code="E902", path=path, reason=str(exc))
        return result
    checked = check_source(SourceText(module.text, "utf-8", False, source.digest), path, checker, fix_mode)
    if checked.error is not None:
        result.error = _error_to_cell(checked.error, module, notebook)
    if checked.fixed_source is not None:
        try:
            fixed = notebook.with_cell_texts(module.split(checked.fixed_source))
            fixed_notebook = parse_notebook(fixed)
            fixed_module = python_module(fixed_notebook)
            if fixed_module.text != checked.fixed_source:
                raise NotebookError("the fixed cells do not read back as they were written")
        except NotebookError as exc:
            unfixed = check_source(SourceText(module.text, "utf-8", False, source.digest), path, checker)
            result.diagnostics = [_to_cells(d, module, notebook) for d in unfixed.diagnostics]
            result.error = FileError(code="E001", path=path, reason=f"internal error: {exc}; the notebook was "
                                                                    "left unchanged; please report this with the file")
            return result
        result.fixed_source, result.original_source = fixed, source.text
        result.applied_fixes = checked.applied_fixes
        notebook, module = fixed_notebook, fixed_module
    result.diagnostics = [_to_cells(d, module, notebook) for d in checked.diagnostics]
    return result


# What other stages do with notebooks: check the text to write, add suppressions, show a diff or a cell.

def check_notebook_text(text: str) -> None:
    """Raise FixError unless `text` is a notebook whose cells still parse (before a notebook is written)."""
    from devlint.fix import FixError, check_parses

    try:
        check_parses(python_module(parse_notebook(text)).text)
    except NotebookError as exc:
        raise FixError(f"the notebook would not read back ({exc})") from None


def with_noqa_comments(found: list[Diagnostic], text: str) -> str:
    """The notebook's text with `# noqa: CODE` added for each finding (devlint.suppress.noqa_edits on
    the cells' module, spliced back)."""
    from devlint.fix import FixError, apply_edits
    from devlint.suppress import noqa_edits

    try:
        notebook = parse_notebook(text)
        module = python_module(notebook)
    except NotebookError as exc:
        raise FixError(str(exc)) from None
    in_module = []
    for d in found:
        if d.cell is None or d.cell.index not in module.indexes:
            continue
        index = d.cell.index

        def moved(location: Location, cell: int = index) -> Location:
            return Location(module.module_row(cell, location.row), location.column)

        cover = (module.module_row(index, d.cover[0]), module.module_row(index, d.cover[1])) if d.cover else None
        in_module.append(dataclasses.replace(d, start=moved(d.start), end=moved(d.end), cover=cover, fix=None))
    edited = apply_edits(module.text, noqa_edits(module.text, in_module))
    try:
        return notebook.with_cell_texts(module.split(edited))
    except NotebookError as exc:
        raise FixError(str(exc)) from None


def notebook_diff(path: str, before: str, after: str) -> str:
    """ruff's notebook diff: one unified diff per changed code cell, headed `a/PATH:cell N`."""
    try:
        old, new = parse_notebook(before), parse_notebook(after)
    except NotebookError:
        return ""
    new_texts = {cell.index: cell.text for cell in new.cells}
    out: list[str] = []
    for cell in old.cells:
        changed = new_texts.get(cell.index)
        if changed is None or changed == cell.text:
            continue
        a = [line if line.endswith("\n") else line + "\n" for line in _lines(cell.text)]
        b = [line if line.endswith("\n") else line + "\n" for line in _lines(changed)]
        out.extend(difflib.unified_diff(a, b, fromfile=f"a/{path}:cell {cell.index}",
                                        tofile=f"b/{path}:cell {cell.index}"))
    return "".join(out)


def cell_texts(path: str) -> dict[int, str]:
    """Each code cell's text by its index ({} if the file cannot be read as a notebook): for reporters."""
    try:
        return {cell.index: cell.text for cell in parse_notebook(read_notebook(path).text).cells}
    except (SourceError, NotebookError):
        return {}
