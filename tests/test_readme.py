"""The README's rule table lists exactly the registered rules, with their names and severities."""

from __future__ import annotations

import re
from pathlib import Path

from promptlint.checks import RULES

README = Path(__file__).resolve().parents[1] / "README.md"


def test_rule_table_matches_the_registry() -> None:
    rows = re.findall(r"^\| (PC\d{3}) \| ([a-z-]+) \| (error|warning|info) \|", README.read_text(),
                      re.MULTILINE)
    assert rows == [(r.code, r.name, r.severity.value) for r in RULES]
