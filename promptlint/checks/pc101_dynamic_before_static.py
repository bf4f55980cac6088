"""PC101 dynamic-before-static: a dynamic value precedes >= `min-static-tokens` (32) tokens of
static text in the same template or prompt prefix, so that text is re-processed on every request.

The measure (DESIGN §4): in cache order, skipping tools, take the first dynamic value and count the
static tokens that follow it anywhere in the request. A spliced conversation history starts the
count like any dynamic value, but the final user message's own static text after it is not
counted: on the next turn it is cached as history wherever it stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from promptlint.checks import edits, reorder
from promptlint.checks.base import Context, Rule
from promptlint.model import (
    CallSite,
    Finding,
    Fix,
    Message,
    NamedTemplate,
    Severity,
    Slot,
    Template,
)

Part = tuple[Template, Message | None]
FIX_MESSAGE = "Move the sentences holding dynamic values to the end of the f-string"


def _first_slot_and_static_after(
    parts: Iterable[Part], skip_static_of: Message | None, ctx: Context
) -> tuple[Slot, int, Template] | None:
    first: tuple[Slot, Template] | None = None
    static_after: list[str] = []
    for template, message in parts:
        for segment in template.segments:
            if isinstance(segment, Slot):
                # A value computed once at import is the same on every request: not a start.
                if not segment.per_process:
                    first = first or (segment, template)
            elif first is not None and (skip_static_of is None or message is not skip_static_of):
                static_after.append(segment.text)
    if first is None or not static_after:
        return None
    return first[0], sum(ctx.tokens.count(text) for text in static_after), first[1]


def _dynamic(slot: Slot) -> bool:
    return not slot.per_process


def _fix(template: Template) -> Fix | None:
    """Unsafe: the prompt's text is reordered, which may change what the model makes of it."""
    moved = reorder.move_to_end(template, _dynamic)
    return edits.fix("unsafe", FIX_MESSAGE, [moved]) if moved is not None else None


def _message(slot: Slot, tokens: int) -> str:
    return (
        f"`{slot.name}` comes before {tokens} tokens of static prompt text, which are then "
        "re-processed on every request; move the dynamic value after the static text"
    )


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    final = site.final_user_message
    history_before_final = final is not None and any(m.is_history for m in site.messages[:-1])
    parts = site.prompt_parts()
    result = _first_slot_and_static_after(parts, final if history_before_final else None, ctx)
    if result is not None and result[1] >= ctx.settings.min_static_tokens:
        slot, tokens, template = result
        yield RULE.finding(ctx, slot, _message(slot, tokens), _fix(template))


def check_template(named: NamedTemplate, ctx: Context) -> Iterator[Finding]:
    result = _first_slot_and_static_after([(named.template, None)], None, ctx)
    if result is not None and result[1] >= ctx.settings.min_static_tokens:
        slot, tokens, template = result
        yield RULE.finding(ctx, slot, _message(slot, tokens), _fix(template))


RULE = Rule(
    code="PC101",
    name="dynamic-before-static",
    severity=Severity.WARNING,
    summary="A dynamic value comes before a long run of static prompt text.",
    check_call_site=check_call_site,
    check_template=check_template,
)
