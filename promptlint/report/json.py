"""`--format json`: one array; each finding has exactly the keys of DESIGN §6, in that order."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from promptlint.model import Finding, Fix


def _fix(fix: Fix | None) -> dict[str, Any] | None:
    if fix is None:
        return None
    return {
        "applicability": fix.applicability,
        "message": fix.message,
        "edits": [
            {
                "line": e.line,
                "column": e.column,
                "end_line": e.end_line,
                "end_column": e.end_column,
                "content": e.content,
            }
            for e in fix.edits
        ],
    }


def finding_dict(finding: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity.value,
        "message": finding.message,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "fix": _fix(finding.fix),
    }
    if finding.cell is not None:  # notebooks only: the DESIGN §6 keys stay exact for .py files
        out["cell"] = finding.cell
    return out


def render(findings: Sequence[Finding]) -> str:
    return json.dumps([finding_dict(f) for f in findings], indent=2, ensure_ascii=False) + "\n"
