"""PC405 breakpoint-ttl-order: a breakpoint with a longer TTL (`"ttl": "1h"`) comes after one with
a shorter TTL (the 5-minute default). Anthropic requires longer-lived entries first."""

from __future__ import annotations

from collections.abc import Iterator

from promptlint.checks.base import Context, Rule
from promptlint.model import CallSite, Finding, Severity

# TTLs in minutes; no ttl means Anthropic's default of 5 minutes.
_MINUTES = {None: 5, "5m": 5, "1h": 60}


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    shortest_so_far: int | None = None
    for breakpoint in site.breakpoints():
        minutes = _MINUTES.get(breakpoint.ttl)
        if minutes is None:
            continue  # a TTL the source does not fix, or one we do not know
        if shortest_so_far is not None and minutes > shortest_so_far:
            yield RULE.finding(
                ctx,
                breakpoint.span,
                f'this breakpoint\'s ttl "{breakpoint.ttl}" is longer than an earlier '
                "breakpoint's; longer-lived cache entries must come first: move the 1-hour "
                "breakpoints before the 5-minute ones",
            )
        shortest_so_far = minutes if shortest_so_far is None else min(shortest_so_far, minutes)


RULE = Rule(
    code="PC405",
    name="breakpoint-ttl-order",
    severity=Severity.ERROR,
    summary="A longer-TTL cache breakpoint comes after a shorter-TTL one.",
    check_call_site=check_call_site,
)
