"""Prompt text kept in files (`.txt`, `.md`, `.j2`, `.jinja`, `.prompt`), for the link stage.

The extractor records a read as a file reference (`extract/files.py`); here the file is found,
read once and turned into segments according to how the code uses it: as it is, as a `str.format`
template, a `string.Template`, or a jinja2 template (parsed by jinja2, includes followed, never
rendered). Only files inside the project are read: a path that leaves it (`../../etc/passwd`, a
symlink out) is not, and the text stays dynamic.
"""

from __future__ import annotations

import os
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

from promptlint.extract.jinja import JinjaError, jinja_parts
from promptlint.file_refs import FORMAT, JINJA, MODULE_DIR, TEMPLATE, split_ref
from promptlint.model import ParseError, Segment, Slot, Span, Text
from promptlint.project import module_name

MAX_BYTES = 2_000_000  # a prompt file larger than this is not read
_TEMPLATE_FIELD = re.compile(
    r"\$(?:(?P<name>[_a-zA-Z][_a-zA-Z0-9]*)|\{(?P<braced>[_a-zA-Z][_a-zA-Z0-9]*)\})"
)


@dataclass
class PromptFiles:
    """Reads the prompt files call sites refer to; remembers what it read and what failed."""

    read: dict[Path, str] = field(default_factory=dict)  # display path of each file read
    errors: dict[Path, ParseError] = field(default_factory=dict)
    _content: dict[Path, str] = field(default_factory=dict)

    def locate(self, spec: str, where: Path) -> Path | None:
        """The file a path spec names, seen from the module at `where`, if inside the project."""
        _, root = module_name(where)  # the project: no file outside it is read
        if spec.startswith(MODULE_DIR):
            candidates = [where.parent / spec[len(MODULE_DIR) :].lstrip("/")]
        else:
            candidates = [root / spec, where.parent / spec]
        for candidate in candidates:
            try:
                real = candidate.resolve(strict=True)
            except (OSError, RuntimeError):
                continue
            if real.is_file() and real.is_relative_to(root):
                return real
        return None

    def segments(self, ref: str, where: Path) -> list[Segment] | None:
        """The segments a file reference stands for, or None when the file cannot be used."""
        found = split_ref(ref)
        if found is None:
            return None
        spec, use = found
        path = self.locate(spec, where)
        if path is None:
            return None
        text = self._text(path)
        if text is None:
            return None
        display = self.read[path]
        if use == FORMAT:
            return _format_segments(text, display)
        if use == TEMPLATE:
            return _template_segments(text, display)
        if use == JINJA:
            parts = jinja_parts(text, load=lambda name: self._include(name, path))
            if isinstance(parts, JinjaError):
                self.errors[path] = ParseError(
                    f"jinja2 syntax error: {parts.message}", parts.line, 1
                )
                return None
            return [
                Text(p)
                if isinstance(p, str)
                else Slot(p.name, Span(p.line, p.column, p.line, p.column), path=display)
                for p in parts
            ]
        return [Text(text)]

    def _text(self, path: Path) -> str | None:
        if path not in self.read:
            try:
                if path.stat().st_size > MAX_BYTES:
                    return None
                content = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
            self.read[path] = os.path.relpath(path)
            self._content[path] = content
        return self._content.get(path)

    def _include(self, name: str, template: Path) -> str | None:
        """jinja2 `{% include %}`: beside the including template, inside the project only."""
        target = self.locate(name, template)
        return self._text(target) if target is not None else None


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _format_segments(text: str, display: str) -> list[Segment]:
    """`{field}` placeholders are slots (`{{`/`}}` are literal braces)."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return [Text(text)]
    segments: list[Segment] = []
    offset = 0
    for literal, field_name, _, _ in parsed:
        if literal:
            segments.append(Text(literal))
        offset = text.find(literal, offset) + len(literal) if literal else offset
        if field_name is not None:
            start = text.find("{" + field_name, offset)
            line, column = _position(text, max(start, 0))
            end = text.find("}", max(start, 0)) + 1
            segments.append(
                Slot(
                    field_name or "?",
                    Span(line, column, line, column + max(end - start, 1)),
                    path=display,
                )
            )
            offset = end if end > 0 else offset
    return segments


def _template_segments(text: str, display: str) -> list[Segment]:
    """`string.Template`: `$name` and `${name}` are slots, `$$` a dollar sign."""
    segments: list[Segment] = []
    last = 0
    for match in _TEMPLATE_FIELD.finditer(text.replace("$$", "\0\0")):
        segments.append(Text(text[last : match.start()]))
        line, column = _position(text, match.start())
        name = match.group("name") or match.group("braced")
        segments.append(
            Slot(name, Span(line, column, line, column + len(match.group(0))), path=display)
        )
        last = match.end()
    segments.append(Text(text[last:]))
    return [s for s in segments if not (isinstance(s, Text) and not s.text)]
