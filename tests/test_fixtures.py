"""Snapshot tests of the CLI on the bundled sample application, and the planted-fault markers.

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


MARKER = re.compile(r"#\s*(planted|well-built):\s*(.*)")


def markers(path: Path) -> list[tuple[int, str, set[str]]]:
    """(line, kind, codes) of each `# planted:` / `# well-built:` comment in a fixture file."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = MARKER.search(line)
        if match:
            found.append((number, match.group(1), set(re.findall(r"PC\d{3}", match.group(2)))))
    return found


def test_every_planted_fault_is_found_and_nothing_else() -> None:
    """Each finding belongs to the nearest marker above it, which must be a planted one naming
    its code; each planted marker's codes are all found before the next marker."""
    _, output = run("check", "fixtures/", "--format", "json")
    findings = json.loads(output)
    by_file: dict[str, list[tuple[int, str]]] = {}
    for f in findings:
        by_file.setdefault(f["path"], []).append((f["line"], f["code"]))
    planted_total = 0
    for path in sorted((FIXTURES / "acme_assist").glob("*.py")):
        display = f"fixtures/{path.relative_to(FIXTURES).as_posix()}"
        marks = markers(path)
        hits = by_file.pop(display, [])
        for line, code in hits:
            above = [m for m in marks if m[0] < line]
            assert above, f"{display}:{line} {code} has no marker above it"
            _, kind, codes = above[-1]
            assert kind == "planted" and code in codes, f"unexpected {code} at {display}:{line}"
        for index, (line, kind, codes) in enumerate(marks):
            if kind != "planted":
                continue
            planted_total += 1
            end = marks[index + 1][0] if index + 1 < len(marks) else 10**9
            got = {c for ln, c in hits if line < ln < end}
            assert codes <= got, f"{display}:{line} planted {codes}, found {got}"
    assert not by_file, f"findings outside the sample app: {by_file}"
    assert planted_total == 13


def test_well_built_only_module_is_clean() -> None:
    code, output = run("check", "fixtures/acme_assist/litellm_router.py")
    assert code == 0
    assert output == "All checks passed! (1 file checked)\n"
