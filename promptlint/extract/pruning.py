"""Blank out the parts of a module that cannot reach a prompt, before libcst sees it.

libcst's parser is the dominant cost of a run (about 12k lines/s), and in a file that passes the
prefilter most lines still hold no prompt. CPython's own parser (`ast`, in C, ten times faster)
gives each top-level statement's lines. A statement is kept when:

- its text shows something extraction looks for (a *marker*: an SDK call, a framework call, a
  prompt-named assignment or function, a pydantic-ai prompt decorator), or it is an import;
- or it binds a name that kept code mentions as a bare word (`helper(`, `CLIENT`, not `x.helper`):
  a helper the interpreter may follow, a constant it may read. This is repeated until nothing more
  is reached.

In a class with a marker, the same holds for its methods (`__init__` and the class-level
statements always stay: the interpreter runs them for what `self.x` holds). A class with no
marker becomes `class Name: pass` (the interpreter only binds a class it does not run); every
other dropped statement becomes as many empty lines. Every line and column of what is kept stays
where it was, so positions need no mapping.

Dropping a module-level function can drop an export another module imports; the model says so
(`FileModel.exports_complete`) and the link stage then reads that module whole.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from promptlint.extract.prefilter import literal_chunk

_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
# A name used as a bare word: `helper(` or `x = helper`; not `obj.helper` (an attribute, which the
# interpreter never follows to a definition of the module), not `def helper(` or `helper = ...`
# or `f(helper=...)` (bindings, not uses). Missing one of these exclusions keeps more, never less.
_NAMES = re.compile(r"(?<![.\w])\w+\b(?!\s*=(?!=))")
_DEFINED = re.compile(r"\b(?:def|class)\s+\w+")
# Imports that stay whatever they bind: which SDK a module imports decides what counts as a call.
_SDK_ROOTS = frozenset(
    {
        "openai",
        "anthropic",
        "google",
        "litellm",
        "langchain",
        "langchain_core",
        "langchain_community",
        "pydantic_ai",
        "__future__",
    }
)

# Markers, searched in the lower-cased text by a literal first (fast, in C), each hit then checked
# by a regex at its position or on its line. Calls of an SDK method:
_CALLS = (
    ("completions", re.compile(r"completions\s*\.\s*(?:create|parse|stream)\b")),
    ("responses", re.compile(r"responses\s*\.\s*(?:create|parse|stream)\b")),
    ("messages", re.compile(r"messages\s*\.\s*(?:create|stream)\b")),
    ("generate_content", re.compile(r"generate_content")),
)
# pydantic-ai: a function decorated `@agent.system_prompt` joins that agent's system prompt.
_DECORATOR_LITERALS = ("system_prompt", "instructions")
_DECORATOR = re.compile(r"[ \t]*@\s*[\w.]+\.(?:system_prompt|instructions)\b")
# Framework calls by their last name (`litellm.completion(`, `Agent(`, `ChatPromptTemplate`),
# case-sensitive, and an alias an import gives one.
_FRAMEWORK_CALLS = frozenset({"completion", "acompletion", "ChatPromptTemplate", "Agent"})
_FRAMEWORK = re.compile(r"ChatPromptTemplate|\bAgent\s*[(\[]|\ba?completion\s*\(")
_FRAMEWORK_ALIAS = re.compile(r"\b(?:a?completion|ChatPromptTemplate|Agent)\s+as\s+(\w+)")
_FRAMEWORK_LITERALS = ("ChatPromptTemplate", "Agent", "completion")

_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_Imports = ast.Import | ast.ImportFrom


@dataclass(frozen=True)
class Pruned:
    """The source without what cannot matter. Whole lines are removed (libcst would build nodes
    for blank ones), so columns are unchanged and a line maps back through `origin`."""

    text: str
    origin: tuple[int, ...]  # the original line number of each line of `text`

    def original_line(self, line: int) -> int:
        return self.origin[line - 1] if 0 < line <= len(self.origin) else line


@dataclass(frozen=True)
class _Unit:
    """A statement that may be dropped, and what it would take to keep it."""

    start: int  # first line (its first decorator's), 1-based
    end: int
    binds: frozenset[str]  # kept when kept code mentions one of these
    indent: str
    stub: str  # what replaces its first line: "", "pass" (in a class body), "class X: pass"
    stub_line: int


def prune(text: str, prompt_names: Sequence[str]) -> Pruned | None:
    """The source with what cannot matter blanked out, or None when nothing can be dropped or
    CPython cannot parse it (the caller then parses it whole; a syntax error is reported as the
    whole file shows it)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
    lines = _LINES.findall(text)
    # A marker in a docstring (`agent = Agent(...)` in a usage example) marks nothing.
    docstrings = _docstrings(tree, lines)
    marks = [
        line for line in _marked_lines(text, lines, prompt_names) if not _inside(docstrings, line)
    ]

    def marked(start: int, end: int) -> bool:
        index = bisect.bisect_left(marks, start)
        return index < len(marks) and marks[index] <= end

    units: list[_Unit] = []
    _collect(tree.body, lines, marked, units, nested=False)
    if not units:
        return None
    dropped = [False] * (len(lines) + 1)
    for unit in units:
        dropped[unit.start : unit.end + 1] = [True] * (unit.end - unit.start + 1)
    kept = "".join(line for line, gone in zip(lines, dropped[1:], strict=True) if not gone)
    words = _bare_names(kept)
    by_name: dict[str, list[_Unit]] = {}
    for unit in units:
        for name in unit.binds:
            by_name.setdefault(name, []).append(unit)
    reached = [name for name in by_name if name in words]
    revived: set[int] = set()
    while reached:
        for unit in by_name.pop(reached.pop(), ()):
            if id(unit) in revived:
                continue
            revived.add(id(unit))
            for word in _bare_names("".join(lines[unit.start - 1 : unit.end])):
                if word not in words:
                    words.add(word)
                    if word in by_name:
                        reached.append(word)
    replaced: dict[int, str] = {}  # 0-based line -> its stub
    gone = [False] * len(lines)
    for unit in units:
        if id(unit) in revived:
            continue
        gone[unit.start - 1 : unit.end] = [True] * (unit.end - unit.start + 1)
        if unit.stub:
            line = lines[unit.stub_line - 1]
            replaced[unit.stub_line - 1] = (
                unit.indent + unit.stub + line[len(line.rstrip("\r\n")) :]
            )
    kept_lines: list[str] = []
    origin: list[int] = []
    for index, line in enumerate(lines):
        if index in replaced:
            line = replaced[index]
        elif gone[index]:
            continue
        kept_lines.append(line)
        origin.append(index + 1)
    if len(kept_lines) == len(lines):
        return None
    return Pruned("".join(kept_lines), tuple(origin))


def _collect(
    body: list[ast.stmt],
    lines: list[str],
    marked: Callable[[int, int], bool],
    units: list[_Unit],
    nested: bool,
) -> None:
    """The statements of `body` that may be dropped; in a class with a marker, its methods."""
    bounds = [(_first_line(s), s.end_lineno or s.lineno) for s in body]
    for index, statement in enumerate(body):
        start, end = bounds[index]
        # `a = 1; b = 2` share a line: such statements stay, whatever they hold.
        if (index and bounds[index - 1][1] >= start) or (
            index + 1 < len(bounds) and bounds[index + 1][0] <= end
        ):
            continue
        if marked(start, end):
            if isinstance(statement, ast.ClassDef):
                _collect(statement.body, lines, marked, units, nested=True)
            elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                _collect_docstring(statement, lines, units)
            continue
        first = lines[statement.lineno - 1]
        indent = first[: len(first) - len(first.lstrip())]
        if isinstance(statement, ast.ClassDef):
            stub = f"class {statement.name}: pass"
            units.append(_Unit(start, end, frozenset(), indent, stub, statement.lineno))
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if nested and statement.name == "__init__":
                continue
            binds = frozenset({statement.name})
            units.append(_Unit(start, end, binds, indent, "pass" if nested else "", start))
        elif isinstance(statement, _Imports):
            if not nested and not _keeps_import(statement):
                units.append(_Unit(start, end, _bound_names(statement), indent, "", start))
        elif _is_docstring(statement, lines):  # no effect on anything the interpreter sees
            units.append(_Unit(start, end, frozenset(), indent, "pass" if nested else "", start))
        elif not nested:
            units.append(_Unit(start, end, _bound_names(statement), indent, "", start))


def _collect_docstring(
    function: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str], units: list[_Unit]
) -> None:
    """A kept function's docstring: often its longest statement, and it never reaches a prompt."""
    first = function.body[0]
    if _is_docstring(first, lines) and first.lineno > function.lineno:
        end = first.end_lineno or first.lineno
        line = lines[first.lineno - 1]
        indent = line[: len(line) - len(line.lstrip())]
        units.append(_Unit(first.lineno, end, frozenset(), indent, "pass", first.lineno))


def _docstrings(tree: ast.Module, lines: list[str]) -> list[tuple[int, int]]:
    """The line ranges of the module's, its classes' and its functions' docstrings, sorted."""
    found: list[tuple[int, int]] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        body: list[ast.stmt] = getattr(node, "body", [])
        if body and _is_docstring(body[0], lines):
            found.append((body[0].lineno, body[0].end_lineno or body[0].lineno))
        pending.extend(s for s in body if isinstance(s, _Definition))
    found.sort()
    return found


def _inside(ranges: list[tuple[int, int]], line: int) -> bool:
    index = bisect.bisect_right(ranges, (line, len(ranges) + 1 << 30)) - 1
    return index >= 0 and ranges[index][0] <= line <= ranges[index][1]


def _keeps_import(statement: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(statement, ast.Import):
        return any(a.name.split(".")[0] in _SDK_ROOTS for a in statement.names)
    root = (statement.module or "").split(".")[0]
    return (not statement.level and root in _SDK_ROOTS) or any(
        a.name == "*" for a in statement.names
    )


def _is_docstring(statement: ast.stmt, lines: list[str]) -> bool:
    """A string on lines of its own (a docstring): `"doc"; x = 1` and one-line bodies are not."""
    if not (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    ):
        return False
    first = lines[statement.lineno - 1].encode("utf-8", "surrogatepass")
    last = lines[(statement.end_lineno or statement.lineno) - 1].encode("utf-8", "surrogatepass")
    return (
        not first[: statement.col_offset].strip()
        and not last[statement.end_col_offset or 0 :].split(b"#")[0].strip()
    )


def _first_line(statement: ast.stmt) -> int:
    if isinstance(statement, _Definition) and statement.decorator_list:
        return min(statement.lineno, *(d.lineno for d in statement.decorator_list))
    return statement.lineno


def _bound_names(statement: ast.stmt) -> frozenset[str]:
    """The names a module-level statement may bind or change: its assignment targets (with the
    roots of `X[k] = ...` and `X.a = ...`), and for anything else every name it mentions (a call
    such as `PARTS.append(...)` or a branch may change any of them)."""
    if isinstance(statement, _Imports):
        return frozenset((a.asname or a.name).split(".")[0] for a in statement.names)
    if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Delete)):
        targets = (
            statement.targets
            if isinstance(statement, (ast.Assign, ast.Delete))
            else [statement.target]
        )
        return frozenset(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return (
        frozenset(n.id for n in ast.walk(statement) if isinstance(n, ast.Name))
        | frozenset(
            getattr(n, "name", None) or ""
            for n in ast.walk(statement)
            if isinstance(n, _Definition)
        )
        | frozenset(
            (a.asname or a.name).split(".")[0]
            for n in ast.walk(statement)
            if isinstance(n, _Imports)
            for a in n.names
        )
    )


def _marked_lines(text: str, lines: list[str], prompt_names: Sequence[str]) -> list[int]:
    """The sorted line numbers (1-based) holding a marker."""
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    lower = text.lower()
    found: set[int] = set()

    def line_of(offset: int) -> int:
        return bisect.bisect_right(starts, offset)

    for literal, pattern in _CALLS:
        for hit in _positions(lower, literal):
            if pattern.match(lower, hit):
                found.add(line_of(hit))
    for literal in _DECORATOR_LITERALS:
        for hit in _positions(lower, literal):
            number = line_of(hit)
            if _DECORATOR.match(lower, starts[number - 1]):
                found.add(number)
    chunks = sorted({literal_chunk(p).lower() for p in prompt_names})
    if any(not c for c in chunks):  # a pattern such as "*": every assignment may be a prompt
        return list(range(1, len(lines) + 1))
    checked: set[int] = set()
    for chunk in chunks:
        for hit in _positions(lower, chunk):
            number = line_of(hit)
            if number in checked:
                continue
            checked.add(number)
            line = lower[starts[number - 1] : starts[number]]
            if _defines_prompt(line, chunks):
                found.add(number)
    aliases: set[str] = set()
    for literal in _FRAMEWORK_LITERALS:
        for hit in _positions(text, literal):
            for at in (hit, max(hit - 1, 0)):  # `acompletion` holds `completion`
                if _FRAMEWORK.match(text, at):
                    found.add(line_of(hit))
                alias = _FRAMEWORK_ALIAS.match(text, at)
                if alias:
                    aliases.add(alias.group(1))
    for alias in aliases:
        for match in re.finditer(r"\b" + re.escape(alias) + r"\b", text):
            found.add(line_of(match.start()))
    return sorted(found)


def _positions(text: str, literal: str) -> list[int]:
    hits: list[int] = []
    at = text.find(literal)
    while at != -1:
        hits.append(at)
        at = text.find(literal, at + 1)
    return hits


def _defines_prompt(line: str, chunks: list[str]) -> bool:
    """Whether a (lower-cased) line assigns to a prompt-named name, or defines a prompt-named
    function. An assignment starts a statement (the line's
    start, or after `;`); a line ending in a comma is a keyword argument on its own line."""
    for piece in line.split(";"):
        match = _ASSIGNMENT.match(piece) or _DEF.match(piece)
        if match and any(c in match.group("name") for c in chunks):
            return True
    return False


_ASSIGNMENT = re.compile(
    r"[ \t]*(?:[\w.]+[ \t]*=[ \t]*)*(?:[\w.]*\.)?(?P<name>\w+)[ \t]*(?::[^=\n]*)?=(?!=)"
    r"(?![^\n]*,[ \t]*(?:#[^\n]*)?$)"
)
_DEF = re.compile(r"[ \t]*(?:async\s+)?def\s+(?P<name>\w+)\s*\(")


def _bare_names(text: str) -> set[str]:
    return set(_NAMES.findall(_DEFINED.sub(" ", text)))


def _ending(line: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    return line[-1] if line.endswith(("\n", "\r")) else ""
