"""Abstract values the interpreter computes for expressions, and the string operations on them.

A `Str` is a prompt string under construction: static text and `Pending` slots (dynamic values whose
source position is resolved later, only for what ends up in the model). Everything the interpreter
cannot follow is `Opaque`: a dynamic value that still carries what is known about it (volatile,
unordered), so those facts survive assignments, attribute access and calls.
"""

from __future__ import annotations

import dataclasses
import json
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:
    from promptlint.extract.interpret import Env


@dataclass(frozen=True)
class Facts:
    """What is known about a dynamic value, kept through assignments, attributes and calls.

    `volatile`: changes on every request. `unordered`: built by iterating something with no fixed
    order. `unsorted_json`: `json.dumps` of a value whose key order the source does not fix,
    without `sort_keys=True`.
    """

    volatile: bool = False
    unordered: bool = False
    unsorted_json: bool = False
    per_process: bool = False  # computed once, at import: the same on every request
    passed_in: bool = False  # a parameter (or an attribute set elsewhere): made by the caller
    # The `json.dumps` call behind `unsorted_json`, for PC202's fix (where to add sort_keys).
    json_call: cst.Call | None = field(default=None, compare=False)

    def __or__(self, other: Facts) -> Facts:
        return Facts(
            self.volatile or other.volatile,
            self.unordered or other.unordered,
            self.unsorted_json or other.unsorted_json,
            self.per_process and other.per_process,
            self.passed_in and other.passed_in,
            self.json_call or other.json_call,
        )

    def ordered(self) -> Facts:
        """The same value after `sorted()`: its order is fixed now."""
        return dataclasses.replace(self, unordered=False)

    def at_import(self) -> Facts:
        """A value the module computes once when it is imported: it does not change between
        requests (a set's iteration order still changes between processes)."""
        return dataclasses.replace(self, volatile=False, per_process=not self.unordered)


NO_FACTS = Facts()


@dataclass
class Pending:
    """A dynamic slot awaiting its position. `needle` locates it inside a string literal's source
    (a `.format` placeholder), else the slot spans `node`."""

    node: cst.CSTNode
    name: str | None = None
    facts: Facts = NO_FACTS
    history: bool = False
    needle: str | None = None
    occurrence: int = 0  # which occurrence of `needle` in the literal (repeated placeholders)
    fill_later: bool = False  # a template field a framework fills per call, not a computed value
    ref: str | None = None  # an imported name, for the link stage
    sortable: bool = False  # an iterable of strings (a `join`'s argument): `sorted()` orders it


@dataclass
class FString:
    """The f-string a `Str` is the whole text of, and the replacement field (an index into
    `node.parts`) each of its slots comes from, by `id` of the `Pending`."""

    node: cst.FormattedString
    field_of: dict[int, int]


@dataclass
class Str:
    parts: list[str | Pending]
    # The string literals this text came from, to find `.format`/`%` placeholders in the source.
    literals: list[cst.SimpleString] = field(default_factory=list)
    # Set only by the f-string that made exactly this text; any operation on it makes a new Str.
    fstring: FString | None = None

    @property
    def is_static(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)

    @property
    def text(self) -> str:
        return "".join(p for p in self.parts if isinstance(p, str))


@dataclass
class Opaque:
    node: cst.CSTNode
    name: str | None = None
    facts: Facts = NO_FACTS
    history: bool = False
    ref: str | None = None  # an imported name, for the link stage


@dataclass
class ListV:
    items: list[Value]


@dataclass
class Spread:
    """`*x` inside a list display."""

    value: Value
    node: cst.CSTNode


@dataclass
class DictV:
    entries: dict[str, Value]
    node: cst.CSTNode
    # Set when the dict has `**other` entries: keys not listed here may be present.
    open: bool = False


@dataclass
class ClientV:
    """An SDK client object (`OpenAI(base_url=...)`), carried so call sites know their provider."""

    sdk: str
    base_url: str | None = None


@dataclass
class FuncV:
    node: cst.FunctionDef
    env: Env  # where it was defined: its body sees that scope


@dataclass
class PathV:
    """A path the source builds; `opened`: an open file handle on it (`with open(p) as f`)."""

    path: str
    opened: bool = False


@dataclass
class JinjaEnvV:
    """A jinja2 Environment whose FileSystemLoader searches `directory` (None: unknown)."""

    directory: str | None


@dataclass
class SelfV:
    """`self` inside the methods of a class: the attributes `__init__` assigns, then the class
    body's own names (class-level constants)."""

    attrs: dict[str, Value]
    class_env: Env


Value = Str | Opaque | ListV | Spread | DictV | ClientV | FuncV | PathV | JinjaEnvV | SelfV


def facts_of(value: Value) -> Facts:
    if isinstance(value, Opaque):
        return value.facts
    if isinstance(value, Str):
        return union(part.facts for part in value.parts if isinstance(part, Pending))
    if isinstance(value, ListV):
        return union(facts_of(v) for v in value.items)
    if isinstance(value, Spread):
        return facts_of(value.value)
    if isinstance(value, DictV):
        return union(facts_of(v) for v in value.entries.values())
    return NO_FACTS


def union(facts: Iterable[Facts]) -> Facts:
    """The facts of a value made of several: any is volatile, all are per-process."""
    result: Facts | None = None
    for f in facts:
        result = f if result is None else result | f
    return result if result is not None else NO_FACTS


def as_str(value: Value, node: cst.CSTNode, name: str | None = None) -> Str:
    """A value as prompt text: a `Str` as it is, anything else as one dynamic slot."""
    if isinstance(value, Str):
        return value
    if isinstance(value, Opaque):
        return Str([Pending(value.node, value.name, value.facts, value.history, ref=value.ref)])
    facts = facts_of(value)
    return Str([Pending(node, name, facts)])


def concat(*values: Str) -> Str:
    parts: list[str | Pending] = []
    literals: list[cst.SimpleString] = []
    for v in values:
        parts.extend(v.parts)
        literals.extend(v.literals)
    return Str(parts, literals)


# -- text transformations that must keep slots where they are ------------------------------------

# A private-use character marks each slot while a whole-text transformation (dedent) runs.
_MARK = "\ue000"


def map_text(value: Str, transform: Callable[[str], str]) -> Str:
    """Apply a str -> str function to a template, slots kept in place (as markers during it)."""
    if value.is_static:
        return Str([transform(value.text)], value.literals)
    pendings = [p for p in value.parts if isinstance(p, Pending)]
    if any(isinstance(p, str) and _MARK in p for p in value.parts):
        return value
    joined = "".join(p if isinstance(p, str) else _MARK for p in value.parts)
    pieces = transform(joined).split(_MARK)
    if len(pieces) != len(pendings) + 1:  # the transformation dropped or duplicated a slot
        return value
    parts: list[str | Pending] = []
    for i, piece in enumerate(pieces):
        if piece:
            parts.append(piece)
        if i < len(pendings):
            parts.append(pendings[i])
    return Str(parts, value.literals)


def strip_edges(value: Str, chars: str | None, left: bool, right: bool) -> Str:
    parts = list(value.parts)
    if left and parts and isinstance(parts[0], str):
        parts[0] = parts[0].lstrip(chars)
    if right and parts and isinstance(parts[-1], str):
        parts[-1] = parts[-1].rstrip(chars)
    return Str([p for p in parts if p != ""], value.literals)


# -- str.format and %-formatting ----------------------------------------------------------------

Resolver = Callable[[str, int], "Value | None"]


def format_template(
    template: Str,
    lookup: Resolver,
    arg_node: Callable[[str, int], cst.CSTNode | None],
    fallback: cst.CSTNode,
) -> Str | None:
    """Expand `template.format(...)`: static fields are inlined, the others become slots.

    `lookup(field, index)` gives the argument's value (None when no argument matches).
    Returns None when the template's text is not a valid format string.
    """
    out: list[Str] = []
    auto_index = 0
    slots = _Placeholders(template)
    for part in _joined_text(template.parts):
        if isinstance(part, Pending):
            out.append(Str([part]))
            continue
        try:
            parsed = list(string.Formatter().parse(part))
        except ValueError:
            return None
        for literal, field_name, spec, conversion in parsed:
            if literal:
                out.append(Str([literal]))
            if field_name is None:
                continue
            base = field_name.split(".")[0].split("[")[0]
            if base and not (base.isidentifier() or base.isdigit()):
                # `{"r.dist": 1440}` in an example is JSON, not a field (`.format` would raise).
                spec_text = (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
                out.append(Str(["{" + field_name + spec_text + "}"]))
                continue
            index = -1
            if base == "":
                index, auto_index = auto_index, auto_index + 1
            elif base.isdigit():
                index = int(base)
            value = lookup(base, index)
            plain = base == field_name and not spec and not conversion
            placeholder = "{" + field_name
            if value is not None and plain and isinstance(value, Str):
                slots.skip(placeholder)
                out.append(value)
                continue
            spec = spec or ""
            known = _known_text(value) if base == field_name and "{" not in spec else None
            text = formatted(known, conversion, spec) if known is not None else None
            if text is not None:  # `{0!r}`, `{:>12}` of a known string: known text too
                slots.skip(placeholder)
                out.append(Str([text]))
                continue
            node = arg_node(base, index) or fallback
            out.append(slots.slot(placeholder, base or str(index), value, node))
    return concat(*out) if out else Str([""])


def _known_text(value: Value | None) -> str | None:
    return value.text if isinstance(value, Str) and value.is_static else None


def formatted(text: str, conversion: str | None, spec: str) -> str | None:
    """What a replacement field (`{x!r:>12}`) makes of a known string: the conversion, then
    `format` with the spec. None where Python would raise (an unknown conversion, a bad spec)."""
    converters: dict[str | None, Callable[[object], str]] = {
        None: str,
        "s": str,
        "r": repr,
        "a": ascii,
    }
    convert = converters.get(conversion or None)
    if convert is None or _too_wide(spec):
        return None
    try:
        return format(convert(text), spec)
    except (ValueError, TypeError):
        return None


def _joined_text(parts: list[str | Pending]) -> list[str | Pending]:
    """Adjacent text parts as one: implicitly concatenated literals (`"50%" "s"`, `"{" "}"`)
    are one format string, and a placeholder may straddle them."""
    joined: list[str | Pending] = []
    for part in parts:
        if isinstance(part, str) and joined and isinstance(joined[-1], str):
            joined[-1] = joined[-1] + part
        else:
            joined.append(part)
    return joined


def format_fields(template: Str, node: cst.CSTNode) -> Str:
    """A `{field}` template filled in later (by a framework): every field is a slot."""
    filled = format_template(template, lambda name, index: None, lambda n, i: None, node)
    if filled is None:
        return template
    return fill_later(filled, template)


def fill_later(result: Str, source: Str) -> Str:
    """Mark the slots `result` added to `source` as fields filled per call."""
    known = {id(p) for p in source.parts}
    for part in result.parts:
        if isinstance(part, Pending) and id(part) not in known:
            part.fill_later = True
    return result


class _Placeholders:
    """Turns the placeholders of a template's literals into slots, in order, so that each one
    (a repeated `{x}` too) points at its own occurrence in the source."""

    def __init__(self, template: Str) -> None:
        self._literals = template.literals
        self._seen: dict[str, int] = {}

    def skip(self, placeholder: str) -> None:
        """This occurrence was filled with static text: the next one is the next in the source."""
        self._seen[placeholder] = self._seen.get(placeholder, 0) + 1

    def slot(self, placeholder: str, name: str, value: Value | None, node: cst.CSTNode) -> Str:
        facts = facts_of(value) if value is not None else NO_FACTS
        nth = self._seen.get(placeholder, 0)
        self._seen[placeholder] = nth + 1
        for literal in self._literals:
            count = _count_placeholders(literal.value, placeholder)
            if nth < count:
                pending = Pending(
                    literal,
                    name,
                    facts,
                    needle=placeholder,
                    occurrence=nth,
                )
                return Str([pending])
            nth -= count
        # Not in any literal we saw (the text came from elsewhere): point at the value.
        return Str([Pending(node, name, facts)])


def _count_placeholders(source: str, needle: str) -> int:
    count = 0
    while find_placeholder(source, needle, count) >= 0:
        count += 1
    return count


def find_placeholder(source: str, needle: str, occurrence: int) -> int:
    """Offset of the n-th real `{field` / `%s` placeholder in a literal, skipping `{{` and `%%`."""
    marker = needle[0]
    position = source.find(marker)
    while position >= 0:
        if source.startswith(marker * 2, position):
            position = source.find(marker, position + 2)
            continue
        if source.startswith(needle, position) and (
            marker != "{" or source[position + len(needle) : position + len(needle) + 1] in "}!:.["
        ):
            if occurrence == 0:
                return position
            occurrence -= 1
        position = source.find(marker, position + 1)
    return -1


_PERCENT_SPEC = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<c>[a-zA-Z%])"
)


def percent_template(
    template: Str, values: list[Value] | dict[str, Value] | None, fallback: cst.CSTNode
) -> Str:
    """Expand `template % args` with %s-style and %(name)s-style conversions."""
    out: list[Str] = []
    position = 0
    slots = _Placeholders(template)
    for part in _joined_text(template.parts):
        if isinstance(part, Pending):
            out.append(Str([part]))
            continue
        last = 0
        for match in _PERCENT_SPEC.finditer(part):
            out.append(Str([part[last : match.start()]]))
            last = match.end()
            if match.group("c") == "%":
                out.append(Str(["%"]))
                continue
            key = match.group("key")
            value: Value | None = None
            if key is not None and isinstance(values, dict):
                value = values.get(key)
            elif key is None and isinstance(values, list):
                value = values[position] if position < len(values) else None
                position += 1
            # The spec without its key: `%(name)-12s` -> `%-12s`.
            spec = match.group(0) if key is None else "%" + match.group(0)[len(key) + 3 :]
            if isinstance(value, Str) and spec == "%s":  # the text itself, slots and all
                slots.skip(match.group(0))
                out.append(value)
                continue
            text = _percent_text(spec, _known_text(value))
            if text is not None:  # `%r`, `%-12s` of a known string: known text too
                slots.skip(match.group(0))
                out.append(Str([text]))
                continue
            out.append(slots.slot(match.group(0), key or match.group(0), value, fallback))
        out.append(Str([part[last:]]))
    return concat(*out)


def _percent_text(spec: str, known: str | None) -> str | None:
    """`spec % known` for a string conversion of a known string; None otherwise."""
    if known is None or spec[-1] not in "sra" or "*" in spec or _too_wide(spec):
        return None
    try:
        return spec % (known,)
    except (ValueError, TypeError):
        return None


_MAX_WIDTH = 10_000
_NUMBER = re.compile(r"\d+")


def _too_wide(spec: str) -> bool:
    """A width (or precision) the linter will not pad to: `{x:>2000000000}` would fill memory."""
    return any(int(n) > _MAX_WIDTH for n in _NUMBER.findall(spec[:100])) or len(spec) > 100


# -- literal data structures (tool definitions, json.dumps arguments) ----------------------------

_NO_LITERAL = object()


def _literal(value: Value) -> object:
    """The JSON value of a number, `True`, `False` or `None` literal; `_NO_LITERAL` otherwise."""
    if not isinstance(value, Opaque):
        return _NO_LITERAL
    node = value.node
    negative = False
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        node, negative = node.expression, True
    if isinstance(node, (cst.Integer, cst.Float)):
        number = node.evaluated_value
        return -number if negative else number
    if isinstance(node, cst.Name) and not negative:
        return {"True": True, "False": False, "None": None}.get(node.value, _NO_LITERAL)
    return _NO_LITERAL


def is_static_structure(value: Value) -> bool:
    if isinstance(value, Str):
        return value.is_static
    if isinstance(value, ListV):
        return all(is_static_structure(v) for v in value.items)
    if isinstance(value, DictV):
        return not value.open and all(is_static_structure(v) for v in value.entries.values())
    return _literal(value) is not _NO_LITERAL


def structure_text(value: Value) -> str:
    """Approximately the JSON the SDK serialises (for counting tokens, not for sending)."""

    def plain(v: Value) -> object:
        if isinstance(v, Str):
            return v.text
        if isinstance(v, ListV):
            return [plain(i) for i in v.items]
        if isinstance(v, DictV):
            return {k: plain(i) for k, i in v.entries.items()}
        return _literal(v)

    return json.dumps(plain(value), ensure_ascii=False)
