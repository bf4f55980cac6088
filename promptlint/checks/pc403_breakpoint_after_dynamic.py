"""PC403 breakpoint-after-dynamic: a `cache_control` breakpoint sits on dynamic content while the
stable content before it has none (the request-level automatic breakpoint counts: it lands on the
last block). Conversations (a spliced history) are exempt: there each turn reads the previous
turn's entry. The cache entry is written at the breakpoint, so it includes
the dynamic value: every request writes a new entry (at the write premium) and none is ever read."""

from __future__ import annotations

from collections.abc import Iterator

from promptlint.checks.base import Context, Rule
from promptlint.model import CacheControl, CallSite, Finding, Severity, Slot


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    if any(m.is_history for m in site.messages):
        return  # a conversation: each turn reads what the previous one wrote at its breakpoint
    stable_content = False  # static text before the first dynamic value
    dynamic_seen = False
    first: CacheControl | None = None
    for template, breakpoint in site.cache_parts():
        for segment in template.segments:
            if isinstance(segment, Slot):
                dynamic_seen = True
                break
            stable_content = stable_content or bool(segment.text.strip())
        if breakpoint is not None:
            first = breakpoint
            break
    if first is None and site.cache_control is not None:
        first = site.cache_control  # the automatic breakpoint lands on the last block
    if first is not None and dynamic_seen and stable_content:
        yield RULE.finding(
            ctx,
            first.span,
            "this cache breakpoint comes after dynamic content and no breakpoint marks the "
            "stable content before it: each request writes a new cache entry and never "
            "reads one; put the breakpoint on the last static block instead",
        )


RULE = Rule(
    code="PC403",
    name="breakpoint-after-dynamic",
    severity=Severity.WARNING,
    summary="A cache breakpoint sits on dynamic content with no breakpoint on the stable content.",
    check_call_site=check_call_site,
)
