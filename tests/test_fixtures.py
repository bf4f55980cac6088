"""Snapshot tests of the CLI on the bundled sample applications, and the planted-fault markers.

Refresh the snapshots after an intended change with `PROMPTLINT_UPDATE_SNAPSHOTS=1 pytest`, then
review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptlint.cli import main

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
UPDATE = os.environ.get("PROMPTLINT_UPDATE_SNAPSHOTS") == "1"


def run(*args: str) -> tuple[int, str]:
    cwd = os.getcwd()
    os.chdir(REPO)  # paths in the output are relative to the repository, as in the README
    try:
        result = CliRunner().invoke(main, list(args))
    finally:
        os.chdir(cwd)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("fmt", "snapshot"), [("text", "expected.txt"), ("json", "expected.json")]
)
def test_cli_output_matches_snapshot(fmt: str, snapshot: str) -> None:
    code, output = run("check", "fixtures/", "--format", fmt, "--no-color")
    assert code == 1
    path = FIXTURES / snapshot
    if UPDATE:
        path.write_text(output, encoding="utf-8")
    assert output == path.read_text(encoding="utf-8")


PY_MARKER = re.compile(r"#\s*(planted|well-built):\s*(.*)")
# In prompt files (jinja2 templates, and text files that may be rendered as jinja2): a comment,
# `{# planted: PC101 (why) #}`, optionally with whitespace control (`{#- ... -#}`).
TEMPLATE_MARKER = re.compile(r"\{#-?\s*(planted|well-built):\s*(.*?)-?#\}")
TEMPLATE_SUFFIXES = {".j2", ".jinja", ".txt"}
FIXTURE_SUFFIXES = {".py", ".ipynb"} | TEMPLATE_SUFFIXES

Marker = tuple[int, str, set[str]]  # (line, kind, codes)
Unit = tuple[str, int | None]  # (display path, notebook cell or None)


def _markers_in(lines: list[str], pattern: re.Pattern[str]) -> list[Marker]:
    found = []
    for number, line in enumerate(lines, start=1):
        match = pattern.search(line)
        if match:
            found.append((number, match.group(1), set(re.findall(r"PC\d{3}", match.group(2)))))
    return found


def markers(path: Path) -> dict[int | None, list[Marker]]:
    """The `planted:` / `well-built:` markers of a fixture file, by notebook cell (None for a
    plain file): `#` comments in Python and in notebook code cells, jinja2 comments in prompt
    files. Lines are 1-based, within the cell for notebooks, as findings report them."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    if path.suffix == ".ipynb":
        notebook = json.loads(text)
        assert notebook["nbformat"] == 4, f"{path} is not an nbformat 4 notebook"
        by_cell: dict[int | None, list[Marker]] = {}
        for number, cell in enumerate(notebook["cells"], start=1):  # cells count from 1, all types
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                by_cell[number] = _markers_in(source.splitlines(), PY_MARKER)
        return by_cell
    pattern = TEMPLATE_MARKER if path.suffix in TEMPLATE_SUFFIXES else PY_MARKER
    return {None: _markers_in(text.splitlines(), pattern)}


def fixture_files() -> list[Path]:
    """Every file of every fixture package (`fixtures/*/`, recursively) that can hold a prompt."""
    return sorted(
        path
        for package in FIXTURES.iterdir()
        if package.is_dir()
        for path in package.rglob("*")
        if path.is_file() and path.suffix in FIXTURE_SUFFIXES
    )


def test_every_planted_fault_is_found_and_nothing_else() -> None:
    """Each finding belongs to the nearest marker above it (in the same file, and for notebooks in
    the same cell), which must be a planted one naming its code; each planted marker's codes are
    all found before the next marker."""
    _, output = run("check", "fixtures/", "--format", "json")
    findings = json.loads(output)
    by_unit: dict[Unit, list[tuple[int, str]]] = {}
    for f in findings:
        by_unit.setdefault((f["path"], f.get("cell")), []).append((f["line"], f["code"]))
    problems: list[str] = []
    planted_total = 0
    for path in fixture_files():
        display = f"fixtures/{path.relative_to(FIXTURES).as_posix()}"
        for cell, marks in markers(path).items():
            where = display if cell is None else f"{display}:cell {cell}"
            hits = by_unit.pop((display, cell), [])
            for line, code in hits:
                above = [m for m in marks if m[0] < line]
                if not above:
                    problems.append(f"{where}:{line} {code} has no marker above it")
                    continue
                _, kind, codes = above[-1]
                if not (kind == "planted" and code in codes):
                    problems.append(f"unexpected {code} at {where}:{line}")
            for index, (line, kind, codes) in enumerate(marks):
                if kind != "planted":
                    continue
                planted_total += 1
                end = marks[index + 1][0] if index + 1 < len(marks) else 10**9
                got = {c for ln, c in hits if line < ln < end}
                if not codes <= got:
                    problems.append(f"{where}:{line} planted {sorted(codes)}, found {sorted(got)}")
    assert not problems, "\n".join(problems)
    assert not by_unit, f"findings outside the fixture files: {by_unit}"
    assert planted_total == 22


def test_well_built_only_module_is_clean() -> None:
    code, output = run("check", "fixtures/acme_assist/litellm_router.py")
    assert code == 0
    assert output == "All checks passed! (1 file checked)\n"
