"""action.yml, run as a runner runs a composite action: each `run:` step with `bash --noprofile --norc -eo
pipefail` (GitHub's `shell: bash`), under the env the step declares, its `${{ }}` expressions evaluated
from the inputs (declared defaults filled in), `github.action_path` and the earlier steps' `$GITHUB_OUTPUT`,
with $RUNNER_TEMP, $GITHUB_WORKSPACE and $GITHUB_ACTION_PATH set; in a git repository checked out as a pull
request's is. Checked: the annotation lines, the SARIF file (against the SARIF 2.1.0 schema), the action's
outputs and the exit code.

Most cases set DEVLINT_ACTION_PYTHON to this interpreter (the action's documented switch) so that the install
step does not pip-install devlint each time; `test_the_install_step_builds_devlint_from_the_action_checkout`
runs the real install, into a virtual environment, from a clean copy of this repository.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml

from devlint import __version__

from conftest import REPO, devlint_env, docs_block

ACTION = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SCHEMA = json.loads((REPO / "tests" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@t"}

# On the base branch: the canonical bug, a RoPE table built on "cuda" and combined with inv_freq.
ROPE = ('import torch\n'
        '\n'
        '\n'
        'def rotary_cache(inv_freq: torch.Tensor, seq_len: int) -> torch.Tensor:\n'
        '    t = torch.arange(seq_len, device="cuda")\n'
        '    return torch.outer(t, inv_freq)\n')
# Added by the pull request, in a folder whose name needs quoting.
MASK = ('import torch\n'
        '\n'
        '\n'
        'def causal_mask(scores: torch.Tensor) -> torch.Tensor:\n'
        '    mask = torch.ones(scores.shape[-2:], dtype=torch.bool, device="cuda").triu(1)\n'
        '    return scores.masked_fill(mask, float("-inf"))\n')
CLEAN = ROPE.replace('device="cuda"', "device=inv_freq.device")
ROPE_ERROR = "::error title=devlint (DL001),file=rope.py,line=5,col=31,endLine=5,endColumn=44::rope.py:5:31: DL001 "
MASK_ERROR = ("::error title=devlint (DL001),file=models dir/mask.py,line=5,col=60,endLine=5,endColumn=73::"
              "models dir/mask.py:5:60: DL001 ")


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]

    def annotations(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith(("::error", "::warning"))]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**devlint_env(), **GIT_IDENTITY}).stdout


def evaluate(text: str, context: dict[str, str]) -> str:
    """The `${{ name }}` expressions of `text`, from `context`; a step output never written is empty, as on a
    runner; any other name must be known (an expression the action adds must be added here)."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("steps."):
            assert re.fullmatch(r"steps\.[\w-]+\.outputs\.[\w-]+", name), name
            return context.get(name, "")
        assert name in context, f"action.yml uses ${{{{ {name} }}}}, which this test does not simulate"
        return context[name]

    return EXPRESSION.sub(value, text)


def run_action(workspace: Path, runner_temp: Path, *, action_path: Path = REPO, use_this_python: bool = True,
               **given: str) -> Outcome:
    inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    for name, value in given.items():
        name = name.replace("_", "-")
        assert name in inputs, f"action.yml has no input {name!r}"
        inputs[name] = value
    context = {"github.action_path": str(action_path), **{f"inputs.{k}": v for k, v in inputs.items()}}
    runner_temp.mkdir(exist_ok=True)
    env = {**devlint_env(), "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace),
           "GITHUB_ACTION_PATH": str(action_path), "RUNNER_TEMP": str(runner_temp)}
    env.pop("DEVLINT_ACTION_PYTHON", None)
    if use_this_python:
        env["DEVLINT_ACTION_PYTHON"] = sys.executable
    stdout, stderr, returncode = "", "", 0
    for number, step in enumerate(ACTION["runs"]["steps"]):
        assert set(step) <= {"name", "id", "shell", "env", "run"} and step["shell"] == "bash", step
        output_file = runner_temp / f"github-output-{number}"
        output_file.write_text("")
        script = runner_temp / f"step-{number}.sh"
        script.write_text(step["run"])
        step_env = {**env, "GITHUB_OUTPUT": str(output_file),
                    **{key: evaluate(str(value), context) for key, value in step.get("env", {}).items()}}
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=workspace,
                              env=step_env, capture_output=True, text=True, timeout=600)
        stdout, stderr, returncode = stdout + done.stdout, stderr + done.stderr, done.returncode
        for line in output_file.read_text().splitlines():
            key, _, value = line.partition("=")
            context[f"steps.{step['id']}.outputs.{key}"] = value
        if returncode != 0:  # a failing step fails the action; later steps do not run
            break
    outputs = {name: evaluate(spec["value"], context) for name, spec in ACTION["outputs"].items()}
    return Outcome(returncode, stdout, stderr, outputs)


@pytest.fixture
def pull_request(tmp_path: Path) -> Path:
    """A clone of the base repository (its `main` is `origin/main`), on a feature branch that adds a file
    with a finding; the base already has one, on a line the pull request leaves alone."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "main")
    (upstream / "rope.py").write_text(ROPE)
    git(upstream, "add", ".")
    git(upstream, "commit", "-qm", "base")
    checkout = tmp_path / "workspace"
    git(tmp_path, "clone", "-q", str(upstream), str(checkout))
    git(checkout, "checkout", "-qb", "feature")
    (checkout / "models dir").mkdir()
    (checkout / "models dir" / "mask.py").write_text(MASK)
    git(checkout, "add", ".")
    git(checkout, "commit", "-qm", "feature")
    return checkout


def sarif_results(path: Path) -> list[tuple[str, str, int]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(document, SCHEMA)
    return [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in document["runs"][0]["results"]]


def test_no_input_is_interpolated_into_shell_text() -> None:
    assert ACTION["runs"]["using"] == "composite"
    used = set()
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step["run"], f"step {step['name']!r} interpolates an expression into its script"
        for value in step.get("env", {}).values():
            used.update(re.findall(r"\$\{\{ inputs\.([\w-]+) \}\}", str(value)))
    assert used == set(ACTION["inputs"]), "every input reaches the steps, through env"
    assert all(spec["description"] for spec in ACTION["inputs"].values())


def test_findings_are_annotated_written_as_sarif_and_fail_the_step(pull_request: Path, tmp_path: Path) -> None:
    outcome = run_action(pull_request, tmp_path / "runner", paths="rope.py 'models dir'",
                         sarif_file="reports/devlint.sarif")
    assert outcome.returncode == 1, outcome.stderr
    [mask, rope] = outcome.annotations()
    assert mask.startswith(MASK_ERROR) and "use `device=scores.device`" in mask
    assert rope.startswith(ROPE_ERROR) and "use `device=inv_freq.device`" in rope
    assert outcome.outputs == {"sarif-file": "reports/devlint.sarif"}
    assert sarif_results(pull_request / "reports" / "devlint.sarif") == [
        ("DL001", "models dir/mask.py", 5), ("DL001", "rope.py", 5)]
    # Nothing left in the workspace but the SARIF asked for: the venv and the cache live in RUNNER_TEMP.
    assert git(pull_request, "status", "--porcelain", "--untracked-files=all") == "?? reports/devlint.sarif\n"


def test_with_a_diff_base_only_the_pull_requests_lines_are_annotated(pull_request: Path, tmp_path: Path) -> None:
    outcome = run_action(pull_request, tmp_path / "runner", diff_base="origin/main", sarif_file="devlint.sarif")
    assert outcome.returncode == 1, outcome.stderr
    [mask] = outcome.annotations()
    assert mask.startswith(MASK_ERROR)
    # Code scanning compares with the base branch's analysis itself: the SARIF holds every finding.
    assert sarif_results(pull_request / "devlint.sarif") == [("DL001", "models dir/mask.py", 5), ("DL001", "rope.py", 5)]


def test_a_finding_on_an_unchanged_line_passes_the_diff_gate(pull_request: Path, tmp_path: Path) -> None:
    git(pull_request, "rm", "-rq", "models dir")
    (pull_request / "rope.py").write_text(ROPE + "\n\nROPE_THETA = 10000.0\n")
    git(pull_request, "commit", "-qam", "only a constant added")
    outcome = run_action(pull_request, tmp_path / "runner", diff_base="origin/main", sarif_file="devlint.sarif")
    assert (outcome.returncode, outcome.annotations()) == (0, []), outcome.stderr
    assert sarif_results(pull_request / "devlint.sarif") == [("DL001", "rope.py", 5)]
    # Without the base, the same checkout fails on it.
    assert run_action(pull_request, tmp_path / "runner").returncode == 1


def test_a_clean_repository_passes(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    git(workspace, "init", "-q", "-b", "main")
    (workspace / "rope.py").write_text(CLEAN)
    git(workspace, "add", ".")
    git(workspace, "commit", "-qm", "clean")
    outcome = run_action(workspace, tmp_path / "runner", sarif_file="devlint.sarif")
    assert (outcome.returncode, outcome.stdout.count("::")) == (0, 0), outcome.stderr
    assert sarif_results(workspace / "devlint.sarif") == []
    assert outcome.outputs == {"sarif-file": "devlint.sarif"}
    assert run_action(workspace, tmp_path / "runner").outputs == {"sarif-file": ""}


def test_a_shallow_checkout_with_a_diff_base_is_an_error_naming_the_fetch(pull_request: Path, tmp_path: Path) -> None:
    outcome = run_action(pull_request, tmp_path / "runner", diff_base="origin/release")
    assert outcome.returncode == 2
    assert "devlint: error: unknown revision 'origin/release'; in a shallow clone" in outcome.stderr
    assert "git fetch --no-tags --depth=1000 origin release" in outcome.stderr


def test_inputs_are_words_never_shell_code(pull_request: Path, tmp_path: Path) -> None:
    paths = run_action(pull_request, tmp_path / "runner", paths="$(touch pwned1) `touch pwned2` ${HOME}")
    assert paths.returncode == 2
    assert paths.stderr == "devlint: error: path does not exist: $(touch\n"
    args = run_action(pull_request, tmp_path / "runner", args="--select DL001; touch pwned3 && touch pwned4")
    assert args.returncode == 2 and "--select has unknown rule codes ['DL001;']" in args.stderr
    assert not list(tmp_path.glob("**/pwned*"))
    unbalanced = run_action(pull_request, tmp_path / "runner", args="--select 'DL001")
    assert unbalanced.returncode == 2
    assert unbalanced.annotations() == [
        "::error title=devlint::the ARGS input is not valid shell words: ValueError: No closing quotation"]


def test_args_reach_both_runs(pull_request: Path, tmp_path: Path) -> None:
    outcome = run_action(pull_request, tmp_path / "runner", args="--ignore DL001", sarif_file="devlint.sarif")
    assert (outcome.returncode, outcome.annotations()) == (0, []), outcome.stderr
    assert sarif_results(pull_request / "devlint.sarif") == []
    bad = run_action(pull_request, tmp_path / "runner", args="--select DL9", sarif_file="devlint.sarif")
    assert bad.returncode == 2 and "DL9" in bad.stderr and bad.outputs == {"sarif-file": ""}


def test_the_install_step_builds_devlint_from_the_action_checkout(pull_request: Path, tmp_path: Path) -> None:
    """The real path: a virtual environment under RUNNER_TEMP, devlint pip-installed from a clean copy of
    this repository's files (what `uses:` checks out), then the gate."""
    action_path = tmp_path / "action"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            check=True, capture_output=True, text=True).stdout
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (action_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, action_path / name)
    # A version of its own tells that copy's devlint from this interpreter's.
    init = action_path / "devlint" / "__init__.py"
    init.write_text(re.sub(r'__version__ = "([^"]+)"', r'__version__ = "\1+action"', init.read_text()))
    runner_temp = tmp_path / "runner"
    outcome = run_action(pull_request, runner_temp, action_path=action_path, use_this_python=False,
                         diff_base="origin/main")
    assert outcome.returncode == 1, outcome.stdout + outcome.stderr
    assert outcome.stdout.startswith(f"devlint, version {__version__}+action\n")
    assert (runner_temp / "devlint-action-venv" / "bin" / "devlint").is_file()
    [mask] = outcome.annotations()
    assert mask.startswith(MASK_ERROR)


def test_the_documented_workflow_runs_the_action(pull_request: Path, tmp_path: Path) -> None:
    """docs/ci.md's workflow, its placeholders filled in: GitHub Actions syntax, and its action step's inputs
    (with `github.base_ref` as on a pull request into main) run through the action, the upload step reading
    the SARIF path from the action's output."""
    from test_ci_docs import WORKFLOW

    text = docs_block("# .github/workflows/devlint.yml").replace("<owner>", "someorg").replace("<commit>", "0" * 40)
    workflow = yaml.safe_load(text)
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads a bare `on:` as True
    jsonschema.validate(workflow, WORKFLOW)
    checkout, action, upload = workflow["jobs"]["devlint"]["steps"]
    assert checkout["uses"] == "actions/checkout@v4" and checkout["with"] == {"fetch-depth": 0}
    assert action["uses"] == f"someorg/devlint@{'0' * 40}" and action["id"] == "devlint"
    outcome = run_action(pull_request, tmp_path / "runner",
                         **{name: evaluate(str(value), {"github.base_ref": "main"})
                            for name, value in action["with"].items()})
    assert outcome.returncode == 1, outcome.stderr
    [mask] = outcome.annotations()
    assert mask.startswith(MASK_ERROR)
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["if"] == "always() && steps.devlint.outputs.sarif-file != ''"
    sarif = evaluate(upload["with"]["sarif_file"], {f"steps.devlint.outputs.{k}": v for k, v in outcome.outputs.items()})
    assert sarif_results(pull_request / sarif) == [("DL001", "models dir/mask.py", 5), ("DL001", "rope.py", 5)]
