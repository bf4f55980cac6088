"""PC102 volatile-in-prompt: a value that changes on every request (`datetime.now()`, `uuid4()`,
`random.*`) is interpolated anywhere in the prompt but the final user message."""

from __future__ import annotations

from collections.abc import Iterator

from promptlint.checks.base import Context, Rule
from promptlint.checks.placement import before_final_user
from promptlint.model import CallSite, Finding, NamedTemplate, Severity, Slot


def _message(slot: Slot, where: str) -> str:
    return (
        f"`{slot.name}` changes on every request and sits in {where}: every request "
        "starts a new cache prefix there; move it to the end of the final user message"
    )


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    for slot, where in before_final_user(site, lambda s: s.volatile):
        yield RULE.finding(ctx, slot, _message(slot, where))


def check_template(named: NamedTemplate, ctx: Context) -> Iterator[Finding]:
    for slot in (s for s in named.template.slots if s.volatile):
        yield RULE.finding(ctx, slot, _message(slot, f"prompt template `{named.name}`"))


RULE = Rule(
    code="PC102",
    name="volatile-in-prompt",
    severity=Severity.ERROR,
    summary="A value that changes on every request is interpolated before the final user message.",
    check_call_site=check_call_site,
    check_template=check_template,
)
