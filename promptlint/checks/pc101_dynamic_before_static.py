"""PC101 dynamic-before-static: a dynamic value precedes >= `min-static-tokens` (32) tokens of
static text in the same template or prompt prefix, so that text is re-processed on every request.

The measure (DESIGN §4): in cache order, skipping tools, take the first dynamic value and count the
static tokens that follow it anywhere in the request. A spliced conversation history starts the
count like any dynamic value, but the final user message's own static text after it is not
counted: on the next turn it is cached as history wherever it stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from promptlint.checks.base import Context, Rule
from promptlint.model import CallSite, Finding, Message, NamedTemplate, Severity, Slot, Text

Part = tuple[Iterable[Text | Slot], Message | None]


def _first_slot_and_static_after(
    parts: Iterable[Part], skip_static_of: Message | None, ctx: Context
) -> tuple[Slot, int] | None:
    first: Slot | None = None
    static_after: list[str] = []
    for segments, message in parts:
        for segment in segments:
            if isinstance(segment, Slot):
                # A value computed once at import is the same on every request: not a start.
                if not segment.per_process:
                    first = first or segment
            elif first is not None and (skip_static_of is None or message is not skip_static_of):
                static_after.append(segment.text)
    if first is None or not static_after:
        return None
    return first, sum(ctx.tokens.count(text) for text in static_after)


def _message(slot: Slot, tokens: int) -> str:
    return (
        f"`{slot.name}` comes before {tokens} tokens of static prompt text, which are then "
        "re-processed on every request; move the dynamic value after the static text"
    )


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    final = site.final_user_message
    history_before_final = final is not None and any(m.is_history for m in site.messages[:-1])
    parts = ((t.segments, m) for t, m in site.prompt_parts())
    result = _first_slot_and_static_after(parts, final if history_before_final else None, ctx)
    if result is not None and result[1] >= ctx.settings.min_static_tokens:
        yield RULE.finding(ctx, result[0], _message(*result))


def check_template(named: NamedTemplate, ctx: Context) -> Iterator[Finding]:
    result = _first_slot_and_static_after([(named.template.segments, None)], None, ctx)
    if result is not None and result[1] >= ctx.settings.min_static_tokens:
        yield RULE.finding(ctx, result[0], _message(*result))


RULE = Rule(
    code="PC101",
    name="dynamic-before-static",
    severity=Severity.WARNING,
    summary="A dynamic value comes before a long run of static prompt text.",
    check_call_site=check_call_site,
    check_template=check_template,
)
