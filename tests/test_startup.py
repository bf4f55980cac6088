"""The commands that answer at once import none of the heavy libraries.

`promptlint --version` and `promptlint rule X` must not pay for libcst, tiktoken or jinja2
(together most of a second), nor a run served wholly from the cache for libcst and tiktoken.
Checked by what a subprocess has imported, not by wall-clock time (see bench/ for timings).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("libcst", "tiktoken", "jinja2")

# Runs the CLI in-process, then prints which heavy modules got imported.
PROBE = f"""
import json, sys
from promptlint.cli import main
sys.argv = ["promptlint", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
print("\\n" + json.dumps(heavy), file=sys.stderr)
"""


def heavy_imports(*args: str, cwd: Path = REPO) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True
    )
    imported: list[str] = json.loads(proc.stderr.strip().splitlines()[-1])
    return imported


@pytest.mark.parametrize("args", [("--version",), ("rule", "PC101"), ("rule", "--all")])
def test_quick_commands_import_no_heavy_library(args: tuple[str, ...]) -> None:
    assert heavy_imports(*args) == []


def test_a_run_served_from_the_cache_imports_no_heavy_library(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    args = ("check", "fixtures/", "--format", "json", "--cache-dir", str(cache))
    assert set(heavy_imports(*args)) >= {"libcst", "tiktoken"}  # cold: extraction and counts
    # Warm: no module parsed, no token counted again. (The sample app's jinja2 prompt files are
    # still read and parsed by the link stage: prompt files are not cached.)
    assert heavy_imports(*args) == ["jinja2"]
