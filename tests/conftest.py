"""Shared helpers for the test suite.

The extractor tests compare whole rendered templates rather than counting segments: `render` turns
a `Template` into a string with static text verbatim and each slot as `{name}`, flagged `!v`
(volatile), `!u` (unordered) and/or `!h` (history), e.g. `"Today is {now()!v}. Rules..."`.

Every test runs with the network blocked in its own process (`_no_network`): promptlint must never
need it. Tests that start subprocesses block it there themselves (tests/test_cli.py,
tests/test_tokens.py, tests/test_no_execution.py), or point proxies at a dead port.
"""

from __future__ import annotations

import ipaddress
import socket
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from promptlint.config import Settings
from promptlint.extract import extract_source
from promptlint.model import Block, CallSite, FileModel, Slot, Span, Template, Text

# The few tests that take seconds (a hook installed by pre-commit, subprocess runs over a
# generated project): started first, so that the workers of `-n auto` finish together instead
# of one of them starting a long test when the others are done.
_SLOW_FIRST = (
    "test_precommit.py",
    "test_determinism.py",
    "test_no_execution.py",
    "test_parallel.py",
    "test_cache.py",
    "test_server.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return _SLOW_FIRST.index(name) if name in _SLOW_FIRST else len(_SLOW_FIRST)

    items.sort(key=rank)  # stable: the order within a file is kept


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's CLI runs get a cache of their own: no result leaks between tests (a test that
    breaks extraction on purpose must not read another's), and none lands in the checkout."""
    monkeypatch.setenv("PROMPTLINT_CACHE_DIR", str(tmp_path / ".promptlint_cache"))


class NetworkBlocked(RuntimeError):
    """A test tried to reach another host. Not an OSError, so that no `except OSError` in the
    code under test can take it for a network that is merely down."""


def _is_local(host: Any) -> bool:
    """Loopback, unspecified (which connects locally) or no host at all."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host in ("", "localhost") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.partition("%")[0])  # an IPv6 scope id
    except ValueError:
        return False  # a name: resolving it is already network access
    return address.is_loopback or address.is_unspecified


def _guard(host: Any, what: str) -> None:
    if not _is_local(host):
        raise NetworkBlocked(f"network access attempted in a test: {what} {host!r}")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections and name lookups to anything but this machine raise `NetworkBlocked`; Unix
    sockets and loopback (a test's own server) still work."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
    getaddrinfo, create_connection = socket.getaddrinfo, socket.create_connection

    def host_of(sock: socket.socket, address: Any) -> Any:
        inet = sock.family in (socket.AF_INET, socket.AF_INET6)
        return address[0] if inet and isinstance(address, tuple) else None

    def guarded_connect(self: socket.socket, address: Any) -> None:
        _guard(host_of(self, address), "connect to")
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        _guard(host_of(self, address), "connect to")
        return connect_ex(self, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        _guard(host, "look up")
        return getaddrinfo(host, *args, **kwargs)

    def guarded_create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        _guard(address[0], "connect to")
        return create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", guarded_create_connection)


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
