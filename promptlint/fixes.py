"""Applying fixes (`--fix`, `--unsafe-fixes`, `--diff`): the findings' edits, made safely.

Per file and pass: fixes are taken in finding order; one whose edits touch an edit already taken
waits for the next pass (its finding is computed afresh on the fixed text); the edits are applied
from the end of the file backwards; the result must parse again (libcst, and CPython when the file
compiled before), else the fixes that break it are dropped and reported. Passes repeat, re-checking
the run, until nothing changes (at most `MAX_PASSES`). A file is written through a temporary
file in its directory and `os.replace`, with its mode, line endings, encoding and BOM kept, and
never when its bytes changed on disk since they were read.

Notebooks get no fixes (the rules attach none: a fix's edits have no cell).
"""

from __future__ import annotations

import difflib
import hashlib
import io
import os
import re
import stat
import tempfile
import tokenize
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from promptlint.model import Edit, Finding, ParseError

if TYPE_CHECKING:
    from promptlint.engine import CheckResult

MAX_PASSES = 8
_NEWLINE = re.compile(r"\r\n|\r|\n")  # as libcst counts lines (not str.splitlines)


def applies(finding: Finding, unsafe: bool) -> bool:
    """Whether the finding's fix is applied: safe ones always, unsafe ones when asked for."""
    fix = finding.fix
    return fix is not None and bool(fix.edits) and (unsafe or fix.applicability == "safe")


# -- one file's text ------------------------------------------------------------------------------

_Range = tuple[int, int, str]  # start offset, end offset (exclusive), new text


@dataclass(frozen=True)
class TextFix:
    """The result of fixing one text: what was applied, what was dropped (with why); fixes that
    touched an edit taken before them are in neither, and wait for the next pass."""

    text: str
    applied: tuple[Finding, ...] = ()
    dropped: tuple[tuple[Finding, str], ...] = ()


def apply_fixes(text: str, findings: Iterable[Finding]) -> TextFix:
    """Apply the fixes of `findings`, in their order, to `text`."""
    lines = _line_starts(text)
    chosen: list[tuple[Finding, list[_Range]]] = []
    twins: list[tuple[Finding, tuple[Edit, ...]]] = []  # the same fix offered by another finding
    dropped: list[tuple[Finding, str]] = []
    for finding in findings:
        if finding.fix is None or not finding.fix.edits:
            continue
        edits = finding.fix.edits
        if any(edits == f.fix.edits for f, _ in chosen if f.fix is not None):
            twins.append((finding, edits))
            continue
        ranges = _ranges(text, lines, edits)
        if ranges is None:
            dropped.append((finding, "its edits do not fit the file (was it changed?)"))
        elif _clash(ranges):
            dropped.append((finding, "its edits overlap each other"))
        elif not any(_overlap(ranges, taken) for _, taken in chosen):
            chosen.append((finding, ranges))
    strict = _compiles(text)
    result = _splice(text, [r for _, ranges in chosen for r in ranges])
    kept = chosen
    if not _parses(result, strict):
        kept = []
        for finding, ranges in chosen:  # keep each fix that still parses with the ones before it
            trial = _splice(text, [r for _, taken in kept for r in taken] + ranges)
            if _parses(trial, strict):
                kept.append((finding, ranges))
            else:
                dropped.append((finding, "the fixed file would not parse"))
        result = _splice(text, [r for _, ranges in kept for r in ranges])
    kept_edits = {f.fix.edits for f, _ in kept if f.fix is not None}
    applied = [f for f, _ in kept] + [f for f, edits in twins if edits in kept_edits]
    return TextFix(result, tuple(sorted(applied)), tuple(dropped))


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in _NEWLINE.finditer(text)]


def _ranges(text: str, lines: list[int], edits: Sequence[Edit]) -> list[_Range] | None:
    """Offsets of 1-based (line, column) edit positions; None when one lies outside the text."""

    def offset(line: int, column: int) -> int | None:
        if not 1 <= line <= len(lines) or column < 1:
            return None
        start = lines[line - 1]
        end = lines[line] if line < len(lines) else len(text)
        body = _NEWLINE.sub("", text[start:end])  # the line without its line break
        return start + column - 1 if column - 1 <= len(body) else None

    out = []
    for edit in edits:
        start, end = offset(edit.line, edit.column), offset(edit.end_line, edit.end_column)
        if start is None or end is None or end < start:
            return None
        out.append((start, end, edit.content))
    return out


def _overlap(a: list[_Range], b: list[_Range]) -> bool:
    """Whether two fixes' edits touch: share a position, end points included (which of two
    edits at one point goes first would be a guess)."""
    return any(s1 <= e2 and s2 <= e1 for s1, e1, _ in a for s2, e2, _ in b)


def _clash(ranges: list[_Range]) -> bool:
    """Whether one fix's own edits overlap (an insertion at either end of a replacement is fine:
    insertions go before what replaces the text at their position)."""
    for i, (s1, e1, _) in enumerate(ranges):
        for s2, e2, _ in ranges[i + 1 :]:
            if (s1, e1) == (s2, e2) or (s1 < e2 and s2 < e1):
                return True
    return False


def _splice(text: str, ranges: list[_Range]) -> str:
    """The text with non-overlapping edits made, the last first (earlier offsets stay valid)."""
    for start, end, content in sorted(ranges, key=lambda r: (r[0], r[1]), reverse=True):
        text = text[:start] + content + text[end:]
    return text


def _parses(text: str, strict: bool) -> bool:
    """Whether the text parses as the linter reads files (libcst), and compiles when `strict`
    (the file compiled before: a fix must not break what the running Python accepts)."""
    from promptlint.extract.source import parse  # libcst

    return not isinstance(parse(text), ParseError) and (not strict or _compiles(text))


def _compiles(text: str) -> bool:
    import ast

    try:
        compile(text, "<promptlint-fix>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


# -- files ----------------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str] | None:
    """A file's text as the linter read it (BOM stripped), and the encoding that writes it back
    byte for byte (a BOM included); None when it does not round-trip."""
    from promptlint.extract.source import decode as linter_decode

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        return None
    text = linter_decode(data)
    if isinstance(text, ParseError):
        return None
    try:
        return (text, encoding) if text.encode(encoding) == data else None
    except (UnicodeError, LookupError):
        return None


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomically(path: Path, read: str, data: bytes) -> str | None:
    """Replace the file's bytes with `data` if they still hash to `read`; None when written, else
    why not. A temporary file in the same directory is renamed over it, so a reader never sees
    half a file; the mode is kept, and a symbolic link stays one (its target is written)."""
    target = Path(os.path.realpath(path))
    try:
        if digest(target.read_bytes()) != read:
            return "it changed on disk since it was read"
        mode = stat.S_IMODE(target.stat().st_mode)
        fd, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        return f"cannot write it: {exc.strerror or exc}"
    return None


def unified_diff(path: str, before: bytes, after: bytes) -> str:
    """What fixing changes in one file, as `diff -u` shows it."""
    old, new = decode(before), decode(after)
    if old is None or new is None:
        return ""
    lines = difflib.unified_diff(_lines(old[0]), _lines(new[0]), fromfile=path, tofile=path)
    out = []
    for line in lines:
        out.append(
            line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n"
        )
    return "".join(out)


def _lines(text: str) -> list[str]:
    starts = _line_starts(text)
    ends = [*starts[1:], len(text)]
    return [text[a:b] for a, b in zip(starts, ends, strict=True) if a < b]


# -- the run --------------------------------------------------------------------------------------

Recheck = Callable[[Mapping[str, bytes]], "CheckResult"]


@dataclass
class FixRun:
    """What fixing did: the findings that remain, the fixes applied (their findings as first
    reported), fixes or files skipped (one line each, saying why), and each changed file's bytes
    before and after (by display path)."""

    result: CheckResult
    applied: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    changed: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)


def fix_run(
    first: CheckResult,
    paths: Mapping[str, Path | bytes],
    recheck: Recheck,
    *,
    unsafe: bool,
    write: bool,
    max_passes: int = MAX_PASSES,
) -> FixRun:
    """Fix the findings of `first` in the files of `paths` (display path -> the file, or its
    bytes when they were not read from a file: stdin), pass after pass: `recheck(contents)` lints
    the run again with `contents` (display path -> bytes) in place of those files. With `write`,
    fixed files are written (before each recheck); bytes not read from a file never are."""
    run = FixRun(first)
    files = _Files(paths, write)
    for _ in range(max_passes):
        todo: dict[str, list[Finding]] = {}
        for finding in run.result.findings:
            if applies(finding, unsafe) and finding.path in paths:
                todo.setdefault(finding.path, []).append(finding)
        changed = [files.fix(run, path, findings) for path, findings in todo.items()]
        if not any(changed):
            break
        run.result = recheck(dict(files.current))
    else:
        if any(applies(f, unsafe) and f.path in paths for f in run.result.findings):
            run.problems.append(
                f"fixes did not settle after {max_passes} passes; "
                "please report it with the file attached"
            )
    run.changed = {
        path: (files.original[path], data)
        for path, data in sorted(files.current.items())
        if data != files.original[path]
    }
    return run


@dataclass
class _Files:
    """The files being fixed: their bytes as first read, as last fixed, and those given up."""

    paths: Mapping[str, Path | bytes]
    write: bool
    original: dict[str, bytes] = field(default_factory=dict)
    current: dict[str, bytes] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)

    def fix(self, run: FixRun, path: str, findings: list[Finding]) -> bool:
        """One pass over one file; whether it changed."""
        if path in self.skipped:
            return False
        where = self.paths[path]
        data = self.current.get(path)
        if data is None:
            try:
                data = where if isinstance(where, bytes) else where.read_bytes()
            except OSError as exc:
                return self._skip(run, path, f"cannot read it: {exc.strerror or exc}")
            self.original[path] = self.current[path] = data
        decoded = decode(data)
        if decoded is None:
            return self._skip(run, path, "its encoding does not round-trip")
        text, encoding = decoded
        fixed = apply_fixes(text, findings)
        for finding, why in fixed.dropped:
            run.problems.append(
                f"{path}:{finding.line}:{finding.column}: {finding.code} fix not applied: {why}"
            )
        if fixed.text == text:
            return False
        try:
            new = fixed.text.encode(encoding)
        except UnicodeError:
            return self._skip(run, path, f"the fixed text cannot be written in {encoding}")
        if self.write and not isinstance(where, bytes):
            problem = write_atomically(where, digest(data), new)
            if problem is not None:
                return self._skip(run, path, problem)
        self.current[path] = new
        run.applied.extend(fixed.applied)
        return True

    def _skip(self, run: FixRun, path: str, why: str) -> bool:
        self.skipped.add(path)
        run.problems.append(f"{path}: not fixed: {why}")
        return False


# -- what to tell the user ------------------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def render_applied(applied: Sequence[Finding], would: bool = False) -> str:
    """The fixes applied, per file and rule (as ruff's `--show-fixes`)."""
    if not applied:
        return "No fixes would be applied.\n" if would else "No fixes applied.\n"
    lines = [f"{'Would fix' if would else 'Fixed'} {_plural(len(applied), 'finding')}:"]
    by_path: dict[str, dict[tuple[str, str], int]] = {}
    for finding in applied:
        counts = by_path.setdefault(finding.path, {})
        counts[finding.code, finding.name] = counts.get((finding.code, finding.name), 0) + 1
    for path in sorted(by_path):
        lines.append(f"- {path}:")
        for (code, name), count in sorted(by_path[path].items()):
            lines.append(f"    {count} x {code} ({name})")
    return "\n".join(lines) + "\n"


def render_available(findings: Sequence[Finding], unsafe: bool) -> str:
    """Every fix on offer, one line each, with its safety."""
    offered = [f for f in findings if f.fix is not None and f.fix.edits]
    if not offered:
        return "No fixes available.\n"
    lines = ["Fixes available (`--fix` applies the safe ones; with `--unsafe-fixes`, all):"]
    for f in offered:
        assert f.fix is not None
        cell = f"cell {f.cell}:" if f.cell is not None else ""
        lines.append(
            f"  {f.path}:{cell}{f.line}:{f.column}: {f.code} [{f.fix.applicability}] "
            f"{f.fix.message}"
        )
    return "\n".join(lines) + "\n"


def hint(findings: Sequence[Finding], unsafe: bool) -> str:
    """How many of the findings a fix would remove, and how (ruff's wording), or ""."""
    fixable = sum(applies(f, unsafe) for f in findings)
    hidden = 0 if unsafe else sum(applies(f, True) for f in findings) - fixable
    option = "`--fix --unsafe-fixes`" if unsafe else "`--fix`"
    more = (
        f" ({hidden} hidden fix{'' if hidden == 1 else 'es'} can be enabled with the "
        "`--unsafe-fixes` option)"
        if hidden
        else ""
    )
    if fixable:
        return f"[*] {fixable} fixable with the {option} option{more}.\n"
    return f"No fixes available{more}.\n" if hidden else ""
