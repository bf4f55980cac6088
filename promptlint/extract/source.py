"""Bytes -> libcst Module, or a PC000 finding. Never raises for anything a user's file contains."""

from __future__ import annotations

import ast
import codecs
import io
import re
import tokenize
from itertools import accumulate, compress, count, repeat
from operator import and_, eq, le, sub

import libcst as cst

from promptlint.model import ParseError


def decode(data: bytes) -> str | ParseError:
    """Decode as Python does: BOM, then a PEP 263 coding cookie, else UTF-8."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "unknown encoding" in exc.msg or "encoding problem" in exc.msg:
            message = f"cannot decode file: {exc.msg}"
            if data.startswith(codecs.BOM_UTF8):
                message += (
                    " (a UTF-8 byte-order mark, but a coding line declaring another encoding)"
                )
            return ParseError(message, exc.lineno or _cookie_line(data), 1)
        encoding = "utf-8"  # bad bytes in the first two lines: find them below, with a position
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        # In characters, as every other column: the bytes before the bad one decode.
        column = len(data[start : exc.start].decode(encoding, errors="replace")) + 1
        declared = _cookie_line(data, default=0) if encoding not in _UTF8 else 0
        advice = (
            f"the coding line (line {declared}) declares {encoding}: correct it, or re-save the "
            f"file as {encoding}"
            if declared
            else "save it as UTF-8 or declare its encoding with a `# -*- coding: ... -*-` line"
        )
        return ParseError(
            f"file is not valid {encoding} (byte 0x{data[exc.start]:02x}); {advice}",
            line,
            column,
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        line, column = _position(text, text.index("\x00"))
        return ParseError("file contains a NUL byte; it is not Python source", line, column)
    return text


_UTF8 = ("utf-8", "utf-8-sig")  # what tokenize says without a coding line
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+")  # PEP 263, as tokenize reads it


def _cookie_line(data: bytes, default: int = 1) -> int:
    """The line (1 or 2) of the PEP 263 coding declaration, else `default`."""
    for number, line in enumerate(data.split(b"\n", 2)[:2], start=1):
        if _COOKIE.match(line.removeprefix(codecs.BOM_UTF8)):
            return number
    return default


# CPython refuses more than 200 nested brackets; libcst's native parser crashes the whole process
# (a segfault, not an exception) somewhere past 1,000. Deeper files never reach it.
_MAX_BRACKET_DEPTH = 200
_NOT_BRACKETS = re.compile(r"[^()\[\]{}]+")
_STEP = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


def parse(text: str) -> cst.Module | ParseError:
    if _bracket_depth_exceeds(text, _MAX_BRACKET_DEPTH):
        return _python_says(text) or ParseError("file is nested too deeply to parse", 1, 1)
    too_big = too_large(text) or _too_deep(text)
    if too_big is not None:
        return too_big
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        verdict = _python_verdict(text)
        if isinstance(verdict, ParseError):
            return verdict
        line, column = max(exc.raw_line, 1), max(exc.raw_column, 0) + 1
        if verdict:  # e.g. 5,000 adjacent string literals: a limit of libcst's, not an error
            return ParseError(
                f"cannot parse file: {_short(exc.message)} (Python accepts this file, "
                "promptlint's parser does not; please report it)",
                line,
                column,
            )
        return ParseError(f"syntax error: {_short(exc.message)}", line, column)
    except RecursionError:
        return ParseError("file is nested too deeply to parse", 1, 1)
    except Exception as exc:  # libcst validates what it builds (e.g. str + bytes concatenation)
        return _python_says(text) or ParseError(f"cannot parse file: {exc}", 1, 1)


def _bracket_depth_exceeds(text: str, limit: int) -> bool:
    """A cheap estimate of the deepest bracket nesting (brackets inside strings count too): exact
    enough for a guard, since a file it flags is then checked by CPython's own parser. The running
    depth is summed in C (`accumulate`), not in a Python loop."""
    if text.count("(") + text.count("[") + text.count("{") <= limit:
        return False
    steps = map(_STEP.__getitem__, _NOT_BRACKETS.sub("", text))
    return max(accumulate(steps), default=0) > limit


# libcst's parser takes time quadratic in the length of an operator chain (`a + a + ...`,
# `x.a.a...`, `f()()...`, `not not ...`: 2,000 links take seconds) and crashes the process on
# long `and`/`or` chains (10,000). A file where one logical line holds that many operators and
# brackets (or that holds that many operator words at all) is measured with CPython's parser
# (fast, and safe at any depth) before libcst sees it.
_MAX_CHAIN = 500  # nesting levels of one expression
_LINK_WORDS = (" and ", " or ", "not ", " if ", " else ", "lambda", "await ")
_NOT_LINKS = re.compile(r"[^-+*/%@&|^~<>.()\[\]{}\n]+")
_LINK_STEP = {**dict.fromkeys("-+*/%@&|^~<>.\n", 0), **_STEP}
# Each replacement field of an f-string costs ~0.3 ms to analyse (and CPython 3.11 parses huge
# f-strings in quadratic time): an f-string with more is not analysed.
_MAX_FIELDS = 2000
# An f-string literal (a screen: 3.12's nested same-quote f-strings end it early).
_FSTRING = re.compile(
    r"(?<![\w'\"])(?:[rR]?[fF]|[fF][rR])(?:"
    r"'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''"
    r'|"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'
    r"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'"
    r'|"[^"\\\n]*(?:\\.[^"\\\n]*)*")',
    re.S,
)


def too_large(text: str) -> ParseError | None:
    """A PC000 for an f-string with so many fields that parsing and analysing it would take
    minutes: checked before anything (the pruner too) parses the file."""
    if text.count("{") <= _MAX_FIELDS:
        return None
    for match in _FSTRING.finditer(text):
        literal = match.group()
        fields = literal.count("{") - 2 * literal.count("{{")
        if fields > _MAX_FIELDS:
            line, column = _position(text, match.start())
            return ParseError(
                f"an f-string with {fields} replacement fields is too large to analyse "
                f"(the limit is {_MAX_FIELDS})",
                line,
                column,
            )
    return None


def _too_deep(text: str) -> ParseError | None:
    """A PC000 for an expression whose parse would take minutes (or crash libcst)."""
    if not _may_hold_long_chain(text):
        return None
    try:
        tree = compile(text, "<promptlint>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError:
        return None  # maybe newer syntax than this Python's, that libcst reads: let it try
    except (RecursionError, MemoryError):
        return ParseError(_TOO_DEEP, 1, 1)
    deep = _deeper_than(tree, _MAX_CHAIN)
    if deep is None:
        return None
    return ParseError(_TOO_DEEP, deep.lineno, deep.col_offset + 1)


_TOO_DEEP = (
    f"an expression is nested too deeply to analyse (over {_MAX_CHAIN} levels: a long chain of "
    "operators, calls or attribute accesses)"
)


def _may_hold_long_chain(text: str) -> bool:
    """Whether a logical line holds `_MAX_CHAIN` operators and brackets (those in strings count
    too): a cheap filter, all in C, that any expression nested that deep passes."""
    if sum(map(text.count, _LINK_WORDS)) >= _MAX_CHAIN:
        return True
    skeleton = _NOT_LINKS.sub("", text.replace("\\\n", " "))
    if len(skeleton) < _MAX_CHAIN:
        return False
    depths = accumulate(map(_LINK_STEP.__getitem__, skeleton))
    newlines = map(eq, skeleton, repeat("\n"))
    ends = [-1, *compress(count(), map(and_, newlines, map(le, depths, repeat(0)))), len(skeleton)]
    longest: int = max(map(sub, ends[1:], ends))
    return longest >= _MAX_CHAIN


def _deeper_than(tree: ast.AST, limit: int) -> ast.expr | None:
    """The outermost expression holding a node more than `limit` levels below it, as libcst
    nests them (`a and b and c` is one node for CPython, two levels for libcst)."""
    stack: list[tuple[ast.AST, int, ast.expr | None]] = [(tree, 0, None)]
    while stack:
        node, depth, root = stack.pop()
        if depth > limit and root is not None:
            return root
        if isinstance(node, ast.expr):
            root = root or node
            depth += len(node.values) - 1 if isinstance(node, ast.BoolOp) else 1
        elif isinstance(node, ast.stmt):
            root = None
        stack.extend((child, depth, root) for child in ast.iter_child_nodes(node))
    return None


def _position(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _python_verdict(text: str) -> ParseError | bool:
    """CPython's own message and position for a syntax error (clearer than the CST parser's),
    else whether CPython parses the file at all."""
    try:
        compile(text, "<promptlint>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        return ParseError(f"syntax error: {exc.msg}", exc.lineno or 1, exc.offset or 1)
    except (RecursionError, MemoryError, ValueError):
        return False
    return True


def _python_says(text: str) -> ParseError | None:
    verdict = _python_verdict(text)
    return verdict if isinstance(verdict, ParseError) else None


def _short(message: str) -> str:
    # libcst lists every token it expected; the first line says enough.
    message = message.split("\n")[0]
    if message.startswith("parser error: "):
        message = message[len("parser error: ") :]
    return message if len(message) <= 120 else message[:117] + "..."
