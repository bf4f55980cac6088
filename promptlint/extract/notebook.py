"""Jupyter notebook (nbformat 4) bytes -> one Python module of its code cells, with a line map.

The code cells are joined, in order, into a single module (Jupyter runs them in one namespace, so
a prompt built in cell 2 and sent in cell 5 is one data flow). `NotebookSource.locate` maps a line
of that module back to `(cell, line in cell)` for reports such as `nb.ipynb:cell 3:12:5`; columns
are never changed.

Decisions:

* Cell numbers count ALL cells, 1-based, in the order of the notebook's `cells` list (markdown
  and raw cells count but contribute no text): "cell 3" is the third cell you see in Jupyter,
  whatever the types of the cells before it. Execution counts (`[12]:`) are not used: they
  change on every run and are missing in unexecuted notebooks.
* Each code cell's lines end with "\\n"; cells are concatenated with no separator line, so the
  module has exactly one line per code-cell line (an empty cell adds none). "\\r\\n" and "\\r"
  become "\\n". A cell that leaves a bracket or a triple-quoted string open still runs into the
  next cell, as in any single module: that is a syntax error of the notebook.
* IPython syntax is neutralised line for line, so line numbers and the columns of everything
  else stay exact. Only lines that *start a statement* are considered (never a line inside a
  string, inside brackets, or after a backslash continuation: a prompt's `%s` or `!important`
  line is left alone). Per cell, as IPython does:
  - a cell magic (first non-blank line `%%name`): for the Python-bodied `%%time`, `%%timeit`,
    `%%capture`, `%%prun` and `%%debug`, the magic line becomes a comment and the body is kept
    (and neutralised like any cell); any other (`%%bash`, `%%writefile`, `%%html`, ...) makes
    the whole cell non-Python: every line becomes the comment `# promptlint: magic`;
  - a line magic, shell escape or other IPython escape (`%...`, `!...`, `!!...`, `?obj`,
    `??obj`, `,f a`, `;f a`, `/f a`) becomes `pass  # promptlint: magic` at its indentation,
    so a magic that is the only statement of a block (`for f in files:` / `    !rm $f`) leaves
    a valid block; a comment would not;
  - a help line (`obj?`, `obj??`: the code before any comment ends in `?`) likewise;
  - an assignment from a magic (`x = !ls`, `a, b = %sx cmd`) becomes `x = None  # promptlint:
    magic` (the target is kept, so later reads of `x` still see a binding);
  - backslash-continued lines of a magic, and the further lines of a multi-line help
    statement, become `# promptlint: magic`.
* A notebook whose kernel is not Python (`metadata.kernelspec.language` or
  `metadata.language_info.name`, when present) is a `NotebookError`; no metadata means Python.
* Never raises: invalid UTF-8, invalid JSON, a non-nbformat-4 structure, or a code cell with a
  NUL or an unpaired surrogate (which no parser accepts) is a `NotebookError` with a message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

__all__ = ["MAGIC_COMMENT", "NotebookError", "NotebookSource", "notebook_source"]

MAGIC_COMMENT = "# promptlint: magic"

# Cell magics whose body is Python run in the notebook's namespace: the body is kept and linted.
_PYTHON_CELL_MAGICS = frozenset({"capture", "debug", "prun", "time", "timeit"})
# IPython's escape characters at the start of a statement (`%%` and `!!`, `??` start with these).
_ESCAPES = frozenset("%!?,;/")
_CELL_MAGIC = re.compile(r"\s*%%(\w*)")
_MAGIC_ASSIGN = re.compile(r"(?P<target>\s*[^\s=#'\"!%][^=#'\"!%]*?)\s*=\s*[!%]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PYTHON_LANGUAGE = re.compile(r"i?python\s*[0-9.]*")


@dataclass(frozen=True)
class NotebookSource:
    """The notebook's code cells as one module, and where each of its lines came from."""

    text: str
    # Per module line (index = line - 1): (cell number, line within the cell), both 1-based;
    # cell numbers count all cells (see the module docstring).
    cells: tuple[tuple[int, int], ...]

    def locate(self, line: int) -> tuple[int, int]:
        """Module line (1-based) -> (cell number, line within the cell).

        Total, for positions a parser may report just outside the text: a line past the end
        continues counting past the last line of the last code cell (an "unexpected end of
        file" at the line after the last one is that cell's next line); a line below 1 is line
        1; a notebook without code lines maps line n to (1, n).
        """
        line = max(line, 1)
        if line <= len(self.cells):
            return self.cells[line - 1]
        if not self.cells:
            return (1, line)
        cell, last = self.cells[-1]
        return (cell, last + line - len(self.cells))


@dataclass(frozen=True)
class NotebookError:
    """Why the bytes are not a Python notebook that can be linted, and where in the file, when
    the bytes themselves are wrong (invalid UTF-8 or JSON)."""

    message: str
    line: int = 1
    column: int = 1


def notebook_source(data: bytes) -> NotebookSource | NotebookError:
    """Read an `.ipynb` file's bytes. Never raises for anything a file contains."""
    document = _load(data)
    if isinstance(document, NotebookError):
        return document
    if not isinstance(document, dict):
        return NotebookError(
            f"top level is a JSON {_json_type(document)}, not an object: not a Jupyter notebook"
        )
    cells = document.get("cells")
    if not isinstance(cells, list):
        if "worksheets" in document:
            return NotebookError(
                "an nbformat 3 notebook ('worksheets'): only nbformat 4 is supported; convert it "
                "with `jupyter nbconvert --to notebook --nbformat 4`"
            )
        return NotebookError("no 'cells' list: not a Jupyter notebook (nbformat 4)")
    language = _non_python_language(document.get("metadata"))
    if language is not None:
        return NotebookError(f"the notebook's kernel language is {language!r}, not Python")

    text: list[str] = []
    origins: list[tuple[int, int]] = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            return NotebookError(f"cell {number} is a JSON {_json_type(cell)}, not an object")
        cell_type = cell.get("cell_type")
        if not isinstance(cell_type, str):
            return NotebookError(f"cell {number} has no 'cell_type' string")
        if cell_type != "code":
            continue
        source = _cell_source(cell.get("source"))
        if source is None:
            return NotebookError(f"cell {number}: 'source' is not a string or a list of strings")
        problem = _unparseable(source)
        if problem is not None:
            return NotebookError(f"cell {number} contains {problem}")
        lines = _LINE_BREAK.split(source)
        if lines[-1] == "":
            lines.pop()  # the source's final line break, or an empty cell
        for index, line in enumerate(_neutralise(lines), start=1):
            text.append(line + "\n")
            origins.append((number, index))
    return NotebookSource("".join(text), tuple(origins))


def _neutralise(lines: list[str]) -> list[str]:
    """One cell's lines with IPython syntax replaced line for line (see the module docstring)."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None:
        magic = _CELL_MAGIC.match(lines[first])
        if magic is not None:
            if magic.group(1) not in _PYTHON_CELL_MAGICS:
                return [MAGIC_COMMENT] * len(lines)
            lines = [*lines[:first], MAGIC_COMMENT, *lines[first + 1 :]]

    out = list(lines)
    scanner = _Scanner()
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        escape = stripped[:1] in _ESCAPES
        assign = None if escape else _MAGIC_ASSIGN.match(line)
        if escape or assign is not None:
            if assign is None:
                out[i] = f"{indent}pass  {MAGIC_COMMENT}"
            else:
                out[i] = f"{assign.group('target')} = None  {MAGIC_COMMENT}"
            # The magic's text is not Python: it is not scanned, only followed across `\`.
            while line.endswith("\\") and i + 1 < len(lines):
                i += 1
                line = lines[i]
                out[i] = f"{indent}{MAGIC_COMMENT}"
            i += 1
            continue
        # A Python statement: scan its physical lines to find where it ends.
        start = i
        code = scanner.scan(line)
        while not scanner.at_statement_start and i + 1 < len(lines):
            i += 1
            code = scanner.scan(lines[i])
        if code.rstrip().endswith("?") and not scanner.unterminated:  # `obj?`, `obj??`: help
            out[start] = f"{indent}pass  {MAGIC_COMMENT}"
            for k in range(start + 1, i + 1):
                out[k] = f"{indent}{MAGIC_COMMENT}"
        i += 1
    return out


class _Scanner:
    """Just enough of Python's tokenizer to know whether a physical line starts a statement:
    open strings (a backslash escapes the next character in every string, raw or not, as far
    as where the string ends goes), bracket depth, and backslash continuations. Comments are
    skipped. f-strings are scanned as plain strings, which balances out for nested quotes."""

    def __init__(self) -> None:
        self.quote = ""  # the delimiter of the string open at the end of the last line
        self.depth = 0
        self.continued = False  # the last line ended with a backslash outside any string
        self.unterminated = False  # the last line ended inside a one-line string

    @property
    def at_statement_start(self) -> bool:
        return not self.quote and self.depth == 0 and not self.continued

    def scan(self, line: str) -> str:
        """Advance over one physical line; return its code before any comment."""
        self.continued = self.unterminated = False
        escaped_end = False  # a backslash ends the line inside a string
        n = len(line)
        i = 0
        while i < n:
            c = line[i]
            if self.quote:
                if c == "\\":
                    escaped_end = i == n - 1
                    i += 2
                elif line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = ""
                else:
                    i += 1
                continue
            if c == "#":
                return line[:i]
            if c in "'\"":
                self.quote = c * 3 if line.startswith(c * 3, i) else c
                i += len(self.quote)
                continue
            if c in "([{":
                self.depth += 1
            elif c in ")]}":
                self.depth = max(self.depth - 1, 0)
            elif c == "\\" and i == n - 1:
                self.continued = True
            i += 1
        if len(self.quote) == 1 and not escaped_end:
            self.quote = ""  # an unterminated one-line string: Python's error to report
            self.unterminated = True
        return line


def _load(data: bytes) -> object:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[start : exc.start].decode("utf-8", errors="replace")) + 1  # characters
        return NotebookError(
            f"not valid UTF-8: byte 0x{data[exc.start]:02x} at line {line}, column {column}",
            line,
            column,
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return NotebookError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            exc.lineno,
            exc.colno,
        )
    except RecursionError:
        return NotebookError("not valid JSON: nested too deeply to read")
    except ValueError as exc:  # e.g. an integer longer than Python's int conversion limit
        return NotebookError(f"not valid JSON: {exc}")


def _cell_source(source: object) -> str | None:
    """nbformat's multiline string: a string, or a list of strings joined with nothing."""
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        return "".join(source)
    return None


def _unparseable(source: str) -> str | None:
    if "\x00" in source:
        return "a NUL character; it is not Python source"
    try:
        source.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"an unpaired surrogate (\\u{ord(source[exc.start]):04x}); it is not Python source"
    return None


def _non_python_language(metadata: object) -> str | None:
    """The kernel's language when the metadata names one that is not Python."""
    if not isinstance(metadata, dict):
        return None
    for key, field in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if not isinstance(section, dict):
            continue
        language = section.get(field)
        if (
            isinstance(language, str)
            and language.strip()
            and not _PYTHON_LANGUAGE.fullmatch(language.strip().lower())
        ):
            return language
    return None


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else "object"
