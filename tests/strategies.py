"""Hypothesis strategies for prompt-shaped Python source (used by tests/test_fuzz.py).

Each strategy draws the prompt first, as static text pieces and dynamic values in order, then
writes source that builds it: f-strings, `.format`, `%`, `+`, `"".join`, implicit concatenation of
literals in every quoting, nested templates (a constant, a local variable, a helper function), and
the call sites of the OpenAI, Anthropic, Gemini and LiteLLM SDKs. The drawn pieces are the oracle:
what the extractor must find, and where.

Hypothesis profiles: `fuzz-ci` (bounded, the default) and `fuzz-long` (`PROMPTLINT_FUZZ=long`).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st

# -- profiles --------------------------------------------------------------------------------------

# Generated modules are large and slow to check; hypothesmith discards many of its drafts.
_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("fuzz-ci", deadline=None, suppress_health_check=_CHECKS)
settings.register_profile(
    "fuzz-long", max_examples=5000, deadline=None, suppress_health_check=_CHECKS
)
LONG = os.environ.get("PROMPTLINT_FUZZ", "") == "long"
PROFILE = settings.get_profile("fuzz-long" if LONG else "fuzz-ci")


def fuzz_settings(ci_examples: int) -> settings:
    """The profile's settings for one test: `ci_examples` in CI, the long profile's count with
    `PROMPTLINT_FUZZ=long`. Applied per test, so that other test modules keep their own."""
    return settings(PROFILE, max_examples=PROFILE.max_examples if LONG else ci_examples)


# -- the prompt, as the oracle sees it -------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """A slot the extractor must find: the source text its span covers, whether it is volatile,
    and whether it is computed once per process (a module constant made by code)."""

    span_text: str
    volatile: bool
    per_process: bool = False


Piece = str | Expected


def flat_parts(pieces: Sequence[Piece]) -> list[Piece]:
    """Adjacent static pieces joined, empty ones dropped: the shape of a `Template`'s segments
    (the extractor merges adjacent text within a template)."""
    out: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str):
            if not piece:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + piece
                continue
        out.append(piece)
    return out


@dataclass(frozen=True)
class Dyn:
    """A dynamic value: an expression of the function's parameters, a volatile call, or a
    module constant computed at import."""

    expr: str
    volatile: bool = False
    per_process: bool = False  # a module constant computed at import: the same every request


# Parameters of the function that makes the call; dynamic values are built from them.
PARAMS = "user, doc, items, n, history"

DYNS = st.sampled_from(
    (
        Dyn("user"),
        Dyn("doc"),
        Dyn("n"),
        Dyn("user.name"),
        Dyn("user.profile.city"),
        Dyn("doc['title']"),
        Dyn("items[0]"),
        Dyn("user.describe()"),
        Dyn("len(items)"),
        Dyn("datetime.now()", volatile=True),
        Dyn("datetime.now().isoformat()", volatile=True),
        Dyn("date.today()", volatile=True),
        Dyn("time.time()", volatile=True),
        Dyn("uuid.uuid4()", volatile=True),
        Dyn("uuid4().hex", volatile=True),
        Dyn("random.randint(1, 6)", volatile=True),
        Dyn("BUILD_ID", per_process=True),
        Dyn("STARTED_AT", per_process=True),
    )
)

IMPORTS = """\
import os
import random
import time
import uuid
from datetime import date, datetime
from uuid import uuid4
"""
# Computed once per process (PC101 does not start its count at them): always defined.
PER_PROCESS = """\
BUILD_ID = os.environ.get("BUILD_ID", "dev")
STARTED_AT = datetime.now()
"""

_PROSE = (
    "You are a helpful support agent for Acme . Answer the customer politely and briefly ,"
    " never invent facts , cite the docs when you can . Rules : refunds take five days ;"
    " escalate outages to a human ."
)
WORDS = tuple(_PROSE.split())
# Characters that need care in a literal: quotes, backslashes, braces, percent signs, controls,
# non-ASCII, a lone surrogate (valid in a Python literal as an escape).
ODD_TEXT = st.text(
    alphabet=st.sampled_from(
        [*"{}%'\"\\\n\t\r\x00\x7f#:=!é日🙂", "\ud800", "\u2028", "\N{NO-BREAK SPACE}"]
    ),
    min_size=1,
    max_size=3,
)


@st.composite
def static_text(draw: st.DrawFn, max_words: int = 24) -> str:
    """A run of prose (a slice of `WORDS`: two draws, whatever its length), now and then with
    characters that are hard to quote."""
    start = draw(st.integers(0, len(WORDS) - 1))
    count = draw(st.integers(0, max_words))
    pieces = [" " + WORDS[(start + i) % len(WORDS)] for i in range(count)]
    for _ in range(draw(st.integers(0, 2))):
        pieces.insert(draw(st.integers(0, len(pieces))), draw(ODD_TEXT))
    return "".join(pieces)


# -- string literals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quoting:
    quote: str  # ', ", ''' or """
    raw: bool = False
    escape_unicode: bool = False  # \uXXXX for non-ASCII, else the character itself
    literal_newlines: bool = False  # in a triple-quoted string: a newline as it is


QUOTINGS = st.sampled_from(
    tuple(
        Quoting(quote, raw, escape_unicode, literal_newlines)
        for quote in ("'", '"', "'''", '"""')
        for raw in (False, True)
        for escape_unicode in (False, True)
        for literal_newlines in (False, True)
    )
)


def can_be_raw(text: str, quote: str) -> bool:
    """A raw literal spells `text` as it is: no backslash, quote or control character in it."""
    if any(c == "\\" or c == quote[0] or (ord(c) < 32 and c != "\t") for c in text):
        return False
    return not any(c in text for c in "\x7f\u2028") and not any(
        0xD800 <= ord(c) < 0xE000 for c in text
    )


def escape(text: str, quoting: Quoting) -> str:
    """`text` as the inside of a (non-raw) literal quoted with `quoting.quote`."""
    out: list[str] = []
    triple = len(quoting.quote) == 3
    for c in text:
        code = ord(c)
        if c == "\\":
            out.append("\\\\")
        elif c == quoting.quote[0]:
            out.append("\\" + c)
        elif c == "\n":
            out.append("\n" if triple and quoting.literal_newlines else "\\n")
        elif c == "\t":
            out.append("\t" if quoting.literal_newlines else "\\t")
        elif c == "\r":
            out.append("\\r")
        elif code < 32 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code < 0xE000 or c == "\u2028":
            out.append(f"\\u{code:04x}")
        elif code > 127 and quoting.escape_unicode:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(c)
    return "".join(out)


def literal(prefix: str, body_text: str, quoting: Quoting, braces: bool) -> str:
    """One string literal whose value is `body_text` (raw when possible and asked). `braces`:
    `{`/`}` in the text are doubled (an f-string's text, or a `.format` template)."""
    raw = quoting.raw and can_be_raw(body_text, quoting.quote)
    if braces:
        body_text = body_text.replace("{", "{{").replace("}", "}}")
    body = body_text if raw else escape(body_text, quoting)
    return ("r" if raw else "") + prefix + quoting.quote + body + quoting.quote


# -- templates -------------------------------------------------------------------------------------


@dataclass
class Scope:
    """Where a template is written: the module's lines (shared by every scope of a module), and
    the lines of the function it is in, before its use. Filled as a template is drawn."""

    module_lines: list[str] = field(default_factory=list)
    local_lines: list[str] = field(default_factory=list)
    names: Iterator[int] = field(default_factory=itertools.count)
    uses_params: bool = False  # whether its lines or expressions read the function's parameters
    # Format and % templates may be cut into literals anywhere, inside a placeholder too (the
    # slot then has no placeholder of its own: it points at its argument).
    loose: bool = False

    def fresh(self, stem: str) -> str:
        return f"{stem}_{next(self.names)}"

    def child(self) -> Scope:
        return Scope(self.module_lines, [], self.names, loose=self.loose)


@dataclass(frozen=True)
class Built:
    """An expression and the prompt pieces it evaluates to."""

    expr: str
    pieces: tuple[Piece, ...]
    # A value the source does not show as text (`(user)`): used by name, it is a slot there.
    opaque: bool = False

    @property
    def is_static(self) -> bool:
        return all(isinstance(p, str) for p in self.pieces)


# An item of a template: static text, a dynamic value, or a nested template.
Item = str | Dyn | Built


@st.composite
def template(draw: st.DrawFn, scope: Scope, depth: int = 2, max_items: int = 5) -> Built:
    """A template of static text, dynamic values and nested templates, in one drawn style."""
    kinds = ("text", "text", "dyn", "sub") if depth > 0 else ("text", "text", "dyn")
    items: list[Item] = []
    for kind in draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=max_items)):
        if kind == "text":
            items.append(draw(static_text()))
        elif kind == "dyn":
            items.append(draw(DYNS))
            scope.uses_params = True
        else:
            items.append(draw(nested(scope, depth - 1)))
    style = draw(st.sampled_from(tuple(RENDERERS)))
    return draw(RENDERERS[style](items, scope.loose))


@st.composite
def nested(draw: st.DrawFn, scope: Scope, depth: int) -> Built | Dyn:
    """A template written elsewhere and referred to by name: a module constant (when it needs
    no parameter and is static: a module-level value computed by code is per-process), a local
    variable, or a helper function's return value. A value that is not text where it is made
    (`part = user`) is a dynamic value where it is used (the slot is `part`)."""
    inner_scope = scope.child()
    inner = draw(template(inner_scope, depth, max_items=3))
    places: tuple[str, ...] = ("local", "helper")
    if inner.is_static and not inner_scope.uses_params and not inner_scope.local_lines:
        places += ("constant", "prompt_constant")
    place = draw(st.sampled_from(places))
    if place == "local":
        name = scope.fresh("part")
        scope.local_lines += [*inner_scope.local_lines, f"{name} = {inner.expr}"]
        scope.uses_params |= inner_scope.uses_params
        return _used(name, inner)
    if place == "helper":
        name = scope.fresh("_helper")
        body = "".join(f"    {line}\n" for line in inner_scope.local_lines)
        scope.module_lines.append(f"def {name}({PARAMS}):\n{body}    return {inner.expr}\n")
        scope.uses_params = True
        return _used(f"{name}({PARAMS})", inner)
    name = scope.fresh("RULES_PROMPT" if place == "prompt_constant" else "_TEXT")
    scope.module_lines.append(f"{name} = {inner.expr}\n")
    return Built(name, inner.pieces)


def _used(reference: str, inner: Built) -> Built | Dyn:
    if inner.opaque:
        (slot,) = inner.pieces
        assert isinstance(slot, Expected)
        return Dyn(reference, slot.volatile, slot.per_process)
    return Built(reference, inner.pieces)


def _dyn_slot(dyn: Dyn, span_text: str | None = None) -> Expected:
    return Expected(span_text if span_text is not None else dyn.expr, dyn.volatile, dyn.per_process)


@st.composite
def split_literals(draw: st.DrawFn, atoms: Sequence[str]) -> str:
    """Literal source for the text `atoms` join to, written as implicitly concatenated plain
    literals cut between atoms (an atom is a character, an escaped `{{` or `%%`, or a whole
    placeholder), each literal in its own quoting."""
    cuts = sorted(set(draw(st.lists(st.integers(1, max(len(atoms) - 1, 1)), max_size=2))))
    bounds = [0, *(c for c in cuts if c < len(atoms)), len(atoms)]
    return " ".join(
        literal("", "".join(atoms[start:end]), draw(QUOTINGS), braces=False)
        for start, end in itertools.pairwise(bounds)
    )


def escaped_atoms(text: str, special: str) -> list[str]:
    """`text`'s characters, each `special` one doubled (`{{`, `%%`) as one atom."""
    return [c * 2 if c in special else c for c in text]


DYN_FIELDS = st.sampled_from(
    ("{%s}", "{ %s }", "{%s!r}", "{%s:>12}", "{%s!s:^9}", "{%s=}", "{ %s = }", "{%s=:>5}")
)
KNOWN_FIELDS = st.sampled_from(
    ("{%s}", "{%s!r}", "{%s!a}", "{%s:>30}", "{%s!r:^9}", "{%s=}", "{ %s = !s:<4}", "{%s:.3}")
)
KNOWN_FORMAT_SPECS = st.sampled_from(("", "!r", "!a", ":>30", "!s:^9", ":.3"))
KNOWN_PERCENT_SPECS = st.sampled_from(("s", "r", "a", "-30s", ".3s", "10r"))


def static_of(item: Built) -> str:
    return "".join(p for p in item.pieces if isinstance(p, str))


@st.composite
def render_fstring(draw: st.DrawFn, items: list[Item]) -> Built:
    """f"text{value}text": the text around fields may be split into adjacent literals, f- or
    plain ones."""
    out: list[str] = []
    pieces: list[Piece] = []
    text = ""

    def flush() -> None:
        nonlocal text
        if text:
            cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=2)))
            bounds = [0, *cuts, len(text)]
            for start, end in itertools.pairwise(bounds):
                if end > start:
                    chunk, plain = text[start:end], draw(st.booleans())
                    out.append(literal("" if plain else "f", chunk, draw(QUOTINGS), not plain))
        text = ""

    for item in items:
        if isinstance(item, str):
            text += item
            pieces.append(item)
            continue
        flush()
        expr = item.expr
        if isinstance(item, Dyn):
            field_text = draw(DYN_FIELDS)
            if "=" in field_text:  # `{ x = }` writes its own source text first: " x = "
                after = field_text.index("=") + 1
                after += len(field_text[after:]) - len(field_text[after:].lstrip(" "))
                pieces.append(field_text[1:after] % expr)
            pieces.append(_dyn_slot(item))
        elif item.is_static and expr.isidentifier():
            # Python itself says what `{RULES!r:>30}` or `{RULES=}` of a known string is.
            field_text = draw(KNOWN_FIELDS)
            pieces.append(eval("f'" + field_text % expr + "'", {expr: static_of(item)}))
        else:
            field_text = "{%s}"
            pieces.extend(item.pieces)
        quote = '"' if "'" in expr else draw(st.sampled_from(("'", '"')))
        out.append("f" + quote + (field_text % expr) + quote)
    flush()
    return Built("(" + (" ".join(out) or "f''") + ")", tuple(pieces))


@st.composite
def render_format(draw: st.DrawFn, items: list[Item], mode: str, loose: bool) -> Built:
    """ "text {} text".format(value): auto-numbered, indexed or named fields."""
    atoms: list[str] = []
    args: list[str] = []
    kwargs: dict[str, str] = {}
    pieces: list[Piece] = []
    for item in items:
        if isinstance(item, str):
            atoms += escaped_atoms(item, "{}")
            pieces.append(item)
            continue
        spec = ""
        if isinstance(item, Dyn):
            spec = draw(st.sampled_from(("", "", "!r", ":>8")))
        elif item.is_static:
            spec = draw(KNOWN_FORMAT_SPECS)
        if mode == "auto":
            field_text = "{" + spec + "}"
            args.append(item.expr)
        elif mode == "index":
            if item.expr in args:  # the same value twice: the same field number
                index = args.index(item.expr)
            else:
                index = len(args)
                args.append(item.expr)
            field_text = "{" + str(index) + spec + "}"
        else:
            name = next((k for k, v in kwargs.items() if v == item.expr), f"f{len(kwargs)}")
            kwargs[name] = item.expr
            field_text = "{" + name + spec + "}"
        atoms.append(field_text)
        if isinstance(item, Dyn):
            pieces.append(_dyn_slot(item, field_text))
        elif spec:  # Python itself says what `{!r}` of a known string is
            pieces.append(("{" + spec + "}").format(static_of(item)))
        else:
            pieces.extend(item.pieces)
    source = draw(split_literals(list("".join(atoms)) if loose else atoms))
    arguments = [*args, *(f"{k}={v}" for k, v in kwargs.items())]
    return Built(f"({source}).format({', '.join(arguments)})", tuple(pieces))


@st.composite
def render_percent(draw: st.DrawFn, items: list[Item], with_dict: bool, loose: bool) -> Built:
    """ "text %s text" % (value,) and "text %(name)s" % {"name": value}."""
    atoms: list[str] = []
    args: list[str] = []
    pieces: list[Piece] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            atoms += escaped_atoms(item, "%")
            pieces.append(item)
            continue
        if isinstance(item, Dyn):
            conversion = draw(st.sampled_from(("s", "r", "d")))
        else:
            conversion = draw(KNOWN_PERCENT_SPECS) if item.is_static else "s"
        spec = f"%(k{index}){conversion}" if with_dict else f"%{conversion}"
        atoms.append(spec)
        args.append(f"'k{index}': {item.expr}" if with_dict else item.expr)
        if isinstance(item, Dyn):
            pieces.append(_dyn_slot(item, spec))
        elif conversion != "s":  # Python itself says what `%r` of a known string is
            pieces.append(("%" + conversion) % (static_of(item),))
        else:
            pieces.extend(item.pieces)
    source = draw(split_literals(list("".join(atoms)) if loose else atoms))
    if with_dict:
        operand = "{" + ", ".join(args) + "}"
    elif len(args) == 1 and draw(st.booleans()):
        operand = args[0]
    else:
        operand = "(" + "".join(a + ", " for a in args) + ")"
    return Built(f"(({source}) % {operand})", tuple(pieces))


@st.composite
def render_concat(draw: st.DrawFn, items: list[Item]) -> Built:
    """ "text" + value + "text". Two values in a row get a space between them: `a + b` of two
    values the source does not show may be a number, so it is one slot, not two."""
    terms: list[str] = []
    pieces: list[Piece] = []
    for position, item in enumerate(items):
        if position and not isinstance(item, str) and not isinstance(items[position - 1], str):
            terms.append("' '")
            pieces.append(" ")
        if isinstance(item, str):
            terms.append(draw(split_literals(list(item))))
            pieces.append(item)
        elif isinstance(item, Dyn):
            wrapped = draw(st.booleans())
            expr = f"str({item.expr})" if wrapped else item.expr
            terms.append(expr)
            pieces.append(_dyn_slot(item))  # `str(x)` is x's text: the slot is x
        else:
            terms.append(item.expr)
            pieces.extend(item.pieces)
    opaque = len(items) == 1 and isinstance(items[0], Dyn)
    return Built("(" + " + ".join(terms) + ")", tuple(pieces), opaque)


@st.composite
def render_join(draw: st.DrawFn, items: list[Item], separator: bool) -> Built:
    """sep.join([...]) of a list display (a list keeps its order: no unordered slot)."""
    sep = draw(st.sampled_from(("\n", " ", ", ", "\n\n"))) if separator else ""
    terms: list[str] = []
    pieces: list[Piece] = []
    for position, item in enumerate(items):
        if position:
            pieces.append(sep)
        if isinstance(item, str):
            terms.append(draw(split_literals(list(item))))
            pieces.append(item)
        elif isinstance(item, Dyn):
            expr = f"str({item.expr})"
            terms.append(expr)
            pieces.append(_dyn_slot(item))  # `str(x)` is x's text: the slot is x
        else:
            terms.append(item.expr)
            pieces.extend(item.pieces)
    sep_source = literal("", sep, draw(QUOTINGS), braces=False)
    return Built(f"{sep_source}.join([{', '.join(terms)}])", tuple(pieces))


RENDERERS: dict[str, Callable[[list[Item], bool], st.SearchStrategy[Built]]] = {
    "fstring": lambda items, loose: render_fstring(items),
    "format": lambda items, loose: render_format(items, "auto", loose),
    "format_index": lambda items, loose: render_format(items, "index", loose),
    "format_named": lambda items, loose: render_format(items, "named", loose),
    "percent": lambda items, loose: render_percent(items, False, loose),
    "percent_dict": lambda items, loose: render_percent(items, True, loose),
    "concat": lambda items, loose: render_concat(items),
    "join": lambda items, loose: render_join(items, separator=False),
    "sep_join": lambda items, loose: render_join(items, separator=True),
}


# -- call sites ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    pieces: tuple[Piece, ...]
    cache_control: bool = False


@dataclass(frozen=True)
class Message:
    role: str  # "history": a spliced `*history`
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Program:
    """A module with one call site, and what the extractor must find in it."""

    source: str
    api: str
    system: tuple[Block, ...]
    messages: tuple[Message, ...]

    def parts(self) -> list[tuple[tuple[Piece, ...], Message | None]]:
        """Every block's pieces in cache order (tools aside), with its message."""
        out: list[tuple[tuple[Piece, ...], Message | None]] = [
            (b.pieces, None) for b in self.system
        ]
        out += [(b.pieces, m) for m in self.messages for b in m.blocks]
        return out


HISTORY = Message("history", (Block((Expected("*history", False),)),))
# Spliced with `.extend(history)` or `+= history`: the slot is the argument.
HISTORY_ARGUMENT = Message("history", (Block((Expected("history", False),)),))

CLIENTS = {
    "openai.chat": ("from openai import OpenAI\n", "client = OpenAI()"),
    "openai.responses": ("from openai import OpenAI\n", "client = OpenAI()"),
    "anthropic.messages": ("import anthropic\n", "client = anthropic.Anthropic()"),
    "gemini.generate_content": (
        "from google import genai\nfrom google.genai import types\n",
        "client = genai.Client()",
    ),
    "litellm.completion": ("import litellm\n", ""),
}


@st.composite
def content(
    draw: st.DrawFn, scope: Scope, blocks: bool, breakpoints: bool = False
) -> tuple[str, tuple[Block, ...]]:
    """A message's content or a system prompt: a template, or (`blocks`) a list of text blocks,
    with a `cache_control` breakpoint now and then where the API has them (`breakpoints`)."""
    if not blocks or draw(st.booleans()):
        built = draw(template(scope))
        return built.expr, (Block(built.pieces),)
    entries: list[str] = []
    found: list[Block] = []
    for _ in range(draw(st.integers(1, 3))):
        built = draw(template(scope, depth=1))
        cache = breakpoints and draw(st.booleans())
        control = ', "cache_control": {"type": "ephemeral"}' if cache else ""
        entries.append(f'{{"type": "text", "text": {built.expr}{control}}}')
        found.append(Block(built.pieces, cache))
    return "[" + ", ".join(entries) + "]", tuple(found)


@st.composite
def conversation(
    draw: st.DrawFn, scope: Scope, blocks: bool, breakpoints: bool = False
) -> tuple[list[str], list[Message]]:
    """Few-shot turns, maybe a spliced history, and the final user message."""
    entries: list[str] = []
    messages: list[Message] = []
    for role in draw(st.lists(st.sampled_from(("user", "assistant")), max_size=2)):
        source, found = draw(content(scope, blocks, breakpoints))
        entries.append(f'{{"role": "{role}", "content": {source}}}')
        messages.append(Message(role, found))
    if draw(st.booleans()):
        entries.append("*history")
        messages.append(HISTORY)
    source, found = draw(content(scope, blocks, breakpoints))
    entries.append(f'{{"role": "user", "content": {source}}}')
    messages.append(Message("user", found))
    return entries, messages


@st.composite
def message_list(draw: st.DrawFn, scope: Scope, entries: list[str], messages: list[Message]) -> str:
    """The messages as a list display, or built in a local list: `.append`, `.extend`, `+=`
    (then a spliced history's slot is `history`, in `messages`)."""
    if draw(st.booleans()):
        return f"[{', '.join(entries)}]"
    messages[:] = [HISTORY_ARGUMENT if m is HISTORY else m for m in messages]
    name = scope.fresh("messages")
    scope.local_lines.append(f"{name} = []")
    for entry in entries:
        spliced = entry[1:] if entry.startswith("*") else None
        way = draw(st.integers(0, 1))
        if spliced is not None:
            line = f"{name}.extend({spliced})" if way else f"{name} += {spliced}"
        else:
            line = f"{name}.append({entry})" if way else f"{name} += [{entry}]"
        scope.local_lines.append(line)
    return name


# Tools come first in cache order; a dynamic list is PC103's business, never the start of PC101's
# count. Either kind may precede any prompt.
TOOLS = st.sampled_from(
    (
        None,
        "user.tools",
        "[t for t in items]",
        '[{"name": "lookup", "description": "Look a customer up by id.", "input_schema": {}}]',
    )
)


@st.composite
def programs(
    draw: st.DrawFn, apis: Sequence[str] = (*CLIENTS, "template"), loose: bool = False
) -> Program:
    """A module with one call of a drawn API, its prompt built by drawn templates; or (api
    "template") a prompt-named template in a function, used by no call site."""
    api = draw(st.sampled_from(tuple(apis)))
    scope = Scope(loose=loose)
    system: tuple[Block, ...] = ()
    messages: list[Message] = []
    tools = draw(TOOLS)
    arguments = [f"tools={tools}"] if tools is not None else []
    if api in {"openai.chat", "litellm.completion"}:
        entries: list[str] = []
        if draw(st.booleans()):
            source, found = draw(content(scope, blocks=True))
            entries.append(f'{{"role": "system", "content": {source}}}')
            messages.append(Message("system", found))
        more, turns = draw(conversation(scope, blocks=True))
        entries += more
        messages += turns
        target = "client.chat.completions.create" if api == "openai.chat" else "litellm.completion"
        listed = draw(message_list(scope, entries, messages))
        arguments = ['model="gpt-4o"', f"messages={listed}", *arguments]
        call = f"{target}(\n        {', '.join(arguments)},\n    )"
    elif api == "openai.responses":
        arguments.append('model="gpt-4.1"')
        if draw(st.booleans()):
            built = draw(template(scope))
            arguments.append(f"instructions={built.expr}")
            system = (Block(built.pieces),)
        if draw(st.booleans()):
            built = draw(template(scope))
            arguments.append(f"input={built.expr}")
            messages.append(Message("user", (Block(built.pieces),)))
        else:
            more, turns = draw(conversation(scope, blocks=False))
            arguments.append(f"input=[{', '.join(more)}]")
            messages += turns
        call = f"client.responses.create({', '.join(arguments)})"
    elif api == "anthropic.messages":
        arguments += ['model="claude-sonnet-4-5"', "max_tokens=1024"]
        if draw(st.booleans()):
            source, system = draw(content(scope, blocks=True, breakpoints=True))
            arguments.append(f"system={source}")
        more, turns = draw(conversation(scope, blocks=True, breakpoints=True))
        messages += turns
        arguments.append(f"messages={draw(message_list(scope, more, messages))}")
        call = f"client.messages.create({', '.join(arguments)})"
    elif api == "gemini.generate_content":
        if draw(st.booleans()):
            built = draw(template(scope))
            arguments = ['model="gemini-2.5-flash"', f"contents={built.expr}"]
            messages.append(Message("user", (Block(built.pieces),)))
        else:  # turns of parts: `[{"role": "user", "parts": [{"text": ...}]}, ...]`
            contents: list[str] = []
            for role in [*draw(st.lists(st.sampled_from(("user", "model")), max_size=2)), "user"]:
                parts = [draw(template(scope, depth=1)) for _ in range(draw(st.integers(1, 2)))]
                texts = ", ".join(f'{{"text": {part.expr}}}' for part in parts)
                contents.append(f'{{"role": "{role}", "parts": [{texts}]}}')
                messages.append(Message(role, tuple(Block(part.pieces) for part in parts)))
            arguments = ['model="gemini-2.5-flash"', f"contents=[{', '.join(contents)}]"]
        config = [f"tools={tools}"] if tools is not None else []
        if draw(st.booleans()):
            instruction = draw(template(scope))
            config.append(f"system_instruction={instruction.expr}")
            system = (Block(instruction.pieces),)
        typed = draw(st.booleans())
        if config and typed:
            arguments.append(f"config=types.GenerateContentConfig({', '.join(config)})")
        elif config:
            entries = [f'"{c.split("=", 1)[0]}": {c.split("=", 1)[1]}' for c in config]
            arguments.append("config={" + ", ".join(entries) + "}")
        call = f"client.models.generate_content({', '.join(arguments)})"
    else:
        built = draw(template(scope))
        assume(not built.opaque)  # `SYSTEM_PROMPT = user` is no template
        # Its own lines: pruning takes `X = "a,#"` on one line for a keyword argument (see the
        # xfail test in test_fuzz.py).
        scope.local_lines.append(f"SYSTEM_PROMPT = (\n        {built.expr}\n    )")
        messages.append(Message("template", (Block(built.pieces),)))
        call = "SYSTEM_PROMPT"
    sdk_import, client = CLIENTS.get(api, ("", ""))
    body = "".join(f"    {line}\n" for line in scope.local_lines)
    source = (
        IMPORTS
        + sdk_import
        + "\n"
        + PER_PROCESS
        + (client + "\n\n" if client else "")
        + "\n".join(scope.module_lines)
        + f"\n\ndef ask({PARAMS}):\n{body}    return {call}\n"
    )
    return Program(source, api, system, tuple(messages))
