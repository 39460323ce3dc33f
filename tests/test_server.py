"""`devlint server` end to end: a real server in a subprocess, spoken to as an editor speaks to it."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from devlint.api import lint_source
from devlint.server.positions import DocumentLines, PositionEncoding
from devlint.types import FixMode, Location

from conftest import REPO, devlint_env, docs_block
from server_client import LspClient, apply_text_edits

# The vLLM PR #43926 bug in DeepSeek V4's rotary embedding: positions on the platform device, einsum'd with
# inv_freq on the default device (a crash under `with torch.device("meta")`).
ROPE = '''import torch
from vllm.platforms import current_platform


class DeepseekV4ScalingRotaryEmbedding(torch.nn.Module):
    def _compute_inv_freq(self, scaling_factor: float) -> torch.Tensor:
        return 1.0 / (10000 ** (torch.arange(0, 64, 2, dtype=torch.float) / 64))

    def _compute_cos_sin_cache(self) -> torch.Tensor:
        inv_freq = self._compute_inv_freq(self.scaling_factor)
        t = torch.arange(
            self.max_position_embeddings * self.scaling_factor,
            device=current_platform.device_type,
            dtype=torch.float32,
        )
        freqs = torch.einsum("i,j -> ij", t, inv_freq)
        return torch.cat((freqs.cos(), freqs.sin()), dim=-1)
'''
ROPE_FIXED = ROPE.replace("from vllm.platforms import current_platform\n", "").replace(
    "device=current_platform.device_type,", "device=inv_freq.device,")

# Two characters outside the Basic Multilingual Plane before the finding: one character each to devlint,
# two UTF-16 code units each to the editor.
NON_BMP = '''import torch
from vllm.platforms import current_platform


def cache(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
    t = torch.arange(n * len("\U0001d703\U0001d703"), device=current_platform.device_type)
    return torch.outer(t, inv_freq)
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "pyproject.toml").write_text('[project]\nname = "model"\n')
    return root


@pytest.fixture(scope="module")
def client(project: Path) -> Iterator[LspClient]:
    server = LspClient(project)
    try:
        server.initialize(project)
        yield server
    finally:
        assert server.close() == 0


def code_actions(client: LspClient, uri: str, line: int, character: int,
                 only: list[str] | None = None) -> list[dict]:
    context: dict = {"diagnostics": []}
    if only is not None:
        context["only"] = only
    position = {"line": line, "character": character}
    return client.request("textDocument/codeAction", {"textDocument": {"uri": uri},
                                                      "range": {"start": position, "end": position},
                                                      "context": context})


def edits_of(action: dict, uri: str, version: int = 1) -> list[dict]:
    """The text edits of an action, which name the document version they were computed on."""
    [change] = action["edit"]["documentChanges"]
    assert change["textDocument"] == {"uri": uri, "version": version}
    return change["edits"]


def test_initialize_advertises_sync_and_code_actions(client: LspClient) -> None:
    result = client.initialized
    capabilities = result["capabilities"]
    assert result["serverInfo"]["name"] == "devlint"
    assert capabilities["positionEncoding"] == "utf-16"
    assert capabilities["textDocumentSync"]["openClose"] is True
    assert capabilities["textDocumentSync"]["change"] == 1  # full text: no incremental edits to replay
    assert capabilities["textDocumentSync"]["save"] == {"includeText": False}
    assert capabilities["codeActionProvider"]["codeActionKinds"] == ["quickfix", "source.fixAll",
                                                                     "source.fixAll.devlint"]


def test_rope_bug_diagnosed_fixed_and_cleared(client: LspClient, project: Path) -> None:
    """initialize → didOpen → DL001 at the device argument → its quick fix → the edited text is the upstream
    fix → didChange with it → no diagnostics; didClose clears them."""
    path = project / "rope.py"
    path.write_text(ROPE)
    uri = path.as_uri()
    client.open(uri, ROPE)
    [diagnostic] = client.diagnostics(uri, 1)
    assert diagnostic["code"] == "DL001"
    assert diagnostic["source"] == "devlint"
    assert diagnostic["severity"] == 2  # warning
    # `device=current_platform.device_type` on line 13 (0-based 12), columns 12 to 47.
    assert diagnostic["range"] == {"start": {"line": 12, "character": 12}, "end": {"line": 12, "character": 47}}
    assert diagnostic["message"].startswith("`torch.arange` puts its result on the platform device "
                                            "`current_platform.device_type`, but it is combined with `inv_freq`")
    assert "http" not in diagnostic["message"] and "codeDescription" not in diagnostic

    actions = code_actions(client, uri, 12, 20)
    titles = [action["title"] for action in actions]
    assert titles == ["DL001: Use `device=inv_freq.device`, and remove the now unused `current_platform` (safe fix)",
                      "DL001: suppress with `# noqa: DL001`",
                      "devlint: apply every safe fix in this file"]
    fix = actions[0]
    assert fix["kind"] == "quickfix" and fix["isPreferred"] is True
    assert fix["diagnostics"] == [diagnostic]
    fixed = apply_text_edits(ROPE, edits_of(fix, uri))
    assert "device=inv_freq.device," in fixed
    assert fixed == ROPE_FIXED

    client.change(uri, fixed, version=2)
    assert client.diagnostics(uri, 2) == []

    mark = client.mark()
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    closed = client.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                             and m["params"]["uri"] == uri, "diagnostics cleared on close", after=mark)
    assert closed["params"]["diagnostics"] == []


def test_no_actions_away_from_a_finding(client: LspClient, project: Path) -> None:
    uri = (project / "away.py").as_uri()
    client.open(uri, ROPE)
    assert len(client.diagnostics(uri, 1)) == 1
    assert code_actions(client, uri, 5, 4, only=["quickfix"]) == []


def test_noqa_action_merges_into_an_existing_noqa(client: LspClient, project: Path) -> None:
    text = ROPE.replace("device=current_platform.device_type,", "device=current_platform.device_type,  # noqa: E501")
    uri = (project / "noqa.py").as_uri()
    client.open(uri, text)
    [diagnostic] = client.diagnostics(uri, 1)
    [noqa] = [a for a in code_actions(client, uri, 12, 20) if "noqa" in a["title"]]
    assert noqa["kind"] == "quickfix" and noqa["diagnostics"] == [diagnostic]
    suppressed = apply_text_edits(text, edits_of(noqa, uri))
    # The comment `devlint check --add-noqa` writes on that file.
    assert suppressed.splitlines()[12] == "            device=current_platform.device_type,  # noqa: DL001, E501"
    client.change(uri, suppressed, version=2)
    assert client.diagnostics(uri, 2) == []


def test_an_unused_suppression_is_unnecessary_code_with_its_removal(client: LspClient, project: Path) -> None:
    text = "import torch\n\nmask = torch.ones(4, 4).triu(1)  # noqa: DL001\n"
    uri = (project / "unused.py").as_uri()
    client.open(uri, text)
    [diagnostic] = client.diagnostics(uri, 1)
    assert (diagnostic["code"], diagnostic["tags"]) == ("DL100", [1])  # 1: unnecessary (shown faded)
    [remove, _noqa] = code_actions(client, uri, 2, 40, only=["quickfix"])
    assert remove["title"] == "DL100: Remove the unused suppression (safe fix)"
    assert apply_text_edits(text, edits_of(remove, uri)) == "import torch\n\nmask = torch.ones(4, 4).triu(1)\n"


def test_fix_all_applies_the_safe_fixes_only(client: LspClient, project: Path) -> None:
    text = (REPO / "examples" / "dsv4_attention.py").read_text()
    uri = (project / "dsv4_attention.py").as_uri()
    client.open(uri, text)
    found = client.diagnostics(uri, 1)
    assert [(d["code"], d["range"]["start"]["line"] + 1) for d in found] == [
        ("DL001", 32), ("DL003", 42), ("DL001", 47), ("DL005", 49), ("DL002", 54), ("DL004", 58)]

    # An unsafe fix says so, with the reason its rule gives.
    [unsafe] = [a for a in code_actions(client, uri, 41, 70, only=["quickfix"]) if "noqa" not in a["title"]]
    assert unsafe["title"] == "DL003: Drop the device argument (unsafe: removes a placement the caller may rely on)"
    assert unsafe["isPreferred"] is False

    [fix_all] = code_actions(client, uri, 0, 0, only=["source.fixAll"])
    assert fix_all["kind"] == "source.fixAll.devlint"
    [edit] = edits_of(fix_all, uri)
    assert edit["range"]["start"] == {"line": 31, "character": 0}  # only the lines between the first and last fix
    after = apply_text_edits(text, [edit])
    assert after == lint_source(text, fix_mode=FixMode.SAFE).fixed_source  # what `devlint check --fix` writes
    assert "device=inv_freq.device," in after
    assert "noise = torch.empty_like(scores).uniform_(0, 1e-6)" in after
    assert "index = torch.tensor(ids, dtype=torch.long).to(block_table.device)" in after
    assert 'dtype=torch.bool, device="cuda").triu(1)' in after  # unsafe: left for the user
    client.change(uri, after, version=2)
    assert [d["code"] for d in client.diagnostics(uri, 2)] == ["DL003", "DL001", "DL004"]
    assert code_actions(client, uri, 0, 0, only=["source.fixAll"]) == []
    [unsafe] = [a for a in code_actions(client, uri, 41, 70, only=["quickfix"]) if "noqa" not in a["title"]]
    assert edits_of(unsafe, uri, version=2)[0]["newText"] == ""


def test_positions_count_utf16_code_units(client: LspClient, project: Path) -> None:
    uri = (project / "wide.py").as_uri()
    client.open(uri, NON_BMP)
    [diagnostic] = client.diagnostics(uri, 1)
    # devlint's columns 37..72 (1-based characters) with two astral characters before: 38..73 in UTF-16.
    assert diagnostic["range"] == {"start": {"line": 5, "character": 38}, "end": {"line": 5, "character": 73}}
    [fix] = [a for a in code_actions(client, uri, 5, 50) if a["kind"] == "quickfix" and "noqa" not in a["title"]]
    fixed = apply_text_edits(NON_BMP, edits_of(fix, uri))
    assert fixed.splitlines()[4] == '    t = torch.arange(n * len("\U0001d703\U0001d703"), device=inv_freq.device)'


def test_windows_line_endings(client: LspClient, project: Path) -> None:
    text = ROPE.replace("\n", "\r\n")
    uri = (project / "crlf.py").as_uri()
    client.open(uri, text)
    [diagnostic] = client.diagnostics(uri, 1)
    assert diagnostic["range"] == {"start": {"line": 12, "character": 12}, "end": {"line": 12, "character": 47}}
    [fix] = [a for a in code_actions(client, uri, 12, 20) if a["kind"] == "quickfix" and "noqa" not in a["title"]]
    assert apply_text_edits(text, edits_of(fix, uri)) == ROPE_FIXED.replace("\n", "\r\n")
    [fix_all] = code_actions(client, uri, 0, 0, only=["source.fixAll.devlint"])
    assert apply_text_edits(text, edits_of(fix_all, uri)) == ROPE_FIXED.replace("\n", "\r\n")


def test_project_configuration_is_respected(client: LspClient, tmp_path: Path) -> None:
    """The closest `[tool.devlint]` of the file's own project, not the server's working folder's."""
    (tmp_path / "pyproject.toml").write_text('[tool.devlint]\nignore = ["DL001"]\n')
    (tmp_path / "pkg").mkdir()
    uri = (tmp_path / "pkg" / "rope.py").as_uri()
    client.open(uri, ROPE)
    assert client.diagnostics(uri, 1) == []
    assert code_actions(client, uri, 12, 20) == []


def test_unsaved_document_takes_the_workspace_folders_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.devlint]\nignore = ["DL001"]\n')
    server = LspClient(tmp_path.parent)  # started elsewhere: the workspace folder decides, not the server's folder
    try:
        server.initialize(tmp_path)
        server.open("untitled:Untitled-1", ROPE)
        assert server.diagnostics("untitled:Untitled-1", 1) == []
    finally:
        assert server.close() == 0


def test_a_broken_configuration_is_shown_once_and_nothing_crashes(client: LspClient, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.devlint]\nselect = ["DL9"]\n')
    mark = client.mark()
    for name in ("a.py", "b.py"):
        uri = (tmp_path / name).as_uri()
        client.open(uri, ROPE)
        assert client.diagnostics(uri, 1) == []
    shown = [m["params"] for m in client.received[mark:] if m.get("method") == "window/showMessage"]
    assert len(shown) == 1 and shown[0]["type"] == 1
    assert shown[0]["message"].startswith(f"devlint: {tmp_path / 'pyproject.toml'}: [tool.devlint] `select` has "
                                          "unknown rule codes ['DL9']")


def test_documents_that_are_not_python_are_left_alone(client: LspClient, project: Path) -> None:
    uri = (project / "notes.md").as_uri()
    mark = client.mark()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "markdown", "version": 1,
                                                            "text": ROPE}})
    python = (project / "after_notes.py").as_uri()
    client.open(python, ROPE)
    assert len(client.diagnostics(python, 1)) == 1  # checked after the markdown document was handled
    assert not [m for m in client.received[mark:] if m.get("params", {}).get("uri") == uri]
    assert code_actions(client, uri, 12, 20) is None


def test_saving_checks_again_with_the_configuration_on_disk(client: LspClient, tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.devlint]\n")
    uri = (tmp_path / "rope.py").as_uri()
    client.open(uri, ROPE)
    assert [d["code"] for d in client.diagnostics(uri, 1)] == ["DL001"]
    # Saving the configuration itself (an editor that has it open) checks every open file again.
    config.write_text('[tool.devlint]\nignore = ["DL001"]\n')
    mark = client.mark()
    client.notify("textDocument/didSave", {"textDocument": {"uri": config.as_uri()}})
    assert client.diagnostics(uri, 1, after=mark) == []
    # Saving the Python file checks it again too.
    config.write_text("[tool.devlint]\n")
    mark = client.mark()
    client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert [d["code"] for d in client.diagnostics(uri, 1, after=mark)] == ["DL001"]


def test_a_module_is_checked_in_its_package_as_check_does(client: LspClient, tmp_path: Path) -> None:
    """The platform device comes from a sibling module (`from .consts import DEVICE`): only a check that knows
    the file's package, as `devlint check FILE` does and standard input does not, sees it."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "consts.py").write_text('DEVICE = "cuda"\n')
    text = ROPE.replace("from vllm.platforms import current_platform\n", "from .consts import DEVICE\n").replace(
        "device=current_platform.device_type,", "device=DEVICE,")
    (package / "rope.py").write_text(text)
    uri = (package / "rope.py").as_uri()
    client.open(uri, text)
    [diagnostic] = client.diagnostics(uri, 1)
    assert diagnostic["code"] == "DL001"
    assert "`DEVICE` (`pkg.consts.DEVICE` is 'cuda')" in diagnostic["message"]
    done = subprocess.run([sys.executable, "-m", "devlint", "check", "--no-cache", "--output-format", "json",
                           "pkg/rope.py"], cwd=tmp_path, capture_output=True, text=True, env=devlint_env(), timeout=60)
    [reported] = json.loads(done.stdout)
    assert (reported["code"], reported["message"]) == (diagnostic["code"], diagnostic["message"])
    assert (reported["location"]["row"] - 1, reported["location"]["column"] - 1) == (
        diagnostic["range"]["start"]["line"], diagnostic["range"]["start"]["character"])


def test_excluded_file_gets_no_diagnostics(client: LspClient, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.devlint]\nextend-exclude = ["generated/"]\n')
    (tmp_path / "generated").mkdir()
    uri = (tmp_path / "generated" / "rope.py").as_uri()
    client.open(uri, ROPE)
    assert client.diagnostics(uri, 1) == []


def test_a_file_that_does_not_parse_gets_its_syntax_error(client: LspClient, project: Path) -> None:
    text = ROPE.replace("def _compute_cos_sin_cache(self)", "def _compute_cos_sin_cache(self")
    uri = (project / "broken.py").as_uri()
    client.open(uri, text)
    [diagnostic] = client.diagnostics(uri, 1)
    assert (diagnostic["code"], diagnostic["severity"]) == ("E999", 1)
    assert diagnostic["message"].startswith("syntax error: ")
    assert diagnostic["range"]["start"]["line"] == 8
    assert code_actions(client, uri, 8, 4) == []
    # Typing goes on: once it parses again, the finding is back.
    client.change(uri, ROPE, version=2)
    assert [d["code"] for d in client.diagnostics(uri, 2)] == ["DL001"]


def test_changes_are_checked_once_typing_pauses(client: LspClient, project: Path) -> None:
    uri = (project / "typing.py").as_uri()
    client.open(uri, "import torch\n")
    assert client.diagnostics(uri, 1) == []
    mark = client.mark()
    client.change(uri, *(ROPE[: 100 * n] for n in range(2, 7)), ROPE, version=2)  # six quick keystrokes
    assert [d["code"] for d in client.diagnostics(uri, 7, after=mark)] == ["DL001"]
    published = [m for m in client.received[mark:] if m.get("method") == "textDocument/publishDiagnostics"
                 and m["params"]["uri"] == uri]
    assert [m["params"]["version"] for m in published] == [7]


def test_malformed_messages_are_logged_and_the_server_keeps_serving(project: Path) -> None:
    server = LspClient(project)
    try:
        server.initialize(project)
        server.send_bytes(b"{this is not json")
        server.send({"id": "no-method"})  # neither a request nor a response
        bad = server.request_id()
        server.send({"id": bad, "method": "textDocument/codeAction", "params": {"textDocument": 7}})
        unknown = server.request_id()
        server.send({"id": unknown, "method": "devlint/unknown", "params": {}})
        assert server.response(bad)["error"]["code"] == -32602  # invalid params, answered
        assert server.response(unknown)["error"]["code"] == -32601  # method not found
        # The next request is served as if nothing had happened.
        uri = (project / "after_garbage.py").as_uri()
        server.open(uri, ROPE)
        assert [d["code"] for d in server.diagnostics(uri, 1)] == ["DL001"]
        log = "".join(server.stderr)
        assert "Unable to handle message" in log
        assert server.wait_for(lambda m: m.get("method") == "window/logMessage", "the error in the client's log")
    finally:
        assert server.close() == 0


def test_the_server_exits_when_its_editor_goes_away(project: Path) -> None:
    """Standard input closed without `shutdown` (the editor crashed): the server ends instead of lingering."""
    done = subprocess.run([sys.executable, "-m", "devlint", "server"], cwd=project, capture_output=True,
                          env=devlint_env(), stdin=subprocess.DEVNULL, timeout=30)
    assert (done.returncode, done.stdout) == (0, b"")


def test_without_the_extra_one_line_and_exit_2(tmp_path: Path) -> None:
    # A `pygls` that cannot be imported stands for the missing extra.
    (tmp_path / "pygls").mkdir()
    (tmp_path / "pygls" / "__init__.py").write_text("raise ModuleNotFoundError('no pygls', name='pygls')\n")
    env = {**devlint_env(), "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "devlint", "server"], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=30)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "devlint: error: `devlint server` needs the server extra: pip install 'devlint[server]'\n"


def test_import_devlint_does_not_import_pygls() -> None:
    code = "import sys, devlint, devlint.cli, devlint.server, devlint.server.positions; " \
           "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol'))))"
    done = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True,
                          env=devlint_env(), timeout=30)
    assert json.loads(done.stdout) == []


@pytest.mark.parametrize(("encoding", "expected"), [(PositionEncoding.UTF16, 38), (PositionEncoding.UTF8, 42),
                                                    (PositionEncoding.UTF32, 36)])
def test_columns_in_each_position_encoding(encoding: PositionEncoding, expected: int) -> None:
    lines = DocumentLines(NON_BMP, encoding)
    assert lines.position(Location(6, 37)).character == expected
    assert lines.position(Location(6, 37)).line == 5


def test_positions_past_the_end_are_the_end() -> None:
    lines = DocumentLines("a = 1\r\nb = '\U0001f600'")
    assert lines.position(Location(2, 99)) == lines.position(Location(3, 1))
    assert (lines.position(Location(3, 1)).line, lines.position(Location(3, 1)).character) == (1, 8)
    assert lines.position_of_offset(7) == lines.position(Location(2, 1))


def test_editor_setups_in_the_docs_start_this_server() -> None:
    """docs/editors.md as written: each editor runs `devlint server` for Python and names the real fix-all kind."""
    from devlint.server.lsp import FIX_ALL_KIND  # pygls is installed with the test extra

    document = "docs/editors.md"
    vscode = json.loads(docs_block("{", document))
    assert (vscode["glspc.server.command"], vscode["glspc.server.commandArguments"]) == ("devlint", ["server"])
    assert vscode["glspc.server.languageId"] == ["python"]
    assert vscode["editor.codeActionsOnSave"] == {FIX_ALL_KIND: "explicit"}
    helix = tomllib.loads(docs_block("[language-server.devlint]", document))
    assert helix["language-server"]["devlint"] == {"command": "devlint", "args": ["server"]}
    assert "devlint" in helix["language"][0]["language-servers"]
    for first_line in ('vim.lsp.config("devlint", {', 'vim.api.nvim_create_autocmd("FileType", {',
                       'local configs = require("lspconfig.configs")'):
        assert 'cmd = { "devlint", "server" },' in docs_block(first_line, document)
    assert f'only = {{ "{FIX_ALL_KIND}" }}' in (REPO / document).read_text()


def test_edits_without_versions_for_clients_that_take_no_document_changes() -> None:
    from lsprotocol import types

    from devlint.server.lsp import workspace_edit

    edit = types.TextEdit(range=types.Range(start=types.Position(line=1, character=2),
                                            end=types.Position(line=1, character=5)), new_text="x")
    assert workspace_edit("file:///m.py", 3, [edit], versioned=False) == types.WorkspaceEdit(
        changes={"file:///m.py": [edit]})
    versioned = workspace_edit("file:///m.py", 3, [edit], versioned=True)
    assert versioned.changes is None and versioned.document_changes is not None
    [change] = versioned.document_changes
    assert isinstance(change, types.TextDocumentEdit) and change.text_document.version == 3
