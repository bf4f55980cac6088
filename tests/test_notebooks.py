"""Notebooks are linted cell by cell as one module; findings name the cell and its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptlint.cli import main

RULES = " ".join(
    f"Rule {i}: answer politely and cite the knowledge base article by its id." for i in range(3)
)


def notebook(*cells: tuple[str, str]) -> str:
    return json.dumps(
        {
            "cells": [
                {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
                | ({"outputs": [], "execution_count": None} if kind == "code" else {})
                for kind, source in cells
            ],
            "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


SETUP = (
    "%pip install openai\nfrom datetime import datetime\nfrom openai import OpenAI\n"
    "client = OpenAI()\n"
)
CALL = f"""\
RULES = "{RULES}"
!echo shell escapes are neutralised

def ask(q):
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {{"role": "system", "content": f"Now {{datetime.now()}}. " + RULES}},
            {{"role": "user", "content": q}},
        ],
    )
"""


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nb.ipynb").write_text(
        notebook(("markdown", "# Experiments"), ("code", SETUP), ("code", CALL))
    )
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_text_output_names_cell_and_line(project: Path) -> None:
    code, out = run("nb.ipynb", "--format", "concise")
    assert code == 1
    assert [line.split(" ")[0:2] for line in out.splitlines()] == [
        ["nb.ipynb:cell", "3:8:50:"],
        ["nb.ipynb:cell", "3:8:50:"],
    ]


def test_json_carries_cell(project: Path) -> None:
    _, out = run("nb.ipynb", "--format", "json")
    got = [(f["code"], f["cell"], f["line"], f["column"]) for f in json.loads(out)]
    assert got == [("PC101", 3, 8, 50), ("PC102", 3, 8, 50)]


def test_python_files_have_no_cell_key(project: Path) -> None:
    (project / "x.py").write_text(
        SETUP.replace("%pip install openai\n", "")
        + CALL.replace("!echo shell escapes are neutralised\n", "")
    )
    _, out = run("x.py", "--format", "json")
    assert all("cell" not in f for f in json.loads(out))


def test_discovered_in_directories(project: Path) -> None:
    code, out = run(".", "--format", "concise")
    assert code == 1 and out.startswith("./nb.ipynb:cell 3:8:50: PC101")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read notebook: not valid JSON"),
        ('{"nbformat": 4}', "cannot read notebook: no 'cells' list"),
    ],
)
def test_broken_notebooks_are_pc000(project: Path, content: str, message: str) -> None:
    (project / "bad.ipynb").write_text(content)
    _, out = run(".", "--format", "json")
    by_path = {f["path"]: f for f in json.loads(out) if f["code"] == "PC000"}
    assert by_path["./bad.ipynb"]["message"].startswith(message)
    assert any(f["path"] == "./nb.ipynb" for f in json.loads(out))


def test_syntax_error_in_a_cell_points_at_that_cell(project: Path) -> None:
    (project / "nb.ipynb").write_text(
        notebook(("code", SETUP), ("code", "SYSTEM_PROMPT = 'x'\ndef broken(:\n    pass\n"))
    )
    _, out = run("nb.ipynb", "--format", "json")
    (finding,) = json.loads(out)
    assert (finding["code"], finding["cell"], finding["line"]) == ("PC000", 2, 2)
