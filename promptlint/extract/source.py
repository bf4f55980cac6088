"""Bytes -> libcst Module, or a PC000 finding. Never raises for anything a user's file contains."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from itertools import accumulate

import libcst as cst

from promptlint.model import ParseError


def decode(data: bytes) -> str | ParseError:
    """Decode as Python does: BOM, then a PEP 263 coding cookie, else UTF-8."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "unknown encoding" in exc.msg or "encoding problem" in exc.msg:
            return ParseError(f"cannot decode file: {exc.msg}", exc.lineno or 1, 1)
        encoding = "utf-8"  # bad bytes in the first two lines: find them below, with a position
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return ParseError(
            f"file is not valid {encoding} (byte 0x{data[exc.start]:02x}); "
            "save it as UTF-8 or declare its encoding with a `# -*- coding: ... -*-` line",
            line,
            column,
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        return ParseError("file contains a NUL byte; it is not Python source", line, 1)
    return text


# CPython refuses more than 200 nested brackets; libcst's native parser crashes the whole process
# (a segfault, not an exception) somewhere past 1,000. Deeper files never reach it.
_MAX_BRACKET_DEPTH = 200
_NOT_BRACKETS = re.compile(r"[^()\[\]{}]+")
_STEP = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


def parse(text: str) -> cst.Module | ParseError:
    if _bracket_depth_exceeds(text, _MAX_BRACKET_DEPTH):
        return _python_says(text) or ParseError("file is nested too deeply to parse", 1, 1)
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        return _python_says(text) or ParseError(
            f"syntax error: {_short(exc.message)}", max(exc.raw_line, 1), max(exc.raw_column, 0) + 1
        )
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


def _python_says(text: str) -> ParseError | None:
    """CPython's own message and position for a syntax error: clearer than the CST parser's."""
    try:
        compile(text, "<promptlint>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        return ParseError(f"syntax error: {exc.msg}", exc.lineno or 1, exc.offset or 1)
    except (RecursionError, MemoryError, ValueError):
        return None
    return None  # valid for this Python but not for libcst: fall back to libcst's message


def _short(message: str) -> str:
    # libcst lists every token it expected; the first line says enough.
    message = message.split("\n")[0]
    if message.startswith("parser error: "):
        message = message[len("parser error: ") :]
    return message if len(message) <= 120 else message[:117] + "..."
