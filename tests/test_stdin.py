"""`check --stdin-filename NAME`: the source comes from stdin (an editor's unsaved buffer) and is
reported under NAME, whatever is on disk there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from samples import DATED_BOT as FAULTY

from promptlint.cli import main

CLEAN = FAULTY.replace('f"Today is {datetime.datetime.now()}. You answer', '"You answer')


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def run(*args: str, source: str | bytes) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", *args], input=source)
    return result.exit_code, result.output


def findings(name: str, source: str | bytes, *args: str) -> tuple[int, list[dict[str, Any]]]:
    code, out = run("--stdin-filename", name, "--format", "json", *args, source=source)
    parsed: list[dict[str, Any]] = json.loads(out)
    return code, parsed


def test_findings_carry_the_stdin_filename_and_exit_1() -> None:
    code, found = findings("src/pkg/answer.py", FAULTY)
    assert code == 1
    assert [(f["path"], f["code"], f["line"], f["column"]) for f in found] == [
        ("src/pkg/answer.py", "PC101", 14, 40),
        ("src/pkg/answer.py", "PC102", 14, 40),
    ]


def test_a_clean_source_prints_an_empty_array_and_exits_0() -> None:
    assert findings("answer.py", CLEAN) == (0, [])


def test_exit_zero_keeps_the_findings() -> None:
    code, found = findings("answer.py", FAULTY, "--exit-zero")
    assert code == 0
    assert [f["code"] for f in found] == ["PC101", "PC102"]


def test_stdin_wins_over_the_file_on_disk(tmp_path: Path) -> None:
    (tmp_path / "answer.py").write_text(CLEAN, encoding="utf-8")
    assert [f["code"] for f in findings("answer.py", FAULTY)[1]] == ["PC101", "PC102"]
    (tmp_path / "answer.py").write_text(FAULTY, encoding="utf-8")
    assert findings("answer.py", CLEAN) == (0, [])


def test_paths_are_not_read_with_stdin(tmp_path: Path) -> None:
    (tmp_path / "other.py").write_text(FAULTY, encoding="utf-8")
    assert findings("answer.py", CLEAN, "other.py") == (0, [])


def test_a_syntax_error_on_stdin_is_pc000_under_the_name() -> None:
    # (A file without an LLM call is not parsed at all: the call makes this one count.)
    broken = FAULTY.replace("def answer(question: str)", "def answer(question: str")
    code, found = findings("broken.py", broken)
    assert code == 1
    assert [(f["path"], f["code"], f["line"]) for f in found] == [("broken.py", "PC000", 8)]


def test_stdin_bytes_follow_the_coding_cookie() -> None:
    source = b"# -*- coding: latin-1 -*-\n# caf\xe9\nx = 1\n"
    assert findings("cookie.py", source) == (0, [])


def test_a_real_pipe_into_python_m_promptlint(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "promptlint", "check", "--stdin-filename", "app/a.py"],
        input=FAULTY.encode(),
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 1
    lines = proc.stdout.decode().splitlines()
    assert lines[0].startswith("app/a.py:14:40: PC101 ")
    assert lines[1].startswith("app/a.py:14:40: PC102 ")
