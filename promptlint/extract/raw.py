"""The interpreter's output before positions are known: call sites and templates that still point
at libcst nodes. `positions.freeze` turns them into the public prompt model."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from promptlint.extract.values import Str, Value


@dataclass
class Binding:
    """A variable's value at one point of the code, and the variables it was computed from."""

    value: Value
    statement: cst.CSTNode | None
    deps: list[Binding] = field(default_factory=list)


# (ttl, node of the cache_control value)
RawCacheControl = tuple[str | None, cst.CSTNode]


@dataclass
class RawBlock:
    content: Str
    cache_control: RawCacheControl | None = None


@dataclass
class RawMessage:
    role: str
    blocks: list[RawBlock]
    node: cst.CSTNode


@dataclass
class RawCallSite:
    api: str
    provider: str
    node: cst.Call
    model: str | None = None
    base_url: str | None = None
    tools: Str | None = None
    system: list[RawBlock] = field(default_factory=list)
    messages: list[RawMessage] = field(default_factory=list)
    cache_control: RawCacheControl | None = None
    # (breakpoint, where its tool ends in the tools' text when the tools are a literal list)
    tool_breakpoints: list[tuple[RawCacheControl, int | None]] = field(default_factory=list)
    # The `system=` argument when it is a string, not a list of blocks (PC402's fix wraps it).
    system_string: cst.CSTNode | None = None
    # The bindings (variables) its arguments read, to know which named templates it consumed.
    reads: list[Binding] = field(default_factory=list)


@dataclass
class RawTemplate:
    name: str
    value: Str
    node: cst.CSTNode
    binding: Binding
