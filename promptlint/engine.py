"""The pipeline for `check`: discover -> extract (per file) -> analyse -> findings.

Pure orchestration: it reads files, hands bytes to the extractor and the model to the rules, and
returns sorted, de-duplicated findings. Printing and exit codes belong to the CLI.
"""

from __future__ import annotations

import dataclasses
import os
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from promptlint.cache import Cache, Entry, digest
from promptlint.checks import RULES, Context, Rule
from promptlint.checks.pc000_parse_error import RULE as PC000
from promptlint.config import Settings, extraction_tag
from promptlint.discovery import SourceFile
from promptlint.estimate import Estimator
from promptlint.link import link
from promptlint.model import UNKNOWN_SPAN, FileModel, Finding, ParseError, Span
from promptlint.suppress import apply as apply_suppressions

if TYPE_CHECKING:
    from promptlint.extract import Prefilter


@dataclass(frozen=True)
class CheckResult:
    findings: tuple[Finding, ...]
    files_checked: int
    internal_errors: int = 0
    # Each internal error as `path:line:column: message` and its formatted traceback, in output
    # order: the CLI prints them with --show-traceback (a bug report needs them).
    traces: tuple[str, ...] = ()


@dataclass(frozen=True)
class InternalError:
    """promptlint failed (a bug), not the code it read: in the extractor, the linker or a rule.
    Its PC000 finding is shown whatever the selection and suppression comments say (the run
    exits 2 because of it), and its traceback is kept for `--show-traceback`."""

    finding: Finding
    trace: str


# Ends every internal error's message: what the user can do about promptlint's bug.
PLEASE_REPORT = "please report it (run with --show-traceback for the trace)"


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
            f"internal error while analysing this file ({described(exc)}); please report it "
            "with the file attached (run with --show-traceback for the trace)"
        )
        # Formatted here: in a worker process, the traceback does not survive the pool.
        error = ParseError(message, 1, 1, internal=True, trace=traceback.format_exc())
        return FileModel(display, parse_error=error)


def described(exc: BaseException) -> str:
    """`ZeroDivisionError: division by zero` (the type alone when the message is empty)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True)
class Analysis:
    findings: list[Finding]
    internal: list[InternalError]


def analyse(
    model: FileModel, rules: Sequence[Rule], settings: Settings, estimator: Estimator
) -> Analysis:
    """Every rule's findings on one file. A rule that raises becomes one internal error, at the
    first call site (or template; the file for a file-wide check) it failed on: what it yielded
    there before failing is dropped, what it found on the others is kept, and the other rules
    still run. A file promptlint failed to extract is that internal error alone."""
    ctx = Context(model.path, settings, estimator.tokens, estimator)
    error = model.parse_error
    if error is not None and error.internal:
        span = Span(error.line, error.column, error.line, error.column, error.cell)
        finding = PC000.finding(ctx, span, error.message)
        return Analysis([], [InternalError(finding, error.trace or "")])
    findings: list[Finding] = []
    internal: list[InternalError] = []
    for rule in rules:
        checks: list[tuple[Callable[[], Iterable[Finding]], Span]] = []
        if rule.check_file is not None:
            checks.append((partial(rule.check_file, model, ctx), UNKNOWN_SPAN))
        if rule.check_call_site is not None:
            checks += [(partial(rule.check_call_site, s, ctx), s.span) for s in model.call_sites]
        if rule.check_template is not None:
            checks += [
                (partial(rule.check_template, t, ctx), t.template.span) for t in model.templates
            ]
        failed: InternalError | None = None
        for check, span in checks:
            try:
                findings.extend(list(check()))  # all or nothing: a partial result may be wrong
            except Exception as exc:
                message = f"internal error in rule {rule.code} ({rule.name}): {described(exc)}"
                failed = failed or _internal(ctx, span, message, traceback.format_exc())
        if failed is not None:
            internal.append(failed)
    return Analysis(findings, internal)


def _internal(ctx: Context, at: Span, message: str, trace: str) -> InternalError:
    return InternalError(PC000.finding(ctx, at, f"{message}; {PLEASE_REPORT}"), trace)


def with_internal(
    findings: Iterable[Finding], internal: Sequence[InternalError]
) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
    """The findings (one per path, position and code) with the internal errors' added, in
    output order, and the internal errors' traces in that order. An internal error at the same
    place as another finding of PC000 shares it: both messages are kept."""
    kept = {f.sort_key: f for f in unique_sorted(findings)}
    for error in internal:
        finding, known = error.finding, kept.get(error.finding.sort_key)
        if known is not None:
            finding = dataclasses.replace(known, message=f"{known.message} Also: {finding.message}")
        kept[finding.sort_key] = finding
    order = sorted(internal, key=lambda e: e.finding.sort_key)  # stable: rule order within
    traces = tuple(f"{_where(e.finding)}: {e.finding.message}\n{e.trace}" for e in order)
    return tuple(kept[key] for key in sorted(kept)), traces


def _where(finding: Finding) -> str:
    cell = f"cell {finding.cell}:" if finding.cell is not None else ""
    return f"{finding.path}:{cell}{finding.line}:{finding.column}"


def unique_sorted(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """One finding per (path, position, code): a template shared by two calls is reported once."""
    seen: dict[tuple[str, int, int, int, str], Finding] = {}
    for finding in findings:
        seen.setdefault(finding.sort_key, finding)
    return tuple(seen[key] for key in sorted(seen))


@dataclass(frozen=True)
class Setup:
    """What one file is checked with: its settings (its nearest config's), the rules they select
    and the estimator of its provider, model, encoding and dynamic-tokens."""

    settings: Settings
    rules: tuple[Rule, ...]
    estimator: Estimator


def extract_files(
    files: Sequence[SourceFile],
    settings: Settings,
    jobs: int = 1,
    cache: Cache | None = None,
    settings_for: Callable[[Path], Settings] | None = None,
    contents: Mapping[str, bytes] | None = None,
) -> list[FileModel]:
    """The model of every file, in the order given (from the cache, or extracted on `jobs`
    processes), linked across modules (`link.py`), then the prompt files those read (with their
    parse errors). Each file is extracted with `settings_for(its path)` (default: `settings`).
    What was extracted is written back to the cache; a run that extracted nothing writes
    nothing. `contents` (display path -> bytes) stand in for those files' bytes on disk (the
    fixed text of `--diff`)."""

    def settings_of(path: Path) -> Settings:
        return settings if settings_for is None else settings_for(path)

    known = cache.load() if cache is not None else {}
    learned: dict[str, Entry] = {}
    each = [settings_of(s.path) for s in files]
    given = contents or {}
    extracted = _extract_or_recall(files, each, jobs, known, learned, given)
    real = _RealPaths()
    paths = [real(s.path) for s in files]
    models = dict(zip(paths, extracted, strict=True))
    # A module of the run re-read whole for an export keeps the name the run reports it by.
    displays = {path: s.display for path, s in zip(paths, files, strict=True)}

    def load(path: Path) -> FileModel | None:
        """A module of the project outside the run, read (whole) for the templates it exports."""
        display = displays.get(path) or os.path.relpath(path)
        own = settings_of(path)
        try:
            if display in given:
                data = given[display]
            elif 0 < own.max_file_size < path.stat().st_size:
                return None  # skipped as a file of the run would be (`discovery.within_size`)
            else:
                data = path.read_bytes()
        except OSError:
            return None
        key, sha = f"{display}{_EXPORTS}", _stamp(digest(data), own)
        entry = known.get(key)
        if entry is not None and entry.digest == sha:
            return entry.model
        model = safe_extract(display, data, own, None, exports=True)
        _learn(learned, key, sha, model)
        return model

    linked = link(models, load)
    if cache is not None and learned:
        cache.save({**known, **learned})
    return [*linked.models, *linked.prompt_files]


# The cache key of a module read for its exports (another extraction than a linted file's).
_EXPORTS = "\0exports"


def _stamp(sha: str, settings: Settings) -> str:
    """An entry's digest: the bytes' hash and the file's extraction settings, so that a changed
    config re-extracts its own files only."""
    return f"{sha}.{extraction_tag(settings)}"


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
    settings: Sequence[Settings],
    jobs: int,
    known: dict[str, Entry],
    learned: dict[str, Entry],
    given: Mapping[str, bytes],
) -> list[FileModel]:
    """Each file's model (with `settings[i]`): the cached one when the file's bytes hash as they
    did under the same extraction settings, else extracted (and added to `learned`)."""
    from promptlint.extract import compile_prefilter
    from promptlint.parallel import extract_all

    models: list[FileModel | None] = [None] * len(files)
    missing: list[int] = []
    for index, source in enumerate(files):
        data = given.get(source.display)
        if data is not None:  # not from disk: neither recalled nor remembered
            prefilter = compile_prefilter(settings[index].prompt_names)
            models[index] = safe_extract(source.display, data, settings[index], prefilter)
            continue
        entry = known.get(source.display)
        if entry is not None:
            try:
                if _stamp(digest(source.path.read_bytes()), settings[index]) == entry.digest:
                    models[index] = entry.model
                    continue
            except OSError:
                pass  # extraction reports it
        missing.append(index)
    fresh = extract_all([files[i] for i in missing], [settings[i] for i in missing], jobs)
    for index, (sha, model) in zip(missing, fresh, strict=True):
        models[index] = model
        stamped = None if sha is None else _stamp(sha, settings[index])
        _learn(learned, files[index].display, stamped, model)
    return [m for m in models if m is not None]


def check_files(
    files: Sequence[SourceFile],
    settings: Settings,
    rules: Sequence[Rule],
    estimator: Estimator,
    jobs: int = 1,
    cache: Cache | None = None,
    setup_for: Callable[[Path], Setup] | None = None,
    contents: Mapping[str, bytes] | None = None,
) -> CheckResult:
    """Check `files`, each with `setup_for(its path)` (default: `settings`, `rules`,
    `estimator` for all). Linking and the project-wide rules (PC302) run once over every model,
    with the run's own `settings` and `estimator`; a project-wide rule runs when any file
    selects it, and every finding is kept only in a file whose setup selects its rule.
    `contents` (display path -> bytes) stand in for those files on disk (see `extract_files`)."""
    root = Setup(settings, tuple(rules), estimator)

    def setup(path: Path) -> Setup:
        return root if setup_for is None else setup_for(path)

    def settings_for(path: Path) -> Settings:
        return setup(path).settings

    findings: list[Finding] = []
    internal: list[InternalError] = []
    models = extract_files(files, settings, jobs, cache, settings_for, contents)
    setups = [setup(s.path) for s in files] + [setup(Path(m.path)) for m in models[len(files) :]]
    for model, own in zip(models, setups, strict=True):
        analysis = analyse(model, own.rules, own.settings, own.estimator)
        findings.extend(analysis.findings)
        internal.extend(analysis.internal)
    wanted = {r for own in (root, *setups) for r in own.rules if r.check_project is not None}
    project_rules = [r for r in RULES if r in wanted]
    project = project_findings(models, project_rules, settings, estimator)
    findings.extend(project.findings)
    internal.extend(project.internal)
    # Linking may place a finding in an imported module outside the run: those are not reported
    # (pre-commit passes the changed files; their imports are read, not checked). Prompt files
    # the run's call sites load are reported: they are part of those prompts.
    paths = [source.display for source in files] + [m.path for m in models[len(files) :]]
    selected = {path: {r.code for r in own.rules} for path, own in zip(paths, setups, strict=True)}
    known = {r.code for r in RULES}

    def shown(finding: Finding) -> bool:
        codes = selected.get(finding.path)
        return codes is not None and (finding.code in codes or finding.code not in known)

    # Filtered before suppression comments are matched and after (the unused-suppression
    # findings they add).
    suppressed = apply_suppressions(filter(shown, findings), models, rules)
    kept, traces = with_internal(filter(shown, suppressed), internal)
    return CheckResult(kept, len(models), len(internal), traces)


def check_source(
    display: str, data: bytes, settings: Settings, rules: Sequence[Rule], estimator: Estimator
) -> CheckResult:
    """Lint one file's bytes (stdin, editors, tests)."""
    return check_document(display, data, settings, rules, estimator)[0]


def check_document(
    display: str, data: bytes, settings: Settings, rules: Sequence[Rule], estimator: Estimator
) -> tuple[CheckResult, FileModel]:
    """`check_source`, with the model it extracted (the language server's hover reads its call
    sites, estimated with the same `estimator`)."""
    model = safe_extract(display, data, settings, None)
    analysis = analyse(model, rules, settings, estimator)
    project = project_findings([model], rules, settings, estimator)
    findings = apply_suppressions([*analysis.findings, *project.findings], [model], rules)
    internal = [*analysis.internal, *project.internal]
    kept, traces = with_internal(findings, internal)
    return CheckResult(kept, 1, len(internal), traces), model


def project_findings(
    models: Sequence[FileModel], rules: Sequence[Rule], settings: Settings, estimator: Estimator
) -> Analysis:
    """Findings of the project-wide rules (PC302), over every linked model at once. A rule that
    raises is an internal error belonging to no file: it is reported at 1:1 of the run's first
    file in output order (where a reader sees it first), and the other rules still run."""
    project = Context("", settings, estimator.tokens, estimator)
    findings: list[Finding] = []
    internal: list[InternalError] = []
    for rule in rules:
        if rule.check_project is None:
            continue
        try:
            findings.extend(list(rule.check_project(models, project)))
        except Exception as exc:
            trace = traceback.format_exc()
            first = dataclasses.replace(project, path=min((m.path for m in models), default=""))
            message = (
                f"internal error in project-wide rule {rule.code} ({rule.name}), reported at "
                f"the first file of the run: {described(exc)}"
            )
            internal.append(_internal(first, UNKNOWN_SPAN, message, trace))
    return Analysis(findings, internal)
