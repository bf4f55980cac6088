"""What every rule module provides: its metadata next to its logic, and the context it runs in."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from promptlint.config import Settings
from promptlint.model import CallSite, FileModel, Finding, NamedTemplate, Severity, Span

if TYPE_CHECKING:  # the estimator (profiles, tiktoken) is not loaded for `promptlint rule`
    from promptlint.estimate import Estimator
    from promptlint.tokens import TokenCount


@dataclass(frozen=True)
class Context:
    """What a rule may use besides the model: the file's path, the settings, a token counter and
    the estimator (each call site's provider profile and token figures)."""

    path: str
    settings: Settings
    tokens: TokenCount
    estimator: Estimator


CallSiteCheck = Callable[[CallSite, Context], Iterable[Finding]]
TemplateCheck = Callable[[NamedTemplate, Context], Iterable[Finding]]
FileCheck = Callable[[FileModel, Context], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    check_call_site: CallSiteCheck | None = None
    check_template: TemplateCheck | None = None
    check_file: FileCheck | None = None

    def finding(self, ctx: Context, span: Span, message: str) -> Finding:
        return Finding(
            path=ctx.path,
            line=span.line,
            column=span.column,
            code=self.code,
            end_line=span.end_line,
            end_column=span.end_column,
            name=self.name,
            severity=self.severity,
            message=message,
        )
