"""`--format github`: one GitHub Actions workflow command per finding, shown as an annotation.

    ::warning file=app/bot.py,line=15,col=55,endLine=15,endColumn=58,title=PC101 (dynamic-...

Paths are relative to `root` with forward slashes (GitHub resolves them against the workspace);
a path outside `root` is given as it is. Columns are 1-based and the end is exclusive, as in every
promptlint format. A finding in a notebook cell has no line in the `.ipynb` file's own JSON, so its
annotation names the file only and its message starts with "cell N, line L: ".

Escaping follows the runner's rules: in the message `%`, CR and LF become `%25`, `%0D`, `%0A`;
in property values `:` and `,` also become `%3A` and `%2C`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from promptlint.model import Finding, Severity
from promptlint.report.output import relative_to

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def relative_path(path: str, root: Path) -> str:
    relative = relative_to(path, root)
    return relative.as_posix() if relative is not None else Path(path).as_posix()


def render_line(finding: Finding, root: Path) -> str:
    properties = [("file", relative_path(finding.path, root))]
    message = finding.message
    if finding.cell is None:
        properties += [
            ("line", str(finding.line)),
            ("col", str(finding.column)),
            ("endLine", str(finding.end_line)),
            ("endColumn", str(finding.end_column)),
        ]
    else:
        message = f"cell {finding.cell}, line {finding.line}: {message}"
    properties.append(("title", f"{finding.code} ({finding.name})"))
    joined = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{COMMANDS[finding.severity]} {joined}::{escape_data(message)}"


def render(findings: Sequence[Finding], root: Path) -> str:
    return "".join(render_line(f, root) + "\n" for f in findings)
