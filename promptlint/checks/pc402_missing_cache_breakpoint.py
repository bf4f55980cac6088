"""PC402 missing-cache-breakpoint: a call to an explicit-breakpoint API (Anthropic, or any profile
marked explicit) has a stable prefix long enough to cache but no breakpoint at all: neither a
`cache_control` on a block or tool nor the request-level automatic one. Nothing is cached.

The fix (unsafe: it changes the request, and cache writes cost more than plain input) puts a
breakpoint where the estimator says it caches something: on a static `system=` string, turned into
one text block, else, in a conversation or a request that is stable to its end, the request-level
automatic one (on a one-off request with a dynamic end, that one would write a new entry every
time and never read it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from promptlint.checks import edits
from promptlint.checks.base import Context, Rule
from promptlint.model import (
    Block,
    CacheControl,
    CallSite,
    Finding,
    Fix,
    Replacement,
    Severity,
    Span,
)

EPHEMERAL = '{"type": "ephemeral"}'
BLOCK_START = '[{"type": "text", "text": '
BLOCK_END = f', "cache_control": {EPHEMERAL}}}]'
SYSTEM_FIX = 'Make `system` a text block with `"cache_control": {"type": "ephemeral"}`'
REQUEST_FIX = 'Add the request-level `cache_control={"type": "ephemeral"}`'


def _caches(site: CallSite, ctx: Context) -> bool:
    return ctx.estimator.estimate(site).cache_eligible_tokens > 0


def _fix(site: CallSite, ctx: Context) -> Fix | None:
    if site.api != "anthropic.messages":
        return None
    span = site.system_string
    if span is not None and len(site.system) == 1 and site.system[0].content.is_static:
        marked = Block(site.system[0].content, CacheControl(None))
        if _caches(dataclasses.replace(site, system=(marked,)), ctx):
            start = Span(span.line, span.column, span.line, span.column)
            end = Span(span.end_line, span.end_column, span.end_line, span.end_column)
            return edits.fix(
                "unsafe", SYSTEM_FIX, [Replacement(start, BLOCK_START), Replacement(end, BLOCK_END)]
            )
    if site.args_end is not None and _caches(
        dataclasses.replace(site, cache_control=CacheControl(None)), ctx
    ):
        content = f", cache_control={EPHEMERAL}"
        return edits.fix("unsafe", REQUEST_FIX, [Replacement(site.args_end, content)])
    return None


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
            _fix(site, ctx),
        )


RULE = Rule(
    code="PC402",
    name="missing-cache-breakpoint",
    severity=Severity.WARNING,
    summary="An explicit-breakpoint API call with a cacheable stable prefix has no breakpoint.",
    check_call_site=check_call_site,
)
