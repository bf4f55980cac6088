"""PC101/PC102's fix: move the sentences of an f-string that hold some slots to its end.

The f-string's body (as the source spells it, from the template's `Literal`) is cut into units:
a unit ends at a sentence end (`.`, `!` or `?` followed by blanks) or a paragraph break (a blank
line). A line break inside a sentence does not cut it, so hard-wrapped prose moves whole. The
units holding a wanted slot go last, in their order, each keeping the blanks that followed it;
the text is otherwise the same, byte for byte. Applying it again changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from promptlint.model import Literal, Replacement, Slot, Template

_BLANK = frozenset({"nl", "ws"})


def move_to_end(template: Template, wanted: Callable[[Slot], bool]) -> Replacement | None:
    """The template's f-string with the units holding a `wanted` slot moved to its end; None
    when the template is not one f-string, or they are last already."""
    literal = template.literal
    if literal is None or len(literal.slot_chunks) != len(template.slots):
        return None
    fields = {c for c, s in zip(literal.slot_chunks, template.slots, strict=True) if wanted(s)}
    if not fields:
        return None
    lead, units, tail = _units(_tokens(literal))
    moved = [i for i, u in enumerate(units) if u.fields & fields]
    kept = [i for i, u in enumerate(units) if not u.fields & fields]
    if not moved or not kept or kept + moved == list(range(len(units))):
        return None
    order = kept + moved
    out = [lead]
    for position, index in enumerate(order):
        out.append(units[index].text)
        if position == len(order) - 1:
            continue  # the end: what followed the last unit is in `tail`
        # The unit that was last takes the blanks that followed the last moved one.
        last = index == len(units) - 1
        out.append(units[moved[-1]].after if last else units[index].after)
    out.append(tail)
    return Replacement(literal.span, "".join(out))


class _Token(NamedTuple):  # a tuple: one is made per character of a prompt
    kind: str  # "nl" (a line break, or a `\n` escape), "ws", "end" (.!?), "word", "field", "other"
    text: str
    field: int = -1  # the chunk index of a `{...}` field


@dataclass(frozen=True)
class _Unit:
    text: str
    fields: frozenset[int]
    after: str  # the blanks that separate it from the next unit ("" for the last)


# One run of characters of one kind (a line break alone: `_units` counts them). Alnum runs are
# words; `[^\W_]` is `\w` without `_`, and a character `str.isalnum` and `\w` disagree on falls
# back to the one-character check below.
_RUNS = re.compile(r"\r\n|\r|\n|[ \t]+|[.!?]+|[^\W_]+|.", re.DOTALL)
_ESCAPES = re.compile(r"\\n|\\(?:\r\n|.)?|\r\n|\r|\n|[ \t]+|[.!?]+|[^\W_]+|.", re.DOTALL)


def _tokens(literal: Literal) -> list[_Token]:
    out: list[_Token] = []
    runs = _RUNS if literal.raw else _ESCAPES
    for index, chunk in enumerate(literal.chunks):
        if index % 2:
            out.append(_Token("field", chunk, index))
            continue
        for text in runs.findall(chunk):
            out.append(_Token(_kind(text), text))
    return out


def _kind(text: str) -> str:
    first = text[0]
    if first in "\r\n":
        return "nl"
    if first == "\\":
        return "nl" if text == "\\n" else "other"
    if first in " \t":
        return "ws"
    if first in ".!?":
        return "end"
    return "word" if text.isalnum() else "other"


def _units(tokens: list[_Token]) -> tuple[str, list[_Unit], str]:
    """The body's leading blanks, its units, and its trailing blanks."""
    lo, hi = 0, len(tokens)
    while lo < hi and tokens[lo].kind in _BLANK:
        lo += 1
    while hi > lo and tokens[hi - 1].kind in _BLANK:
        hi -= 1
    units: list[_Unit] = []
    text: list[str] = []
    fields: set[int] = set()
    wordy = False  # "1." in a numbered list is not a sentence
    k = lo
    while k < hi:
        token = tokens[k]
        if token.kind not in _BLANK:
            text.append(token.text)
            if token.kind == "field":
                fields.add(token.field)
            wordy |= token.kind in ("field", "word") and not token.text.isdigit()
            k += 1
            continue
        end = k
        while end < hi and tokens[end].kind in _BLANK:
            end += 1
        run = "".join(t.text for t in tokens[k:end])
        paragraph = sum(t.kind == "nl" for t in tokens[k:end]) >= 2
        if paragraph or (tokens[k - 1].kind == "end" and wordy):
            units.append(_Unit("".join(text), frozenset(fields), run))
            text, fields, wordy = [], set(), False
        else:
            text.append(run)
        k = end
    units.append(_Unit("".join(text), frozenset(fields), ""))
    lead = "".join(t.text for t in tokens[:lo])
    return lead, units, "".join(t.text for t in tokens[hi:])
