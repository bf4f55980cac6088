"""Prompt text kept in files: paths built in code, the reads that load them, and jinja2.

Extraction stays a pure function of one file's bytes, so a file read here is not opened: it
becomes a dynamic slot whose `ref` names the file and how its text is used, e.g.
`file:@module/prompts/system.j2#jinja`. The link stage reads the file (inside the project only)
and puts its segments in place of the slot.

Path notation: `@module/...` is relative to the linted module's directory (`Path(__file__).parent`,
`os.path.dirname(__file__)`), anything else relative to the project root (the working directory
the application is started from, by convention).
"""

from __future__ import annotations

import posixpath
import re

import libcst as cst

from promptlint.extract.jinja import JinjaError, JinjaSlot, jinja_parts
from promptlint.extract.values import Facts, Opaque, PathV, Pending, Str, Value, fill_later

# The reference syntax lives in `file_refs.py`: the link stage reads it without libcst.
from promptlint.file_refs import (
    FILE_REF,
    FORMAT,
    JINJA,
    MODULE_DIR,
    MODULE_FILE,
    TEMPLATE,
    TEXT,
    file_ref,
    join,
    parent,
    split_ref,
)

__all__ = [
    "FILE_REF",
    "FORMAT",
    "JINJA",
    "MODULE_DIR",
    "MODULE_FILE",
    "TEMPLATE",
    "TEXT",
    "file_ref",
    "join",
    "parent",
    "split_ref",
]


def read(path: PathV, node: cst.CSTNode) -> Opaque:
    """The text of a file the code reads: a slot the link stage fills in."""
    return Opaque(node, posixpath.basename(path.path), ref=file_ref(path.path, TEXT))


def reuse(value: Value, use: str, node: cst.CSTNode) -> Opaque | None:
    """File text used as a template (`.format`, `string.Template`, jinja2): same file, new use."""
    if isinstance(value, Opaque) and value.ref is not None:
        found = split_ref(value.ref)
        if found is not None and found[1] in (TEXT, use):
            return Opaque(node, value.name, value.facts, ref=file_ref(found[0], use))
    return None


def inline_jinja(source: Str, node: cst.CSTNode) -> Str:
    """`jinja2.Template("...")` on a literal: parsed now with jinja2's parser, never rendered.
    Its slots are reported at the `Template(...)` call (positions inside the literal are not
    tracked)."""
    if not source.is_static:
        return Str([Pending(node, "jinja2 template", Facts())])
    parts = jinja_parts(source.text)
    if isinstance(parts, JinjaError):
        return Str([Pending(node, f"jinja2 template ({parts.message})", Facts())])
    out: list[str | Pending] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        else:
            out.append(Pending(node, _slot_name(part), Facts(), fill_later=True))
    return Str(out)


def _slot_name(slot: JinjaSlot) -> str:
    return slot.name if len(slot.name) <= 40 else slot.name[:37] + "..."


_TEMPLATE_FIELD = re.compile(r"\$(?:(?P<name>[_a-zA-Z]\w*)|\{(?P<braced>[_a-zA-Z]\w*)\})|\$\$")


def template_fields(source: Str, node: cst.CSTNode) -> Str:
    """`string.Template("... $name ...")`: its `$name` / `${name}` fields are slots."""
    out: list[str | Pending] = []
    for part in source.parts:
        if isinstance(part, Pending):
            out.append(part)
            continue
        last = 0
        for match in _TEMPLATE_FIELD.finditer(part):
            out.append(part[last : match.start()])
            name = match.group("name") or match.group("braced")
            out.append(Pending(node, name, Facts()) if name else "$")
            last = match.end()
        out.append(part[last:])
    return fill_later(Str([p for p in out if p != ""], source.literals), source)
