"""Token figures per call site (DESIGN §5): how much of its prompt a provider can serve from cache.

The request is laid out in cache order — tools, then system/instructions, then messages — as the
texts of its parts joined by a newline (`render_request`). No per-message framing tokens are added:
providers do not publish them, and leaving them out keeps the estimate comparable across providers
(a few tokens per message; the simulation in the tests uses the same layout).
"""

from __future__ import annotations

from dataclasses import dataclass

from promptlint.model import CallSite, Slot, Text
from promptlint.providers import Choice, Profile, Profiles, profile_for
from promptlint.tokens import TokenCount

PART_SEPARATOR = "\n"


@dataclass(frozen=True)
class Estimate:
    profile: Profile
    static_prefix_tokens: int  # stable tokens before the first dynamic value, in cache order
    estimated_total_tokens: int  # all static tokens plus `dynamic-tokens` per dynamic value
    static_tokens: int  # all static tokens, wherever they stand
    cache_eligible_tokens: int  # what the profile would cache of the stable prefix
    dynamic_slots: int
    breakpoints_in_prefix: int  # explicit breakpoints that lie inside the stable prefix
    breakpoint_reach_tokens: int  # the stable tokens up to the last of them (0 without one)

    @property
    def cache_eligible_share(self) -> float:
        if self.estimated_total_tokens <= 0:
            return 0.0
        return self.cache_eligible_tokens / self.estimated_total_tokens


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
        prefix_dynamic = 0  # per-process values inside the stable prefix
        stable = True
        parts = list(site.cache_parts())
        for index, (template, breakpoint) in enumerate(parts):
            separator = PART_SEPARATOR if index < len(parts) - 1 else ""
            for segment in template.segments:
                if isinstance(segment, Slot) and segment.per_process and stable:
                    slots += 1  # the same on every request: stays in the stable prefix
                    prefix_dynamic += 1
                elif isinstance(segment, Slot):
                    slots += 1
                    stable = False
                elif stable:
                    prefix.append(segment.text)
                else:
                    after.append(segment.text)
            if not stable:
                after.append(separator)
            else:
                prefix.append(separator)
                length = sum(map(len, prefix))
                part_ends.append(length)
                if breakpoint is not None:
                    breakpoint_ends.append(length)
        # The request-level breakpoint moves to the last block: it caches the stable prefix when
        # the request is stable to its end, or in a conversation, where each turn reads what the
        # previous turn wrote. So does a breakpoint after the history on a conversation's newest
        # message. In a one-off request with a dynamic end, they cache nothing.
        conversation = any(m.is_history for m in site.messages)
        late_breakpoint = site.cache_control is not None or len(breakpoint_ends) < len(
            [b for _, b in parts if b is not None]
        )
        if part_ends and late_breakpoint and (stable or conversation):
            breakpoint_ends.append(part_ends[-1])
        text = "".join(prefix)
        # Values computed at import are stable but of unknown size: `dynamic-tokens` each.
        static_prefix = self._tokens.count(text) + prefix_dynamic * self._dynamic_tokens
        static = static_prefix - prefix_dynamic * self._dynamic_tokens
        static += sum(self._tokens.count(t) for t in after if t)
        total = static + slots * self._dynamic_tokens
        reach = max((self._tokens.count(text[:end]) for end in set(breakpoint_ends)), default=0)
        if profile.explicit:
            eligible = reach if reach >= profile.min_tokens else 0
        else:
            eligible = profile.eligible(static_prefix)
        return Estimate(
            profile=profile,
            static_prefix_tokens=static_prefix,
            estimated_total_tokens=total,
            static_tokens=static,
            cache_eligible_tokens=eligible,
            dynamic_slots=slots,
            breakpoints_in_prefix=len(set(breakpoint_ends)),
            breakpoint_reach_tokens=reach,
        )


def render_request(site: CallSite, values: dict[Slot, str]) -> str:
    """The request's text in cache order with each dynamic value replaced: what the estimate
    models (used by the simulation tests; never with real data)."""
    return PART_SEPARATOR.join(
        "".join(s.text if isinstance(s, Text) else values[s] for s in template.segments)
        for template, _ in site.cache_parts()
    )
