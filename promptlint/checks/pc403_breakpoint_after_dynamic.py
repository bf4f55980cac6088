"""PC403 breakpoint-after-dynamic: a `cache_control` breakpoint sits on dynamic content while the
stable content before it has none. The cache entry is written at the breakpoint, so it includes
the dynamic value: every request writes a new entry (at the write premium) and none is ever read."""

from __future__ import annotations

from collections.abc import Iterator

from promptlint.checks.base import Context, Rule
from promptlint.model import CallSite, Finding, Severity, Slot


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    stable_content = False  # static text before the first dynamic value
    dynamic_seen = False
    for template, breakpoint in site.cache_parts():
        for segment in template.segments:
            if isinstance(segment, Slot):
                dynamic_seen = True
                break
            stable_content = stable_content or bool(segment.text.strip())
        if breakpoint is not None:  # only the first breakpoint decides
            if dynamic_seen and stable_content:
                yield RULE.finding(
                    ctx,
                    breakpoint.span,
                    "this cache breakpoint comes after dynamic content and no breakpoint marks the "
                    "stable content before it: each request writes a new cache entry and never "
                    "reads one; put the breakpoint on the last static block instead",
                )
            return


RULE = Rule(
    code="PC403",
    name="breakpoint-after-dynamic",
    severity=Severity.WARNING,
    summary="A cache breakpoint sits on dynamic content with no breakpoint on the stable content.",
    check_call_site=check_call_site,
)
