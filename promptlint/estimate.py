"""Token figures per call site (DESIGN §5): how much of its prompt a provider can serve from cache.

The request is laid out in cache order — tools, then system/instructions, then messages — as the
texts of its parts joined by a newline. No per-message framing tokens are added: providers do not
publish them, and leaving them out keeps the estimate comparable across providers (a few tokens per
message; the simulation in the tests uses the same layout).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from promptlint.model import CacheControl, CallSite, Slot, Template, Text
from promptlint.providers import Choice, Profile, Profiles, profile_for
from promptlint.tokens import TokenCount

PART_SEPARATOR = "\n"


@dataclass(frozen=True)
class Estimate:
    profile: Profile
    static_prefix_tokens: int  # stable tokens before the first dynamic value, in cache order
    estimated_total_tokens: int  # all static tokens plus `dynamic-tokens` per dynamic value
    cache_eligible_tokens: int  # what the profile would cache of the stable prefix
    dynamic_slots: int
    breakpoints_in_prefix: int  # explicit breakpoints that lie inside the stable prefix

    @property
    def cache_eligible_share(self) -> float:
        if self.estimated_total_tokens <= 0:
            return 0.0
        return self.cache_eligible_tokens / self.estimated_total_tokens


@dataclass(frozen=True)
class _Part:
    template: Template
    breakpoint: CacheControl | None


def _parts(site: CallSite) -> Iterator[_Part]:
    """Every part of the request in cache order, with the breakpoint that ends it (if any)."""
    if site.tools is not None:
        last_tool_breakpoint = site.tool_breakpoints[-1] if site.tool_breakpoints else None
        yield _Part(site.tools, last_tool_breakpoint)
    for block in site.system:
        yield _Part(block.content, block.cache_control)
    for message in site.messages:
        for block in message.blocks:
            yield _Part(block.content, block.cache_control)


class Estimator:
    """Estimates call sites under their provider profiles; each call site is estimated once."""

    def __init__(
        self,
        tokens: TokenCount,
        profiles: Profiles,
        dynamic_tokens: int,
        choice: Choice | None = None,
    ) -> None:
        self._tokens = tokens
        self._profiles = profiles
        self._dynamic_tokens = dynamic_tokens
        self._choice = choice or Choice()
        self._memo: dict[int, tuple[CallSite, Estimate]] = {}

    @property
    def tokens(self) -> TokenCount:
        return self._tokens

    def profile(self, site: CallSite) -> Profile:
        return profile_for(site, self._profiles, self._choice)

    def estimate(self, site: CallSite) -> Estimate:
        known = self._memo.get(id(site))
        if known is not None and known[0] is site:
            return known[1]
        result = self._estimate(site)
        self._memo[id(site)] = (site, result)
        return result

    def _estimate(self, site: CallSite) -> Estimate:
        profile = self.profile(site)
        prefix: list[str] = []  # the stable prefix's text, part by part
        part_ends: list[int] = []  # prefix length (chars) after each complete stable part
        breakpoint_ends: list[int] = []  # prefix length at breakpoints inside the stable prefix
        after: list[str] = []  # static text after the first dynamic value
        slots = 0
        stable = True
        for part in _parts(site):
            for segment in part.template.segments:
                if isinstance(segment, Slot):
                    slots += 1
                    stable = False
                elif stable:
                    prefix.append(segment.text)
                else:
                    after.append(segment.text)
            if stable:
                prefix.append(PART_SEPARATOR)
                length = sum(map(len, prefix))
                part_ends.append(length)
                if part.breakpoint is not None:
                    breakpoint_ends.append(length)
        if stable and site.cache_control is not None and part_ends:
            breakpoint_ends.append(part_ends[-1])  # the automatic breakpoint: last stable part
        text = "".join(prefix)
        static_prefix = self._tokens.count(text)
        total = static_prefix + sum(self._tokens.count(t) for t in after if t)
        total += slots * self._dynamic_tokens
        if profile.explicit:
            reach = max((self._tokens.count(text[:end]) for end in breakpoint_ends), default=0)
            eligible = reach if reach >= profile.min_tokens else 0
        else:
            eligible = profile.eligible(static_prefix)
        return Estimate(
            profile=profile,
            static_prefix_tokens=static_prefix,
            estimated_total_tokens=total,
            cache_eligible_tokens=eligible,
            dynamic_slots=slots,
            breakpoints_in_prefix=len(breakpoint_ends),
        )


def render_request(site: CallSite, values: dict[Slot, str]) -> str:
    """The request's text in cache order with each dynamic value replaced: what the estimate
    models (used by the simulation tests; never with real data)."""
    pieces: list[str] = []
    for part in _parts(site):
        for segment in part.template.segments:
            pieces.append(segment.text if isinstance(segment, Text) else values[segment])
        pieces.append(PART_SEPARATOR)
    return "".join(pieces)
