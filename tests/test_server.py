"""The language server (`promptlint server`), driven as an editor drives it: a subprocess spoken
to in JSON-RPC with Content-Length framing over stdin/stdout, every wait bounded by a timeout.
The conversions it relies on (positions in UTF-8/16/32 units, quick fixes) are also tested
in-process, where a case costs no server start."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

pytest.importorskip("pygls", reason="the language server needs the lsp extra")

from lsprotocol import types as lsp

from promptlint.checks import RULES
from promptlint.config import Settings
from promptlint.engine import check_document
from promptlint.estimate import Estimator
from promptlint.model import Edit, Finding, Fix, Severity
from promptlint.providers import bundled_profiles
from promptlint.server import Positions, code_actions, hover_text, lint, source_bytes
from promptlint.tokens import TokenCounter

TIMEOUT = 60.0  # seconds for any one answer: generous for a loaded CI machine, but a hang fails

# A PC101 (`user_name` before the rules) and a PC201 (a set joined into the prompt). The emoji
# before `{user_name}` takes two UTF-16 units but one character.
FAULTY = textwrap.dedent(
    """\
    from openai import OpenAI

    client = OpenAI()

    TAGS = {"billing", "outage", "account"}


    def answer(user_name: str, question: str) -> str:
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {
                    "role": "system",
                    "content": f"😀 You are helping {user_name}. You answer questions about Acme "
                    "Cloud, a hosting service. Be brief and exact, cite the page you rely on, and "
                    "never invent a feature. If you do not know, say so and suggest contacting "
                    "support. Tags: " + ", ".join(TAGS),
                },
                {"role": "user", "content": question},
            ],
        )
        return response.choices[0].message.content
    """
)
CLEAN = FAULTY.replace("😀 You are helping {user_name}. ", "").replace(' + ", ".join(TAGS)', "")


class LspClient:
    """Just enough of an LSP client: requests, notifications, and answers to the server's own
    requests (with null), reading the server's output on a thread so every wait can time out."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._unread: list[dict[str, Any]] = []
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    self._inbox.put(None)
                    return
                if not line.strip():
                    break
                key, _, value = line.decode("ascii").partition(":")
                headers[key.strip().lower()] = value.strip()
            self._inbox.put(json.loads(stream.read(int(headers["content-length"]))))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def _receive(self) -> dict[str, Any]:
        try:
            message = self._inbox.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no message from the server in {TIMEOUT} s") from None
        if message is None:
            raise AssertionError("the server closed its output")
        if "method" in message and "id" in message:  # a request to the client
            self.send({"id": message["id"], "result": None})
        return message

    def request(self, method: str, params: Any) -> Any:
        self._next_id += 1
        ident = self._next_id
        self.send({"id": ident, "method": method, "params": params})
        while True:
            message = self._receive()
            if message.get("id") == ident and "method" not in message:
                assert "error" not in message, message["error"]
                return message.get("result")
            self._unread.append(message)

    def notification(
        self, method: str, accept: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> dict[str, Any]:
        """The params of the first (unread) notification `method` that `accept` takes."""
        while True:
            for message in self._unread:
                if message.get("method") == method and accept(message["params"]):
                    self._unread.remove(message)
                    params: dict[str, Any] = message["params"]
                    return params
            self._unread.append(self._receive())

    def diagnostics(self, uri: str, version: int | None = None) -> list[dict[str, Any]]:
        def accept(params: dict[str, Any]) -> bool:
            return bool(params["uri"] == uri and (version is None or params["version"] == version))

        found: list[dict[str, Any]] = self.notification("textDocument/publishDiagnostics", accept)[
            "diagnostics"
        ]
        return found


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., tuple[LspClient, dict[str, Any]]]]:
    """Starts `python -m promptlint server` in tmp_path and initialises it; the process is
    killed at teardown whatever the test did."""
    processes: list[subprocess.Popen[bytes]] = []

    def run(encodings: list[str] | None = None, *args: str) -> tuple[LspClient, dict[str, Any]]:
        stderr = (tmp_path / f"server-{len(processes)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "promptlint", "server", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=tmp_path,
        )
        processes.append(process)
        client = LspClient(process)
        general = {"positionEncodings": encodings} if encodings else {}
        capabilities = {
            "general": general,
            "workspace": {"workspaceEdit": {"documentChanges": True}},
            "textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]}},
        }
        result = client.request(
            "initialize",
            {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": capabilities},
        )
        client.notify("initialized", {})
        return client, result

    yield run
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=TIMEOUT)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


def _open(client: LspClient, uri: str, text: str) -> None:
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
    )


def _position(text: str, needle: str, units: str = "utf-16") -> dict[str, int]:
    """The LSP position of `needle`'s first occurrence, its column counted in `units`."""
    offset = text.index(needle)
    line = text.count("\n", 0, offset)
    before = text[text.rfind("\n", 0, offset) + 1 : offset]
    codec, unit = {"utf-8": ("utf-8", 1), "utf-16": ("utf-16-le", 2), "utf-32": ("utf-32-le", 4)}[
        units
    ]
    return {"line": line, "character": len(before.encode(codec)) // unit}


def _apply(text: str, edits: list[dict[str, Any]]) -> str:
    """Apply LSP text edits (UTF-16 positions) to a text with \\n line ends, last edit first."""
    lines = text.split("\n")

    def offset(position: dict[str, int]) -> int:
        line = lines[position["line"]]
        encoded = line.encode("utf-16-le")[: 2 * position["character"]]
        start = sum(len(x) + 1 for x in lines[: position["line"]])
        return start + len(encoded.decode("utf-16-le"))

    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        start, end = offset(edit["range"]["start"]), offset(edit["range"]["end"])
        text = text[:start] + edit["newText"] + text[end:]
    return text


def _expected_estimate(text: str) -> Any:
    settings = Settings()
    estimator = Estimator(TokenCounter(), bundled_profiles(), settings.dynamic_tokens)
    _, model = check_document("app.py", text.encode(), settings, RULES, estimator)
    (site,) = model.call_sites
    return estimator.estimate(site)


def test_an_editor_session_gets_diagnostics_hover_fixes_and_a_clean_exit(
    start: Callable[..., tuple[LspClient, dict[str, Any]]], tmp_path: Path
) -> None:
    client, init = start()
    capabilities = init["capabilities"]
    assert init["serverInfo"]["name"] == "promptlint"
    assert capabilities["positionEncoding"] == "utf-16"
    assert capabilities["hoverProvider"]
    assert capabilities["codeActionProvider"] == {"codeActionKinds": ["quickfix"]}
    uri = (tmp_path / "app.py").as_uri()

    _open(client, uri, FAULTY)
    found = client.diagnostics(uri, version=1)
    assert [(d["code"], d["severity"], d["source"]) for d in found] == [
        ("PC101", 2, "promptlint"),
        ("PC201", 2, "promptlint"),
    ]
    pc101, pc201 = found
    start101 = _position(FAULTY, "user_name}")  # after the emoji: its UTF-16 column
    end101 = {**start101, "character": start101["character"] + len("user_name")}
    assert pc101["range"] == {"start": start101, "end": end101}
    assert "user_name" in pc101["message"]
    assert pc101["codeDescription"]["href"].startswith("file://")
    assert pc101["codeDescription"]["href"].endswith("/PC101.md")
    page = Path(url2pathname(urlparse(pc101["codeDescription"]["href"]).path))
    assert page.read_text(encoding="utf-8").startswith("---\ncode: PC101")
    assert pc201["range"]["start"] == _position(FAULTY, "TAGS)")

    # Hover on the call: the figures of the estimator for this call site.
    figures = _expected_estimate(FAULTY)
    shown = client.request(
        "textDocument/hover",
        {"textDocument": {"uri": uri}, "position": _position(FAULTY, "completions.create")},
    )
    assert shown["contents"]["kind"] == "markdown"
    text = shown["contents"]["value"]
    assert "`openai.chat` call, model `gpt-4o-mini`" in text
    assert f"| static prefix | {figures.static_prefix_tokens:,} |" in text
    assert f"| estimated total | {figures.estimated_total_tokens:,} |" in text
    assert f"| cache-eligible | {figures.cache_eligible_tokens:,} (" in text
    assert f"Profile `{figures.profile.name}`" in text
    assert shown["range"]["start"] == _position(FAULTY, "client.chat")
    outside = {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 2}}
    assert client.request("textDocument/hover", outside) is None

    # The PC201 quick fix, applied as an editor would, removes that finding.
    actions = client.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": uri},
            "range": pc201["range"],
            "context": {"diagnostics": [pc201]},
        },
    )
    (action,) = [a for a in actions if a["diagnostics"][0]["code"] == "PC201"]
    assert action["kind"] == "quickfix"
    (change,) = action["edit"]["documentChanges"]
    assert change["textDocument"] == {"uri": uri, "version": 1}
    fixed = _apply(FAULTY, change["edits"])
    assert fixed != FAULTY
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]},
    )
    assert [d["code"] for d in client.diagnostics(uri, version=2)] == ["PC101"]

    # A clean text clears the diagnostics; so does closing the document.
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": CLEAN}]},
    )
    assert client.diagnostics(uri, version=3) == []
    _open(client, (tmp_path / "other.py").as_uri(), FAULTY)
    other = client.diagnostics((tmp_path / "other.py").as_uri())
    assert [d["code"] for d in other] == ["PC101", "PC201"]
    client.notify(
        "textDocument/didClose", {"textDocument": {"uri": (tmp_path / "other.py").as_uri()}}
    )
    assert client.diagnostics((tmp_path / "other.py").as_uri()) == []

    assert client.request("shutdown", None) is None
    client.notify("exit", None)
    assert client.process.wait(timeout=TIMEOUT) == 0


def test_the_server_speaks_the_position_encoding_the_client_prefers(
    start: Callable[..., tuple[LspClient, dict[str, Any]]], tmp_path: Path
) -> None:
    client, init = start(["utf-8", "utf-16"], "--stdio")  # as some clients start servers
    assert init["capabilities"]["positionEncoding"] == "utf-8"
    uri = (tmp_path / "app.py").as_uri()
    _open(client, uri, FAULTY)
    pc101 = client.diagnostics(uri)[0]
    assert pc101["range"]["start"] == _position(FAULTY, "user_name}", "utf-8")
    # Hover positions are read in the same units: the emoji is 4 bytes here.
    on_call = _position(FAULTY, "client.chat", "utf-8")
    shown = client.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": on_call}
    )
    assert shown["range"]["start"] == on_call


def test_each_document_gets_the_config_nearest_to_it(
    start: Callable[..., tuple[LspClient, dict[str, Any]]], tmp_path: Path
) -> None:
    (tmp_path / "promptlint.toml").write_text('extend-exclude = ["generated"]\n')
    for name, config in [
        ("quiet", 'ignore = ["PC201"]\n'),
        ("broken", "no-such-key = 1\n"),
        ("generated", None),
    ]:
        (tmp_path / name).mkdir()
        if config is not None:
            (tmp_path / name / "promptlint.toml").write_text(config)
    client, _ = start()
    uris = {
        name: (tmp_path / name / "app.py").as_uri() for name in ("quiet", "broken", "generated")
    }
    for uri in uris.values():
        _open(client, uri, FAULTY)
    assert [d["code"] for d in client.diagnostics(uris["quiet"])] == ["PC101"]
    (problem,) = client.diagnostics(uris["broken"])
    assert problem["severity"] == 1 and "code" not in problem
    assert problem["range"]["start"] == {"line": 0, "character": 0}
    assert "no-such-key" in problem["message"] and "promptlint.toml" in problem["message"]
    assert client.diagnostics(uris["generated"]) == []  # excluded, as with --force-exclude
    # A config edited while the server runs counts from the next change on.
    (tmp_path / "broken" / "promptlint.toml").write_text('select = ["PC2"]\n')
    client.notify("textDocument/didSave", {"textDocument": {"uri": uris["broken"]}})
    assert [d["code"] for d in client.diagnostics(uris["broken"])] == ["PC201"]


def test_server_without_pygls_says_how_to_install_it() -> None:
    probe = (
        "import sys; sys.modules['pygls'] = None; sys.argv = ['promptlint', 'server']\n"
        "from promptlint.cli import main; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert proc.returncode == 2
    assert "pip install 'promptlint[lsp]'" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("encoding", "character"),
    [("utf-16", 5), ("utf-8", 8), ("utf-32", 4)],
)
def test_positions_convert_characters_to_the_negotiated_units(
    encoding: str, character: int
) -> None:
    # "xé😀b" then the target: é is 1 UTF-16 unit / 2 bytes, 😀 2 units / 4 bytes.
    positions = Positions.of("first\r\nxé😀bc = 1\rlast", encoding)
    assert positions.to_lsp(2, 5) == lsp.Position(1, character)
    assert positions.from_lsp(lsp.Position(1, character)) == (2, 5)
    assert positions.to_lsp(3, 5) == lsp.Position(2, 4)


def test_positions_split_lines_as_lsp_does() -> None:
    # Form feed and U+2028 do not end a line for LSP (str.splitlines would split there).
    positions = Positions.of("a\x0cb\u2028c\nd", "utf-16")
    assert positions.to_lsp(2, 2) == lsp.Position(1, 1)
    assert positions.to_lsp(1, 6) == lsp.Position(0, 5)


def test_positions_inside_a_wide_character_and_past_the_end() -> None:
    positions = Positions.of("😀x\nlast", "utf-16")
    # The middle of the emoji's surrogate pair is the emoji.
    assert positions.from_lsp(lsp.Position(0, 1)) == (1, 1)
    assert positions.from_lsp(lsp.Position(0, 2)) == (1, 2)
    assert positions.from_lsp(lsp.Position(0, 99)) == (1, 3)
    assert positions.from_lsp(lsp.Position(7, 0)) == (2, 5)
    # A finding past the last line (a parse error at EOF) lands at the end of the text.
    assert positions.to_lsp(9, 1) == lsp.Position(1, 4)


def _finding(line: int, applicability: str, *, fix: bool = True) -> Finding:
    edit = Edit(line, 5, line, 9, "sorted(TAGS)")
    return Finding(
        path="app.py",
        line=line,
        column=5,
        code="PC201",
        end_line=line,
        end_column=9,
        name="unordered-iteration",
        severity=Severity.WARNING,
        message="iterates a set",
        fix=Fix(applicability, "Iterate in sorted order", (edit,)) if fix else None,
    )


def _linted(*findings: Finding) -> Any:
    text = "x = 1\nx = TAGS\nx = TAGS\nx = TAGS\n"
    base = lint("file:///w/app.py", 7, text, "app.py", Settings(), bundled_profiles())
    return type(base)(**{**base.__dict__, "findings": findings})


def test_code_actions_offer_the_fixes_under_the_selection() -> None:
    linted = _linted(_finding(2, "safe"), _finding(3, "unsafe"), _finding(4, "safe", fix=False))
    everything = lsp.Range(lsp.Position(0, 0), lsp.Position(9, 0))
    actions = code_actions(linted, everything)
    assert [(a.title, a.is_preferred) for a in actions] == [
        ("PC201: Iterate in sorted order", True),
        ("PC201: Iterate in sorted order (unsafe fix)", False),
    ]
    first = actions[0]
    assert first.kind == lsp.CodeActionKind.QuickFix
    assert first.diagnostics is not None and first.diagnostics[0].code == "PC201"
    assert first.edit is not None and first.edit.changes is not None
    (edit,) = first.edit.changes["file:///w/app.py"]
    assert edit.range == lsp.Range(lsp.Position(1, 4), lsp.Position(1, 8))
    assert edit.new_text == "sorted(TAGS)"

    cursor = lsp.Position(2, 6)
    (on_line_3,) = code_actions(linted, lsp.Range(cursor, cursor))
    assert on_line_3.title.endswith("(unsafe fix)")
    assert code_actions(linted, everything, only=["refactor"]) == []
    assert len(code_actions(linted, everything, only=["quickfix"])) == 2

    (versioned, _) = code_actions(linted, everything, versioned=True)
    assert versioned.edit is not None and versioned.edit.document_changes is not None
    change = versioned.edit.document_changes[0]
    assert isinstance(change, lsp.TextDocumentEdit)
    assert change.text_document.version == 7


def test_hover_text_names_the_figures_and_the_profile() -> None:
    figures = _expected_estimate(FAULTY)
    linted = lint("file:///w/app.py", 1, FAULTY, "app.py", Settings(), bundled_profiles())
    (site,) = linted.call_sites
    text = hover_text(site, figures, 64)
    assert text.splitlines()[0] == "**promptlint**: `openai.chat` call, model `gpt-4o-mini`"
    assert f"{figures.dynamic_slots} dynamic values counted as 64 tokens each." in text
    assert f"in steps of {figures.profile.granularity}" in text
    assert figures.cache_eligible_tokens == 0 < figures.static_prefix_tokens
    minimum = f"{figures.profile.min_tokens:,}"
    assert f"the static prefix is under the provider's minimum of {minimum} tokens" in text


def test_a_coding_cookie_decides_the_bytes_linted() -> None:
    text = "# -*- coding: latin-1 -*-\n" + FAULTY.replace("😀", "é")
    assert source_bytes(text) == text.encode("latin-1")
    assert source_bytes(FAULTY) == FAULTY.encode("utf-8")
    linted = lint("file:///w/app.py", 1, text, "app.py", Settings(), bundled_profiles())
    pc101 = next(f for f in linted.findings if f.code == "PC101")
    line = text.splitlines()[pc101.line - 1]
    assert line[pc101.column - 1 : pc101.end_column - 1] == "user_name"
