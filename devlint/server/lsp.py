"""The language server: devlint's findings as an editor's diagnostics, its fixes as code actions.

Every check is `devlint.api.lint_text`: the engine, configuration (the closest `[tool.devlint]` of the file's
project, its excludes and per-file ignores) and suppressions of `devlint check --force-exclude FILE`, run on
the editor's text. A document is checked when it is opened or saved, and a short pause after it changes
(each change restarts the pause, so typing checks once). Code actions: each finding's fix (labelled safe or
unsafe, with the reason), a `# noqa` comment written the way `devlint check --add-noqa` writes it, and every
safe fix of the file at once (`source.fixAll.devlint`).

Only this module imports pygls and lsprotocol (the `devlint[server]` extra).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from devlint import __version__
from devlint.api import lint_text
from devlint.config import ConfigError
from devlint.rules.dl100_unused_suppression import UnusedSuppression
from devlint.server.positions import ClientPosition, DocumentLines, PositionEncoding
from devlint.source import line_starts
from devlint.suppress import noqa_edits
from devlint.types import Applicability, Diagnostic, Edit, FileError, FileResult, Fix, FixMode, Location

DEBOUNCE_SECONDS = 0.2
"""How long a document must stay unchanged before it is checked again."""
SOURCE = "devlint"
FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.devlint"
UNTITLED_NAME = "untitled.py"
"""What an unsaved document without a file is checked as, in the first workspace folder."""

logger = logging.getLogger("devlint.server")


@dataclass(frozen=True)
class Checked:
    """One version of a document as devlint checked it."""

    version: int | None
    text: str
    result: FileResult | None  # None: the configuration excludes the file, or cannot be read
    lines: DocumentLines


class _AnsweredMessage:
    """A request that could not be read and was already answered with an error."""

    jsonrpc = "answered"


class DevlintProtocol(LanguageServerProtocol):
    """pygls's protocol, answering a request whose parameters do not fit its method with an error (pygls
    only logs it, and the client would wait for an answer forever)."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if not ("id" in data and "method" in data):
                raise
            logger.error("invalid %r request %r: answered with an error", data.get("method"), data.get("id"))
            self._send_response(data["id"], None, error.to_response_error())
            return _AnsweredMessage()

    def handle_message(self, message: Any) -> None:
        if not isinstance(message, _AnsweredMessage):
            super().handle_message(message)


class DevlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("devlint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full,
                         protocol_cls=DevlintProtocol)
        self.checked: dict[str, Checked] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}
        # One check at a time, off the event loop: the server keeps reading messages while LibCST parses.
        self.lint_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="devlint-check")
        self.debounce = DEBOUNCE_SECONDS
        self.config_errors_shown: set[str] = set()

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A message the server could not handle goes to the client's log, not into a pop-up."""
        self.window_log_message(types.LogMessageParams(type=types.MessageType.Error,
                                                       message=f"devlint: could not handle a message: {error}"))

    @property
    def encoding(self) -> PositionEncoding:
        negotiated = self.workspace.position_encoding
        return PositionEncoding.of(getattr(negotiated, "value", negotiated))

    def path_of(self, uri: str) -> str:
        """The file a document is checked as: its own path, or for an unsaved one, a file in the first
        workspace folder (so that folder's configuration applies)."""
        path = to_fs_path(uri) if uri.startswith("file:") else None
        if path:
            return path
        folders = [to_fs_path(folder.uri) for folder in self.workspace.folders.values()]
        root = next((folder for folder in folders if folder), None) or self.workspace.root_path or os.getcwd()
        return os.path.join(root, UNTITLED_NAME)

    def is_open(self, uri: str) -> bool:
        return uri in self.workspace.text_documents

    def is_python(self, uri: str) -> bool:
        """Whether an open document is Python (an editor may send every document it has open)."""
        language = self.workspace.get_text_document(uri).language_id
        return language == "python" or (not language and uri.endswith((".py", ".pyi")))

    async def current(self, uri: str, *, again: bool = False) -> Checked | None:
        """The document's current text, checked (again if `again`: a save may follow a configuration edit)."""
        if not self.is_open(uri) or not self.is_python(uri):
            return None
        document = self.workspace.get_text_document(uri)
        text, version = document.source, document.version
        cached = self.checked.get(uri)
        if not again and cached is not None and cached.version == version and cached.text == text:
            return cached
        result = await self.check(uri, text, FixMode.NONE)
        checked = Checked(version, text, result, DocumentLines(text, self.encoding))
        if self.is_open(uri) and self.workspace.get_text_document(uri).version == version:
            self.checked[uri] = checked
        return checked

    async def check(self, uri: str, text: str, fix_mode: FixMode) -> FileResult | None:
        loop = asyncio.get_running_loop()
        result, problem = await loop.run_in_executor(self.lint_pool, _check, text, self.path_of(uri), fix_mode)
        if problem is not None and problem not in self.config_errors_shown:
            self.config_errors_shown.add(problem)  # once per distinct problem, not on every keystroke
            logger.error("%s", problem)
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error,
                                                             message=f"devlint: {problem}"))
        return result

    def schedule(self, uri: str, delay: float, *, again: bool = False) -> None:
        """Check the document after `delay` seconds, replacing a check already waiting."""
        waiting = self.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        self.pending[uri] = asyncio.ensure_future(self._publish_later(uri, delay, again))

    async def _publish_later(self, uri: str, delay: float, again: bool) -> None:
        try:
            await self._publish_after(uri, delay, again)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug shows in the log, and the server goes on with the next document
            logger.exception("checking %s failed", uri)

    async def _publish_after(self, uri: str, delay: float, again: bool) -> None:
        if delay:
            await asyncio.sleep(delay)
        checked = await self.current(uri, again=again)
        if checked is None or not self.is_open(uri):
            return
        if self.workspace.get_text_document(uri).version != checked.version:
            return  # changed while being checked: the check scheduled by that change publishes
        if self.pending.get(uri) is asyncio.current_task():
            del self.pending[uri]
        self.publish(uri, checked)

    def publish(self, uri: str, checked: Checked) -> None:
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=uri, version=checked.version, diagnostics=diagnostics_of(checked)))

    def forget(self, uri: str) -> None:
        waiting = self.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        self.checked.pop(uri, None)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @property
    def versioned_edits(self) -> bool:
        """Whether the client takes edits that name the document version (`documentChanges`)."""
        workspace = self.client_capabilities.workspace
        return bool(workspace and workspace.workspace_edit and workspace.workspace_edit.document_changes)

    async def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        checked = await self.current(uri)
        if checked is None or checked.result is None:
            return None
        only = params.context.only
        lines = checked.lines

        def edit(edits: list[types.TextEdit]) -> types.WorkspaceEdit:
            return workspace_edit(uri, checked.version, edits, versioned=self.versioned_edits)

        actions: list[types.CodeAction] = []
        if wants(only, types.CodeActionKind.QuickFix.value):
            for finding in checked.result.diagnostics:
                shown = lsp_diagnostic(finding, lines)
                if not overlaps(shown.range, params.range):
                    continue
                fix = finding.fix
                if fix is not None and fix.applicability is not Applicability.DISPLAY_ONLY:
                    actions.append(types.CodeAction(
                        title=fix_title(finding.code, fix), kind=types.CodeActionKind.QuickFix, diagnostics=[shown],
                        is_preferred=fix.applicability is Applicability.SAFE, edit=edit(text_edits(lines, fix.edits))))
                # The noqa comment `--add-noqa` writes on the finding's line (merged into one already there).
                noqa = noqa_edits(checked.text, [finding])
                if noqa:
                    actions.append(types.CodeAction(
                        title=f"{finding.code}: suppress with `# noqa: {finding.code}`",
                        kind=types.CodeActionKind.QuickFix, diagnostics=[shown], edit=edit(text_edits(lines, noqa))))
        if wants(only, FIX_ALL_KIND):
            fixed = await self.check(uri, checked.text, FixMode.SAFE)
            if fixed is not None and fixed.fixed_source is not None and fixed.fixed_source != checked.text:
                actions.append(types.CodeAction(title="devlint: apply every safe fix in this file", kind=FIX_ALL_KIND,
                                                edit=edit([replacement(lines, fixed.fixed_source)])))
        return actions


def _check(text: str, path: str, fix_mode: FixMode) -> tuple[FileResult | None, str | None]:
    """One check, in the checking thread: the result, or the configuration problem that prevented it."""
    try:
        return lint_text(text, path, fix_mode), None
    except ConfigError as error:
        return None, str(error)


def _warm_up() -> None:
    """Load LibCST and the analysis before the first document arrives."""
    _check("import torch\nx = torch.zeros(1, device='cuda')\n", os.path.join(os.getcwd(), UNTITLED_NAME),
           FixMode.NONE)


def lsp_position(position: ClientPosition) -> types.Position:
    return types.Position(line=position.line, character=position.character)


def lsp_range(lines: DocumentLines, start: Location, end: Location) -> types.Range:
    return types.Range(start=lsp_position(lines.position(start)), end=lsp_position(lines.position(end)))


def lsp_diagnostic(finding: Diagnostic, lines: DocumentLines) -> types.Diagnostic:
    tags = [types.DiagnosticTag.Unnecessary] if finding.code == UnusedSuppression.code else None
    return types.Diagnostic(range=lsp_range(lines, finding.start, finding.end), message=finding.message,
                            severity=types.DiagnosticSeverity.Warning, code=finding.code, source=SOURCE, tags=tags)


def file_error_diagnostic(error: FileError, lines: DocumentLines) -> types.Diagnostic:
    """A file devlint could not check (a syntax error while typing, most often), as `devlint check` reports it."""
    start = error.location or Location(1, 1)
    return types.Diagnostic(range=lsp_range(lines, start, Location(start.row, start.column + 1)),
                            message=error.reason, severity=types.DiagnosticSeverity.Error, code=error.code,
                            source=SOURCE)


def diagnostics_of(checked: Checked) -> list[types.Diagnostic]:
    if checked.result is None:
        return []
    found = [lsp_diagnostic(finding, checked.lines) for finding in checked.result.diagnostics]
    if checked.result.error is not None:
        found.append(file_error_diagnostic(checked.result.error, checked.lines))
    return found


def wants(only: Sequence[str] | None, kind: str) -> bool:
    """Whether a code-action request limited to the kinds `only` asks for actions of `kind`."""
    if only is None:
        return True
    asked = [str(getattr(k, "value", k)) for k in only]
    return any(kind == k or kind.startswith(f"{k}.") for k in asked)


def overlaps(found: types.Range, asked: types.Range) -> bool:
    """Whether a finding's range meets the range a code action was asked for (a cursor touching it counts)."""
    def key(position: types.Position) -> tuple[int, int]:
        return position.line, position.character

    return key(found.start) <= key(asked.end) and key(asked.start) <= key(found.end)


def text_edits(lines: DocumentLines, edits: Sequence[Edit]) -> list[types.TextEdit]:
    return [types.TextEdit(range=lsp_range(lines, edit.start, edit.end), new_text=edit.content) for edit in edits]


def workspace_edit(uri: str, version: int | None, edits: list[types.TextEdit], *,
                   versioned: bool) -> types.WorkspaceEdit:
    """Edits to one document. Where the client supports it they name the document version they were
    computed on, so that a client whose text moved on since refuses them instead of misplacing them."""
    if not versioned:
        return types.WorkspaceEdit(changes={uri: edits})
    document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=document, edits=list(edits))])


def fix_title(code: str, fix: Fix) -> str:
    """The fix's own words, labelled by its applicability (an unsafe fix's message already ends with its
    reason, as `devlint check` shows it; the label is added only where it does not)."""
    if fix.applicability is Applicability.SAFE:
        return f"{code}: {fix.message} (safe fix)"
    reason = fix.reason.value if fix.reason is not None else "may change behaviour"
    label = f"(unsafe: {reason})"
    return f"{code}: {fix.message}" if fix.message.endswith(label) else f"{code}: {fix.message} {label}"


def replacement(lines: DocumentLines, new_text: str) -> types.TextEdit:
    """One edit from the document's text to `new_text`, covering only the lines between the first and the last
    that differ (a whole-document replacement would move the editor's cursor and folds)."""
    old_text = lines.text
    old_starts, new_starts = line_starts(old_text), line_starts(new_text)
    old_lines = [old_text[s:e] for s, e in zip(old_starts, [*old_starts[1:], len(old_text)], strict=True)]
    new_lines = [new_text[s:e] for s, e in zip(new_starts, [*new_starts[1:], len(new_text)], strict=True)]
    head = 0
    while head < min(len(old_lines), len(new_lines)) and old_lines[head] == new_lines[head]:
        head += 1
    tail = 0
    while (tail < min(len(old_lines), len(new_lines)) - head
           and old_lines[len(old_lines) - 1 - tail] == new_lines[len(new_lines) - 1 - tail]):
        tail += 1
    start = old_starts[head] if head < len(old_starts) else len(old_text)
    end = old_starts[len(old_lines) - tail] if tail else len(old_text)
    inserted = "".join(new_lines[head: len(new_lines) - tail])
    return types.TextEdit(range=types.Range(start=lsp_position(lines.position_of_offset(start)),
                                            end=lsp_position(lines.position_of_offset(end))), new_text=inserted)


def build_server() -> DevlintServer:
    server = DevlintServer()

    @server.feature(types.INITIALIZED)
    def initialized(ls: DevlintServer, params: types.InitializedParams) -> None:
        ls.lint_pool.submit(_warm_up)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: DevlintServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: DevlintServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, ls.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: DevlintServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri.endswith("/pyproject.toml"):  # the configuration changed: every open file may read differently
            for other in list(ls.checked):
                ls.schedule(other, 0, again=True)
        elif ls.is_open(uri):
            ls.schedule(uri, 0, again=True)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: DevlintServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll, FIX_ALL_KIND]))
    async def code_action(ls: DevlintServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        return await ls.code_actions(params)

    return server


def serve() -> None:
    """Serve one client over standard input and output; the log goes to standard error."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="devlint server: %(levelname)s: %(message)s")
    logging.getLogger("pygls").setLevel(logging.WARNING)  # pygls logs every message's parameters at INFO
    build_server().start_io()
