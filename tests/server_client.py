"""A small language-server client for the tests: `devlint server` in a subprocess, spoken to in JSON-RPC over
its standard input and output (Content-Length framing), every wait bounded so a hung server fails a test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

TIMEOUT = 15.0
"""Seconds any one answer may take (a check takes well under one; this only stops a hung server)."""


class ServerHung(AssertionError):
    pass


class LspClient:
    def __init__(self, cwd: Path) -> None:
        env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}  # the installed devlint
        self.process = subprocess.Popen([sys.executable, "-m", "devlint", "server"], cwd=cwd, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.received: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        self._changed = threading.Condition()
        self._next_id = 0
        self.initialized: dict[str, Any] = {}  # the answer to `initialize`
        threading.Thread(target=self._read_messages, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_messages(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                header = stream.readline()
                if not header:
                    return
                if header in (b"\r\n", b"\n"):
                    break
                name, _, value = header.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            assert length is not None, "a message without Content-Length"
            message = json.loads(stream.read(length))
            with self._changed:
                self.received.append(message)
                self._changed.notify_all()

    def _read_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        for line in stream:
            with self._changed:
                self.stderr.append(line.decode("utf-8", "replace"))
                self._changed.notify_all()

    def send_bytes(self, body: bytes) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        stdin.flush()

    def send(self, *messages: dict[str, Any]) -> None:
        """Send messages in one write (so that they arrive together however slowly this process runs)."""
        stdin = self.process.stdin
        assert stdin is not None
        for message in messages:
            body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
            stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        stdin.flush()

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.send({"method": method, "params": params})

    def request_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def response(self, request_id: int) -> dict[str, Any]:
        return self.wait_for(lambda m: m.get("id") == request_id and "method" not in m, f"an answer to {request_id}")

    def request(self, method: str, params: dict[str, Any]) -> Any:
        request_id = self.request_id()
        self.send({"id": request_id, "method": method, "params": params})
        answer = self.response(request_id)
        assert "error" not in answer, answer
        return answer["result"]

    def wait_for(self, matches: Callable[[dict[str, Any]], bool], what: str, *,
                 after: int = 0) -> dict[str, Any]:
        """The first message received at or after index `after` that `matches`."""
        def found() -> dict[str, Any] | None:
            return next((m for m in self.received[after:] if matches(m)), None)

        with self._changed:
            if not self._changed.wait_for(lambda: found() is not None or self.process.poll() is not None, TIMEOUT):
                raise ServerHung(f"no {what} within {TIMEOUT}s; server log:\n{''.join(self.stderr)}")
            message = found()
        if message is None:
            raise AssertionError(f"the server exited ({self.process.returncode}) before {what}:\n{''.join(self.stderr)}")
        return message

    def mark(self) -> int:
        """An index for `wait_for(after=...)`: only messages received from now on."""
        with self._changed:
            return len(self.received)

    def diagnostics(self, uri: str, version: int, *, after: int = 0) -> list[dict[str, Any]]:
        message = self.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                and m["params"]["uri"] == uri and m["params"].get("version") == version,
                                f"diagnostics for {uri} version {version}", after=after)
        return message["params"]["diagnostics"]

    def initialize(self, root: Path) -> dict[str, Any]:
        result = self.request("initialize", {
            "processId": os.getpid(), "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": {"general": {"positionEncodings": ["utf-16"]},
                             "workspace": {"workspaceEdit": {"documentChanges": True}},
                             "textDocument": {"codeAction": {"codeActionLiteralSupport": {"codeActionKind": {
                                 "valueSet": ["quickfix", "source", "source.fixAll"]}}}}},
        })
        self.notify("initialized", {})
        self.initialized = result
        return result

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python",
                                                              "version": version, "text": text}})

    def change(self, uri: str, *texts: str, version: int) -> None:
        """Change the document to each text in turn (versions `version`, `version + 1`, ...) at once."""
        self.send(*({"method": "textDocument/didChange",
                     "params": {"textDocument": {"uri": uri, "version": version + index},
                                "contentChanges": [{"text": text}]}} for index, text in enumerate(texts)))

    def close(self) -> int:
        """Shut the server down as an editor does; its exit code."""
        try:
            if self.process.poll() is None:
                self.request("shutdown", {})
                self.notify("exit", {})
            return self.process.wait(TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(TIMEOUT)


def apply_text_edits(text: str, edits: list[dict[str, Any]]) -> str:
    """Apply LSP text edits (UTF-16 positions, positions referring to the text before any edit), as an editor
    does."""
    lines = text.splitlines(keepends=True) or [""]

    def offset(position: dict[str, int]) -> int:
        line = position["line"]
        if line >= len(lines):
            return len(text)
        before = sum(len(lines[i]) for i in range(line))
        units, index, content = 0, 0, lines[line]
        while index < len(content) and units < position["character"]:
            units += 2 if ord(content[index]) > 0xFFFF else 1
            index += 1
        return before + index

    spans = sorted(((offset(e["range"]["start"]), offset(e["range"]["end"]), e["newText"]) for e in edits),
                   reverse=True)
    for start, end, new_text in spans:
        text = text[:start] + new_text + text[end:]
    return text
