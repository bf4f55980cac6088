"""PC201 unordered-iteration: prompt text is built by iterating something with no fixed order (a
set or frozenset, `os.listdir`/`scandir`, `glob`, `Path.glob`/`rglob`/`iterdir`) without
`sorted()`, so the same content comes out in a different order between processes or machines.

Prompt text only (system/instructions and messages, the final user message included: a prompt
that is entirely static but for the order of a set still splits the cache). A tools list built
from a set is PC103's.
"""

from __future__ import annotations

from collections.abc import Iterator

from promptlint.checks import edits
from promptlint.checks.base import Context, Rule
from promptlint.model import CallSite, Finding, NamedTemplate, Severity, Slot, Template


def _message(slot: Slot) -> str:
    return (
        f"the prompt text from `{slot.name}` comes out in no fixed order (it iterates a set or a "
        "directory listing), so it can differ between processes and machines and the cached "
        "prefix ends there; iterate in a fixed order with `sorted()`"
    )


FIX_MESSAGE = "Wrap the iterated value in `sorted()`"


def _finding(ctx: Context, slot: Slot) -> Finding:
    """The fix is safe: a `join` takes strings, which `sorted()` always orders."""
    fix = edits.fix("safe", FIX_MESSAGE, slot.sorted_edits)
    return RULE.finding(ctx, slot, _message(slot), fix)


def _unordered(template: Template) -> Iterator[Slot]:
    return (s for s in template.slots if s.unordered)


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    for template, _ in site.prompt_parts():
        for slot in _unordered(template):
            yield _finding(ctx, slot)


def check_template(named: NamedTemplate, ctx: Context) -> Iterator[Finding]:
    for slot in _unordered(named.template):
        yield _finding(ctx, slot)


RULE = Rule(
    code="PC201",
    name="unordered-iteration",
    severity=Severity.WARNING,
    summary="Prompt text is built by iterating a set or a directory listing without sorted().",
    check_call_site=check_call_site,
    check_template=check_template,
)
