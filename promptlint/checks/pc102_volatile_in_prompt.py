"""PC102 volatile-in-prompt: a value that changes on every request (`datetime.now()`, `uuid4()`,
`random.*`) is interpolated anywhere in the prompt but the final user message."""

from __future__ import annotations

from collections.abc import Iterator

from promptlint.checks.base import Context, Rule
from promptlint.model import CallSite, Finding, NamedTemplate, Severity, Slot, Template


def _message(slot: Slot, where: str) -> str:
    return (
        f"`{slot.name}` changes on every request and sits in {where}: every request "
        "starts a new cache prefix there; move it to the end of the final user message"
    )


def _a_message(role: str) -> str:
    if role == "history":
        return "the spliced conversation history"
    if role == "?":
        return "a message"
    return f"{'an' if role == 'assistant' else 'a'} {role} message"


def _volatile(template: Template) -> Iterator[Slot]:
    return (s for s in template.slots if s.volatile)


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    final = site.final_user_message
    if site.tools is not None:
        for slot in _volatile(site.tools):
            yield RULE.finding(ctx, slot, _message(slot, "the tools"))
    for template, message in site.prompt_parts():
        if message is not None and message is final:
            continue
        where = "the system prompt" if message is None else _a_message(message.role)
        for slot in _volatile(template):
            yield RULE.finding(ctx, slot, _message(slot, where))


def check_template(named: NamedTemplate, ctx: Context) -> Iterator[Finding]:
    for slot in _volatile(named.template):
        yield RULE.finding(ctx, slot, _message(slot, f"prompt template `{named.name}`"))


RULE = Rule(
    code="PC102",
    name="volatile-in-prompt",
    severity=Severity.ERROR,
    summary="A value that changes on every request is interpolated before the final user message.",
    check_call_site=check_call_site,
    check_template=check_template,
)
