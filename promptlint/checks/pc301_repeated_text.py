"""PC301 repeated-text: the same sentence or line of >= 8 tokens occurs more than once in one call
site's prompt (its static text across the system prompt and the messages), or within one
prompt-named template. Every copy is paid on every request.

Text segments carry no source positions of their own, so a call site is reported at the call and
a template at its assignment; the message quotes the repeated text and says where it occurs. One
finding per call site or template: the repeat whose second occurrence comes first in cache order.

Units: every line, and every sentence (ended by `.`, `!` or `?` and whitespace, or by a blank
line; a sentence may run over line breaks). They are compared with whitespace collapsed and a
leading list marker (`-`, `*`, `1.`, `#`) removed. A unit never spans a dynamic value or a block
boundary. Units without a letter (rules of `===`, table borders) are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from promptlint.checks.base import Context, Rule
from promptlint.model import CallSite, Finding, NamedTemplate, Severity, Template, Text

QUOTE_CHARS = 60

_LINE = re.compile(r"[^\n]+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n[ \t]*\n\s*")
_LEAD = re.compile(r"\s*(?:(?:[-*+•>]|#+|\d+[.)])\s+)?")
_SPACE = re.compile(r"\s+")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class _Unit:
    chunk: int  # which run of static text (between slots and blocks), in cache order
    offset: int  # where the unit starts in it, after its leading marker
    text: str  # normalised: whitespace collapsed


def _normalised(chunk: int, raw: str, start: int) -> _Unit | None:
    lead = _LEAD.match(raw)
    skip = lead.end() if lead is not None else 0
    text = _SPACE.sub(" ", raw[skip:]).strip()
    if not _LETTER.search(text):
        return None
    return _Unit(chunk, start + skip, text)


def _units(chunk: int, text: str) -> Iterator[_Unit]:
    """Every line and every sentence of one run of static text."""
    found: set[_Unit] = set()
    for match in _LINE.finditer(text):
        unit = _normalised(chunk, match.group(), match.start())
        if unit is not None:
            found.add(unit)
    bounds = [0]
    for match in _SENTENCE_BREAK.finditer(text):
        bounds.extend((match.start(), match.end()))
    bounds.append(len(text))
    for start, end in zip(bounds[::2], bounds[1::2], strict=True):
        unit = _normalised(chunk, text[start:end], start)
        if unit is not None:
            found.add(unit)
    return iter(sorted(found, key=lambda u: (u.offset, -len(u.text))))


def _chunks(template: Template) -> Iterator[str]:
    """The runs of static text of a template, split at its slots."""
    run: list[str] = []
    for segment in template.segments:
        if isinstance(segment, Text):
            run.append(segment.text)
        elif run:
            yield "".join(run)
            run = []
    if run:
        yield "".join(run)


@dataclass(frozen=True)
class _Repeat:
    text: str
    places: tuple[str, ...]  # where each occurrence is, in order


def _first_repeat(parts: Iterable[tuple[Template, str]], ctx: Context) -> _Repeat | None:
    """The repeated unit (of >= `min-repeated-tokens` tokens) whose second occurrence comes
    first."""
    seen: dict[str, list[str]] = {}
    candidates: list[str] = []  # repeated texts, by their second occurrence
    chunk = 0
    for template, place in parts:
        for text in _chunks(template):
            for unit in _units(chunk, text):
                places = seen.setdefault(unit.text, [])
                places.append(place)
                if len(places) == 2:
                    candidates.append(unit.text)
            chunk += 1
    for text in candidates:  # count tokens only of what repeats
        if ctx.tokens.count(text) >= ctx.settings.min_repeated_tokens:
            return _Repeat(text, tuple(seen[text]))
    return None


def _quote(text: str) -> str:
    if len(text) <= QUOTE_CHARS:
        return text
    cut = text.rfind(" ", 0, QUOTE_CHARS)
    return text[: cut if cut > QUOTE_CHARS // 2 else QUOTE_CHARS].rstrip(" ,;:") + "…"


def _times(count: int) -> str:
    return "twice" if count == 2 else f"{count} times"


def _message(repeat: _Repeat, where: str) -> str:
    return (
        f'the text "{_quote(repeat.text)}" occurs {_times(len(repeat.places))} in {where}; '
        "every copy is paid on every request (at the full input price wherever it is not "
        "cached); keep one copy"
    )


def _place(role: str | None) -> str:
    if role is None:
        return "the system prompt"
    if role in {"?", "history"}:
        return "a message"
    return f"{'an' if role[0] in 'aeio' else 'a'} {role} message"


def _where(places: tuple[str, ...]) -> str:
    distinct = list(dict.fromkeys(places))
    if len(distinct) == 1:
        return distinct[0]
    return ", ".join(distinct[:-1]) + " and " + distinct[-1]


def check_call_site(site: CallSite, ctx: Context) -> Iterator[Finding]:
    parts = (
        (template, _place(None if message is None else message.role))
        for template, message in site.prompt_parts()
    )
    repeat = _first_repeat(parts, ctx)
    if repeat is not None:
        where = f"this call's prompt ({_where(repeat.places)})"
        yield RULE.finding(ctx, site.span, _message(repeat, where))


def check_template(named: NamedTemplate, ctx: Context) -> Iterator[Finding]:
    repeat = _first_repeat([(named.template, named.name)], ctx)
    if repeat is not None:
        where = f"prompt template `{named.name}`"
        yield RULE.finding(ctx, named.template.span, _message(repeat, where))


RULE = Rule(
    code="PC301",
    name="repeated-text",
    severity=Severity.WARNING,
    summary="The same sentence or line of 8 or more tokens occurs more than once in a prompt.",
    check_call_site=check_call_site,
    check_template=check_template,
)
