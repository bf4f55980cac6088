"""PC103 dynamic-tools: the tools argument varies per request (built conditionally, from request
data, or from an unordered collection), so the whole cached prefix after it varies with it.

Tools come first in cache order: a tools list that differs between two requests leaves nothing of
either to share. A tools list from a set is this rule's (never PC201's, which is about prompt
text). Two causes have a more precise rule of their own and are left to it: a value that changes
on every request (PC102 reports it in the tools too) and an unsorted `json.dumps` (PC202).
"""

from __future__ import annotations

from collections.abc import Iterator

from promptlint.checks.base import Context, Rule
from promptlint.model import CallSite, Finding, Severity, Slot


def _reported_elsewhere(slot: Slot) -> bool:
    # Built once at import (a module constant) is fixed per request; tools passed in by the caller
    # (an adapter forwarding them) are judged where they are built; volatile is PC102's, an
    # unsorted json.dumps PC202's.
    if slot.volatile:
        return True
    if slot.unordered:
        return False
    return slot.per_process or slot.passed_in or slot.unsorted_json


def _message(slot: Slot) -> str:
    if slot.unordered:
        why = "iterates an unordered collection (a set), so its order differs between processes"
        fix = "list the tools in a fixed order (a list literal)"
    else:
        why = "is not fixed in the source (built per request or conditionally)"
        fix = "send one fixed tools list and check permissions when a tool is called"
    return (
        f"the tools argument `{slot.name}` {why}; tools come first in the cache prefix, so each "
        f"variant re-processes the whole prompt; {fix}"
    )


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    if site.tools is None or site.tools.is_static:
        return
    slot = next((s for s in site.tools.slots if not _reported_elsewhere(s)), None)
    if slot is not None:
        yield RULE.finding(ctx, slot, _message(slot))


RULE = Rule(
    code="PC103",
    name="dynamic-tools",
    severity=Severity.WARNING,
    summary="The tools list varies per request: it is built conditionally, from request data, "
    "or from an unordered collection.",
    check_call_site=check_call_site,
)
