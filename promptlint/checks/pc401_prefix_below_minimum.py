"""PC401 prefix-below-minimum: the stable prefix is under the provider's minimum cacheable length
but at least a quarter of it, so nothing is cached although a little more static text (or moving a
dynamic value later) would make the whole prefix cacheable."""

from __future__ import annotations

from collections.abc import Iterator

from promptlint.checks.base import Context, Rule
from promptlint.model import CallSite, Finding, Severity


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    estimate = ctx.estimator.estimate(site)
    minimum = estimate.profile.min_tokens
    # With explicit breakpoints, what is cached is the prefix up to the last breakpoint in it.
    marked = estimate.profile.explicit and estimate.breakpoints_in_prefix > 0
    stable = estimate.breakpoint_reach_tokens if marked else estimate.static_prefix_tokens
    if minimum > 1 and ctx.settings.near_minimum_share * minimum <= stable < minimum:
        what = (
            "the prompt up to its last cache breakpoint" if marked else "the stable prompt prefix"
        )
        advice = (
            "move the breakpoint to the end of the static content"
            if marked and estimate.static_prefix_tokens >= minimum
            else "grow the static prefix (move dynamic values after it) or accept full price"
        )
        yield RULE.finding(
            ctx,
            site.span,
            f"{what} is {stable} tokens, under the {minimum}-token minimum of "
            f"{estimate.profile.name}: nothing of this prompt is cached; {advice}",
        )


RULE = Rule(
    code="PC401",
    name="prefix-below-minimum",
    severity=Severity.INFO,
    summary="The stable prefix is just under the provider's minimum cacheable length.",
    check_call_site=check_call_site,
)
