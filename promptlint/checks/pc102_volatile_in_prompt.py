"""PC102 volatile-in-prompt: a value that changes on every request (`datetime.now()`, `uuid4()`,
`random.*`) is interpolated anywhere in the prompt but the final user message."""

from __future__ import annotations

from collections.abc import Iterator

from promptlint.checks import edits, reorder
from promptlint.checks.base import Context, Rule
from promptlint.checks.placement import before_final_user
from promptlint.model import CallSite, Finding, Fix, NamedTemplate, Severity, Slot, Template

FIX_MESSAGE = "Move the sentences holding volatile values to the end of the f-string"


def _message(slot: Slot, where: str) -> str:
    return (
        f"`{slot.name}` changes on every request and sits in {where}: every request "
        "starts a new cache prefix there; move it to the end of the final user message"
    )


def _volatile(slot: Slot) -> bool:
    return slot.volatile


def _fix(template: Template | None) -> Fix | None:
    """Unsafe: the text is reordered. The value still changes every request, but the text
    before it can now be cached."""
    moved = reorder.move_to_end(template, _volatile) if template is not None else None
    return edits.fix("unsafe", FIX_MESSAGE, [moved]) if moved is not None else None


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    for slot, where in before_final_user(site, _volatile):
        held = (t for t, _ in site.prompt_parts() if any(s is slot for s in t.slots))
        template = next(held, None)
        yield RULE.finding(ctx, slot, _message(slot, where), _fix(template))


def check_template(named: NamedTemplate, ctx: Context) -> Iterator[Finding]:
    for slot in (s for s in named.template.slots if s.volatile):
        where = f"prompt template `{named.name}`"
        yield RULE.finding(ctx, slot, _message(slot, where), _fix(named.template))


RULE = Rule(
    code="PC102",
    name="volatile-in-prompt",
    severity=Severity.ERROR,
    summary="A value that changes on every request is interpolated before the final user message.",
    check_call_site=check_call_site,
    check_template=check_template,
)
