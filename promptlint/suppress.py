"""Inline suppressions (DESIGN §7): read the comments, drop the findings they cover, report the
ones that cover nothing (PC900).

Syntax, in a comment:

* `# promptlint: ignore[PC101]`, `ignore[PC101, PC102]`, `ignore[dynamic-before-static]`: those
  rules; a bare `# promptlint: ignore`: every rule.
* `# noqa: PC101` (or `PC101,PC102`; the colon may be left out): those rules. Codes that are not
  promptlint's (`E501`) are other tools' business and are skipped silently; a noqa naming no
  promptlint code does nothing here. A bare `# noqa` is a blanket, as in flake8 and ruff, and is
  never reported unused: it usually serves another tool.
* `# promptlint: skip-file`, on a comment line of its own anywhere in the file: the file is not
  analysed and yields no findings at all.

A suppression covers the line it is written on; written on the first line of a logical line (a
simple statement, or the header of a compound one such as `if` or `def`, not its body), that whole
logical line; written after the end of a multi-line string (where a comment fits, unlike inside the
string), the string's lines. Comments are read from the file's original text (never the pruned
text extraction parses), with the stdlib tokenizer, and only when the bytes mention `promptlint:`
or `noqa` at all. A file the tokenizer gives up on (an unterminated string, a bad dedent) keeps the
suppressions read up to that point, each covering its own line.
"""

from __future__ import annotations

import dataclasses
import io
import re
import tokenize
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from promptlint.checks import RULES, Rule, rule_by_code_or_name
from promptlint.checks.pc900_unused_suppression import RULE as PC900
from promptlint.model import FileModel, Finding, Span, Suppression

__all__ = ["apply", "in_cells", "might_hold", "scan", "skips_file"]

IGNORE, NOQA, SKIP_FILE, INVALID = "ignore", "noqa", "skip-file", "invalid"

_QUICK = re.compile(r"promptlint:|(?i:noqa)")
_DIRECTIVE = re.compile(
    r"#[ \t]*(?:"
    r"promptlint:[ \t]*(?P<verb>[A-Za-z][\w-]*)?"
    r"(?P<bracket>\[(?P<list>[^\]#]*)(?P<close>\])?)?(?P<rest>[^#]*)"
    r"|(?P<noqa>(?i:noqa))(?![\w-])(?:[ \t]*:?[ \t]*"
    r"(?P<codes>[A-Za-z]+[0-9]+(?:(?:[ \t]*,[ \t]*|[ \t]+)[A-Za-z]+[0-9]+)*))?"
    r")"
)
# The same three, on bytes (lower-cased for noqa): the gate before the tokenizer.
_PROMPTLINT_BYTES = re.compile(rb"#[ \t]*promptlint:(?![ \t]*magic\b)")
_PC_NOQA = re.compile(rb"#[ \t]*noqa[ \t]*:?[ \t]*(?:[a-z]+[0-9]+(?:[ \t]*,[ \t]*|[ \t]+))*pc[0-9]")
_BARE_NOQA = re.compile(rb"#[ \t]*noqa(?![ \t]*:?[ \t]*[a-z]+[0-9])")
_CODE = re.compile(r"[A-Za-z]+[0-9]+\b")
# Notebook neutralisation writes `# promptlint: magic` (extract/notebook.py): not a directive.
_OURS_NOT_DIRECTIVES = frozenset({"magic"})
_NOT_CODE = frozenset(
    {tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}
    | {tokenize.ENDMARKER, tokenize.COMMENT}
)
# Python 3.12+ splits f-strings into several tokens.
_FSTRING_START: int = getattr(tokenize, "FSTRING_START", -1)
_FSTRING_END: int = getattr(tokenize, "FSTRING_END", -1)


def might_hold(data: bytes, *, blanket: bool = True) -> bool:
    """Whether a file's bytes can hold a suppression that matters, decided without tokenizing
    (most files hold none; many hold only other tools' `# noqa: E501`). `blanket`: count a bare
    noqa too; it matters only in a file that can have findings, and is never reported unused."""
    if b"promptlint:" in data and _PROMPTLINT_BYTES.search(data):
        return True
    lowered = data.lower()
    if b"noqa" not in lowered:
        return False
    return _PC_NOQA.search(lowered) is not None or (
        blanket and _BARE_NOQA.search(lowered) is not None
    )


def scan(text: str) -> tuple[Suppression, ...]:
    """The suppression comments of a module's text, in source order, each with the lines it
    covers."""
    if _QUICK.search(text) is None:
        return ()
    found: list[Suppression] = []
    waiting: list[Suppression] = []  # written on the first line of the open logical line
    logical_start: int | None = None
    last_code_row = 0  # where the last code token ended: a comment after it is not own-line
    string_rows: dict[int, int] = {}  # last row of a multi-line string -> its first row
    fstrings: list[int] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind, row = token.type, token.start[0]
            if kind == tokenize.COMMENT:
                own_line = row > last_code_row
                for directive in _directives(token.string, row, token.start[1], own_line):
                    if row == logical_start and not own_line:
                        waiting.append(directive)
                    else:
                        first = min(row, string_rows.get(row, row))
                        found.append(_covering(directive, first, row))
            elif kind == tokenize.NEWLINE:
                found.extend(_covering(d, d.first_line, row) for d in waiting)
                waiting.clear()
                logical_start = None
            elif kind not in _NOT_CODE:
                if logical_start is None:
                    logical_start = row
                last_code_row = token.end[0]
                if kind == tokenize.STRING:
                    _multi_line_string(string_rows, row, token.end[0])
                elif kind == _FSTRING_START:
                    fstrings.append(row)
                elif kind == _FSTRING_END and fstrings:
                    _multi_line_string(string_rows, fstrings.pop(), token.end[0])
    except (tokenize.TokenError, SyntaxError):
        pass  # keep what was read; an open logical line's suppressions cover their own line
    found.extend(waiting)
    return tuple(sorted(found, key=lambda s: (s.span.line, s.span.column)))


def _multi_line_string(rows: dict[int, int], first: int, last: int) -> None:
    if last > first:
        rows[last] = min(first, rows.get(last, first))


def _covering(directive: Suppression, first: int, last: int) -> Suppression:
    return dataclasses.replace(directive, first_line=first, last_line=last)


def _directives(comment: str, row: int, column: int, own_line: bool) -> Iterable[Suppression]:
    """The directives in one comment token (it may hold several: `# noqa: E501  # promptlint:
    ignore[PC101]`), each covering its own line for now."""
    for match in _DIRECTIVE.finditer(comment):
        written = match.group(0).rstrip()
        start = column + match.start() + 1
        span = Span(row, start, row, start + len(written))
        if match.group("noqa") is not None:
            codes = _noqa_codes(match.group("codes"))
            if codes is not None:
                yield Suppression(NOQA, span, row, row, codes)
            continue
        directive = _promptlint(match, written, own_line)
        if directive is not None:
            kind, codes, problem = directive
            yield Suppression(kind, span, row, row, codes, problem)


def _noqa_codes(written: str | None) -> tuple[str, ...] | None:
    """A noqa's promptlint codes; () for a bare noqa (every rule); None when it names only other
    tools' codes."""
    if written is None:
        return ()
    codes = tuple(c.upper() for c in re.split(r"[\s,]+", written.strip()))
    ours = tuple(c for c in codes if c.startswith("PC"))
    return ours or None


def _promptlint(
    match: re.Match[str], written: str, own_line: bool
) -> tuple[str, tuple[str, ...], str | None] | None:
    """(kind, codes, problem) of a `# promptlint: ...` directive, or None for one that is not a
    suppression at all (`# promptlint: magic`)."""
    verb = match.group("verb") or ""
    rest = match.group("rest").strip()
    if verb in _OURS_NOT_DIRECTIVES:
        return None
    if verb == SKIP_FILE:
        if match.group("bracket") is not None:
            return INVALID, (), f"`{written}` takes no codes; write `# promptlint: skip-file`"
        if not own_line:
            return INVALID, (), "`# promptlint: skip-file` works only on a comment line of its own"
        return SKIP_FILE, (), None
    if verb != IGNORE:
        return (
            INVALID,
            (),
            f"unknown directive `{written}`; write `# promptlint: ignore[CODE]`, "
            "`# promptlint: ignore` or `# promptlint: skip-file`",
        )
    if match.group("bracket") is None:
        if _names_rules(rest):
            # Read as a bare `ignore`, it would silently suppress every rule.
            named = ", ".join(w for w in re.split(r"[\s,:=]+", rest) if w) or "CODE"
            return INVALID, (), f"`{written}`: write the rules in brackets, `ignore[{named}]`"
        return IGNORE, (), None
    if match.group("close") is None:
        return INVALID, (), f"`{written}` lacks its closing `]`"
    codes = tuple(c for c in re.split(r"[\s,]+", match.group("list")) if c)
    if not codes:
        return INVALID, (), "`ignore[]` names no rule; write `ignore[CODE]` or a bare `ignore`"
    return IGNORE, codes, None


def _names_rules(rest: str) -> bool:
    """Whether the text after a bracketless `ignore` starts like a list of rules (`PC101`,
    `: PC101`, `=PC101`, `dynamic-before-static`) rather than a free-text reason."""
    first = rest.lstrip(" \t:=").split(maxsplit=1)[:1]
    return rest[:1] in (":", "=") or bool(
        first and (_CODE.match(first[0]) or rule_by_code_or_name(first[0].rstrip(",")))
    )


def in_cells(
    suppressions: tuple[Suppression, ...], locate: Callable[[int], tuple[int, int]]
) -> tuple[Suppression, ...]:
    """Module lines -> (cell, line in cell) for a notebook; a range never leaves its cell."""
    moved = []
    for s in suppressions:
        cell, line = locate(s.span.line)
        first_cell, first = locate(s.first_line)
        last_cell, last = locate(s.last_line)
        span = Span(line, s.span.column, line, s.span.end_column, cell)
        first = first if first_cell == cell else line
        last = last if last_cell == cell else line
        moved.append(Suppression(s.kind, span, first, last, s.codes, s.problem))
    return tuple(moved)


def skips_file(suppressions: Iterable[Suppression]) -> bool:
    return any(s.kind == SKIP_FILE for s in suppressions)


@dataclass(frozen=True)
class _Entry:
    """A suppression with its codes resolved to rules (None: an unknown code)."""

    index: int
    suppression: Suppression
    rules: tuple[Rule | None, ...]

    @property
    def blanket(self) -> bool:
        return self.suppression.kind in (IGNORE, NOQA) and not self.suppression.codes

    def covers(self, finding: Finding) -> bool:
        s = self.suppression
        return (
            s.kind in (IGNORE, NOQA)
            and s.span.cell == finding.cell
            and s.first_line <= finding.line <= s.last_line
        )


def apply(
    findings: Iterable[Finding], models: Iterable[FileModel], selected: Sequence[Rule]
) -> list[Finding]:
    """The findings no suppression covers, plus (when PC900 is selected) a PC900 for each
    suppression that covered none. A finding is matched against the suppressions of the file it
    is reported in, which linking may have made another module of the run."""
    entries = {
        m.path: [
            _Entry(i, s, tuple(rule_by_code_or_name(c) for c in s.codes))
            for i, s in enumerate(m.suppressions)
        ]
        for m in models
        if m.suppressions
    }
    if not entries:
        return list(findings)
    skipped = {path for path, es in entries.items() if skips_file(e.suppression for e in es)}
    used: set[tuple[str, int, str]] = set()  # (path, suppression, code; "" for a blanket)
    kept = []
    for finding in findings:
        if finding.path in skipped:
            continue
        hits = [e for e in entries.get(finding.path, ()) if e.covers(finding)]
        matched = False
        for entry in hits:
            if entry.blanket:
                used.add((finding.path, entry.index, ""))
                matched = True
            elif any(r is not None and r.code == finding.code for r in entry.rules):
                used.add((finding.path, entry.index, finding.code))
                matched = True
        if not matched:
            kept.append(finding)
    if any(r.code == PC900.code for r in selected):
        codes = {r.code for r in selected}
        for path, es in entries.items():
            for entry in es if path not in skipped else ():
                message = _unused_message(path, entry, used, codes)
                if message is not None:
                    kept.append(_pc900(path, entry.suppression.span, message))
    return kept


def _pc900(path: str, span: Span, message: str) -> Finding:
    return Finding(
        path=path,
        line=span.line,
        column=span.column,
        code=PC900.code,
        end_line=span.end_line,
        end_column=span.end_column,
        name=PC900.name,
        severity=PC900.severity,
        message=message,
        cell=span.cell,
    )


def _unused_message(
    path: str, entry: _Entry, used: set[tuple[str, int, str]], selected: set[str]
) -> str | None:
    """Why a suppression (or part of it) is unused; None when all of it was used, or for a bare
    noqa (another tool's, as often as not)."""
    s = entry.suppression
    if s.kind == INVALID:
        return f"{s.problem}; it suppresses nothing"
    if s.kind not in (IGNORE, NOQA):
        return None
    if entry.blanket:
        if s.kind == NOQA or (path, entry.index, "") in used:
            return None
        return "unused suppression: `# promptlint: ignore` matches no finding on its lines"
    unknown, not_selected, unmatched, inline = [], [], [], []
    for written, rule in zip(s.codes, entry.rules, strict=True):
        if rule is None:
            unknown.append(written)
        elif rule.code == PC900.code:
            inline.append(written)
        elif rule.code not in selected:
            not_selected.append(written)
        elif (path, entry.index, rule.code) not in used:
            unmatched.append(written)
    parts = []
    if unmatched:
        parts.append(f"{_listed(unmatched)} matches no finding on its lines")
    if not_selected:
        parts.append(f"{_listed(not_selected)} is not selected in this run")
    if unknown:
        valid = ", ".join(r.code for r in RULES if r.code != PC900.code)
        parts.append(f"unknown rule {_listed(unknown)} (valid codes: {valid}, or their names)")
    if inline:
        parts.append(f"{_listed(inline)} cannot be suppressed inline; use `--ignore PC900`")
    if not parts:
        return None
    return f"unused suppression `{_written(s)}`: " + "; ".join(parts)


def _listed(items: list[str]) -> str:
    return ", ".join(items)


def _written(s: Suppression) -> str:
    if s.kind == NOQA:
        return f"# noqa: {', '.join(s.codes)}"
    return f"# promptlint: ignore[{', '.join(s.codes)}]"
