"""`promptlint server`: findings, call-site figures and quick fixes in editors (LSP over stdio).

Each open document is linted in memory under its path, as `check --stdin-filename` lints stdin,
on open, change and save; its settings are resolved from that path. Hover over an LLM call
shows its token figures; a finding that carries a fix is offered as a quick fix.

Only the `server` command imports this module: pygls is an optional extra (`promptlint[lsp]`).
"""

from __future__ import annotations

import io
import logging
import os
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from promptlint import __version__
from promptlint.checks import UnknownSelectorError, select_rules
from promptlint.config import ConfigError, Resolver, Settings
from promptlint.discovery import skipped_name
from promptlint.engine import check_document
from promptlint.estimate import Estimate, Estimator
from promptlint.model import CallSite, Finding, Severity
from promptlint.providers import Choice, Profiles, bundled_profiles
from promptlint.ruledocs import pages_dir
from promptlint.tokens import TokenCounter

__all__ = ["Linted", "Positions", "build_server", "serve"]

log = logging.getLogger(__name__)

SOURCE = "promptlint"

_SEVERITY = {
    Severity.ERROR: lsp.DiagnosticSeverity.Error,
    Severity.WARNING: lsp.DiagnosticSeverity.Warning,
    Severity.INFO: lsp.DiagnosticSeverity.Information,
}

# LSP lines end at \n, \r\n or \r only (str.splitlines also splits at \f, \u2028 and others).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Positions:
    """Converts promptlint positions (1-based; columns count characters) to LSP positions
    (0-based; columns count the negotiated code units: UTF-16 unless the client offered UTF-8
    or UTF-32) and back, over the text that was linted."""

    lines: tuple[str, ...]
    encoding: str = lsp.PositionEncodingKind.Utf16.value

    @classmethod
    def of(cls, text: str, encoding: str = lsp.PositionEncodingKind.Utf16.value) -> Positions:
        return cls(tuple(_LINE_BREAK.split(text)), encoding)

    def _units(self, text: str) -> int:
        if self.encoding == lsp.PositionEncodingKind.Utf32.value:
            return len(text)
        if self.encoding == lsp.PositionEncodingKind.Utf8.value:
            return len(text.encode("utf-8"))
        return len(text.encode("utf-16-le", "surrogatepass")) // 2

    def to_lsp(self, line: int, column: int) -> lsp.Position:
        if line > len(self.lines):  # past the end (a parse error at EOF): the end of the text
            return lsp.Position(len(self.lines) - 1, self._units(self.lines[-1]))
        text = self.lines[max(line, 1) - 1]
        return lsp.Position(max(line, 1) - 1, self._units(text[: max(column, 1) - 1]))

    def range(self, line: int, column: int, end_line: int, end_column: int) -> lsp.Range:
        return lsp.Range(self.to_lsp(line, column), self.to_lsp(end_line, end_column))

    def from_lsp(self, position: lsp.Position) -> tuple[int, int]:
        """The 1-based (line, column) of an LSP position; a column inside a character that
        takes several code units counts as that character."""
        if position.line >= len(self.lines):
            return len(self.lines), len(self.lines[-1]) + 1
        text = self.lines[position.line]
        units = 0
        for index, char in enumerate(text):
            if units >= position.character:
                return position.line + 1, index + 1
            units += self._units(char)
            if units > position.character:
                return position.line + 1, index + 1
        return position.line + 1, len(text) + 1


@dataclass(frozen=True)
class Linted:
    """One document as last linted: the findings and model of exactly this text and version."""

    uri: str
    version: int | None
    positions: Positions
    findings: tuple[Finding, ...]
    call_sites: tuple[CallSite, ...]
    estimator: Estimator
    dynamic_tokens: int


def settings_for(path: Path, root: str | None) -> Settings | None:
    """The settings of the document at `path`, as `check --force-exclude` would resolve them
    (None: its config excludes it). Read afresh each time: the user may have edited the config
    since. Raises `ConfigError` for a config that cannot be used."""
    resolver = Resolver(cwd=root)
    if resolver.excluded(path, skipped_name):
        return None
    return resolver.settings_for(path)


def source_bytes(text: str) -> bytes:
    """The bytes a file holding the document's text would have: its PEP 263 coding cookie
    (`# -*- coding: latin-1 -*-`) decides, as it does when promptlint reads the file, so the
    columns of findings count the editor's characters."""
    data = text.encode("utf-8")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data if encoding in ("utf-8", "utf-8-sig") else text.encode(encoding)
    except (SyntaxError, LookupError, UnicodeError):  # a bad cookie: the extractor reports it
        return data


def lint(
    uri: str,
    version: int | None,
    text: str,
    display: str,
    settings: Settings,
    profiles: Profiles,
    encoding: str = lsp.PositionEncodingKind.Utf16.value,
) -> Linted:
    """Lint a document's text in memory. Findings inside notebook cells are left out: their
    lines count within a cell, not within the document the editor holds."""
    rules = select_rules(settings.select, settings.ignore)
    # A counter per run: its memo of texts would otherwise grow with every edit.
    counter = TokenCounter(settings.encoding)
    choice = Choice(settings.provider, settings.model)
    estimator = Estimator(counter, profiles, settings.dynamic_tokens, choice)
    result, model = check_document(display, source_bytes(text), settings, rules, estimator)
    return Linted(
        uri,
        version,
        Positions.of(text, encoding),
        tuple(f for f in result.findings if f.cell is None),
        tuple(s for s in model.call_sites if s.span.cell is None),
        estimator,
        settings.dynamic_tokens,
    )


def rule_page_uri(code: str) -> str:
    """The rule's page as installed with this version (offline, and it matches the code)."""
    return (pages_dir() / f"{code}.md").resolve().as_uri()


def diagnostic(finding: Finding, positions: Positions) -> lsp.Diagnostic:
    return lsp.Diagnostic(
        range=positions.range(finding.line, finding.column, finding.end_line, finding.end_column),
        message=finding.message,
        severity=_SEVERITY[finding.severity],
        code=finding.code,
        code_description=lsp.CodeDescription(href=rule_page_uri(finding.code)),
        source=SOURCE,
    )


def diagnostics(linted: Linted) -> list[lsp.Diagnostic]:
    return [diagnostic(f, linted.positions) for f in linted.findings]


def _at(site: CallSite, line: int, column: int) -> bool:
    span = site.span
    return (span.line, span.column) <= (line, column) < (span.end_line, span.end_column)


def call_site_at(linted: Linted, line: int, column: int) -> CallSite | None:
    """The innermost call site whose span holds the 1-based position."""
    inside = [s for s in linted.call_sites if _at(s, line, column)]
    return max(inside, key=lambda s: (s.span.line, s.span.column), default=None)


def hover_text(site: CallSite, estimate: Estimate, dynamic_tokens: int) -> str:
    """Markdown: the call's token figures and the provider profile they assume."""
    profile = estimate.profile
    model = f", model `{site.model}`" if site.model else ""
    if profile.explicit:
        mode = f"explicit breakpoints (at most {profile.max_breakpoints})"
    else:
        mode = "automatic caching"
    slots = estimate.dynamic_slots
    why: list[str] = []
    if estimate.cache_eligible_tokens == 0 and estimate.static_prefix_tokens > 0:
        if profile.explicit and estimate.breakpoints_in_prefix == 0:
            why = ["", "Nothing is cached: no cache breakpoint ends the static prefix."]
        elif estimate.static_prefix_tokens < profile.min_tokens:
            why = [
                "",
                f"Nothing is cached: the static prefix is under the provider's minimum of "
                f"{profile.min_tokens:,} tokens.",
            ]
    return "\n".join(
        [
            f"**promptlint**: `{site.api}` call{model}",
            "",
            "| | tokens |",
            "|---|---:|",
            f"| static prefix | {estimate.static_prefix_tokens:,} |",
            f"| estimated total | {estimate.estimated_total_tokens:,} |",
            f"| cache-eligible | {estimate.cache_eligible_tokens:,} "
            f"({estimate.cache_eligible_share:.0%}) |",
            *why,
            "",
            f"Profile `{profile.name}` ({profile.provider}): cached from "
            f"{profile.min_tokens:,} tokens in steps of {profile.granularity}, {mode}. "
            f"{slots} dynamic value{'' if slots == 1 else 's'} counted as "
            f"{dynamic_tokens} tokens each.",
        ]
    )


def hover(linted: Linted, position: lsp.Position) -> lsp.Hover | None:
    line, column = linted.positions.from_lsp(position)
    site = call_site_at(linted, line, column)
    if site is None:
        return None
    text = hover_text(site, linted.estimator.estimate(site), linted.dynamic_tokens)
    span = site.span
    return lsp.Hover(
        contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
        range=linted.positions.range(span.line, span.column, span.end_line, span.end_column),
    )


def _overlaps(a: lsp.Range, b: lsp.Range) -> bool:
    def key(p: lsp.Position) -> tuple[int, int]:
        return p.line, p.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _wants_quickfix(only: Sequence[str] | None) -> bool:
    """`context.only` lists kinds or their parents ("quickfix", "" ...); None asks for all."""
    kind = lsp.CodeActionKind.QuickFix.value
    return only is None or any(kind == k or kind.startswith(f"{k}.") or not k for k in only)


def code_actions(
    linted: Linted,
    selection: lsp.Range,
    only: Sequence[str] | None = None,
    versioned: bool = False,
) -> list[lsp.CodeAction]:
    """A quick fix for each finding with a fix whose range touches the selection; the safe ones
    are preferred. `versioned`: the client takes versioned edits, so a fix computed for an older
    text of the document is refused rather than misapplied."""
    if not _wants_quickfix(only):
        return []
    actions: list[lsp.CodeAction] = []
    for finding in linted.findings:
        fix = finding.fix
        if fix is None or not fix.edits:
            continue
        diag = diagnostic(finding, linted.positions)
        if not _overlaps(diag.range, selection):
            continue
        edits = [
            lsp.TextEdit(
                range=linted.positions.range(e.line, e.column, e.end_line, e.end_column),
                new_text=e.content,
            )
            for e in fix.edits
        ]
        if versioned:
            document = lsp.OptionalVersionedTextDocumentIdentifier(linted.uri, linted.version)
            edit = lsp.WorkspaceEdit(document_changes=[lsp.TextDocumentEdit(document, edits)])
        else:
            edit = lsp.WorkspaceEdit(changes={linted.uri: edits})
        safe = fix.applicability == "safe"
        title = f"{finding.code}: {fix.message}" + ("" if safe else " (unsafe fix)")
        actions.append(
            lsp.CodeAction(
                title=title,
                kind=lsp.CodeActionKind.QuickFix,
                diagnostics=[diag],
                edit=edit,
                is_preferred=safe,
            )
        )
    return actions


def _display(path: str | None, root: str | None, uri: str) -> str:
    """The name findings carry: the path relative to the workspace root when inside it."""
    if path is None:
        return uri
    if root:
        try:
            relative = os.path.relpath(path, root)
        except ValueError:  # another drive (Windows)
            return path
        if not relative.startswith(os.pardir):
            return relative
    return path


def build_server() -> LanguageServer:
    """A language server with promptlint's features; `start_io()` runs it."""
    server = LanguageServer(
        SOURCE, __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental
    )
    documents: dict[str, Linted] = {}
    loaded: list[Profiles] = []

    def profiles() -> Profiles:
        if not loaded:
            loaded.append(bundled_profiles())
        return loaded[0]

    def publish(uri: str) -> None:
        document = server.workspace.get_text_document(uri)
        root = server.workspace.root_path
        # An unsaved document gets the config of the workspace root.
        path = Path(document.path or os.path.join(root or os.getcwd(), "untitled.py"))
        found: list[lsp.Diagnostic] = []
        documents.pop(uri, None)
        try:
            settings = settings_for(path, root)
            if settings is not None:
                encoding = str(server.workspace.position_encoding or "utf-16")
                display = _display(document.path, root, uri)
                linted = lint(
                    uri, document.version, document.source, display, settings, profiles(), encoding
                )
                documents[uri] = linted
                found = diagnostics(linted)
        except (ConfigError, UnknownSelectorError) as exc:
            # Said where the user looks: on the document, with what to fix in the config.
            log.warning("promptlint: %s", exc)
            start = lsp.Position(0, 0)
            found = [
                lsp.Diagnostic(
                    range=lsp.Range(start, start),
                    message=f"promptlint cannot check this file: {exc}",
                    severity=lsp.DiagnosticSeverity.Error,
                    source=SOURCE,
                )
            ]
        server.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri, found, version=document.version)
        )

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: lsp.DidOpenTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: lsp.DidChangeTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: lsp.DidSaveTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        documents.pop(uri, None)
        server.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, []))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def on_hover(params: lsp.HoverParams) -> lsp.Hover | None:
        linted = documents.get(params.text_document.uri)
        return hover(linted, params.position) if linted is not None else None

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]),
    )
    def on_code_action(params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
        linted = documents.get(params.text_document.uri)
        if linted is None:
            return None
        capabilities = server.client_capabilities.workspace
        edits = capabilities.workspace_edit if capabilities else None
        versioned = bool(edits and edits.document_changes)
        return code_actions(linted, params.range, params.context.only, versioned)

    return server


def serve() -> None:
    """Serve one client over stdin/stdout until it sends `exit` or closes the stream."""
    build_server().start_io()
