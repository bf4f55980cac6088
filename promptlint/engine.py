"""The pipeline for `check`: discover -> extract (per file) -> analyse -> findings.

Pure orchestration: it reads files, hands bytes to the extractor and the model to the rules, and
returns sorted, de-duplicated findings. Printing and exit codes belong to the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from promptlint.cache import Cache, Entry, digest
from promptlint.checks import Context, Rule
from promptlint.config import Settings
from promptlint.discovery import SourceFile
from promptlint.estimate import Estimator
from promptlint.link import link
from promptlint.model import FileModel, Finding, ParseError

if TYPE_CHECKING:
    from promptlint.extract import Prefilter


@dataclass(frozen=True)
class CheckResult:
    findings: tuple[Finding, ...]
    files_checked: int
    internal_errors: int = 0


def read_model(
    source: SourceFile, settings: Settings, prefilter: Prefilter | None
) -> tuple[str | None, FileModel]:
    """Extract one file, with the hash of the bytes read (for the cache); a file that cannot be
    read becomes a PC000 finding, not a crash."""
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        error = ParseError(f"cannot read file: {reason}", 1, 1)
        return None, FileModel(source.display, parse_error=error)
    return digest(data), safe_extract(source.display, data, settings, prefilter)


def safe_extract(
    display: str,
    data: bytes,
    settings: Settings,
    prefilter: Prefilter | None,
    *,
    exports: bool = False,
) -> FileModel:
    """Extraction never takes the run down: an unexpected exception on one file becomes that
    file's error finding (and exit code 2), and the other files are still checked."""
    from promptlint.extract import extract_file  # libcst: not needed when all is cached

    try:
        return extract_file(display, data, settings, prefilter, exports=exports)
    except Exception as exc:
        message = (
            f"internal error while analysing this file ({type(exc).__name__}: {exc}); "
            "please report it with the file attached"
        )
        return FileModel(display, parse_error=ParseError(message, 1, 1, internal=True))


def analyse(
    model: FileModel, rules: Sequence[Rule], settings: Settings, estimator: Estimator
) -> list[Finding]:
    ctx = Context(model.path, settings, estimator.tokens, estimator)
    findings: list[Finding] = []
    for rule in rules:
        if rule.check_file is not None:
            findings.extend(rule.check_file(model, ctx))
        if rule.check_call_site is not None:
            for site in model.call_sites:
                findings.extend(rule.check_call_site(site, ctx))
        if rule.check_template is not None:
            for template in model.templates:
                findings.extend(rule.check_template(template, ctx))
    return findings


def unique_sorted(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """One finding per (path, position, code): a template shared by two calls is reported once."""
    seen: dict[tuple[str, int, int, int, str], Finding] = {}
    for finding in findings:
        seen.setdefault(finding.sort_key, finding)
    return tuple(seen[key] for key in sorted(seen))


def extract_files(
    files: Sequence[SourceFile], settings: Settings, jobs: int = 1, cache: Cache | None = None
) -> list[FileModel]:
    """The model of every file, in the order given (from the cache, or extracted on `jobs`
    processes), linked across modules (`link.py`), then the prompt files those read (with their
    parse errors). What was extracted is written back to the cache; a run that extracted
    nothing writes nothing."""
    known = cache.load() if cache is not None else {}
    learned: dict[str, Entry] = {}
    extracted = _extract_or_recall(files, settings, jobs, known, learned)
    real = _RealPaths()
    paths = [real(s.path) for s in files]
    models = dict(zip(paths, extracted, strict=True))
    # A module of the run re-read whole for an export keeps the name the run reports it by.
    displays = {path: s.display for path, s in zip(paths, files, strict=True)}

    def load(path: Path) -> FileModel | None:
        """A module of the project outside the run, read (whole) for the templates it exports."""
        try:
            data = path.read_bytes()
        except OSError:
            return None
        display = displays.get(path) or os.path.relpath(path)
        key, sha = f"{display}{_EXPORTS}", digest(data)
        entry = known.get(key)
        if entry is not None and entry.digest == sha:
            return entry.model
        model = safe_extract(display, data, settings, None, exports=True)
        _learn(learned, key, sha, model)
        return model

    linked = link(models, load)
    if cache is not None and learned:
        cache.save({**known, **learned})
    return [*linked.models, *linked.prompt_files]


# The cache key of a module read for its exports (another extraction than a linted file's).
_EXPORTS = "\0exports"


def _learn(learned: dict[str, Entry], key: str, sha: str | None, model: FileModel) -> None:
    """Remember a model, unless promptlint failed on the file (a bug: it must not stick)."""
    if sha is not None and not (model.parse_error and model.parse_error.internal):
        learned[key] = Entry(sha, model)


class _RealPaths:
    """`path.resolve()` for many files of few directories: each directory is resolved once (a
    file that is itself a symlink is resolved whole)."""

    def __init__(self) -> None:
        self._directories: dict[Path, Path] = {}

    def __call__(self, path: Path) -> Path:
        if os.path.islink(path):
            return path.resolve()
        directory = path.parent
        parent = self._directories.get(directory)
        if parent is None:
            parent = self._directories[directory] = directory.resolve()
        return parent / path.name


def _extract_or_recall(
    files: Sequence[SourceFile],
    settings: Settings,
    jobs: int,
    known: dict[str, Entry],
    learned: dict[str, Entry],
) -> list[FileModel]:
    """Each file's model: the cached one when the file's bytes hash as they did, else extracted
    (and added to `learned`)."""
    from promptlint.parallel import extract_all

    models: list[FileModel | None] = [None] * len(files)
    missing: list[int] = []
    for index, source in enumerate(files):
        entry = known.get(source.display)
        if entry is not None:
            try:
                if digest(source.path.read_bytes()) == entry.digest:
                    models[index] = entry.model
                    continue
            except OSError:
                pass  # extraction reports it
        missing.append(index)
    fresh = extract_all([files[i] for i in missing], settings, jobs)
    for index, (sha, model) in zip(missing, fresh, strict=True):
        models[index] = model
        _learn(learned, files[index].display, sha, model)
    return [m for m in models if m is not None]


def check_files(
    files: Sequence[SourceFile],
    settings: Settings,
    rules: Sequence[Rule],
    estimator: Estimator,
    jobs: int = 1,
    cache: Cache | None = None,
) -> CheckResult:
    findings: list[Finding] = []
    internal = 0
    models = extract_files(files, settings, jobs, cache)
    for model in models:
        internal += model.parse_error is not None and model.parse_error.internal
        findings.extend(analyse(model, rules, settings, estimator))
    findings.extend(project_findings(models, rules, settings, estimator))
    # Linking may place a finding in an imported module outside the run: those are not reported
    # (pre-commit passes the changed files; their imports are read, not checked). Prompt files
    # the run's call sites load are reported: they are part of those prompts.
    shown = {source.display for source in files} | {m.path for m in models[len(files) :]}
    kept = unique_sorted(f for f in findings if f.path in shown)
    return CheckResult(kept, len(models), internal)


def check_source(
    display: str, data: bytes, settings: Settings, rules: Sequence[Rule], estimator: Estimator
) -> CheckResult:
    """Lint one file's bytes (stdin, editors, tests)."""
    model = safe_extract(display, data, settings, None)
    findings = [*analyse(model, rules, settings, estimator)]
    findings += project_findings([model], rules, settings, estimator)
    internal = int(model.parse_error is not None and model.parse_error.internal)
    return CheckResult(unique_sorted(findings), 1, internal)


def project_findings(
    models: Sequence[FileModel], rules: Sequence[Rule], settings: Settings, estimator: Estimator
) -> list[Finding]:
    """Findings of the project-wide rules (PC302), over every linked model at once."""
    project = Context("", settings, estimator.tokens, estimator)
    return [
        f for r in rules if r.check_project is not None for f in r.check_project(models, project)
    ]
