"""The pipeline for `check`: discover -> extract (per file) -> analyse -> findings.

Pure orchestration: it reads files, hands bytes to the extractor and the model to the rules, and
returns sorted, de-duplicated findings. Printing and exit codes belong to the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from promptlint.checks import Context, Rule
from promptlint.config import Settings
from promptlint.discovery import SourceFile
from promptlint.estimate import Estimator
from promptlint.extract import Prefilter, extract_file
from promptlint.link import link
from promptlint.model import FileModel, Finding, ParseError


@dataclass(frozen=True)
class CheckResult:
    findings: tuple[Finding, ...]
    files_checked: int
    internal_errors: int = 0


def read_model(source: SourceFile, settings: Settings, prefilter: Prefilter | None) -> FileModel:
    """Extract one file; a file that cannot be read becomes a PC000 finding, not a crash."""
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        return FileModel(
            source.display, parse_error=ParseError(f"cannot read file: {reason}", 1, 1)
        )
    return safe_extract(source.display, data, settings, prefilter)


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
    files: Sequence[SourceFile], settings: Settings, jobs: int = 1
) -> list[FileModel]:
    """The model of every file, in the order given (extracted on `jobs` processes), linked
    across modules (`link.py`), then the prompt files those read (with their parse errors)."""
    from promptlint.parallel import extract_all

    extracted = extract_all(files, settings, jobs)
    models = {s.path.resolve(): m for s, m in zip(files, extracted, strict=True)}

    def load(path: Path) -> FileModel | None:
        """A module of the project outside the run, read for the templates it exports."""
        try:
            data = path.read_bytes()
        except OSError:
            return None
        display = os.path.relpath(path)
        return safe_extract(display, data, settings, None, exports=True)

    linked = link(models, load)
    return [*linked.models, *linked.prompt_files]


def check_files(
    files: Sequence[SourceFile],
    settings: Settings,
    rules: Sequence[Rule],
    estimator: Estimator,
    jobs: int = 1,
) -> CheckResult:
    findings: list[Finding] = []
    internal = 0
    models = extract_files(files, settings, jobs)
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
