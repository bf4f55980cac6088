"""Where a dynamic value sits in a request, for rules that exempt only the final user message
(PC102 volatile values, PC202 unsorted JSON)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from promptlint.model import CallSite, Slot


def describe(role: str) -> str:
    """A message, by role, for a finding's text: "a user message", "an assistant message"."""
    if role == "history":
        return "the spliced conversation history"
    if role == "?":
        return "a message"
    return f"{'an' if role == 'assistant' else 'a'} {role} message"


def before_final_user(site: CallSite, wanted: Callable[[Slot], bool]) -> Iterator[tuple[Slot, str]]:
    """The wanted slots of the tools, the system prompt and every message but the final user
    message, each with where it sits ("the tools", "the system prompt", "a user message")."""
    final = site.final_user_message
    if site.tools is not None:
        for slot in site.tools.slots:
            if wanted(slot):
                yield slot, "the tools"
    for template, message in site.prompt_parts():
        if message is not None and message is final:
            continue
        where = "the system prompt" if message is None else describe(message.role)
        for slot in template.slots:
            if wanted(slot):
                yield slot, where
