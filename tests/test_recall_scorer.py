"""The recall benchmark's scorer (benchmarks/recall/score.py), without the network and without devlint's analysis:
statement extents, line verification, the scoring arithmetic, fix equality, row validation, and one whole run
over a release tarball in an offline cache with a stand-in devlint that prints fixed JSON."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

SCORER = Path(__file__).resolve().parents[1] / "benchmarks" / "recall" / "score.py"
_spec = importlib.util.spec_from_file_location("recall_score", SCORER)
score = importlib.util.module_from_spec(_spec)
sys.modules["recall_score"] = score
_spec.loader.exec_module(score)

ROPE = textwrap.dedent('''\
    import torch


    @torch.no_grad()
    def rope(
        inv_freq: torch.Tensor,
        n: int,
        device="cuda",
    ):
        t = torch.arange(
            n,
            device="cuda",
        )
        if torch.arange(n, device="cuda").sum() > 0:
            pass
        with torch.device(
            "cuda"
        ):
            pass
        return torch.einsum("i,j->ij", t, inv_freq)
    ''')


# --- statement extents --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "expected"), [
    (12, (10, 13)),  # `device=` inside a multi-line assignment: the whole statement
    (10, (10, 13)),
    (14, (14, 14)),  # an `if` header: the call in it, not the body
    (8, (4, 9)),  # a `def` default: the header, decorators included, not the body
    (17, (16, 18)),  # a multi-line `with` header: its call
    (20, (20, 20)),
    (2, (2, 2)),  # a blank line: itself
])
def test_statement_span(line: int, expected: tuple[int, int]) -> None:
    span = score.statement_span(ROPE, line)
    assert (span.first, span.last) == expected


def test_statement_span_of_a_nested_simple_statement_is_not_its_block() -> None:
    source = "for i in range(3):\n    x = torch.zeros(\n        i, device='cuda')\n    y = 1\n"
    span = score.statement_span(source, 3)
    assert (span.first, span.last) == (2, 3)


def test_span_overlap() -> None:
    span = score.Span(10, 13)
    assert span.overlaps(13, 13) and span.overlaps(8, 10) and span.overlaps(11, 12)
    assert not span.overlaps(14, 20) and not span.overlaps(1, 9)


# --- verification -------------------------------------------------------------------------------------------

def test_line_matches_compares_stripped_text() -> None:
    assert score.line_matches(ROPE, 12, 'device="cuda",')
    assert score.line_matches(ROPE, 12, '   device="cuda",   ')
    assert not score.line_matches(ROPE, 12, "device='cuda',")
    assert not score.line_matches(ROPE, 11, 'device="cuda",')
    assert not score.line_matches(ROPE, 400, "")
    assert not score.line_matches(ROPE, 0, "import torch")


def test_locate_reports_what_the_file_has(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "rope.py").write_text(ROPE)
    project = score.Project("p", "p", "pkg")
    state = score.ReleaseState(score.Release(project, "1.0"), root=tmp_path)
    span, verified, problem = score.locate(state, "pkg/rope.py", 12, 'device="cuda",')
    assert (span, verified, problem) == (score.Span(10, 13), True, "")
    span, verified, problem = score.locate(state, "pkg/rope.py", 11, 'device="cuda",')
    assert span is None and not verified and problem == "text differs at pkg/rope.py:11: file has 'n,'"
    _, verified, problem = score.locate(state, "pkg/other.py", 1, "x")
    assert not verified and problem == "pkg/other.py is not in p-1.0"


# --- fix equality -------------------------------------------------------------------------------------------

def test_normalised_code_ignores_layout_quotes_comments_and_trailing_commas() -> None:
    a = "t = torch.arange(\n    n,\n    device='cuda',  # positions\n)\n"
    b = 't = torch.arange(n, device="cuda")'
    assert score.normalised_code(a) == score.normalised_code(b)
    assert score.normalised_code(b) != score.normalised_code('t = torch.arange(n, device="xpu")')
    assert score.normalised_code("f(a, b)") != score.normalised_code("f(b, a)")


def test_apply_edits_on_a_statement_that_starts_inside_the_file() -> None:
    statement = 't = torch.arange(\n    n,\n    device="cuda",\n)\n'
    edit = score.FixEdit("inv_freq.device", (12, 12), (12, 18))
    assert score.apply_edits(statement, 10, [edit]) == 't = torch.arange(\n    n,\n    device=inv_freq.device,\n)\n'
    assert score.apply_edits(statement, 10, [score.FixEdit("x", (9, 1), (9, 2))]) is None  # before the statement
    overlapping = [score.FixEdit("a", (10, 1), (10, 5)), score.FixEdit("b", (10, 3), (10, 7))]
    assert score.apply_edits(statement, 10, overlapping) is None


def test_fix_verdict() -> None:
    buggy = 'out = torch.zeros(n, device="cuda")\n'
    literal = buggy.index('"cuda"') + 1
    fix = score.Finding("DL001", "m", "p.py", 5, 5, (score.FixEdit("x.device", (5, literal), (5, literal + 6)),))
    assert score.fix_verdict(buggy, 5, [fix], "out = torch.zeros(n, device=x.device)") == score.FixVerdict.SAME
    assert score.fix_verdict(buggy, 5, [fix], "out = torch.zeros(n, device=y.device)") == score.FixVerdict.DIFFERENT
    # upstream went through a local `device = x.device`: not the same text, the same sibling
    via_local = "out = torch.zeros(n, device=device)"
    assert score.fix_verdict(buggy, 5, [fix], via_local, "x") == score.FixVerdict.SAME_SIBLING
    assert score.fix_verdict(buggy, 5, [fix], via_local, "ctx.x") == score.FixVerdict.DIFFERENT
    without_fix = score.Finding("DL001", "m", "p.py", 5, 5)
    assert score.fix_verdict(buggy, 5, [without_fix], "anything") == score.FixVerdict.NO_FIX
    comma = buggy.index(", device") + 1
    drop = score.Finding("DL005", "m", "p.py", 5, 5, (score.FixEdit("", (5, comma), (5, literal + 6)),))
    assert score.fix_verdict(buggy, 5, [drop], "out = torch.zeros(n)") == score.FixVerdict.SAME


# --- devlint's JSON -----------------------------------------------------------------------------------------

def test_parse_devlint_json_keeps_rule_findings_and_separates_file_errors() -> None:
    objects = [
        {"code": "DL001", "message": "m1", "filename": "./pkg/a.py", "location": {"row": 3, "column": 5},
         "end_location": {"row": 4, "column": 2}, "fix": {"applicability": "safe", "message": "f", "edits": [
             {"content": "x.device", "location": {"row": 3, "column": 9}, "end_location": {"row": 3, "column": 15}}]}},
        {"code": "DL100", "message": "unused", "filename": "pkg/a.py", "location": {"row": 9, "column": 1},
         "end_location": {"row": 9, "column": 9}, "fix": None},
        {"code": "E999", "message": "bad", "filename": "pkg/b.py", "location": {"row": 1, "column": 1},
         "end_location": {"row": 1, "column": 1}, "fix": None},
    ]
    findings, errors = score.parse_devlint_json(json.dumps(objects))
    assert findings == [score.Finding("DL001", "m1", "pkg/a.py", 3, 4,
                                      (score.FixEdit("x.device", (3, 9), (3, 15)),), "safe")]
    assert [e.code for e in errors] == ["E999"]


# --- rows ---------------------------------------------------------------------------------------------------

PROJECT_ROW = {"kind": "project", "project": "toy", "package": "toy-pkg", "module": "toy", "dist": "sdist",
               "platform_devices": ["toy.accel.get_device()"], "config_note": "its helper"}


def case_row(id_: str, line: int, text: str, fixed_line: int, fixed_text: str, **extra) -> dict:
    return {"kind": "case", "id": id_, "project": "toy", "buggy": "1.0", "fixed": "1.1", "path": "toy/m.py",
            "line": line, "text": text, "fixed_path": "toy/m.py", "fixed_line": fixed_line, "fixed_text": fixed_text,
            "fix": "device=x.device", "sibling": "x", "trigger": "meta-init", "source": "release diff 1.0..1.1",
            **extra}


def ok_row(id_: str, line: int, text: str, version: str = "1.1") -> dict:
    return {"kind": "ok", "id": id_, "project": "toy", "version": version, "path": "toy/m.py", "line": line,
            "text": text, "reason": "follows x"}


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_read_rows_reports_each_bad_row_and_keeps_the_good_ones(tmp_path: Path) -> None:
    rows = [PROJECT_ROW, case_row("toy-001", 3, "a", 3, "b"), case_row("toy-001", 4, "a", 4, "b"),
            {**case_row("toy-002", 3, "a", 3, "b"), "line": "3"},
            {**case_row("toy-003", 3, "a", 3, "b"), "trigger": "sometimes"},
            {**case_row("toy-004", 3, "a", 3, "b"), "project": "nobody"},
            {k: v for k, v in ok_row("toy-ok-001", 2, "x").items() if k != "reason"},
            ok_row("toy-ok-002", 2, "x"), ok_row("toy-ok-003", 3, "b")]
    loaded, problems = score.read_rows(write_rows(tmp_path / "cases.jsonl", rows))
    assert [c.id for c in loaded.cases] == ["toy-001"] and [o.id for o in loaded.oks] == ["toy-ok-002"]
    assert loaded.projects["toy"].platform_devices == ("toy.accel.get_device()",)
    assert problems == [
        "cases.jsonl:4: toy-002: field 'line' must be int, not str",
        "cases.jsonl:5: toy-003: trigger must be one of cpu, meta-init, multi-gpu, non-cuda, offload, unknown, "
        "not 'sometimes'",
        "cases.jsonl:7: toy-ok-001: missing field 'reason'",
        "cases.jsonl:3: id 'toy-001' used twice",
        "cases.jsonl:6: toy-004: project 'nobody' has no project row",
        "cases.jsonl:9: toy-ok-003: is the fixed twin of toy-001 (scored as its twin already; an ok site must be "
        "another line)",
    ]


def test_quick_subset_takes_the_pair_with_most_cases() -> None:
    def case(id_: str, buggy: str, fixed: str) -> score.Case:
        return score.Case(id_, "toy", buggy, fixed, "toy/m.py", 1, "a", "toy/m.py", 1, "b")

    cases = [case("toy-001", "1.0", "1.1"), case("toy-002", "2.0", "2.1"), case("toy-003", "2.0", "2.1")]
    oks = [score.OkSite("toy-ok-001", "toy", "2.1", "toy/m.py", 1, "x"),
           score.OkSite("toy-ok-002", "toy", "1.1", "toy/m.py", 1, "x")]
    chosen, chosen_oks = score.quick_subset(cases, oks, ["toy", "absent"])
    assert [c.id for c in chosen] == ["toy-002", "toy-003"] and [o.id for o in chosen_oks] == ["toy-ok-001"]


# --- scoring arithmetic -------------------------------------------------------------------------------------

BUGGY = textwrap.dedent('''\
    import torch

    def f(x: torch.Tensor, n: int):
        t = torch.arange(
            n, device="cuda")
        w = torch.ones(n, device="cuda")
        u = torch.zeros(n, device=x.device)
        return x * t * w * u
    ''')
FIXED = BUGGY.replace('(\n        n, device="cuda")', "(\n        n, device=x.device)").replace(
    'torch.ones(n, device="cuda")', 'torch.ones(n, device="cuda")  # still')


def scored_rows(tmp_path: Path) -> score.Rows:
    rows, problems = score.read_rows(write_rows(tmp_path / "cases.jsonl", [
        PROJECT_ROW,
        case_row("toy-001", 5, 'n, device="cuda")', 5, "n, device=x.device)"),
        case_row("toy-002", 6, 'w = torch.ones(n, device="cuda")', 6, 'w = torch.ones(n, device="cuda")  # still'),
        ok_row("toy-ok-001", 7, "u = torch.zeros(n, device=x.device)"),
        ok_row("toy-ok-002", 7, "u = torch.zeros(n, device=x.device)", version="1.0"),
        ok_row("toy-ok-003", 8, "this is not the line"),
    ]))
    assert problems == []
    return rows


def release_state(tmp_path: Path, rows: score.Rows, version: str, source: str, findings: dict) -> score.ReleaseState:
    root = tmp_path / version
    (root / "toy").mkdir(parents=True)
    (root / "toy" / "m.py").write_text(source)
    state = score.ReleaseState(score.Release(rows.projects["toy"], version), root=root)
    state.runs = {config: score.DevlintRun(list(found), [], 0.0) for config, found in findings.items()}
    return state


def finding(line: int, code: str = "DL001", edits: tuple = ()) -> score.Finding:
    return score.Finding(code, f"{code} at {line}", "toy/m.py", line, line, edits)


def test_scoring_counts_cases_twins_ok_sites_and_precision(tmp_path: Path) -> None:
    rows = scored_rows(tmp_path)
    fix = (score.FixEdit("x.device", (5, 19), (5, 25)),)
    states = {
        ("toy", "1.0"): release_state(tmp_path, rows, "1.0", BUGGY, {
            # defaults: only the statement on lines 4-5 (finding on its first line); a finding on the ok line 7
            score.Config.DEFAULT: [finding(4, edits=fix), finding(7, "DL002")],
            # project config: also toy-002, twice (two findings on one statement)
            score.Config.PROJECT: [finding(4, edits=fix), finding(6), finding(6, "DL005"), finding(7, "DL002"),
                        finding(2, "DL004")]}),
        ("toy", "1.1"): release_state(tmp_path, rows, "1.1", FIXED, {
            score.Config.DEFAULT: [finding(6)], score.Config.PROJECT: [finding(6)]}),
    }
    default = score.tally(score.score_sites(rows, states, score.Config.DEFAULT))["toy"]
    project_sites = score.score_sites(rows, states, score.Config.PROJECT)
    project = score.tally(project_sites)["toy"]
    assert (default.cases, default.caught, project.caught) == (2, 1, 2)
    assert (project.twins, project.twins_flagged) == (2, 1)  # toy-002's twin kept the platform device
    assert (project.oks, project.oks_flagged, project.unscored) == (2, 1, 1)  # toy-ok-003's text does not verify
    assert (project.findings_on_cases, project.findings_on_oks, project.findings_on_twins) == (3, 1, 1)
    assert project.precision == pytest.approx(3 / 5) and default.precision == pytest.approx(1 / 3)
    assert project.recall == 1.0 and default.recall == 0.5
    by_id = {(s.id, s.role): s for s in project_sites}
    assert by_id[("toy-001", score.Role.CASE)].fix is score.FixVerdict.SAME
    assert by_id[("toy-002", score.Role.CASE)].fix is score.FixVerdict.NO_FIX
    assert (project.fix_same, project.fix_different, project.fix_none) == (1, 0, 1)
    assert by_id[("toy-ok-003", score.Role.OK)].problem == "text differs at toy/m.py:8: file has 'return x * t * w * u'"


def test_a_case_whose_buggy_line_does_not_verify_counts_nowhere(tmp_path: Path) -> None:
    rows, _ = score.read_rows(write_rows(tmp_path / "cases.jsonl", [
        PROJECT_ROW, case_row("toy-001", 5, "not it", 5, "n, device=x.device)")]))
    states = {("toy", "1.0"): release_state(tmp_path, rows, "1.0", BUGGY, {score.Config.DEFAULT: [finding(5)]}),
              ("toy", "1.1"): release_state(tmp_path, rows, "1.1", FIXED, {score.Config.DEFAULT: [finding(5)]})}
    tallied = score.tally(score.score_sites(rows, states, score.Config.PROJECT))["toy"]
    assert (tallied.cases, tallied.twins, tallied.twins_flagged, tallied.unscored) == (0, 0, 0, 1)
    assert tallied.recall is None and tallied.precision is None


# --- a whole run, offline, with a stand-in devlint -----------------------------------------------------------

FAKE_DEVLINT = textwrap.dedent('''\
    import json, os, sys
    if sys.argv[1:] == ["--version"]:
        print("devlint, version 0.0-fake"); sys.exit(0)
    assert sys.argv[1] == "check" and "--no-cache" in sys.argv and "--config" in sys.argv, sys.argv
    with_config = "--platform-device" in sys.argv
    log = os.environ["FAKE_DEVLINT_LOG"]
    with open(log, "a") as handle:
        handle.write(json.dumps({"cwd": os.getcwd(), "argv": sys.argv[1:]}) + "\\n")
    version = os.path.basename(os.getcwd())
    found = []
    def add(line):
        found.append({"code": "DL001", "message": "m", "filename": "toy/m.py", "location": {"row": line, "column": 1},
                      "end_location": {"row": line, "column": 9}, "fix": None})
    if version == "toy-pkg-1.0":
        add(5)
        add(8)  # on no labelled line
        if with_config:
            add(6)
    print(json.dumps(found)); sys.exit(1 if found else 0)
    ''')


def sdist(path: Path, version: str, source: str) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in ((f"toy-pkg-{version}/src/toy/__init__.py", ""), (f"toy-pkg-{version}/src/toy/m.py", source),
                           (f"toy-pkg-{version}/setup.py", "raise SystemExit"),
                           (f"toy-pkg-{version}/pyproject.toml", "[tool.devlint]\nselect = ['DL999']\n")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_offline_run_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    rows = write_rows(tmp_path / "cases.jsonl", [
        PROJECT_ROW,
        case_row("toy-001", 5, 'n, device="cuda")', 5, "n, device=x.device)"),
        case_row("toy-002", 6, 'w = torch.ones(n, device="cuda")', 6, 'w = torch.ones(n, device="cuda")  # still'),
        ok_row("toy-ok-001", 7, "u = torch.zeros(n, device=x.device)"),
        {**PROJECT_ROW, "project": "gone", "package": "gone-pkg", "module": "gone", "platform_devices": []},
        {**ok_row("gone-ok-001", 1, "x"), "project": "gone"},
    ])
    cache = tmp_path / "cache"
    for version, source in (("1.0", BUGGY), ("1.1", FIXED)):
        folder = cache / "dl" / f"toy-pkg-{version}" / "sdist"
        folder.mkdir(parents=True)
        sdist(folder / f"toy-pkg-{version}.tar.gz", version, source)
    (tmp_path / "fake_devlint.py").write_text(FAKE_DEVLINT)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_DEVLINT_LOG", str(log))
    out_json = tmp_path / "results.json"
    misses = tmp_path / "misses.json"
    misses.write_text(json.dumps({"toy-002": "device from a framework helper not in the table"}))
    code = score.main(["--cases", str(rows), "--cache", str(cache), "--offline", "--misses", str(misses),
                       "--devlint", f"{sys.executable} {tmp_path / 'fake_devlint.py'}", "--json", str(out_json),
                       "-j", "2"])
    out = capsys.readouterr()
    assert code == 0
    assert sorted((cache / "src" / "toy-pkg-1.0").rglob("*")) == [
        cache / "src" / "toy-pkg-1.0" / "toy", cache / "src" / "toy-pkg-1.0" / "toy" / "__init__.py",
        cache / "src" / "toy-pkg-1.0" / "toy" / "m.py"]  # only the module's .py files: no pyproject, no setup.py
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(Path(c["cwd"]).name, "--platform-device" in c["argv"]) for c in calls] == [
        ("toy-pkg-1.0", False), ("toy-pkg-1.0", True), ("toy-pkg-1.1", False), ("toy-pkg-1.1", True)]
    assert calls[1]["argv"][:3] == ["check", "toy", "toy/m.py"] and "-j" in calls[1]["argv"]
    assert "recall: 1 of 2 (50%) with the defaults, 2 of 2 (100%) with each project's platform devices" in out.out
    assert "twins still flagged: 0 of 2; ok sites flagged: 0 of 1 (project config)" in out.out
    assert "verified by script: 5 of 6 labelled lines" in out.out
    assert "findings on no labelled line (in no figure): 1 with the defaults, 1 with the project config" in out.out
    assert "release gone-pkg-1.1: not in the cache and --offline was given" in out.err
    results = json.loads(out_json.read_text())
    assert results["tallies"]["default"]["(all)"]["caught"] == 1
    assert results["release_problems"] == ["gone-pkg-1.1: not in the cache and --offline was given"]
    [missed] = [s for s in results["sites"]["default"] if s["role"] == "case" and not s["findings"]]
    assert (missed["id"], missed["root_cause"]) == ("toy-002", "device from a framework helper not in the table")
    # a second run uses the extracted folders as they are, and a relative command path still names the file
    # from where the scorer was started (devlint runs inside each release's folder)
    wrapper = tmp_path / "bin" / "fake-devlint"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{tmp_path / "fake_devlint.py"}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    assert score.main(["--cases", str(rows), "--cache", str(cache), "--offline", "--only", "toy-001",
                       "--devlint", "bin/fake-devlint"]) == 0


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = write_rows(tmp_path / "cases.jsonl", [PROJECT_ROW])
    assert score.main(["--cases", str(rows), "--project", "nope", "--devlint", "true"]) == 2
    assert "unknown project 'nope' (known: toy)" in capsys.readouterr().err
    assert score.main(["--cases", str(tmp_path / "missing.jsonl")]) == 2
    assert score.main(["--cases", str(rows), "--devlint", str(tmp_path / "no-such-devlint")]) == 2
    assert "is not an executable command" in capsys.readouterr().err
    assert score.main(["--cases", str(rows), "--validate"]) == 0


def test_pip_failure_and_sdist_names() -> None:
    pip_output = ("Collecting gptqmodel==1.7.3\nerror: subprocess-exited-with-error\n\n"
                  "× Getting requirements to build wheel did not run successfully.\n│ exit code: 1\n"
                  "note: This error originates from a subprocess, and is likely not a problem with pip.\n")
    assert score.pip_failure(pip_output, 1) == "× Getting requirements to build wheel did not run successfully."
    assert score.pip_failure("ERROR: No matching distribution found for x==9\n", 1) == \
        "ERROR: No matching distribution found for x==9"
    assert score.pip_failure("", 3) == "exit 3"
    assert score.sdist_version("gptqmodel-1.7.3.tar.gz") == "1.7.3"
    assert score.sdist_version("megatron_core-0.8.0.zip") == "0.8.0"
    assert score.sdist_version("lightning-2.1.0-py3-none-any.whl") is None
