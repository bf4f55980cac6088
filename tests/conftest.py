"""Shared helpers for the test suite.

The extractor tests compare whole rendered templates rather than counting segments: `render` turns
a `Template` into a string with static text verbatim and each slot as `{name}`, flagged `!v`
(volatile), `!u` (unordered) and/or `!h` (history), e.g. `"Today is {now()!v}. Rules..."`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path

import pytest

from promptlint.config import Settings
from promptlint.extract import extract_source
from promptlint.model import Block, CallSite, FileModel, Slot, Span, Template, Text


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's CLI runs get a cache of their own: no result leaks between tests (a test that
    breaks extraction on purpose must not read another's), and none lands in the checkout."""
    monkeypatch.setenv("PROMPTLINT_CACHE_DIR", str(tmp_path / ".promptlint_cache"))


def extract(source: str, settings: Settings | None = None, path: str = "mod.py") -> FileModel:
    """Extract a (dedented) source text with default settings unless given."""
    return extract_source(path, textwrap.dedent(source), settings or Settings())


def render_slot(slot: Slot) -> str:
    flags = "".join(
        mark
        for mark, on in (("v", slot.volatile), ("u", slot.unordered), ("h", slot.history))
        if on
    )
    return "{" + slot.name + ("!" + flags if flags else "") + "}"


def render(template: Template) -> str:
    """Static text verbatim, slots as `{name}` / `{name!v}` / `{name!u}` / `{name!h}`."""
    out: list[str] = []
    for segment in template.segments:
        if isinstance(segment, Text):
            out.append(segment.text)
        else:
            out.append(render_slot(segment))
    return "".join(out)


def render_blocks(blocks: Iterable[Block]) -> list[str]:
    return [render(b.content) for b in blocks]


def conversation(site: CallSite) -> list[tuple[str, list[str]]]:
    """A call site's messages as (role, [rendered block, ...]) in cache order."""
    return [(m.role, render_blocks(m.blocks)) for m in site.messages]


def only_site(source: str, settings: Settings | None = None) -> CallSite:
    """The single call site of a source; fails when there is not exactly one."""
    model = extract(source, settings)
    assert model.parse_error is None, model.parse_error
    assert len(model.call_sites) == 1, model.call_sites
    return model.call_sites[0]


def locate(source: str, needle: str, occurrence: int = 1, part: str | None = None) -> Span:
    """The 1-based span (end column exclusive) of the n-th occurrence of a one-line `needle` in
    the dedented source, as the model reports spans; with `part`, of `part` inside that needle."""
    text = textwrap.dedent(source)
    assert "\n" not in needle
    offset = -1
    for _ in range(occurrence):
        offset = text.find(needle, offset + 1)
        assert offset >= 0, f"{needle!r} occurs fewer than {occurrence} times"
    if part is not None:
        inner = needle.find(part)
        assert inner >= 0, f"{part!r} is not inside {needle!r}"
        offset, needle = offset + inner, part
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Span(line, column, line, column + len(needle))


def line_of(source: str, needle: str, occurrence: int = 1) -> int:
    return locate(source, needle, occurrence).line
