"""PC402 missing-cache-breakpoint: a call to an explicit-breakpoint API (Anthropic, or any profile
marked explicit) has a stable prefix long enough to cache but no breakpoint at all: neither a
`cache_control` on a block or tool nor the request-level automatic one. Nothing is cached."""

from __future__ import annotations

from collections.abc import Iterator

from promptlint.checks.base import Context, Rule
from promptlint.model import CallSite, Finding, Severity


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    estimate = ctx.estimator.estimate(site)
    profile = estimate.profile
    if not profile.explicit or site.breakpoints():
        return
    if estimate.static_prefix_tokens >= profile.min_tokens:
        yield RULE.finding(
            ctx,
            site.span,
            f"{estimate.static_prefix_tokens} stable prompt tokens could be cached, but "
            f"{profile.name} caches only up to a `cache_control` breakpoint and this call has "
            'none; add `"cache_control": {"type": "ephemeral"}` to the last static block',
        )


RULE = Rule(
    code="PC402",
    name="missing-cache-breakpoint",
    severity=Severity.WARNING,
    summary="An explicit-breakpoint API call with a cacheable stable prefix has no breakpoint.",
    check_call_site=check_call_site,
)
