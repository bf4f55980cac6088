"""Source positions for the few nodes that end up in the model, and the freeze into it.

libcst's `PositionProvider` records a range for every node of the module, which costs about twice
the parse. Here one code-generation pass records ranges only for the requested nodes and stops as
soon as the last of them is done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import libcst as cst
from libcst._nodes.internal import CodegenState

from promptlint.extract.fix_sites import fstring_chunks, last_arg_value, sort_keys_target
from promptlint.extract.raw import RawBlock, RawCacheControl, RawCallSite, RawMessage, RawTemplate
from promptlint.extract.values import Pending, Str, find_placeholder
from promptlint.model import (
    UNKNOWN_SPAN,
    Block,
    CacheControl,
    CallSite,
    Literal,
    Message,
    NamedTemplate,
    Replacement,
    Segment,
    Slot,
    Span,
    Template,
    Text,
)


class _AllFound(Exception):
    pass


@dataclass
class _TargetedState(CodegenState):
    """Tracks line/column like libcst's position state, but records only the target nodes."""

    targets: dict[int, cst.CSTNode] = field(default_factory=dict)
    found: dict[int, Span] = field(default_factory=dict)
    line: int = 1
    column: int = 0
    _starts: dict[int, tuple[int, int]] = field(default_factory=dict)

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            self.line += len(lines) - 1
            self.column = len(lines[-1])
        else:
            self.column += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.targets:
            self._starts.setdefault(id(node), (self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        key = id(node)
        if key in self.targets and key not in self.found:
            line, column = self._starts[key]
            self.found[key] = Span(line, column + 1, self.line, self.column + 1)
            self._check_done()

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> Iterator[None]:
        key = id(node)
        if key not in self.targets:
            yield
            return
        start = (self.line, self.column)
        yield
        # Whitespace-exclusive, as libcst's PositionProvider: hoisted from children when given.
        if start_node is not None and id(start_node) in self.found:
            s = self.found[id(start_node)]
            start = (s.line, s.column - 1)
        end = (self.line, self.column)
        if end_node is not None and id(end_node) in self.found:
            e = self.found[id(end_node)]
            end = (e.end_line, e.end_column - 1)
        self.found[key] = Span(start[0], start[1] + 1, end[0], end[1] + 1)
        self._check_done()

    def _check_done(self) -> None:
        if len(self.found) >= len(self.targets):
            raise _AllFound


def node_spans(module: cst.Module, nodes: list[cst.CSTNode]) -> dict[int, Span]:
    """Spans (1-based) of the given nodes, by `id(node)`, from one early-stopping codegen pass."""
    if not nodes:
        return {}
    state = _TargetedState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        targets={id(n): n for n in nodes},
    )
    try:
        module._codegen(state)
    except _AllFound:
        pass
    return state.found


@dataclass
class Freezer:
    """Turns raw call sites and templates into the model, resolving every span in one pass."""

    module: cst.Module
    _spans: dict[int, Span] = field(default_factory=dict)

    def freeze(
        self, sites: list[RawCallSite], *template_lists: list[RawTemplate]
    ) -> tuple[tuple[CallSite, ...], tuple[tuple[NamedTemplate, ...], ...]]:
        """The call sites and each list of templates, in the model, with one positions pass."""
        nodes: list[cst.CSTNode] = []
        for site in sites:
            nodes.extend(_site_nodes(site))
        for templates in template_lists:
            for template in templates:
                nodes.append(template.node)
                nodes.extend(_str_nodes(template.value))
        self._spans = node_spans(self.module, nodes)
        return (
            tuple(self._site(s) for s in sites),
            tuple(
                tuple(NamedTemplate(t.name, self._template(t.value, t.node)) for t in templates)
                for templates in template_lists
            ),
        )

    def span(self, node: cst.CSTNode) -> Span:
        return self._spans.get(id(node), UNKNOWN_SPAN)

    def _site(self, site: RawCallSite) -> CallSite:
        return CallSite(
            api=site.api,
            provider=site.provider,
            span=self.span(site.node),
            model=site.model,
            base_url=site.base_url,
            tools=self._template(site.tools, site.node) if site.tools is not None else None,
            system=tuple(self._block(b) for b in site.system),
            messages=tuple(self._message(m) for m in site.messages),
            cache_control=self._cache_control(site.cache_control),
            tool_breakpoints=tuple(
                CacheControl(ttl, self.span(node), offset)
                for (ttl, node), offset in site.tool_breakpoints
            ),
            system_string=self._known_span(site.system_string),
            args_end=self._end_of(last_arg_value(site.node)),
        )

    def _known_span(self, node: cst.CSTNode | None) -> Span | None:
        span = self.span(node) if node is not None else UNKNOWN_SPAN
        return None if span == UNKNOWN_SPAN else span

    def _end_of(self, node: cst.CSTNode | None) -> Span | None:
        """The empty span just after a node."""
        span = self._known_span(node)
        return None if span is None else Span(span.end_line, span.end_column, *_end(span))

    def _message(self, message: RawMessage) -> Message:
        return Message(
            message.role, tuple(self._block(b) for b in message.blocks), self.span(message.node)
        )

    def _block(self, block: RawBlock) -> Block:
        return Block(self._template(block.content, None), self._cache_control(block.cache_control))

    def _cache_control(self, raw: RawCacheControl | None) -> CacheControl | None:
        if raw is None:
            return None
        return CacheControl(raw[0], self.span(raw[1]))

    def _template(self, value: Str, node: cst.CSTNode | None) -> Template:
        segments: list[Segment] = []
        for part in value.parts:
            if isinstance(part, str):
                if segments and isinstance(segments[-1], Text):
                    segments[-1] = Text(segments[-1].text + part)
                elif part:
                    segments.append(Text(part))
            else:
                segments.append(self._slot(part))
        span = self.span(node) if node is not None else UNKNOWN_SPAN
        return Template(tuple(segments), span, self._literal(value))

    def _literal(self, value: Str) -> Literal | None:
        """The template's f-string, when the template is exactly its text."""
        if value.fstring is None or not value.fstring.node.parts:
            return None
        pendings = [p for p in value.parts if isinstance(p, Pending)]
        found = fstring_chunks(self.module, value.fstring, pendings)
        first = self._known_span(value.fstring.node.parts[0])
        last = self._known_span(value.fstring.node.parts[-1])
        if found is None or first is None or last is None:
            return None
        body = Span(first.line, first.column, last.end_line, last.end_column)
        raw = "r" in value.fstring.node.prefix.lower()
        return Literal(body, found[0], found[1], raw)

    def _slot(self, pending: Pending) -> Slot:
        span = self.span(pending.node)
        if pending.needle is not None and isinstance(pending.node, cst.SimpleString):
            span = _span_within(span, pending.node.value, pending.needle, pending.occurrence)
        return Slot(
            name=pending.name or _display(self.module, pending.node),
            span=span,
            volatile=pending.facts.volatile,
            unordered=pending.facts.unordered,
            unsorted_json=pending.facts.unsorted_json,
            per_process=pending.facts.per_process,
            passed_in=pending.facts.passed_in,
            ref=pending.ref,
            history=pending.history,
            sorted_edits=self._sorted_edits(pending, span),
            sort_keys_edits=self._sort_keys_edits(pending),
        )

    def _sorted_edits(self, pending: Pending, span: Span) -> tuple[Replacement, ...]:
        """`sorted(...)` around an unordered iterable of strings (a `join`'s argument)."""
        if not (pending.sortable and pending.facts.unordered) or span == UNKNOWN_SPAN:
            return ()
        start = Span(span.line, span.column, span.line, span.column)
        return (Replacement(start, "sorted("), Replacement(Span(*_end(span), *_end(span)), ")"))

    def _sort_keys_edits(self, pending: Pending) -> tuple[Replacement, ...]:
        call = pending.facts.json_call
        if call is None or not pending.facts.unsorted_json:
            return ()
        target = sort_keys_target(call)
        if target is None:
            return ()
        node, content, replace = target
        span = self._known_span(node)
        if span is None:
            return ()
        return (Replacement(span if replace else Span(*_end(span), *_end(span)), content),)


def _span_within(outer: Span, source: str, needle: str, occurrence: int) -> Span:
    """The span of a placeholder inside a literal's source text."""
    offset = find_placeholder(source, needle, occurrence)
    if offset < 0 or outer is UNKNOWN_SPAN:
        return outer
    before = source[:offset]
    newlines = before.count("\n")
    if newlines:
        column = offset - before.rfind("\n")
    else:
        column = outer.column + offset
    line = outer.line + newlines
    length = len(needle)
    if needle.startswith("{"):  # a format placeholder: cover it up to its closing brace
        close = source.find("}", offset)
        if close >= 0 and "\n" not in source[offset:close]:
            length = close + 1 - offset
    return Span(line, column, line, column + length)


def _end(span: Span) -> tuple[int, int]:
    return span.end_line, span.end_column


def _display(module: cst.Module, node: cst.CSTNode) -> str:
    code = " ".join(module.code_for_node(node).split())
    return code if len(code) <= 40 else code[:37] + "..."


def _str_nodes(value: Str) -> Iterator[cst.CSTNode]:
    for part in value.parts:
        if isinstance(part, Pending):
            yield part.node
            target = sort_keys_target(part.facts.json_call) if part.facts.json_call else None
            if target is not None:
                yield target[0]
    if value.fstring is not None and value.fstring.node.parts:
        yield value.fstring.node.parts[0]
        yield value.fstring.node.parts[-1]


def _block_nodes(block: RawBlock) -> Iterator[cst.CSTNode]:
    yield from _str_nodes(block.content)
    if block.cache_control is not None:
        yield block.cache_control[1]


def _site_nodes(site: RawCallSite) -> Iterator[cst.CSTNode]:
    yield site.node
    if site.system_string is not None:
        yield site.system_string
    last = last_arg_value(site.node)
    if last is not None:
        yield last
    if site.tools is not None:
        yield from _str_nodes(site.tools)
    for block in site.system:
        yield from _block_nodes(block)
    for message in site.messages:
        yield message.node
        for block in message.blocks:
            yield from _block_nodes(block)
    if site.cache_control is not None:
        yield site.cache_control[1]
    for (_, node), _ in site.tool_breakpoints:
        yield node
