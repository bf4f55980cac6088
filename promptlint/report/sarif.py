"""`--format sarif`: a SARIF 2.1.0 log for GitHub code scanning and other SARIF viewers.

One run. `tool.driver.rules` lists every rule of the registry, found or not, with its page;
each result points back at its rule by `ruleId` and `ruleIndex`.

Locations. `artifactLocation.uri` is the finding's path relative to `root` (the directory
promptlint ran in), with forward slashes and percent-encoding, against `uriBaseId` "%SRCROOT%";
a path outside `root` becomes an absolute `file:` URI. The log names no absolute root
(`originalUriBaseIds` is left out), so the same tree gives the same bytes wherever it is checked
out. Columns count Unicode code points (`run.columnKind`), 1-based, the end exclusive, as in
SARIF's own `endColumn`.

Notebooks. A finding in a `.ipynb` cell keeps its cell-relative position in `region` (the raw
JSON lines of the file mean nothing to a reader), says which cell in `region.properties.cell`,
and its message starts with "cell N, line L: " so a viewer that shows the file's top still tells
the reader where to look.

Fingerprints (`partialFingerprints["promptlint/v1"]`): `<hash>:<occurrence>`, where hash is the
first 32 hex digits of SHA-256 over the code, the artifact URI and the flagged source line with its
whitespace runs collapsed (for a notebook, the line in its cell); when that line cannot be read,
the message with its digits blanked out stands in. The line number is not part of it, so a finding
that moves down the file keeps its fingerprint; a different code, file or flagged line changes
it. Occurrence (1-based) tells apart identical findings in one file, counted in output order.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from promptlint import __version__
from promptlint.checks import RULES, Rule
from promptlint.model import Finding, Fix, Severity
from promptlint.report.output import relative_to
from promptlint.ruledocs import read_page

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/promptlint/promptlint"
# Rule pages, stable per code: `{RULE_DOCS_BASE}PC101.md`.
RULE_DOCS_BASE = "https://github.com/promptlint/promptlint/blob/main/rules/"
SRCROOT = "%SRCROOT%"
FINGERPRINT = "promptlint/v1"

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PAGE_LINK = re.compile(r"\]\((PC\d{3})\.md\)")

# (path, notebook cell or None, 1-based line) -> that line's text, or None when unknown.
LineLookup = Callable[[str, int | None, int], str | None]


class SourceLines:
    """Reads the flagged lines of findings for their fingerprints, each file once.

    `overrides` holds sources that are not on disk under their display name (`--stdin-filename`).
    An unreadable file or a line out of range is None, never an error: the fingerprint then falls
    back to the message.
    """

    def __init__(self, overrides: Mapping[str, bytes] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._files: dict[tuple[str, int | None], list[str] | None] = {}

    def __call__(self, path: str, cell: int | None, line: int) -> str | None:
        key = (path, cell)
        if key not in self._files:
            self._files[key] = self._read(path, cell)
        lines = self._files[key]
        if lines is None or not 1 <= line <= len(lines):
            return None
        return lines[line - 1]

    def _read(self, path: str, cell: int | None) -> list[str] | None:
        data = self._overrides.get(path)
        if data is None:
            try:
                data = Path(path).read_bytes()
            except OSError:
                return None
        text = data.decode("utf-8", errors="replace")
        if cell is not None:
            cell_text = _cell_source(text, cell)
            if cell_text is None:
                return None
            text = cell_text
        return _LINE_BREAK.split(text)


def _cell_source(notebook: str, cell: int) -> str | None:
    """The source of the notebook's `cell`-th cell (1-based, all cell types count)."""
    try:
        cells = json.loads(notebook).get("cells")
        source = cells[cell - 1].get("source")
    except (ValueError, AttributeError, IndexError, TypeError):
        return None
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    return source if isinstance(source, str) else None


def artifact_location(path: str, root: Path) -> dict[str, str]:
    """The finding's file as a URI relative to %SRCROOT% (`root`), else an absolute file URI."""
    relative = relative_to(path, root)
    if relative is None:
        return {"uri": Path(os.path.normpath(Path(path).absolute())).as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": SRCROOT}


def page_sections(page: str) -> dict[str, str]:
    """A rule page's `## Heading` sections (front matter and title dropped), by heading."""
    body = page
    if body.startswith("---\n"):
        end = body.find("\n---\n", 4)
        body = body[end + 5 :] if end >= 0 else body
    sections: dict[str, str] = {}
    heading: str | None = None
    for line in body.splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
            sections[heading] = ""
        elif heading is not None:
            sections[heading] += line + "\n"
    return sections


def first_paragraph(text: str) -> str:
    paragraph: list[str] = []
    for line in text.strip().splitlines():
        if not line.strip():
            break
        paragraph.append(line.strip())
    return " ".join(paragraph)


def _rule_descriptor(rule: Rule) -> dict[str, Any]:
    help_uri = f"{RULE_DOCS_BASE}{rule.code}.md"
    page = read_page(rule.code)
    full = first_paragraph(page_sections(page).get("What it finds", "")) if page else ""
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": full or rule.summary},
        "helpUri": help_uri,
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
    }
    if page:
        body = page.split("\n---\n", 1)[1] if page.startswith("---\n") else page
        body = _PAGE_LINK.sub(lambda m: f"]({RULE_DOCS_BASE}{m.group(1)}.md)", body).strip()
        # Code scanning shows `help.markdown` with the alert; the plain text only points there.
        descriptor["help"] = {"text": f"{rule.summary} See {help_uri}", "markdown": body}
    return descriptor


def _region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    """A SARIF region; an end before the start (never expected) collapses onto the start."""
    if (end_line, end_column) < (line, column):
        end_line, end_column = line, column
    return {
        "startLine": max(line, 1),
        "startColumn": max(column, 1),
        "endLine": max(end_line, 1),
        "endColumn": max(end_column, 1),
    }


def _fix(fix: Fix, location: dict[str, str], cell: int | None) -> dict[str, Any] | None:
    """A SARIF fix; None for a fix with no edits (SARIF needs at least one replacement)."""
    if not fix.edits:
        return None
    replacements = []
    for edit in fix.edits:
        region: dict[str, Any] = _region(edit.line, edit.column, edit.end_line, edit.end_column)
        if cell is not None:
            region["properties"] = {"cell": cell}
        replacements.append({"deletedRegion": region, "insertedContent": {"text": edit.content}})
    return {
        "description": {"text": fix.message},
        "artifactChanges": [{"artifactLocation": location, "replacements": replacements}],
        "properties": {"applicability": fix.applicability},
    }


def _normalised(text: str) -> str:
    return " ".join(text.split())


def fingerprint_basis(finding: Finding, lines: LineLookup) -> str:
    """What the fingerprint hashes besides code and file: the flagged line, else the message."""
    line = lines(finding.path, finding.cell, finding.line)
    if line is not None and line.strip():
        return "line:" + _normalised(line)
    return "message:" + re.sub(r"\d+", "#", _normalised(finding.message))


def _hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]


def _result(
    finding: Finding,
    index: dict[str, int],
    root: Path,
    lines: LineLookup,
    seen: dict[str, int],
) -> dict[str, Any]:
    location = artifact_location(finding.path, root)
    region: dict[str, Any] = _region(
        finding.line, finding.column, finding.end_line, finding.end_column
    )
    message = finding.message
    if finding.cell is not None:
        region["properties"] = {"cell": finding.cell}
        message = f"cell {finding.cell}, line {finding.line}: {message}"
    digest = _hash(finding.code, location["uri"], fingerprint_basis(finding, lines))
    seen[digest] = seen.get(digest, 0) + 1
    result: dict[str, Any] = {"ruleId": finding.code}
    if finding.code in index:  # a code missing from the registry (never expected) has no index
        result["ruleIndex"] = index[finding.code]
    result["level"] = LEVELS[finding.severity]
    result["message"] = {"text": message}
    result["locations"] = [{"physicalLocation": {"artifactLocation": location, "region": region}}]
    result["partialFingerprints"] = {FINGERPRINT: f"{digest}:{seen[digest]}"}
    fix = _fix(finding.fix, location, finding.cell) if finding.fix is not None else None
    if fix is not None:
        result["fixes"] = [fix]
    return result


def sarif_log(
    findings: Sequence[Finding],
    root: Path,
    lines: LineLookup,
    successful: bool = True,
    rules: Sequence[Rule] = RULES,
) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict. `successful` is False when promptlint itself failed on
    some file (exit code 2)."""
    index = {rule.code: i for i, rule in enumerate(rules)}
    seen: dict[str, int] = {}
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "promptlint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule_descriptor(rule) for rule in rules],
                    }
                },
                "invocations": [{"executionSuccessful": successful}],
                "columnKind": "unicodeCodePoints",
                "results": [_result(f, index, root, lines, seen) for f in findings],
            }
        ],
    }


def render(
    findings: Sequence[Finding], root: Path, lines: LineLookup, successful: bool = True
) -> str:
    log = sarif_log(findings, root, lines, successful)
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
