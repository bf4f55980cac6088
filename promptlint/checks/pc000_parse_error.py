"""PC000 parse-error: the file cannot be read or parsed; the other files are still linted."""

from __future__ import annotations

from collections.abc import Iterator

from promptlint.checks.base import Context, Rule
from promptlint.model import FileModel, Finding, Severity, Span


def check_file(file: FileModel, ctx: Context) -> Iterator[Finding]:
    error = file.parse_error
    if error is not None:
        span = Span(error.line, error.column, error.line, error.column, error.cell)
        yield RULE.finding(ctx, span, error.message)


RULE = Rule(
    code="PC000",
    name="parse-error",
    severity=Severity.ERROR,
    summary="The file cannot be read or parsed, so its prompts were not checked.",
    check_file=check_file,
)
