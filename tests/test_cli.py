"""The command line: exit codes, the JSON contract, selection, stdin, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from samples import SUPPORT_BOT as BAD

from promptlint.cli import main

REPO = Path(__file__).resolve().parents[1]


GOOD = BAD.replace('f"Today is {now}. " + RULES', "RULES").replace(
    '"content": question', '"content": f"{question} (asked {now})"'
)


def invoke(*args: str, input: str | bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.output


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "bad.py").write_text(BAD)
    (tmp_path / "app" / "good.py").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_findings_exit_1_with_ruff_style_lines(project: Path) -> None:
    code, out = invoke("app")
    assert code == 1
    assert out.splitlines() == [
        "app/bad.py:15:55: PC101 `now` comes before 51 tokens of static prompt text, which are "
        "then re-processed on every request; move the dynamic value after the static text",
        "app/bad.py:15:55: PC102 `now` changes on every request and sits in a system message: "
        "every request starts a new cache prefix there; move it to the end of the final user "
        "message",
        "Found 2 findings (1 error, 1 warning) in 1 of 2 files.",
    ]


def test_clean_file_exits_0(project: Path) -> None:
    assert invoke("app/good.py") == (0, "All checks passed! (1 file checked)\n")


def test_check_word_is_optional_and_default_path_is_cwd(project: Path) -> None:
    assert invoke("check", "app")[1] == invoke("app")[1]
    code, out = invoke()
    assert code == 1 and out.startswith("./app/bad.py:15:55: PC101")


def test_json_matches_the_contract(project: Path) -> None:
    code, out = invoke("app", "--format", "json")
    assert code == 1
    findings = json.loads(out)
    keys = [
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
    assert [list(f) for f in findings] == [keys, keys]
    assert [
        (
            f["code"],
            f["name"],
            f["severity"],
            f["path"],
            f["line"],
            f["column"],
            f["end_line"],
            f["end_column"],
            f["fix"],
        )
        for f in findings
    ] == [
        ("PC101", "dynamic-before-static", "warning", "app/bad.py", 15, 55, 15, 58, None),
        ("PC102", "volatile-in-prompt", "error", "app/bad.py", 15, 55, 15, 58, None),
    ]


def test_json_is_an_empty_array_when_clean(project: Path) -> None:
    assert invoke("app/good.py", "--format", "json") == (0, "[]\n")


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        (["--select", "PC102"], ["PC102"]),
        (["--select", "dynamic-before-static"], ["PC101"]),
        (["--select", "PC1", "--ignore", "PC101"], ["PC102"]),
        (["--ignore", "PC1"], []),
        (["--select", "PC000", "--extend-select", "PC101"], ["PC101"]),
        (["--select", "PC101,PC102"], ["PC101", "PC102"]),
    ],
)
def test_rule_selection(project: Path, args: list[str], codes: list[str]) -> None:
    _, out = invoke("app", "--format", "json", *args)
    assert [f["code"] for f in json.loads(out)] == codes


def test_unknown_selector_is_a_usage_error(project: Path) -> None:
    code, out = invoke("app", "--select", "PC999")
    assert code == 2
    assert "unknown rule selector 'PC999'" in out and "PC101 (dynamic-before-static)" in out


def test_missing_path_exits_2(project: Path) -> None:
    code, out = invoke("does/not/exist.py")
    assert code == 2
    assert "path does not exist: does/not/exist.py" in out


def test_syntax_error_is_pc000_and_other_files_still_reported(project: Path) -> None:
    (project / "app" / "broken.py").write_text("def f(:\n    SYSTEM_PROMPT = 'Hi'\n")
    (project / "app" / "latin1.py").write_bytes(b"# caf\xe9\nSYSTEM_PROMPT = 'Hi'\n")
    _, out = invoke("app", "--format", "json")
    got = [(f["path"], f["line"], f["column"], f["code"]) for f in json.loads(out)]
    assert got == [
        ("app/bad.py", 15, 55, "PC101"),
        ("app/bad.py", 15, 55, "PC102"),
        ("app/broken.py", 1, 7, "PC000"),
        ("app/latin1.py", 1, 6, "PC000"),
    ]
    messages = {f["path"]: f["message"] for f in json.loads(out) if f["code"] == "PC000"}
    assert messages["app/latin1.py"].startswith("file is not valid utf-8 (byte 0xe9)")
    assert messages["app/broken.py"].startswith("syntax error:")


def test_file_that_cannot_hold_a_prompt_is_not_parsed(project: Path) -> None:
    """The prefilter skips files with no call marker and no prompt-named assignment before any
    decoding or parsing: promptlint is not a syntax checker for code that has no prompts."""
    (project / "app" / "unrelated.py").write_bytes(b"def f(:\n    return b'\xe9'\n")
    assert invoke("app/unrelated.py") == (0, "All checks passed! (1 file checked)\n")


def test_coding_cookie_is_honoured(project: Path) -> None:
    (project / "app" / "cookie.py").write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\nx = 1\n")
    assert invoke("app/cookie.py")[0] == 0


def test_stdin_filename(project: Path) -> None:
    code, out = invoke("--stdin-filename", "src/x.py", "--format", "concise", input=BAD)
    assert code == 1
    assert out.splitlines()[0].startswith("src/x.py:15:55: PC101 ")


def test_exit_zero_and_quiet(project: Path) -> None:
    code, out = invoke("app", "--exit-zero", "--quiet")
    assert code == 0
    assert len(out.splitlines()) == 2 and "Found" not in out


def test_version_and_python_m() -> None:
    code, out = invoke("--version")
    assert code == 0 and out.startswith("promptlint, version ")
    proc = subprocess.run(
        [sys.executable, "-m", "promptlint", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout == out


BLOCK_SOCKETS = textwrap.dedent(
    """\
    import socket, sys

    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    from promptlint.cli import main
    sys.argv = ["promptlint", *sys.argv[1:]]
    main()
    """
)


def test_whole_run_needs_no_network(tmp_path: Path) -> None:
    """A full check of the sample app with sockets blocked and an empty tiktoken cache."""
    downloads = tmp_path / "tiktoken"
    downloads.mkdir()
    env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(downloads), DATA_GYM_CACHE_DIR=str(downloads))
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK_SOCKETS, "fixtures/", "--format", "json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stderr
    assert len(json.loads(proc.stdout)) == 27  # the planted faults of fixtures/
    assert list(downloads.iterdir()) == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("SYSTEM_PROMPT = " + "(" * 1500 + '"a"' + ")" * 1500, "too many nested parentheses"),
        ('SYSTEM_PROMPT = "a" f"{c}" rb"x"', "cannot mix bytes and nonbytes literals"),
        ("SYSTEM_PROMPT = f'{x}' + " + " + ".join(["'w '"] * 3000), "nested too deeply"),
    ],
    ids=["1500-nested-brackets", "str-bytes-concatenation", "3000-term-sum"],
)
def test_pathological_files_are_pc000_not_crashes(project: Path, source: str, message: str) -> None:
    (project / "app" / "weird.py").write_text(source + "\n")
    code, out = invoke("app", "--format", "json")
    assert code == 1
    got = {(f["path"], f["code"]): f["message"] for f in json.loads(out)}
    assert message in got[("app/weird.py", "PC000")]
    assert ("app/bad.py", "PC101") in got  # the other files' findings are still there


def test_long_sums_are_followed(project: Path) -> None:
    """A 250-term `+` chain is evaluated (iteratively). Past about 300 terms libcst's own code
    generation, used for positions, runs out of recursion: that file is then a PC000."""
    terms = " + ".join(["'word '"] * 250)
    (project / "app" / "sum.py").write_text(
        f"import time\ndef build():\n    SYSTEM_PROMPT = f'{{time.time()}}' + {terms}\n"
    )
    _, out = invoke("app/sum.py", "--format", "json")
    assert [(f["code"], f["line"]) for f in json.loads(out)] == [("PC101", 3), ("PC102", 3)]


def test_internal_error_on_one_file_exits_2_and_keeps_the_others(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import promptlint.extract.pipeline as pipeline

    real = pipeline.extract_file

    def flaky(display: str, *args: object, **kwargs: object) -> object:
        if display.endswith("good.py"):
            raise ValueError("boom")
        return real(display, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "extract_file", flaky)
    code, out = invoke("app", "--format", "json")
    assert code == 2
    findings = {(f["path"], f["code"]): f["message"] for f in json.loads(out)}
    assert findings[("app/good.py", "PC000")].startswith(
        "internal error while analysing this file (ValueError: boom)"
    )
    assert ("app/bad.py", "PC101") in findings
