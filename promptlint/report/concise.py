"""`--format concise`: the finding lines only, no summary (for editors and grep)."""

from __future__ import annotations

from collections.abc import Sequence

from promptlint.model import Finding
from promptlint.report.text import render_line


def render(findings: Sequence[Finding]) -> str:
    return "".join(render_line(f) + "\n" for f in findings)
