"""One file's bytes -> its `FileModel`: decode, prune, parse, scan, interpret, freeze.

A pure function of (path, bytes, settings), so it can run in worker processes and be cached.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TypeVar, cast

from promptlint.config import Settings
from promptlint.extract.interpret import Interpreter
from promptlint.extract.notebook import NotebookError, NotebookSource, notebook_source
from promptlint.extract.positions import Freezer
from promptlint.extract.prefilter import Prefilter
from promptlint.extract.pruning import Pruned, prune
from promptlint.extract.raw import Binding, RawCallSite, RawTemplate
from promptlint.extract.scan import prompt_name_pattern, scan_module
from promptlint.extract.source import decode, parse, too_large
from promptlint.model import UNKNOWN_SPAN, FileModel, ParseError, Span, Suppression
from promptlint.suppress import in_cells, might_hold, scan, skips_file

__all__ = ["extract_file", "extract_source"]


def extract_file(
    path: str,
    data: bytes,
    settings: Settings,
    prefilter: Prefilter | None = None,
    *,
    exports: bool = False,
) -> FileModel:
    """Extract one file's bytes. With a `prefilter`, a file that cannot hold a prompt (see
    `prefilter.py`) is not decoded or parsed at all: an empty model, and no PC000 for it.
    `exports`: also evaluate a module with no prompt of its own, for the templates it exports
    (the link stage loads imported modules this way)."""
    if path.endswith(".ipynb"):
        return _extract_notebook(path, data, settings, prefilter, exports)
    may_prompt = prefilter is None or prefilter.might_hold_prompts(data)
    # Suppressions are read from the whole text, even of a file pruned or not parsed at all (a
    # read for exports reports nothing: it needs none).
    text: str | ParseError | None = None
    suppressions: tuple[Suppression, ...] = ()
    if not exports and might_hold(data, blanket=may_prompt):
        text = decode(data)
        suppressions = scan(text) if isinstance(text, str) else ()
        if skips_file(suppressions):
            return _skipped(path, suppressions)
    if not may_prompt:
        return FileModel(path, suppressions=suppressions)
    text = decode(data) if text is None else text
    if isinstance(text, ParseError):
        return FileModel(path, parse_error=text)
    model = extract_source(path, text, settings, exports=exports)
    return dataclasses.replace(model, suppressions=suppressions) if suppressions else model


def _skipped(path: str, suppressions: tuple[Suppression, ...]) -> FileModel:
    """A file marked `# promptlint: skip-file`: not parsed (a file promptlint fails on can be
    skipped this way). Its exports are marked incomplete, so that an importer still reads it."""
    return FileModel(path, suppressions=suppressions, exports_complete=False)


def extract_source(path: str, text: str, settings: Settings, *, exports: bool = False) -> FileModel:
    too_big = too_large(text)  # before the pruner's parse, which would take minutes too
    if too_big is not None:
        return FileModel(path, parse_error=too_big)
    # Importers read a module for its exports, any of which may be a function with no prompt
    # marker: only a file linted for its own prompts is pruned.
    pruned = None if exports else prune(text, settings.prompt_names)
    if pruned is not None and pruned.holds_nothing:
        return FileModel(path)
    module = parse(pruned.text) if pruned is not None else parse(text)
    if isinstance(module, ParseError) and pruned is not None:
        module = parse(text)  # report the error as the whole file shows it
        pruned = None
    if isinstance(module, ParseError):
        return FileModel(path, parse_error=module)
    names = prompt_name_pattern(settings.prompt_names)
    try:
        scan = scan_module(module, names)
    except RecursionError:
        return FileModel(path, parse_error=ParseError("file is nested too deeply to analyse", 1, 1))
    if scan.is_empty and not exports:
        return FileModel(path)
    try:
        interpreter = Interpreter(module, scan, names)
        interpreter.run()
        templates = _unconsumed(interpreter.call_sites, interpreter.templates)
        call_sites, (named, exported) = Freezer(module).freeze(
            interpreter.call_sites, templates, interpreter.exports()
        )
    except RecursionError:  # libcst's code generation recurses once per nesting level
        return FileModel(path, parse_error=ParseError("file is nested too deeply to analyse", 1, 1))
    model = FileModel(
        path,
        call_sites=call_sites,
        templates=named,
        exports=exported,
        exports_complete=pruned is None,
    )
    return _on_original_lines(model, pruned) if pruned is not None else model


def _extract_notebook(
    path: str, data: bytes, settings: Settings, prefilter: Prefilter | None, exports: bool
) -> FileModel:
    """A notebook's code cells as one module; every position then moves to its cell's lines."""
    source = notebook_source(data)
    if isinstance(source, NotebookError):
        message = f"cannot read notebook: {source.message}"
        return FileModel(path, parse_error=ParseError(message, source.line, source.column))
    encoded = source.text.encode()
    may_prompt = prefilter is None or prefilter.might_hold_prompts(encoded)
    suppressions: tuple[Suppression, ...] = ()
    if not exports and might_hold(encoded, blanket=may_prompt):
        suppressions = in_cells(scan(source.text), source.locate)
        if skips_file(suppressions):
            return _skipped(path, suppressions)
    if not may_prompt:
        return FileModel(path, suppressions=suppressions)
    model = extract_source(path, source.text, settings, exports=exports)
    return dataclasses.replace(_in_cells(model, source), suppressions=suppressions)


_T = TypeVar("_T")


def _in_cells(value: _T, source: NotebookSource) -> _T:
    """The same model with module lines turned into (cell, line in cell)."""

    def move(span: Span) -> Span:
        cell, line = source.locate(span.line)
        end_cell, end_line = source.locate(span.end_line)
        end_line = end_line if end_cell == cell else line
        return Span(line, span.column, end_line, span.end_column, cell)

    def move_error(error: ParseError) -> ParseError:
        cell, line = source.locate(error.line)
        return dataclasses.replace(error, line=line, cell=cell)

    return _relocated(value, move, move_error)


def _on_original_lines(value: _T, pruned: Pruned) -> _T:
    """The same model with the pruned text's lines turned back into the file's."""

    def move(span: Span) -> Span:
        if span == UNKNOWN_SPAN:
            return span
        line, end_line = pruned.original_line(span.line), pruned.original_line(span.end_line)
        return dataclasses.replace(span, line=line, end_line=end_line)

    return _relocated(value, move, lambda error: error)


def _relocated(
    value: _T, move: Callable[[Span], Span], move_error: Callable[[ParseError], ParseError]
) -> _T:
    """Every span (and parse error) of a model, moved."""
    if isinstance(value, Span):
        return cast(_T, move(value))
    if isinstance(value, ParseError):
        return cast(_T, move_error(value))
    if isinstance(value, tuple):
        return cast(_T, tuple(_relocated(v, move, move_error) for v in value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _relocated(getattr(value, f.name), move, move_error)
            for f in dataclasses.fields(value)
        }
        return cast(_T, dataclasses.replace(value, **changes))
    return value


def _unconsumed(sites: list[RawCallSite], templates: list[RawTemplate]) -> list[RawTemplate]:
    """Prompt-named templates that no call site and no other template of the module reads.

    A template a call site uses is linted as part of that call (where it sits in the request
    matters: the final user message may hold volatile values); linting it alone would repeat or
    contradict that.
    """
    reached: set[int] = set()

    def walk(bindings: list[Binding]) -> None:
        stack = list(bindings)
        while stack:
            binding = stack.pop()
            if id(binding) in reached:
                continue
            reached.add(id(binding))
            stack.extend(binding.deps)

    for site in sites:
        walk(site.reads)
    for template in templates:
        walk(template.binding.deps)
    return [t for t in templates if id(t.binding) not in reached]
