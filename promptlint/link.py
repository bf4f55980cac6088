"""The link stage: resolve names one module imports from another (`from .prompts import SYSTEM`,
`import prompts as p; p.SYSTEM`, `build_system(user)`) to the templates they stand for.

An imported slot is replaced by the exported template's segments, whose own slots keep their
positions in the exporting file (`Slot.path`), so findings point where the text is written. A
template some call site in the project uses is then no longer linted on its own in its module.
Modules of the project that were not part of the run (pre-commit passes only changed files) are
loaded on demand through `load`.
"""

from __future__ import annotations

import dataclasses
import re
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from promptlint.file_refs import split_ref
from promptlint.model import (
    Block,
    CallSite,
    FileModel,
    Message,
    NamedTemplate,
    ParseError,
    Segment,
    Slot,
    Template,
    Text,
)
from promptlint.project import module_name
from promptlint.prompt_files import PromptFiles

MAX_DEPTH = 8  # imports followed through at most this many modules


@dataclass
class Project:
    """The run's files by real path, and a loader for modules the run did not include."""

    models: dict[Path, FileModel]
    load: Callable[[Path], FileModel | None]
    _loaded: dict[Path, FileModel | None] = field(default_factory=dict)

    def model(self, path: Path, name: str) -> FileModel | None:
        """The model of the module at `path`, for its export `name`."""
        known = self.models.get(path)
        # A pruned module may lack an export, or its functions return what they would not read
        # whole: from it, only module-level strings are taken.
        trusted = known is not None and (known.exports_complete or not name.endswith("()"))
        if known is not None and (
            known.parse_error
            or (trusted and any(e.name == name for e in known.exports))
            or (known.exports and known.exports_complete)
        ):
            return known
        if path not in self._loaded:  # not in the run, or skipped unparsed by the prefilter
            if not _may_define(path, name):
                return None  # most imports are classes and functions: not worth a parse
            self._loaded[path] = self.load(path)
        return self._loaded[path]

    def resolve(self, ref: str, importer: Path) -> tuple[Path, str] | None:
        """The file and exported name an imported reference points to, if it is in the project."""
        dots = len(ref) - len(ref.lstrip("."))
        dotted = ref[dots:]
        module, _, name = dotted.rpartition(".")
        if not name:
            return None
        if dots:
            base = importer.resolve().parent
            for _ in range(dots - 1):
                base = base.parent
            roots = [base]
        else:
            _, top = module_name(importer)
            roots = [top, importer.resolve().parent]
        for root in roots:
            target = root.joinpath(*module.split(".")) if module else root
            if not target.name:
                continue
            for candidate in (target.with_suffix(".py"), target / "__init__.py"):
                if module and candidate.is_file():
                    return candidate, name
            if not module and (root / "__init__.py").is_file():
                return root / "__init__.py", name
        return None


class Linker:
    def __init__(self, project: Project, files: PromptFiles) -> None:
        self.project = project
        self.files = files
        self.used: set[tuple[Path, str]] = set()  # exported templates some call site uses

    def template(self, template: Template, where: Path, depth: int = 0) -> Template:
        if not any(isinstance(s, Slot) and s.ref for s in template.segments):
            return template
        segments: list[Segment] = []
        for segment in template.segments:
            if isinstance(segment, Slot) and segment.ref and depth < MAX_DEPTH:
                if split_ref(segment.ref) is not None:  # a prompt file
                    from_file = self.files.segments(segment.ref, where)
                    segments.extend(from_file if from_file is not None else [segment])
                    continue
                found = self._exported(segment.ref, where)
                if found is not None:
                    path, model, exported = found
                    linked = self.template(exported.template, path, depth + 1)
                    segments.extend(_moved(linked.segments, model.path))
                    continue
            segments.append(segment)
        return Template(tuple(_merged(segments)), template.span)

    def _exported(self, ref: str, where: Path) -> tuple[Path, FileModel, NamedTemplate] | None:
        target = self.project.resolve(ref, where)
        if target is None:
            return None
        path, name = target
        model = self.project.model(path, name)
        if model is None:
            return None
        exported = next((e for e in model.exports if e.name == name), None)
        if exported is None:
            return None
        self.used.add((path, name))
        return path, model, exported

    def call_site(self, site: CallSite, where: Path) -> CallSite:
        def blocks(items: Iterable[Block]) -> tuple[Block, ...]:
            return tuple(
                dataclasses.replace(b, content=self.template(b.content, where)) for b in items
            )

        return dataclasses.replace(
            site,
            tools=self.template(site.tools, where) if site.tools is not None else None,
            system=blocks(site.system),
            messages=tuple(Message(m.role, blocks(m.blocks), m.span) for m in site.messages),
        )


@dataclass(frozen=True)
class Linked:
    models: list[FileModel]  # the run's files, linked, in the order given
    prompt_files: list[FileModel]  # prompt files read: their display paths, and parse errors


def link(models: dict[Path, FileModel], load: Callable[[Path], FileModel | None]) -> Linked:
    """Every model with its imported names and prompt files resolved; prompt-named templates
    that a call site of the project uses are dropped from their module's standalone checks."""
    files = PromptFiles()
    linker = Linker(Project(models, load), files)
    linked: dict[Path, FileModel] = {}
    for path, model in models.items():
        try:
            linked[path] = dataclasses.replace(
                model, call_sites=tuple(linker.call_site(s, path) for s in model.call_sites)
            )
        except Exception as exc:  # a bug in linking one file must not take the run down
            message = (
                f"internal error while linking this file ({type(exc).__name__}: {exc}); "
                "please report it with the file attached (run with --show-traceback for the trace)"
            )
            error = ParseError(message, 1, 1, True, trace=traceback.format_exc())
            linked[path] = FileModel(model.path, parse_error=error)
    standalone_users = Linker(Project(models, load), files)
    result = []
    for path, model in linked.items():
        templates = tuple(
            NamedTemplate(t.name, standalone_users.template(t.template, path))
            for t in model.templates
            if (path, t.name) not in linker.used
        )
        result.append(dataclasses.replace(model, templates=templates))
    read = [
        FileModel(display, parse_error=files.errors.get(path))
        for path, display in files.read.items()
    ]
    return Linked(result, read)


def _may_define(path: Path, name: str) -> bool:
    """Whether a module's text can bind `name` at its top level (an assignment or a `def`),
    checked on the bytes before paying for a parse."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    bare = re.escape(name.removesuffix("()").encode())
    return (
        re.search(rb"(?m)^(?:def\s+" + bare + rb"\s*\(|" + bare + rb"\s*(?::[^=\n]*)?=)", data)
        is not None
    )


def _moved(segments: Iterable[Segment], path: str) -> Iterator[Segment]:
    for segment in segments:
        if isinstance(segment, Slot) and segment.path is None:
            yield dataclasses.replace(segment, path=path)
        else:
            yield segment


def _merged(segments: Iterable[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for segment in segments:
        if isinstance(segment, Text) and out and isinstance(out[-1], Text):
            out[-1] = Text(out[-1].text + segment.text)
        else:
            out.append(segment)
    return out
