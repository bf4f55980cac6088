"""Fixes built from what the extractor prepared (`Replacement`s, a template's `Literal`).

Edits use the finding's coordinates (1-based lines and columns, end exclusive). A notebook's
positions count within a cell and the fix format has no cell, so notebooks get no fixes.
"""

from __future__ import annotations

from collections.abc import Iterable

from promptlint.model import Edit, Fix, Replacement


def fix(applicability: str, message: str, replacements: Iterable[Replacement]) -> Fix | None:
    """A fix of these replacements, or None when there are none or any lies in a notebook."""
    edits = []
    for r in replacements:
        if r.span.cell is not None:
            return None
        span = r.span
        edits.append(Edit(span.line, span.column, span.end_line, span.end_column, r.content))
    return Fix(applicability, message, tuple(edits)) if edits else None
