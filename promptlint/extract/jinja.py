"""Jinja2 template source -> prompt parts: static text and dynamic slots, without rendering.

The template is parsed with jinja2's own parser (`Environment.parse`), so whitespace control
(`{%-`, `-%}`, `{{-`), `trim_blocks`/`lstrip_blocks`, newline normalisation and the dropped final
newline are exactly what jinja2 applies; the template is never compiled, rendered or run.

What each construct becomes:

- template data (and `{{ "literal" }}`, `{{ 3 }}`) is static text; adjacent texts are merged;
- `{{ expr }}` is one slot named by the expression's source-like form (`user.name`,
  `items|join(', ')`), rebuilt from jinja's syntax tree;
- `{% if %}` is its text when every branch (a missing `else` is an empty branch) is entirely static
  and all are identical, otherwise ONE slot `if <test>` for the whole block: which branch renders
  varies per request;
- `{% for %}` is one slot `for <target> in <iter>` (its body and `else` are not looked into);
- `{% include "name" %}` with a literal name is replaced by `load(name)`'s template, followed to
  `max_depth` nested includes; a name `load` returns None for, an include cycle, a deeper include,
  an included template that does not parse, or a non-literal name is one slot `include <name>`;
- `{% extends %}` is one slot `extends <name>` (the parent is not followed) and `{% block %}`
  content is taken inline where it stands; `{% with %}`/`{% autoescape %}` content is inline too;
- `{% filter %}` blocks and `{% call %}` blocks are one slot each (their text is a function's
  output); `{% set %}`, `{% macro %}`, `{% import %}`, `{% do %}` and comments produce nothing.

Positions: jinja nodes carry only a line, so the module scans the source for the `{{`/`{%` tags
and pairs each slot with the tag holding it, in document order; a slot's line and column are where
that tag starts (best effort: 1-based; column 1 when no tag matches). Slots that come from an
included template carry the position of the top-level `{% include %}` that brought them in.

`JinjaSlot.unordered` is always False: a template alone cannot tell whether `{% for x in xs %}`
iterates a set or a list, and a loop is one slot anyway.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2
import jinja2.nodes as jn


@dataclass(frozen=True)
class JinjaSlot:
    """A dynamic part of a template, at the 1-based line and column of the tag holding it."""

    name: str
    line: int
    column: int
    unordered: bool = False  # never set here; see the module docstring


JinjaPart = str | JinjaSlot


@dataclass(frozen=True)
class JinjaError:
    """Why the template does not parse, at jinja's 1-based line."""

    message: str
    line: int


Loader = Callable[[str], str | None]

# Extensions whose tags are common in prompt templates and only affect control flow or side
# effects (`{% break %}`, `{% continue %}`, `{% do %}`), so the default parse accepts them.
_DEFAULT_ENV = jinja2.Environment(extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do"])

# A safety valve on the total number of included templates spliced in for one call, so a fan-out
# of includes within `max_depth` cannot blow up; further includes become slots.
_MAX_INCLUDES = 1000


def jinja_parts(
    source: str,
    *,
    load: Loader | None = None,
    max_depth: int = 10,
    environment: jinja2.Environment | None = None,
) -> list[JinjaPart] | JinjaError:
    """The parts of jinja2 template `source`: static strings and slots, adjacent strings merged.

    `load(name)` returns the source of an included template, or None when it cannot or must not be
    read. `environment` (default: a plain `Environment` with the loopcontrols and do extensions)
    decides the syntax: delimiters, `trim_blocks`, `lstrip_blocks`, extensions. Never raises for a
    bad template: a syntax error (or any other jinja2 error) is a `JinjaError`.
    """
    env = environment if environment is not None else _DEFAULT_ENV
    try:
        tree = env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        return JinjaError(exc.message or str(exc), exc.lineno)
    except jinja2.TemplateError as exc:
        return JinjaError(exc.message or str(exc), 1)
    except RecursionError:
        return JinjaError("template nested too deeply to parse", 1)
    walker = _Walker(env, load, max_depth, _Locator(source, env), _Shared())
    try:
        parts = walker.walk(tree.body)
    except RecursionError:
        return JinjaError("template nested too deeply to read", 1)
    return _merge(parts)


def _merge(parts: Sequence[JinjaPart]) -> list[JinjaPart]:
    merged: list[JinjaPart] = []
    for part in parts:
        if isinstance(part, str):
            if not part:
                continue
            if merged and isinstance(merged[-1], str):
                merged[-1] += part
                continue
        merged.append(part)
    return merged


# --- positions ------------------------------------------------------------------------------------


@dataclass
class _Tag:
    """A `{{ }}` (`block` False) or `{% %}` tag of the source, lines 1-based and inclusive."""

    block: bool
    line: int
    column: int
    end_line: int
    word: str  # a block tag's first word ("if", "endfor"); "" for a variable tag
    end: int | None = None  # index of the tag closing this block tag, when matched


_NEWLINE = re.compile(r"\r\n|\r|\n")
_WORD = re.compile(r"[-+]?\s*(\w*)")
_SET_ASSIGN = re.compile(r"set\s+[\w\s,.()]*=")
_BLOCK_WORDS = frozenset(
    {"if", "for", "macro", "call", "filter", "with", "block", "autoescape", "trans", "set"}
)


class _Locator:
    """The tags of a template source in order, and a cursor pairing nodes with them."""

    def __init__(self, source: str, env: jinja2.Environment) -> None:
        self.tags: list[_Tag] = []
        self.cursor = 0
        try:
            self._scan(source, env)
        except Exception:  # positions are best effort; never fail the extraction over them
            self.tags = []
        self._match_blocks()

    def _scan(self, source: str, env: jinja2.Environment) -> None:
        line_starts = [0] + [m.end() for m in _NEWLINE.finditer(source)]

        def position(offset: int) -> tuple[int, int]:
            index = bisect.bisect_right(line_starts, offset) - 1
            return index + 1, offset - line_starts[index] + 1

        var_start, block_start = env.variable_start_string, env.block_start_string
        comment_start = env.comment_start_string
        starts = sorted({var_start, block_start, comment_start}, key=len, reverse=True)
        start_re = re.compile("|".join(re.escape(s) for s in starts))
        string = r"""'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|"""
        var_end_re = re.compile(string + re.escape(env.variable_end_string), re.S)
        block_end_re = re.compile(string + re.escape(env.block_end_string), re.S)
        raw_end_re = re.compile(
            re.escape(block_start) + r"[-+]?\s*endraw\s*[-+]?" + re.escape(env.block_end_string)
        )
        pos = 0
        while (start := start_re.search(source, pos)) is not None:
            opener, body_start = start.group(), start.end()
            if opener == comment_start:
                close = source.find(env.comment_end_string, body_start)
                pos = len(source) if close < 0 else close + len(env.comment_end_string)
                continue
            is_block = opener == block_start
            end_re = block_end_re if is_block else var_end_re
            body_end = end = len(source)
            scan = body_start
            while (found := end_re.search(source, scan)) is not None:
                if found.group()[:1] in "'\"":  # a string literal inside the tag
                    scan = found.end()
                    continue
                body_end, end = found.start(), found.end()
                break
            body = source[body_start:body_end]
            word = ""
            if is_block:
                word_match = _WORD.match(body)
                word = word_match.group(1) if word_match else ""
                if word == "set" and _SET_ASSIGN.match(body.lstrip("-+").lstrip()):
                    word = "set="  # `{% set x = ... %}` has no `{% endset %}`
            line, column = position(start.start())
            end_line, _ = position(max(end - 1, start.start()))
            self.tags.append(_Tag(is_block, line, column, end_line, word))
            pos = end
            if word == "raw":
                raw_end = raw_end_re.search(source, end)
                pos = len(source) if raw_end is None else raw_end.end()

    def _match_blocks(self) -> None:
        stack: list[tuple[str, int]] = []
        for index, tag in enumerate(self.tags):
            if not tag.block:
                continue
            if tag.word in _BLOCK_WORDS:
                stack.append((tag.word, index))
            elif tag.word.startswith("end") and tag.word[3:] in _BLOCK_WORDS:
                opened = tag.word[3:]
                for depth in range(len(stack) - 1, -1, -1):
                    if stack[depth][0] == opened:
                        self.tags[stack[depth][1]].end = index
                        del stack[depth:]
                        break

    def find(self, lineno: int, *, block: bool, word: str = "") -> _Tag | None:
        """The next tag of this kind (and first word) holding `lineno`; tags before it are passed
        for good (nodes come in document order)."""
        index = self.cursor
        while index < len(self.tags):
            tag = self.tags[index]
            if tag.end_line < lineno:
                index += 1
                self.cursor = index
                continue
            if tag.line > lineno:
                return None
            if tag.block == block and (not word or tag.word == word):
                self.cursor = index + 1
                return tag
            index += 1
        return None

    def skip_block(self, tag: _Tag | None) -> None:
        """Pass everything up to the tag closing `tag` (a block whose inside is not walked)."""
        if tag is not None and tag.end is not None:
            self.cursor = max(self.cursor, tag.end + 1)


# --- names ----------------------------------------------------------------------------------------

# Binding strength, loosest first, following jinja2's parser: `a if b else c`, or, and, not,
# comparisons, + -, ~, * / // %, **, filters and tests, unary - +, postfix (. [] ()), atoms.
_COND, _OR, _AND, _NOT, _CMP, _ADD, _CONCAT, _MUL, _POW, _FILTER, _UNARY, _POSTFIX, _ATOM = range(
    1, 14
)
_BIN_PREC: dict[type[jn.BinExpr], int] = {
    jn.Or: _OR,
    jn.And: _AND,
    jn.Add: _ADD,
    jn.Sub: _ADD,
    jn.Mul: _MUL,
    jn.Div: _MUL,
    jn.FloorDiv: _MUL,
    jn.Mod: _MUL,
    jn.Pow: _POW,
}
_CMP_OPS = {
    "eq": "==",
    "ne": "!=",
    "gt": ">",
    "gteq": ">=",
    "lt": "<",
    "lteq": "<=",
    "in": "in",
    "notin": "not in",
}


def _precedence(node: jn.Node) -> int:
    if isinstance(node, jn.CondExpr):
        return _COND
    if isinstance(node, jn.BinExpr):
        return _BIN_PREC.get(type(node), _MUL)
    if isinstance(node, jn.Not):
        return _NOT
    if isinstance(node, jn.UnaryExpr):
        return _UNARY
    if isinstance(node, jn.Compare):
        return _CMP
    if isinstance(node, jn.Concat):
        return _CONCAT
    if isinstance(node, (jn.Filter, jn.Test)):
        return _FILTER
    if isinstance(node, (jn.Getattr, jn.Getitem, jn.Call)):
        return _POSTFIX
    return _ATOM


def _const(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def expression_name(node: jn.Node, min_precedence: int = 0) -> str:
    """A jinja expression written back as source, parenthesised only where binding needs it."""
    text = _write(node)
    return f"({text})" if _precedence(node) < min_precedence else text


def _arguments(node: jn.Call | jn.Filter | jn.Test) -> str:
    args = [expression_name(a) for a in node.args]
    args += [f"{k.key}={expression_name(k.value)}" for k in node.kwargs]
    if node.dyn_args is not None:
        args.append("*" + expression_name(node.dyn_args, _POSTFIX))
    if node.dyn_kwargs is not None:
        args.append("**" + expression_name(node.dyn_kwargs, _POSTFIX))
    return ", ".join(args)


def _write(node: jn.Node) -> str:
    name = expression_name
    if isinstance(node, (jn.Name, jn.InternalName)):
        return str(node.name)
    if isinstance(node, jn.NSRef):
        return f"{node.name}.{node.attr}"
    if isinstance(node, jn.Const):
        return _const(node.value)
    if isinstance(node, jn.TemplateData):
        return repr(node.data)
    if isinstance(node, jn.Tuple):
        items = [name(i) for i in node.items]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(node, jn.List):
        return f"[{', '.join(name(i) for i in node.items)}]"
    if isinstance(node, jn.Dict):
        return "{" + ", ".join(f"{name(p.key)}: {name(p.value)}" for p in node.items) + "}"
    if isinstance(node, jn.Getattr):
        return f"{name(node.node, _POSTFIX)}.{node.attr}"
    if isinstance(node, jn.Getitem):
        return f"{name(node.node, _POSTFIX)}[{name(node.arg)}]"
    if isinstance(node, jn.Slice):
        parts = [node.start, node.stop] + ([node.step] if node.step is not None else [])
        return ":".join("" if p is None else name(p) for p in parts)
    if isinstance(node, jn.Call):
        return f"{name(node.node, _POSTFIX)}({_arguments(node)})"
    if isinstance(node, jn.Filter):
        args = _arguments(node)
        call = f"{node.name}({args})" if args else str(node.name)
        return call if node.node is None else f"{name(node.node, _FILTER)}|{call}"
    if isinstance(node, jn.Test):
        return _test(node, negated=False)
    if isinstance(node, jn.Not) and isinstance(node.node, jn.Test):
        return _test(node.node, negated=True)
    if isinstance(node, jn.UnaryExpr):
        operand = name(node.node, _precedence(node))
        return f"not {operand}" if isinstance(node, jn.Not) else f"{node.operator}{operand}"
    if isinstance(node, jn.BinExpr):
        prec = _precedence(node)
        return f"{name(node.left, prec)} {node.operator} {name(node.right, prec + 1)}"
    if isinstance(node, jn.Concat):
        return " ~ ".join(name(n, _CONCAT + 1) for n in node.nodes)
    if isinstance(node, jn.Compare):
        ops = "".join(f" {_CMP_OPS.get(o.op, o.op)} {name(o.expr, _ADD)}" for o in node.ops)
        return name(node.expr, _ADD) + ops
    if isinstance(node, jn.CondExpr):
        text = f"{name(node.expr1, _OR)} if {name(node.test, _OR)}"
        return text if node.expr2 is None else f"{text} else {name(node.expr2, _COND)}"
    if isinstance(node, (jn.MarkSafe, jn.MarkSafeIfAutoescape)):
        return _write(node.expr)
    if isinstance(node, (jn.EnvironmentAttribute, jn.ExtensionAttribute)):
        return str(node.name)
    if isinstance(node, jn.ImportedName):
        return str(node.importname)
    return type(node).__name__.lower()


def _test(node: jn.Test, *, negated: bool) -> str:
    args = _arguments(node)
    test = f"{node.name}({args})" if args else str(node.name)
    return f"{expression_name(node.node, _FILTER)} is {'not ' if negated else ''}{test}"


def _target_name(node: jn.Node) -> str:
    """A loop target without the tuple's parentheses: `k, v`."""
    if isinstance(node, jn.Tuple):
        return ", ".join(_target_name(i) for i in node.items)
    return expression_name(node)


# --- the walk -------------------------------------------------------------------------------------


@dataclass
class _Shared:
    """State shared by the walkers of one call: includes spliced so far, templates parsed."""

    includes: int = 0
    parsed: dict[str, jn.Template | None] = field(default_factory=dict)


class _Walker:
    def __init__(
        self,
        env: jinja2.Environment,
        load: Loader | None,
        max_depth: int,
        locator: _Locator | None,
        shared: _Shared,
        *,
        stack: tuple[str, ...] = (),
        at: tuple[int, int] | None = None,
    ) -> None:
        self.env = env
        self.load = load
        self.max_depth = max_depth
        self.locator = locator
        self.shared = shared
        self.stack = stack  # names of the includes being read, outermost first
        self.at = at  # the position every slot gets (inside an included template)

    def _tag(self, lineno: int | None, *, block: bool, word: str = "") -> _Tag | None:
        if self.locator is None or lineno is None:
            return None
        return self.locator.find(lineno, block=block, word=word)

    def _slot(self, name: str, lineno: int | None, tag: _Tag | None) -> JinjaSlot:
        if self.at is not None:
            return JinjaSlot(name, *self.at)
        if tag is not None:
            return JinjaSlot(name, tag.line, tag.column)
        return JinjaSlot(name, lineno or 1, 1)

    def _skip(self, tag: _Tag | None) -> None:
        if self.locator is not None:
            self.locator.skip_block(tag)

    def walk(self, body: Sequence[jn.Node]) -> list[JinjaPart]:
        parts: list[JinjaPart] = []
        for node in body:
            self._node(node, parts)
        return parts

    def _node(self, node: jn.Node, parts: list[JinjaPart]) -> None:
        lineno = node.lineno
        if isinstance(node, jn.Output):
            for child in node.nodes:
                if isinstance(child, jn.TemplateData):
                    parts.append(child.data)
                    continue
                tag = self._tag(child.lineno, block=False)
                value = child.value if isinstance(child, jn.Const) else None
                if isinstance(value, (str, int, float)):  # `{{ "{{" }}`: jinja prints str(value)
                    parts.append(str(value))
                else:
                    parts.append(self._slot(expression_name(child), child.lineno, tag))
        elif isinstance(node, jn.If):
            tag = self._tag(lineno, block=True, word="if")
            parts.extend(self._if(node, tag))
            self._skip(tag)
        elif isinstance(node, jn.For):
            tag = self._tag(lineno, block=True, word="for")
            name = f"for {_target_name(node.target)} in {expression_name(node.iter, _OR)}"
            if node.test is not None:
                name += f" if {expression_name(node.test, _OR)}"
            parts.append(self._slot(name, lineno, tag))
            self._skip(tag)
        elif isinstance(node, jn.Include):
            tag = self._tag(lineno, block=True, word="include")
            parts.extend(self._include(node, tag))
        elif isinstance(node, jn.Extends):
            tag = self._tag(lineno, block=True, word="extends")
            parts.append(self._slot(f"extends {expression_name(node.template)}", lineno, tag))
        elif isinstance(node, jn.Block):
            self._tag(lineno, block=True, word="block")
            parts.extend(self.walk(node.body))
        elif isinstance(node, jn.With):
            self._tag(lineno, block=True, word="with")
            parts.extend(self.walk(node.body))
        elif isinstance(node, jn.Scope) and all(
            isinstance(n, jn.ScopedEvalContextModifier) for n in node.body
        ):  # `{% autoescape %}`: the scope and its modifier are one tag
            self._tag(node.body[0].lineno if node.body else None, block=True, word="autoescape")
            for inner in node.body:
                assert isinstance(inner, jn.ScopedEvalContextModifier)
                parts.extend(self.walk(inner.body))
        elif isinstance(node, (jn.Scope, jn.OverlayScope, jn.ScopedEvalContextModifier)):
            parts.extend(self.walk(node.body))
        elif isinstance(node, jn.FilterBlock):
            tag = self._tag(lineno, block=True, word="filter")
            parts.append(self._slot(f"filter {expression_name(node.filter)}", lineno, tag))
            self._skip(tag)
        elif isinstance(node, jn.CallBlock):
            tag = self._tag(lineno, block=True, word="call")
            parts.append(self._slot(f"call {expression_name(node.call)}", lineno, tag))
            self._skip(tag)
        elif isinstance(node, (jn.Macro, jn.AssignBlock)):
            word = "macro" if isinstance(node, jn.Macro) else "set"
            self._skip(self._tag(lineno, block=True, word=word))
        elif isinstance(node, jn.Assign):
            self._tag(lineno, block=True, word="set=")
        elif isinstance(
            node,
            (jn.Import, jn.FromImport, jn.ExprStmt, jn.EvalContextModifier, jn.Break, jn.Continue),
        ):
            pass  # produce no text; their tags are passed by the next lookup
        else:  # a statement of some extension: its text, if any, is unknown
            tag = self._tag(lineno, block=True)
            parts.append(self._slot(type(node).__name__.lower(), lineno, tag))

    def _if(self, node: jn.If, tag: _Tag | None) -> list[JinjaPart]:
        branches = [node.body, *(e.body for e in node.elif_), node.else_]
        texts: set[str] = set()
        for branch in branches:
            branch_parts = _merge(self.walk(branch))
            if any(isinstance(p, JinjaSlot) for p in branch_parts):
                texts.clear()
                break
            texts.add("".join(p for p in branch_parts if isinstance(p, str)))
        if len(texts) == 1:
            return [texts.pop()]
        return [self._slot(f"if {expression_name(node.test)}", node.lineno, tag)]

    def _include(self, node: jn.Include, tag: _Tag | None) -> list[JinjaPart]:
        template = node.template
        slot = self._slot(f"include {expression_name(template)}", node.lineno, tag)
        if not isinstance(template, jn.Const) or not isinstance(template.value, str):
            return [slot]
        name = template.value
        if (
            self.load is None
            or name in self.stack
            or len(self.stack) >= self.max_depth
            or self.shared.includes >= _MAX_INCLUDES
        ):
            return [slot]
        tree = self._parse_included(name)
        if tree is None:
            return [slot]
        self.shared.includes += 1
        at = self.at if self.at is not None else (slot.line, slot.column)
        inner = _Walker(
            self.env,
            self.load,
            self.max_depth,
            None,
            self.shared,
            stack=(*self.stack, name),
            at=at,
        )
        return inner.walk(tree.body)

    def _parse_included(self, name: str) -> jn.Template | None:
        shared = self.shared
        if name not in shared.parsed:
            assert self.load is not None
            source = self.load(name)
            tree: jn.Template | None = None
            if source is not None:
                try:
                    tree = self.env.parse(source, name=name)
                except (jinja2.TemplateError, RecursionError):
                    tree = None
            shared.parsed[name] = tree
        return shared.parsed[name]
