"""PC202 unsorted-json: `json.dumps` without `sort_keys=True`, of a value whose key order the source
does not fix, goes into the tools or the prompt before the final user message.

The same data serialised with its keys in another order is different text, and the cached prefix
ends at the first key that moved. The final user message is exempt: it is the uncached end of the
request anyway. A prompt-named template with no call site is not checked: where it ends up in a
request, and so whether it is exempt, is not known.
"""

from __future__ import annotations

from collections.abc import Iterator

from promptlint.checks import edits
from promptlint.checks.base import Context, Rule
from promptlint.checks.placement import before_final_user
from promptlint.model import CallSite, Finding, Severity, Slot


def _message(slot: Slot, where: str) -> str:
    return (
        f"`{slot.name}` serialises a value whose key order the source does not fix, in {where}: "
        "the same data with its keys in another order is different text and ends the cached "
        "prefix there; pass `sort_keys=True`"
    )


FIX_MESSAGE = "Pass `sort_keys=True` to `json.dumps`"


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    for slot, where in before_final_user(site, lambda s: s.unsorted_json):
        # Safe: the same data, serialised with its keys in one fixed order.
        fix = edits.fix("safe", FIX_MESSAGE, slot.sort_keys_edits)
        yield RULE.finding(ctx, slot, _message(slot, where), fix)


RULE = Rule(
    code="PC202",
    name="unsorted-json",
    severity=Severity.WARNING,
    summary="json.dumps without sort_keys=True goes into the cached part of the prompt.",
    check_call_site=check_call_site,
)
