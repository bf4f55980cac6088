"""PC202 unsorted-json: `json.dumps` without `sort_keys=True`, of a value whose key order the source
does not fix, goes into the tools or the prompt before the final user message.

The same data serialised with its keys in another order is different text, and the cached prefix
ends at the first key that moved. The final user message is exempt: it is the uncached end of the
request anyway. A prompt-named template with no call site is not checked: where it ends up in a
request, and so whether it is exempt, is not known.
"""

from __future__ import annotations

from collections.abc import Iterator

from promptlint.checks.base import Context, Rule
from promptlint.model import CallSite, Finding, Severity, Slot, Template


def _message(slot: Slot, where: str) -> str:
    return (
        f"`{slot.name}` serialises a value whose key order the source does not fix, in {where}: "
        "the same data with its keys in another order is different text and ends the cached "
        "prefix there; pass `sort_keys=True`"
    )


def _a_message(role: str) -> str:
    if role == "history":
        return "the spliced conversation history"
    if role == "?":
        return "a message"
    return f"{'an' if role[0] in 'aeio' else 'a'} {role} message"


def _unsorted(template: Template) -> Iterator[Slot]:
    return (s for s in template.slots if s.unsorted_json)


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    final = site.final_user_message
    if site.tools is not None:
        for slot in _unsorted(site.tools):
            yield RULE.finding(ctx, slot, _message(slot, "the tools"))
    for template, message in site.prompt_parts():
        if message is not None and message is final:
            continue
        where = "the system prompt" if message is None else _a_message(message.role)
        for slot in _unsorted(template):
            yield RULE.finding(ctx, slot, _message(slot, where))


RULE = Rule(
    code="PC202",
    name="unsorted-json",
    severity=Severity.WARNING,
    summary="json.dumps without sort_keys=True goes into the cached part of the prompt.",
    check_call_site=check_call_site,
)
