"""PC404 too-many-breakpoints: more `cache_control` breakpoints in one request than the provider
allows (Anthropic: 4, the request-level automatic one included). The API rejects the request."""

from __future__ import annotations

from collections.abc import Iterator

from promptlint.checks.base import Context, Rule
from promptlint.model import CallSite, Finding, Severity


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    profile = ctx.estimator.profile(site)
    count = len(site.breakpoints())
    if profile.explicit and profile.max_breakpoints and count > profile.max_breakpoints:
        yield RULE.finding(
            ctx,
            site.span,
            f"{count} cache breakpoints in one request; {profile.name} allows at most "
            f"{profile.max_breakpoints} (the request-level automatic one counts too) and rejects "
            "the request; keep the breakpoints at the ends of the stable parts",
        )


RULE = Rule(
    code="PC404",
    name="too-many-breakpoints",
    severity=Severity.ERROR,
    summary="More cache breakpoints in one request than the provider allows.",
    check_call_site=check_call_site,
)
