"""The prompt model (DESIGN §3) and findings: plain frozen dataclasses, no behaviour beyond views.

The extractor builds these from source; rules and the estimator only ever read them. Everything
here is picklable and free of libcst objects, so a `FileModel` can cross processes and be cached.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, order=True)
class Span:
    """A source range; lines and columns are 1-based, the end is exclusive in columns."""

    line: int
    column: int
    end_line: int
    end_column: int
    cell: int | None = None  # in a notebook: the cell, and the lines count within it


UNKNOWN_SPAN = Span(1, 1, 1, 1)


@dataclass(frozen=True)
class Replacement:
    """Source text a fix would put at `span` (empty span: an insertion). The extractor prepares
    these where it sees the source, and a rule's fix turns them into edits (`checks/edits.py`)."""

    span: Span
    content: str


@dataclass(frozen=True)
class Text:
    """A run of static prompt text: identical on every request."""

    text: str


@dataclass(frozen=True)
class Slot:
    """A dynamic value spliced into a prompt.

    `volatile`: changes on every request (`datetime.now()`, `uuid4()`, `random.*`).
    `unordered`: its text comes from iterating something with no fixed order (a set, `os.listdir`).
    `history`: a spliced conversation history, append-only across the turns of one conversation.
    `unsorted_json`: `json.dumps` of a value whose key order the source does not fix, without
    `sort_keys=True`.
    """

    name: str
    span: Span = UNKNOWN_SPAN
    volatile: bool = False
    unordered: bool = False
    history: bool = False
    unsorted_json: bool = False
    # Computed once when the module is imported (a module constant built by code): the same on
    # every request, so it does not end the stable prefix. Its size is not known statically.
    per_process: bool = False
    # A parameter or an attribute set elsewhere: the value is made by the caller, not here.
    passed_in: bool = False
    # An imported name (`.prompts.SYSTEM`, `pkg.helpers.build()`) the link stage may resolve.
    ref: str | None = None
    # The file the slot's span is in, when linking brought it from another module.
    path: str | None = None
    # Edits that fix its order, when well-defined: `sorted(...)` around a `join`'s argument
    # (PC201), `sort_keys=True` on the `json.dumps` call that made it (PC202). Empty otherwise.
    # Fix data, not what the prompt is: left out of comparisons (as the other fix fields).
    sorted_edits: tuple[Replacement, ...] = field(default=(), compare=False)
    sort_keys_edits: tuple[Replacement, ...] = field(default=(), compare=False)


Segment = Text | Slot


@dataclass(frozen=True)
class Literal:
    """A template written as one f-string, as the source spells it (PC101/PC102 fixes move its
    lines). `chunks` is the source between the quotes, cut into text runs (even indexes, maybe
    empty) and `{...}` replacement fields (odd indexes); `slot_chunks` gives, for each slot of the
    template in order, the field it comes from. `raw`: an r-string (no backslash escapes)."""

    span: Span  # the source between the quotes
    chunks: tuple[str, ...]
    slot_chunks: tuple[int, ...]
    raw: bool = False


@dataclass(frozen=True)
class Template:
    """An ordered list of segments: what a prompt string looks like before it is rendered."""

    segments: tuple[Segment, ...]
    span: Span = UNKNOWN_SPAN
    # Set when the whole template is one f-string in the source (fixes reorder its text).
    literal: Literal | None = field(default=None, compare=False)

    @property
    def is_static(self) -> bool:
        return all(isinstance(s, Text) for s in self.segments)

    @property
    def slots(self) -> tuple[Slot, ...]:
        return tuple(s for s in self.segments if isinstance(s, Slot))

    @property
    def static_text(self) -> str:
        return "".join(s.text for s in self.segments if isinstance(s, Text))


@dataclass(frozen=True)
class CacheControl:
    """A `cache_control` breakpoint on a content block (or the request-level automatic one).

    `ttl`: None when none is given (the provider's default), "?" when the source does not fix it.
    """

    ttl: str | None
    span: Span = UNKNOWN_SPAN
    # On a tool definition: where that tool ends in the tools' text (the breakpoint caches the
    # tools up to there, not the ones after it). None elsewhere, or when the tools are dynamic.
    offset: int | None = None


@dataclass(frozen=True)
class Block:
    """One content block of a system prompt or a message (a plain string content is one block)."""

    content: Template
    cache_control: CacheControl | None = None


@dataclass(frozen=True)
class Message:
    """A message in a request. `role` is the literal role, or "?" when the source does not fix it.

    A message whose whole value is dynamic (`*history`, `messages=history`) is one block holding one
    slot; `Slot.history` tells a spliced conversation history from other dynamic messages.
    """

    role: str
    blocks: tuple[Block, ...]
    span: Span = UNKNOWN_SPAN

    @property
    def is_history(self) -> bool:
        return any(
            isinstance(seg, Slot) and seg.history for b in self.blocks for seg in b.content.segments
        )


@dataclass(frozen=True)
class CallSite:
    """One LLM API call: everything it sends, in cache order (tools -> system -> messages)."""

    api: str  # "openai.chat", "openai.responses", "anthropic.messages", ...
    provider: str  # SDK family: "openai", "anthropic", "gemini", "litellm"
    span: Span
    model: str | None = None
    base_url: str | None = None
    tools: Template | None = None
    system: tuple[Block, ...] = ()
    messages: tuple[Message, ...] = ()
    cache_control: CacheControl | None = None  # request-level automatic breakpoint
    tool_breakpoints: tuple[CacheControl, ...] = ()  # `cache_control` on tool definitions
    # Where fixes edit the call: the `system=` argument when it is a plain string (not a list of
    # blocks), and the empty span after the last argument, where `, name=value` can go (None when
    # the call unpacks `*args`/`**kwargs`, or has no arguments).
    system_string: Span | None = field(default=None, compare=False)
    args_end: Span | None = field(default=None, compare=False)

    def cache_parts(self) -> Iterator[tuple[Template, CacheControl | None]]:
        """Every part of the request in cache order (tools, system blocks, message blocks), each
        with the breakpoint that ends it, if any."""
        if self.tools is not None:
            yield from self._tool_parts(self.tools)
        for block in self.system:
            yield block.content, block.cache_control
        for message in self.messages:
            for block in message.blocks:
                yield block.content, block.cache_control

    def _tool_parts(self, tools: Template) -> Iterator[tuple[Template, CacheControl | None]]:
        """The tools' text cut after each tool that carries a breakpoint."""
        offsets = [b for b in self.tool_breakpoints if b.offset is not None]
        if not tools.is_static or len(offsets) != len(self.tool_breakpoints):
            yield tools, (self.tool_breakpoints[-1] if self.tool_breakpoints else None)
            return
        text, start = tools.static_text, 0
        for breakpoint in offsets:
            assert breakpoint.offset is not None
            yield Template((Text(text[start : breakpoint.offset]),)), breakpoint
            start = breakpoint.offset
        if start < len(text):
            yield Template((Text(text[start:]),)), None

    def breakpoints(self) -> tuple[CacheControl, ...]:
        """Every explicit breakpoint in cache order, the request-level automatic one last."""
        found = list(self.tool_breakpoints)
        for block in self.system:
            if block.cache_control is not None:
                found.append(block.cache_control)
        for message in self.messages:
            for block in message.blocks:
                if block.cache_control is not None:
                    found.append(block.cache_control)
        if self.cache_control is not None:
            found.append(self.cache_control)
        return tuple(found)

    @property
    def final_user_message(self) -> Message | None:
        """The last message when its role is user (DESIGN §4); tools are never part of it."""
        if self.messages and self.messages[-1].role == "user":
            return self.messages[-1]
        return None

    def prompt_parts(self) -> Iterator[tuple[Template, Message | None]]:
        """Every prompt template after the tools, in cache order, with the message holding it."""
        for block in self.system:
            yield block.content, None
        for message in self.messages:
            for block in message.blocks:
                yield block.content, message


@dataclass(frozen=True)
class NamedTemplate:
    """A prompt-named template (`SYSTEM_PROMPT = ...`) that no call site of its module consumed."""

    name: str
    template: Template


@dataclass(frozen=True)
class ParseError:
    """Why a file could not be read or parsed, and where (1-based)."""

    message: str
    line: int
    column: int
    internal: bool = False  # promptlint failed on this file (a bug to report), not the file
    cell: int | None = None  # in a notebook
    # With `internal`: the formatted traceback, made where it happened (a worker process's
    # traceback does not cross the pool), for `--show-traceback`. Never cached.
    trace: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Suppression:
    """An inline suppression comment, read from the file's original text (`suppress.py`).

    `kind`: "ignore" (`# promptlint: ignore[...]`), "noqa" (`# noqa: PC...`), "skip-file", or
    "invalid" (a malformed promptlint directive: it suppresses nothing, `problem` says why).
    `codes`: as written (codes or rule names; for noqa only the PC codes); empty: every rule.
    `span`: the directive within its comment. It covers `first_line`..`last_line` (in
    `span.cell` for a notebook): its own line, or the logical line (a simple statement, or a
    compound statement's header) it is written on the first line of, or the multi-line string it
    follows.
    """

    kind: str
    span: Span
    first_line: int
    last_line: int
    codes: tuple[str, ...] = ()
    problem: str | None = None


@dataclass(frozen=True)
class FileModel:
    """What extraction learned from one file: a pure function of (path, bytes, settings)."""

    path: str
    call_sites: tuple[CallSite, ...] = ()
    templates: tuple[NamedTemplate, ...] = ()
    parse_error: ParseError | None = None
    # Module-level string templates and template-returning functions (`name()`), for importers.
    exports: tuple[NamedTemplate, ...] = ()
    # False when extraction skipped definitions that cannot hold a prompt (`extract/pruning.py`):
    # a name missing from `exports` may then still be exported, and an importer re-reads it whole.
    exports_complete: bool = True
    # Inline suppression comments, in source order (`suppress.py`).
    suppressions: tuple[Suppression, ...] = ()


@dataclass(frozen=True)
class Edit:
    line: int
    column: int
    end_line: int
    end_column: int
    content: str


@dataclass(frozen=True)
class Fix:
    applicability: str  # "safe" | "unsafe"
    message: str
    edits: tuple[Edit, ...] = ()


@dataclass(frozen=True, order=True)
class Finding:
    """One reported problem. Output order is `sort_key`: path, cell, position, code."""

    path: str
    line: int
    column: int
    code: str
    end_line: int = field(compare=False)
    end_column: int = field(compare=False)
    name: str = field(compare=False)
    severity: Severity = field(compare=False)
    message: str = field(compare=False)
    fix: Fix | None = field(default=None, compare=False)
    cell: int | None = field(default=None, compare=False)  # in a notebook; lines are the cell's

    @property
    def sort_key(self) -> tuple[str, int, int, int, str]:
        return (self.path, self.cell or 0, self.line, self.column, self.code)
