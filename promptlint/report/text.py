"""`--format text` (like ruff's): `path:line:col: CODE message` lines and a summary line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from promptlint.model import Finding, Severity

Style = Callable[..., str]


def plain(text: str, **_: object) -> str:
    return text


_SEVERITY_COLOR = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}


def render_line(finding: Finding, style: Style = plain) -> str:
    cell = f"cell {finding.cell}:" if finding.cell is not None else ""
    location = style(f"{finding.path}:{cell}{finding.line}:{finding.column}:", bold=True)
    code = style(finding.code, fg=_SEVERITY_COLOR[finding.severity], bold=True)
    return f"{location} {code} {finding.message}"


def summary(findings: Sequence[Finding], files_checked: int) -> str:
    if not findings:
        noun = "file" if files_checked == 1 else "files"
        return f"All checks passed! ({files_checked} {noun} checked)"
    by_severity = Counter(f.severity for f in findings)
    parts = [
        f"{by_severity[s]} {s.value}{'s' if by_severity[s] != 1 else ''}"
        for s in Severity
        if by_severity[s]
    ]
    noun = "finding" if len(findings) == 1 else "findings"
    files = len({f.path for f in findings})
    return (
        f"Found {len(findings)} {noun} ({', '.join(parts)}) in {files} of {files_checked} "
        f"file{'s' if files_checked != 1 else ''}."
    )


def render(
    findings: Sequence[Finding], files_checked: int, style: Style = plain, quiet: bool = False
) -> str:
    lines = [render_line(f, style) for f in findings]
    if not quiet:
        lines.append(summary(findings, files_checked))
    return "\n".join(lines) + ("\n" if lines else "")
