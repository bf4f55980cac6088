"""What every rule module provides: its metadata next to its logic, and the context it runs in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from promptlint.config import Settings
from promptlint.model import (
    CallSite,
    FileModel,
    Finding,
    Fix,
    NamedTemplate,
    Severity,
    Slot,
    Span,
)

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
# Project-wide rules see every linked file of the run at once (the context's path is unused).
ProjectCheck = Callable[[Sequence[FileModel], Context], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    check_call_site: CallSiteCheck | None = None
    check_template: TemplateCheck | None = None
    check_file: FileCheck | None = None
    check_project: ProjectCheck | None = None

    def finding(
        self, ctx: Context, at: Span | Slot, message: str, fix: Fix | None = None
    ) -> Finding:
        """A finding at a span of the checked file, or at a slot (which linking may have brought
        from another module: then the finding is in that module). A `fix` edits that same file;
        in a notebook it is dropped (its edits would need a cell)."""
        if isinstance(at, Slot):
            path, span = at.path or ctx.path, at.span
        else:
            path, span = ctx.path, at
        return Finding(
            path=path,
            line=span.line,
            column=span.column,
            code=self.code,
            end_line=span.end_line,
            end_column=span.end_column,
            name=self.name,
            severity=self.severity,
            message=message,
            fix=fix if span.cell is None else None,
            cell=span.cell,
        )
