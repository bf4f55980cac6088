"""Remove the parts of a module that cannot reach a prompt, before libcst sees it.

libcst's parser is the dominant cost of a run (about 11k lines/s), and in a file that passes the
prefilter most lines still hold no prompt. CPython's own parser (`ast`, in C, ten times faster)
gives every statement's lines. Marker lines are found in the text: an SDK call chain, a framework
call (`ChatPromptTemplate`, `Agent(`, `completion(`, or an import alias of one), a prompt-named
assignment or function, a pydantic-ai prompt decorator; never inside a docstring, and not a
prompt-named assignment of a value the interpreter never takes for text (`system_prompt = None`,
a list, a condition) nor a prompt-named function that returns only such values. Then, from the
module down, a statement is kept when:

- it holds a marker (an augmented `prompt += ...` is one: a template grows without being read),
  or declares scope (`global`), or is a class-level statement of a kept class, or a kept
  class's `__init__` (the interpreter runs it for `self.x`);
- it returns from a function whose result is read: one named bare by kept code (a helper the
  interpreter follows), or one whose header is a marker (a prompt-named function, a pydantic-ai
  prompt function);
- or it binds a name that kept code uses as a bare word (`helper(`, `CLIENT`; not `x.helper`,
  not `helper = ...`), or an attribute it reads (`self.x = ...` for `self.x`): a helper the
  interpreter may follow, a value it may read. A name bound inside a function counts only for
  code in that function. This repeats until nothing more is reached. An expression statement
  binds nothing unless it grows a list (`messages.append(...)`, `.extend`, `.insert`): the
  interpreter runs no other (`log(messages)`, `self.emit(...)`), nor `raise` or `assert`; a
  compound statement binds what its header and the statements in it bind.

A kept function, class or compound statement inside a function is opened the same way, so only
the statements of it that matter stay. A dropped class becomes `class Name: pass` (the
interpreter only binds a class it does not run); a dropped statement inside a body becomes
`pass` when the body would be empty; and one that held imports becomes those imports (the
extractor reads a module's imports wherever they are). Blank and comment lines between
statements go too. Whole lines are removed, so columns are unchanged and `Pruned.origin` maps
each line back.

Two known differences from reading the file whole (tests/test_pruning.py keeps them as xfails):
a method read as an attribute and called through an alias (`speak = self.persona`) is not
followed, since keeping every method any code names as an attribute costs a third more lines;
and brackets inside the strings of a dropped function no longer count toward the "nested too
deeply" guard.

Dropping a module-level function, or what it returns, can change an export another module
imports; the model says so (`FileModel.exports_complete`) and the link stage then reads that
module whole for any function it imports from it.
"""

from __future__ import annotations

import ast
import bisect
import itertools
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from promptlint.extract.prefilter import literal_chunk

_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
# A name used as a bare word: `helper(` or `x = helper`; not `obj.helper` (an attribute, which the
# interpreter never follows to a definition of the module), not `def helper(` or `helper = ...`
# or `f(helper=...)` (bindings, not uses). Missing one of these exclusions keeps more, never less.
_NAMES = re.compile(r"(?<![.\w])\w+\b(?!\s*=(?!=|\s*[}!:]))")  # `{x=}` in an f-string uses x
_KEYS = re.compile(r"(\.\s*)?(\w+)")
_ATTRIBUTES = re.compile(r"\.\s*(\w+)")
_RECEIVERS = frozenset({"self", "cls"})
_DECLARES = re.compile(r"\b(?:global|nonlocal)\s+\w")
_IMPORT_LINE = re.compile(r"^[ \t]*(?:from|import)[ \t]", re.MULTILINE)
_DEFINED = re.compile(r"\b(?:def|class)\s+\w+")
# Markers, searched in the lower-cased text by a literal first (fast, in C), each hit then checked
# by a regex at its position or on its line. Calls of an SDK method:
_GAP = r"(?:\s|\\|#[^\n]*)*"  # what may stand between `.` and a name: spaces, `\`, comments
_CALLS = (
    ("completions", re.compile(rf"completions{_GAP}\.{_GAP}(?:create|parse|stream)\b")),
    ("responses", re.compile(rf"responses{_GAP}\.{_GAP}(?:create|parse|stream)\b")),
    ("messages", re.compile(rf"messages{_GAP}\.{_GAP}(?:create|stream)\b")),
    ("generate_content", re.compile(r"generate_content")),
)
# pydantic-ai: a function decorated `@agent.system_prompt` joins that agent's system prompt.
_DECORATOR_LITERALS = ("system_prompt", "instructions")
_DECORATOR = re.compile(r"[ \t]*@\s*[\w.]+\.(?:system_prompt|instructions)\b")
# Framework calls by their last name (`litellm.completion(`, `Agent(`, `ChatPromptTemplate`),
# case-sensitive, and an alias an import gives one.
_FRAMEWORK_CALLS = frozenset({"completion", "acompletion", "ChatPromptTemplate", "Agent"})
# `ChatPromptTemplate` only where it is called or a method of it is (`.from_messages(`): a
# serialisation table or a type annotation naming the class holds no prompt.
_FRAMEWORK = re.compile(rf"ChatPromptTemplate{_GAP}[.(]|\bAgent\s*[(\[]|\ba?completion\s*\(")
_FRAMEWORK_ALIAS = re.compile(r"\b(?:a?completion|ChatPromptTemplate|Agent)\s+as\s+(\w+)")
# Each only in a module that names its framework: an absolute import, or the framework's own
# name before a dot (`litellm.completion(` with `litellm` bound any way). The scan recognises
# these calls by the qualified name the imports give them (`pydantic_ai.Agent`), so inside a
# framework's own package (relative imports) they are no call sites.
_FRAMEWORK_LITERALS = (
    ("ChatPromptTemplate", "langchain"),
    ("Agent", "pydantic_ai"),
    ("completion", "litellm"),
)
# After the framework's name: a dot (`litellm.completion`, `langchain_core.prompts`), or a word
# boundary when an import statement names it.
_AFTER_ROOT = re.compile(r"\w*\s*\.")
_IMPORT_BEFORE = re.compile(r"[ \t]*(?:from|import)[ \t]+$")

_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_Imports = ast.Import | ast.ImportFrom


@dataclass(frozen=True)
class Pruned:
    """The source without what cannot matter. Whole lines are removed (libcst would build nodes
    for blank ones), so columns are unchanged and a line maps back through `origin`."""

    text: str
    origin: tuple[int, ...]  # the original line number of each line of `text`

    @property
    def holds_nothing(self) -> bool:
        """No marker anywhere: extraction would find nothing, so nothing is parsed."""
        return not self.origin

    def original_line(self, line: int) -> int:
        return self.origin[line - 1] if 0 < line <= len(self.origin) else line


@dataclass(eq=False)
class _Unit:
    """A statement that may be dropped, and what it would take to keep it."""

    node: ast.stmt
    start: int  # first line (its first decorator's), 1-based
    end: int
    binds: frozenset[str]  # kept when kept code mentions one of these
    always: bool  # kept whatever: it holds a marker, or the interpreter always needs it
    stub: str  # what replaces it when dropped: "" (nothing), "pass", "class X: pass"
    kind: str  # what its body is, once kept: "module", "class", "function" or "" (kept whole)
    # The functions around it, innermost first: a name it binds there is that function's local,
    # used only by code inside it. Empty at module level and in class bodies.
    scope: tuple[int, ...] = ()
    # The function whose body holds it (directly or in a compound statement), if any.
    function: _Unit | None = None
    home: int | None = None  # the scope its bindings live in, when not `scope`'s innermost


def prune(text: str, prompt_names: Sequence[str]) -> Pruned | None:
    """The source with what cannot matter removed, or None when nothing can be dropped or
    CPython cannot parse it (the caller then parses it whole; a syntax error is reported as the
    whole file shows it). A file with no marker at all prunes to nothing, unparsed (as a file the
    prefilter skips: a syntax error in it is not reported)."""
    lines = _LINES.findall(text)
    marks, named = _marked_lines(text, lines, prompt_names)
    if not marks:
        return Pruned("", ())
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
    # A marker in a docstring (`agent = Agent(...)` in a usage example) marks nothing.
    docstrings = _docstrings(tree, lines)
    # And `system_prompt = None` (or a list, a condition, ...) is no template: the interpreter
    # notes a prompt-named name only when it holds text.
    inert = _inert_assignments(tree, named) if named else set()
    marks = [line for line in marks if not _inside(docstrings, line) and line not in inert]
    if not marks:
        return Pruned("", ())
    slicer = _Slicer(lines, marks)
    slicer.run(tree)
    return slicer.result()


class _Slicer:
    """Keeps statements from the module down: a kept statement's own text (its lines outside the
    statements it holds) names what else must be kept, until nothing more is reached."""

    def __init__(self, lines: list[str], marks: list[int]) -> None:
        self.lines = lines
        self.marks = marks
        # What kept code uses, everywhere and inside each function (by id of its node), and the
        # live units waiting for a name, by the scope it would be bound in (0: module-wide).
        self.words: dict[int, set[str]] = {0: set()}
        self.waiting: dict[int, dict[str, list[_Unit]]] = {0: {}}
        self.kept: set[int] = set()  # id(unit)
        # The bodies of kept statements: their units, and whether those are all it holds.
        self.bodies: list[tuple[list[_Unit], bool]] = []
        self.blank: list[int] = []  # blank and comment lines between statements
        self.pending: list[_Unit] = []  # units to keep

    def marked(self, start: int, end: int) -> bool:
        index = bisect.bisect_left(self.marks, start)
        return index < len(self.marks) and self.marks[index] <= end

    def run(self, tree: ast.Module) -> None:
        self._open([tree.body], 1, len(self.lines), "module", (), None)
        while self.pending:
            unit = self.pending.pop()
            if id(unit) in self.kept:
                continue
            self.kept.add(id(unit))
            if unit.kind:
                self._open(
                    _bodies(unit.node),
                    unit.start,
                    unit.end,
                    unit.kind,
                    self._inner(unit),
                    _function_of_body(unit),
                )
            else:
                self._mention("".join(self.lines[unit.start - 1 : unit.end]), unit.scope)

    def _inner(self, unit: _Unit) -> tuple[int, ...]:
        """The scope of the statements a kept unit holds."""
        node = unit.node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # A compound statement's or a class's statements: the scope around it (the
            # interpreter looks a method's bare names up through its class).
            return unit.scope
        text = "".join(self.lines[unit.start - 1 : unit.end])
        if ("global" in text or "nonlocal" in text) and _DECLARES.search(text):
            return unit.scope  # `global x`: its bindings reach further; treated as outside
        self.words[id(node)] = set()
        self.waiting[id(node)] = {}
        return (id(node), *unit.scope)

    def _open(
        self,
        bodies: list[list[ast.stmt]],
        start: int,
        end: int,
        kind: str,
        scope: tuple[int, ...],
        function: _Unit | None,
    ) -> None:
        """A statement is kept: the statements it holds become units, its own text mentions.
        Blank and comment lines between the statements of a body are dropped with the rest."""
        covered = [False] * (end - start + 1)
        for body in bodies:
            units = [u for s in body if (u := self._unit(s, kind, scope, function)) is not None]
            # A body must keep a statement: if every one of them is dropped, the first
            # becomes `pass`.
            self.bodies.append((units, len(units) == len(body) and kind != "module"))
            # Between two statements (any two: a statement that shares its line with another
            # is no unit, and its strings may hold blank and `#` lines) only blanks and comments.
            for before, after in itertools.pairwise(body):
                self._drop_blank((before.end_lineno or before.lineno) + 1, _first_line(after) - 1)
            for unit in units:
                size = unit.end - unit.start + 1
                covered[unit.start - start : unit.end - start + 1] = [True] * size
                home = unit.home if unit.home is not None else (scope[0] if scope else 0)
                if unit.always or not unit.binds.isdisjoint(self.words[home]):
                    self.pending.append(unit)
                waiting = self.waiting[home]
                for name in unit.binds:
                    waiting.setdefault(name, []).append(unit)
        own = self.lines[start - 1 : end]
        text = "".join(line for line, inner in zip(own, covered, strict=True) if not inner)
        self._mention(text, scope)

    def _drop_blank(self, first: int, last: int) -> None:
        for number in range(first, last + 1):
            text = self.lines[number - 1].strip()
            if not text or text.startswith("#"):
                self.blank.append(number)

    def _mention(self, text: str, scope: tuple[int, ...]) -> None:
        """Code in `scope` uses these names: module-wide, and in each function around it."""
        used = _mentions(text)
        for home in (0, *scope):
            known, waiting = self.words[home], self.waiting[home]
            for word in used - known:
                known.add(word)
                self.pending.extend(waiting.pop(word, ()))

    def _unit(
        self,
        statement: ast.stmt,
        block: str,
        scope: tuple[int, ...],
        function: _Unit | None,
    ) -> _Unit | None:
        """The unit for a statement of a `block`, or None when it must stay as it is (it shares
        a line with other code: `a = 1; b = 2`, `if x: y`)."""
        start = _first_line(statement)
        end = statement.end_lineno or statement.lineno
        if not _owns_lines(statement, start, end, self.lines):
            return None
        marked = self.marked(start, end)

        def unit(binds: frozenset[str], always: bool, stub: str, kind: str = "") -> _Unit:
            return _Unit(
                statement, start, end, binds, always, stub, kind, scope=scope, function=function
            )

        if isinstance(statement, ast.ClassDef):
            if marked:
                return unit(frozenset(), True, "", "class")
            # The interpreter only binds a class it does not run.
            return unit(frozenset(), False, f"class {statement.name}: pass")
        stub = "pass" if block != "module" else ""
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # `__init__` runs for what `self.x` holds in the other methods: kept whole.
            if block == "class" and statement.name == "__init__":
                return unit(frozenset(), True, stub)
            # A method the interpreter would follow is named bare: it never follows `self.ask()`
            # (an attribute call), and what `ask = self.ask; ask()` reaches is not worth
            # keeping every method any code names as an attribute (a third more lines).
            return unit(frozenset({statement.name}), marked, stub, "function")
        if _is_docstring(statement, self.lines):
            return unit(frozenset(), False, stub)
        if isinstance(statement, ast.Return) and function is not None and not marked:
            return self._return_unit(statement, start, end, stub, scope, function)
        if block == "class" or isinstance(statement, _ALWAYS):
            return unit(frozenset(), True, stub)
        if isinstance(statement, _Imports):
            # Kept as it is when kept code names what it binds; dropped, it still leaves itself
            # behind on one line (see `_imports_in`): the scan reads every import of a module.
            return unit(_bound_names(statement, self.lines), False, stub)
        kind = "function" if block == "function" and isinstance(statement, _COMPOUND) else ""
        return unit(_bound_names(statement, self.lines), marked, stub, kind)

    def _return_unit(
        self,
        statement: ast.Return,
        start: int,
        end: int,
        stub: str,
        scope: tuple[int, ...],
        function: _Unit,
    ) -> _Unit:
        """What a function returns matters when the interpreter uses it: for a function code
        calls by name (a helper it follows), and for one whose header is a marker (a
        prompt-named function, a pydantic-ai prompt function). A function kept only for the
        prompts in it returns nothing anyone reads: its `return` waits for its name."""
        node = function.node
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        header_end = max(node.lineno, node.body[0].lineno - 1)
        if self.marked(function.start, header_end):
            return _Unit(statement, start, end, frozenset(), True, stub, "", scope=scope)
        return _Unit(
            statement,
            start,
            end,
            frozenset({node.name}),
            False,
            stub,
            "",
            scope=scope,
            function=function,
            home=function.scope[0] if function.scope else 0,
        )

    def _imports_in(self, unit: _Unit) -> str:
        """The import statements a dropped statement holds, as one line (`import a; from b
        import c`), in source order; "" when it holds none."""
        text = "".join(self.lines[unit.start - 1 : unit.end])
        if "import" not in text or not _IMPORT_LINE.search(text):  # the literal first: cheap
            return ""
        found: list[ast.Import | ast.ImportFrom] = []
        pending: list[ast.stmt] = [unit.node]  # statements only: an import is one
        while pending:
            node = pending.pop()
            if isinstance(node, _Imports):
                found.append(node)
            elif isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, *_COMPOUND)
            ):
                for body in _bodies(node):
                    pending.extend(body)
        found.sort(key=lambda n: (n.lineno, n.col_offset))
        return "; ".join(ast.unparse(n) for n in found)

    def result(self) -> Pruned | None:
        replaced: dict[int, str] = {}  # 0-based line -> its stub
        gone = [False] * len(self.lines)
        for number in self.blank:
            gone[number - 1] = True
        for units, all_units in self.bodies:
            needs_statement = all_units and not any(id(u) in self.kept for u in units)
            for unit in units:
                if id(unit) in self.kept:
                    continue
                gone[unit.start - 1 : unit.end] = [True] * (unit.end - unit.start + 1)
                stub = unit.stub
                # The extractor reads a module's imports wherever they are (which SDK it uses,
                # what a name stands for): a dropped statement leaves its imports behind.
                imports = self._imports_in(unit)
                if imports:
                    stub = f"{stub[: -len('pass')]}{imports}" if stub.endswith("pass") else imports
                elif stub == "pass" and not needs_statement:
                    continue
                if stub:
                    needs_statement = False
                    at = unit.node.lineno if stub.startswith("class") else unit.start
                    line = self.lines[at - 1]
                    indent = line[: len(line) - len(line.lstrip())]
                    replaced[at - 1] = indent + stub + line[len(line.rstrip("\r\n")) :]
        kept_lines: list[str] = []
        origin: list[int] = []
        for index, line in enumerate(self.lines):
            if index in replaced:
                line = replaced[index]
            elif gone[index]:
                continue
            kept_lines.append(line)
            origin.append(index + 1)
        if len(kept_lines) == len(self.lines):
            return None
        return Pruned("".join(kept_lines), tuple(origin))


# Statements kept wherever they are: what a function returns, and scope declarations.
_ALWAYS = (ast.Return, ast.Global, ast.Nonlocal, ast.Break, ast.Continue)
_COMPOUND: tuple[type[ast.stmt], ...] = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.Match,
)


def _function_of_body(unit: _Unit) -> _Unit | None:
    """The function a kept unit's statements belong to."""
    if isinstance(unit.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return unit
    if isinstance(unit.node, ast.ClassDef):
        return None
    return unit.function


def _bodies(node: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists a kept statement holds (`body`, `else`, `except`, `case`, ...).
    An `elif` is no statement of its own in the text: its bodies count as the `if`'s."""
    found: list[list[ast.stmt]] = []
    pending: list[ast.AST] = [node]
    while pending:
        current = pending.pop()
        found.append(getattr(current, "body", []))
        orelse: list[ast.stmt] = getattr(current, "orelse", [])
        if isinstance(current, ast.If) and len(orelse) == 1 and isinstance(orelse[0], ast.If):
            pending.append(orelse[0])  # `elif`, or `else:` holding one `if`: both are safe here
        else:
            found.append(orelse)
        found.append(getattr(current, "finalbody", []))
        pending.extend(getattr(current, "handlers", ()))
        pending.extend(getattr(current, "cases", ()))
    return [body for body in found if body]


def _owns_lines(statement: ast.stmt, start: int, end: int, lines: list[str]) -> bool:
    """Whether the statement's lines hold nothing else: only blanks before it on its first line,
    only blanks or a comment after it on its last."""
    if start == statement.lineno:
        before = lines[start - 1].encode("utf-8", "surrogatepass")[: statement.col_offset]
        if before.strip():
            return False
    last = lines[end - 1].encode("utf-8", "surrogatepass")
    after = last[statement.end_col_offset or 0 :].strip()
    return not after or after.startswith(b"#")


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
    index = bisect.bisect_right(ranges, (line, sys.maxsize)) - 1
    return index >= 0 and ranges[index][0] <= line <= ranges[index][1]


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


def _bound_names(statement: ast.stmt, lines: list[str]) -> frozenset[str]:
    """What a statement may bind or change, as keys: a bare name (`x`), or an attribute (`.x`,
    for `self.x = ...`, which the interpreter reads back as `self.x`). Read from the text, so
    words in strings and comments count too: more is kept, never less.

    An assignment changes its targets (`X[k] = ...` changes `X`); a call statement its callee's
    object (`self.parts.append(p)` changes `.parts`) and the names passed to it; anything else
    may change whatever it names. `self` and `cls` are no keys: every method names them."""
    if isinstance(statement, _Imports):
        return frozenset((a.asname or a.name).split(".")[0] for a in statement.names)
    if ":=" in "".join(lines[statement.lineno - 1 : statement.end_lineno]):
        return _keys(_text_of(statement, lines))
    if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        target = statement.targets[-1] if isinstance(statement, ast.Assign) else statement.target
        return _keys(_text_up_to(statement, target, lines))
    if isinstance(statement, ast.Expr):
        # The interpreter runs no expression statement but `name.append(...)`, `.extend`,
        # `.insert` (a list being built); any other one (`log(x)`, `self.emit(...)`, `await
        # f()`) changes nothing it tracks, so it is kept only for a marker in it.
        call = statement.value
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr in _MUTATIONS
            and isinstance(call.func.value, ast.Name)
        ):
            return frozenset({call.func.value.id})
        return frozenset()
    if isinstance(statement, (ast.Raise, ast.Assert, ast.Pass)):
        return frozenset()  # no binding the interpreter reads
    if isinstance(statement, _COMPOUND):
        # What its header binds (`for x in`, `with ... as f`, `except E as e`, a `case`
        # capture), and what the statements it holds bind.
        found = set(_keys(_header_targets(statement, lines)))
        for body in _bodies(statement):
            for inner in body:
                found.update(_bound_names(inner, lines))
        return frozenset(found)
    return _keys(_text_of(statement, lines))


# The methods by which the interpreter sees a list grow (`interpret.py`, `_exec_mutation`).
_MUTATIONS = frozenset({"append", "extend", "insert"})


def _header_targets(statement: ast.stmt, lines: list[str]) -> str:
    """The text of the names a compound statement's header binds (for `_keys`)."""
    targets: list[ast.expr | ast.pattern] = []
    if isinstance(statement, (ast.For, ast.AsyncFor)):
        targets.append(statement.target)
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        targets.extend(i.optional_vars for i in statement.items if i.optional_vars is not None)
    elif isinstance(statement, ast.Try):
        return " ".join(h.name for h in getattr(statement, "handlers", ()) if h.name)
    elif isinstance(statement, ast.Match):
        targets.extend(c.pattern for c in statement.cases)
    return " ".join(_segment(node, lines) for node in targets)


def _segment(node: ast.expr | ast.pattern, lines: list[str]) -> str:
    """A node's source text (by its positions; `ast.get_source_segment` re-splits the file)."""
    first, last = node.lineno, node.end_lineno or node.lineno
    if first == last:
        line = lines[first - 1].encode("utf-8", "surrogatepass")
        piece = line[node.col_offset : node.end_col_offset]
        return piece.decode("utf-8", "surrogatepass")
    return "".join(lines[first - 1 : last])


def _text_of(statement: ast.stmt, lines: list[str]) -> str:
    return "".join(lines[_first_line(statement) - 1 : statement.end_lineno or statement.lineno])


def _text_up_to(statement: ast.stmt, node: ast.expr, lines: list[str]) -> str:
    """The statement's text from its start to the end of `node`."""
    end_line = node.end_lineno or statement.lineno
    head = "".join(lines[statement.lineno - 1 : end_line - 1])
    last = lines[end_line - 1].encode("utf-8", "surrogatepass")[: node.end_col_offset]
    return head + last.decode("utf-8", "surrogatepass")


def _keys(text: str) -> frozenset[str]:
    return frozenset(
        "." + name if dot else name
        for dot, name in _KEYS.findall(text)
        if dot or name not in _RECEIVERS
    )


def _marked_lines(
    text: str, lines: list[str], prompt_names: Sequence[str]
) -> tuple[list[int], set[int]]:
    """The sorted line numbers (1-based) holding a marker, and those of them marked only for
    a prompt-named assignment or definition."""
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    # ASCII-only, so that offsets stay those of `text` (`"İ".lower()` is two characters).
    lower = text.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")
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
        return list(range(1, len(lines) + 1)), set()
    named: set[int] = set()
    checked: set[int] = set()
    for chunk in chunks:
        for hit in _positions(lower, chunk):
            number = line_of(hit)
            if number in checked:
                continue
            checked.add(number)
            line = lower[starts[number - 1] : starts[number]]
            if _defines_prompt(line, chunks):
                named.add(number)
    aliases: set[str] = set()
    for literal, root in _FRAMEWORK_LITERALS:
        if literal not in text or not _names_framework(text, root):
            continue
        for hit in _positions(text, literal):
            for at in (hit, max(hit - 1, 0)):  # `acompletion` holds `completion`
                if _FRAMEWORK.match(text, at):
                    found.add(line_of(hit))
                renamed = _FRAMEWORK_ALIAS.match(text, at)
                if renamed:
                    aliases.add(renamed.group(1))
    for alias in aliases:
        for match in re.finditer(r"\b" + re.escape(alias) + r"\b", text):
            found.add(line_of(match.start()))
    return sorted(found | named), named - found


def _inert_assignments(tree: ast.Module, lines: set[int]) -> set[int]:
    """Of these lines, those where only statements start that give a prompt-named name no text:
    an assignment of a value the interpreter cannot take for a string (`None`, a number, a
    list, a dict, a condition, a subscript; not a name or a call, which may hold text), or a
    function that returns only such values (or nothing)."""
    verdicts: dict[int, bool] = {}
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        statement = pending.pop()
        if statement.lineno in lines:
            if isinstance(statement, (ast.Assign, ast.AnnAssign)):
                inert = _never_text(statement.value)
            elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inert = all(_never_text(r.value) or r.value is None for r in _returns(statement))
            else:
                inert = False
            verdicts[statement.lineno] = verdicts.get(statement.lineno, True) and inert
        for body in _bodies(statement):
            pending.extend(body)
    return {line for line, inert in verdicts.items() if inert}


def _returns(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Return]:
    """The function's own `return` statements (not those of functions or classes in it)."""
    found: list[ast.Return] = []
    pending: list[ast.stmt] = list(function.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, ast.Return):
            found.append(statement)
        elif not isinstance(statement, _Definition):
            for body in _bodies(statement):
                pending.extend(body)
    return found


def _never_text(value: ast.expr | None) -> bool:
    """Whether the interpreter (`interpret.py`, `eval`) can only make a non-string of it."""
    while isinstance(value, (ast.Await, ast.NamedExpr)):
        value = value.value
    if isinstance(value, ast.Constant):
        return not isinstance(value.value, str)
    return value is None or isinstance(value, _NEVER_TEXT)


_NEVER_TEXT = (
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.IfExp,
    ast.BoolOp,
    ast.UnaryOp,
    ast.Compare,
    ast.Subscript,
    ast.Lambda,
)


def _names_framework(text: str, root: str) -> bool:
    """Whether the text imports `root` by absolute name or names it before a dot. Searched from
    the literal (a regex anchored at line starts over a whole file is slow)."""
    for hit in _positions(text, root):
        if hit and (text[hit - 1].isalnum() or text[hit - 1] in "._"):
            continue  # part of another name, or relative (`from .litellm import`)
        if _AFTER_ROOT.match(text, hit + len(root)):
            return True
        line_start = text.rfind("\n", 0, hit) + 1
        if _IMPORT_BEFORE.match(text[line_start:hit]):
            return True
    return False


def _positions(text: str, literal: str) -> list[int]:
    hits: list[int] = []
    at = text.find(literal)
    while at != -1:
        hits.append(at)
        at = text.find(literal, at + 1)
    return hits


def _defines_prompt(line: str, chunks: list[str]) -> bool:
    """Whether a (lower-cased) line assigns to a prompt-named name, or defines a prompt-named
    function. An assignment starts a statement (the line's start, or after `;`). A line that ends
    in a comma and opens no bracket is a keyword argument on its own line (`prompt=prompt,`),
    not an assignment."""
    for piece in line.split(";"):
        match = _ASSIGNMENT.match(piece) or _DEF.match(piece)
        if match and any(c in match.group("name") for c in chunks):
            # (Unless its "comment" may be inside a string: `X = "Count them, # of items"`.)
            ending = _KEYWORD_LINE.search(piece)
            quoted = "'" in piece or '"' in piece
            keyword = ending is not None and not ("#" in ending.group() and quoted)
            if keyword and _opens(piece) <= 0:
                continue
            return True
    return False


def _opens(line: str) -> int:
    return sum(map(line.count, "([{")) - sum(map(line.count, ")]}"))


# An assignment, annotated or augmented: `prompt += ...` grows a template that no later code
# need read (the template is what the name holds at the end), so it is a marker of its own.
_ASSIGNMENT = re.compile(
    r"[ \t]*(?:[\w.]+[ \t]*=[ \t]*)*\(*[ \t]*(?:[\w.]*\.)?(?P<name>\w+)[ \t]*\)*[ \t]*"
    r"(?::[^=\n]*|[-+*/%&|^@]|//|\*\*|>>|<<)?=(?!=)"
)
_KEYWORD_LINE = re.compile(r",[ \t]*(?:#[^\n]*)?$")
_DEF = re.compile(r"[ \t]*(?:async\s+)?def\s+(?P<name>\w+)\s*\(")


def _mentions(text: str) -> set[str]:
    """The names a text uses as bare words, and the attributes it reads (as `.name`)."""
    return set(_NAMES.findall(_DEFINED.sub(" ", text))) | {
        "." + name for name in _ATTRIBUTES.findall(text)
    }
