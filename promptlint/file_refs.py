"""How a prompt kept in a file is referred to: `file:@module/prompts/system.j2#jinja`.

Extraction writes these references into slots (`extract/files.py`); the link stage and
`prompt_files.py` read them back. Kept apart from the extractor so those stages need no libcst.

Path notation: `@module/...` is relative to the linted module's directory (`Path(__file__).parent`,
`os.path.dirname(__file__)`), anything else relative to the project root.
"""

from __future__ import annotations

import posixpath

FILE_REF = "file:"
# How a file's text is used: as it is, as a str.format template, a string.Template, or jinja2.
TEXT, FORMAT, TEMPLATE, JINJA = "text", "format", "template", "jinja"
MODULE_FILE = "@file"
MODULE_DIR = "@module"


def join(base: str, *parts: str) -> str:
    path = base
    for part in parts:
        path = posixpath.join(path, part) if not posixpath.isabs(part) else part
    return posixpath.normpath(path) if not path.startswith("@") else _norm_at(path)


def _norm_at(path: str) -> str:
    head, _, rest = path.partition("/")
    return posixpath.join(head, posixpath.normpath(rest)) if rest else head


def parent(path: str) -> str:
    if path == MODULE_FILE:
        return MODULE_DIR
    return join(path, "..")


def file_ref(path: str, use: str) -> str:
    return f"{FILE_REF}{path}#{use}"


def split_ref(ref: str) -> tuple[str, str] | None:
    """(path, use) of a file reference, or None for another kind of reference."""
    if not ref.startswith(FILE_REF):
        return None
    path, _, use = ref[len(FILE_REF) :].rpartition("#")
    return path, use
