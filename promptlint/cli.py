"""The command line (click). Parses options, runs the pipeline, prints, sets the exit code.

Heavy modules (libcst, tiktoken) are imported inside the commands that need them, so
`promptlint --version` and `promptlint rule X` start fast.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from promptlint import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _DefaultToCheck(click.Group):
    """`promptlint PATH...` means `promptlint check PATH...` (and bare `promptlint` checks `.`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (
            args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")
        ):
            args = ["check", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        """A bad config file, wherever a command meets it, ends the run with its message."""
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from promptlint.config import ConfigError

            if not isinstance(exc, ConfigError):
                raise
            click.echo(f"promptlint: error: {exc}", err=True)
            sys.exit(EXIT_ERROR)


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    """`--select PC1,PC2 --select PC3` -> ("PC1", "PC2", "PC3")."""
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@click.group(cls=_DefaultToCheck, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="promptlint")
def main() -> None:
    """promptlint: find prompts that defeat LLM prompt caching."""


def _provider_options(command: Any) -> Any:
    command = click.option(
        "--model", help="Model name to assume for every call site (picks its provider profile)."
    )(command)
    return click.option(
        "--provider",
        help="Provider or profile for every call site (see `promptlint providers`); "
        "default: inferred from the SDK, base_url and model.",
    )(command)


def _run_options(command: Any) -> Any:
    """--jobs and the cache, shared by `check` and `report`."""
    command = click.option(
        "--cache-dir",
        type=click.Path(file_okay=False),
        default=".promptlint_cache",
        show_default=True,
        envvar="PROMPTLINT_CACHE_DIR",
        help="Where extraction results are kept between runs (env: PROMPTLINT_CACHE_DIR).",
    )(command)
    command = click.option(
        "--no-cache", is_flag=True, help="Neither read nor write the cache: extract every file."
    )(command)
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=1),
        default=None,
        help="Processes to extract files on (default: the number of CPUs).",
    )(command)


def _traceback_option(command: Any) -> Any:
    """--show-traceback (env PROMPTLINT_SHOW_TRACEBACK=1), shared by `check` and `report`."""
    return click.option(
        "--show-traceback",
        is_flag=True,
        envvar="PROMPTLINT_SHOW_TRACEBACK",
        help="Print the Python traceback of each internal error to stderr, for a bug report "
        "(env: PROMPTLINT_SHOW_TRACEBACK=1).",
    )(command)


def _show_traces(traces: Any, show: bool) -> None:
    """Each internal error's place, message and traceback, on stderr (with --show-traceback)."""
    if show:
        for trace in traces:
            click.echo(f"promptlint: {trace}", nl=not trace.endswith("\n"), err=True)


def _size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """A file size: bytes, or with a unit ("500kB", "2MB", "1MiB"), as `max-file-size`."""
    from promptlint.config import parse_size

    try:
        return None if value is None else parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}; valid: {getattr(exc, 'valid', '')}") from None


def _config_options(command: Any) -> Any:
    """--config, --force-exclude and --max-file-size, shared by `check` and `report`."""
    command = click.option(
        "--max-file-size",
        metavar="SIZE",
        callback=_size,
        help="Skip (with a notice) files larger than SIZE, e.g. 5MB; 0: no limit "
        "(default: the config's max-file-size, else 2MB).",
    )(command)
    command = click.option(
        "--force-exclude",
        is_flag=True,
        help="Apply exclude/extend-exclude to the paths named too (pre-commit names every file).",
    )(command)
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False),
        help="Use this promptlint.toml or pyproject.toml for every file instead of the nearest.",
    )(command)


def _configure(overrides: Any, config_file: str | None, no_cache: bool, cache_dir: str) -> Any:
    """The run's config resolver, per-file setups and extraction cache (None with --no-cache).

    Settings live in each cache entry (a changed config re-extracts only its own files), so the
    cache file's key is that of the defaults: the same for every config and command line.
    """
    from pathlib import Path

    from promptlint.config import Resolver, Settings
    from promptlint.providers import bundled_profiles
    from promptlint.setups import Setups

    profiles = bundled_profiles()
    if overrides.provider is not None:
        choices = (*profiles.providers, *(p.name for p in profiles.profiles))
        if overrides.provider not in choices:
            names = ", ".join(profiles.providers)
            raise click.UsageError(
                f"unknown provider {overrides.provider!r}; choose a provider ({names}) "
                "or a profile name from `promptlint providers`"
            )
    resolver = Resolver(overrides, config_file)
    cache = None
    if not no_cache:
        from promptlint.cache import Cache, cache_key
        from promptlint.providers import bundled_data_bytes

        cache = Cache(Path(cache_dir), cache_key(Settings(), bundled_data_bytes()))
    setups = Setups(resolver, profiles, None if no_cache else Path(cache_dir))
    return resolver, setups, cache


def _jobs(jobs: int | None) -> int:
    from promptlint.parallel import default_jobs

    return jobs or default_jobs()


def _discover(paths: tuple[str, ...], resolver: Any = None, force_exclude: bool = False) -> Any:
    """The files to lint; what is skipped (a broken symlink, a file over max-file-size) is told
    on stderr."""
    import os

    from promptlint.config import Resolver
    from promptlint.discovery import discover, within_size

    def warn(notice: str) -> None:
        click.echo(f"promptlint: warning: {notice}", err=True)

    try:
        found = discover(paths or (".",), resolver=resolver, force_exclude=force_exclude, warn=warn)
    except FileNotFoundError as exc:
        missing = exc.filename or str(exc)
        why = " (a broken symlink, or a symlink loop)" if os.path.islink(missing) else ""
        click.echo(f"promptlint: error: path does not exist: {missing}{why}", err=True)
        sys.exit(EXIT_ERROR)
    limits = resolver or Resolver()
    return within_size(found, lambda path: limits.settings_for(path).max_file_size, warn)


def _show_settings(paths: tuple[str, ...], resolver: Any) -> None:
    """`check --show-settings`: each path's resolved settings and their config file."""
    import os

    from promptlint.config import describe
    from promptlint.discovery import DEFAULT_EXCLUDE

    texts = []
    for path in paths or (".",):
        if os.path.isdir(path):
            config = resolver.config_for_dir(os.path.abspath(path))
            settings = config.settings
        else:
            config, settings = resolver.config_for(path), resolver.settings_for(path)
        texts.append(describe(path, config, settings, DEFAULT_EXCLUDE))
    click.echo("\n".join(texts), nl=False)


def _report_root() -> Any:
    """What report paths are relative to (SARIF's %SRCROOT%, GitHub annotations): the working
    directory, or the GitHub Actions workspace when promptlint runs inside it (a job with a
    `working-directory`), since GitHub resolves paths against the repository root."""
    import os
    from pathlib import Path

    cwd = Path.cwd()
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace and cwd.is_relative_to(Path(workspace).absolute()):
        return Path(workspace).absolute()
    return cwd


def _fix_options(command: Any) -> Any:
    """--fix, --unsafe-fixes, --diff and --show-fixes (see fixes.py)."""
    command = click.option(
        "--show-fixes",
        is_flag=True,
        help="List the fixes applied (with --fix or --diff), or else the fixes available.",
    )(command)
    command = click.option(
        "--diff",
        is_flag=True,
        help="Print a unified diff of what --fix would change and write nothing "
        "(exit 1 when there is a diff).",
    )(command)
    command = click.option(
        "--unsafe-fixes",
        is_flag=True,
        help="Let --fix and --diff apply unsafe fixes too (they reorder prompt text or "
        "change the request).",
    )(command)
    return click.option(
        "--fix", is_flag=True, help="Apply the safe fixes, then report what remains."
    )(command)


def _apply_fixes(
    result: Any,
    sources: dict[str, Any],
    recheck: Any,
    unsafe: bool,
    diff: bool,
    show_fixes: bool,
) -> Any:
    """Fix (or with `diff`, only print what fixing would change, and exit). Bytes given in
    `sources` (stdin) are never written: their fixed text goes to stdout."""
    from promptlint import fixes

    stdin = any(isinstance(v, bytes) for v in sources.values())
    run = fixes.fix_run(result, sources, recheck, unsafe=unsafe, write=not diff and not stdin)
    for problem in run.problems:
        click.echo(f"promptlint: warning: {problem}", err=True)
    if diff:
        patch = "".join(fixes.unified_diff(p, old, new) for p, (old, new) in run.changed.items())
        click.echo(patch, nl=False)
        if show_fixes:
            click.echo(fixes.render_applied(run.applied, would=True), nl=False, err=True)
        if run.result.internal_errors:
            sys.exit(EXIT_ERROR)
        sys.exit(EXIT_FINDINGS if patch else EXIT_CLEAN)
    if stdin:
        for path, data in sources.items():
            sys.stdout.buffer.write(run.changed.get(path, (data, data))[1])
        sys.stdout.flush()
    return run


def _fix_notes(findings: Any, fixed: Any, unsafe: bool, show_fixes: bool, quiet: bool) -> str:
    """After the report: how many findings were fixed, the list of fixes (--show-fixes), and
    how many of the remaining ones a fix would remove."""
    from promptlint import fixes

    notes = ""
    if fixed is not None and fixed.applied and not quiet and not show_fixes:
        count = len(fixed.applied)
        notes += f"Fixed {count} finding{'' if count == 1 else 's'}.\n"
    if show_fixes:
        shown = fixes.render_applied(fixed.applied) if fixed is not None else None
        notes += shown if shown is not None else fixes.render_available(findings, unsafe)
    if not quiet:
        notes += fixes.hint(findings, unsafe)
    return notes


def _render_findings(
    output_format: str,
    statistics: bool,
    findings: Any,
    files_checked: int,
    successful: bool,
    quiet: bool,
    use_color: bool,
    sources: dict[str, bytes],
) -> str:
    """The report of `check` in the chosen format (or the counts per rule with --statistics)."""
    if statistics:
        from promptlint.report import statistics as stats

        if output_format == "json":
            return stats.render_json(findings)
        if output_format == "json-lines":
            return stats.render_json_lines(findings)
        return stats.render_text(findings)
    if output_format == "json":
        from promptlint.report import json as json_report

        return json_report.render(findings)
    if output_format == "json-lines":
        from promptlint.report import json_lines

        return json_lines.render(findings)
    if output_format == "concise":
        from promptlint.report import concise

        return concise.render(findings)
    if output_format == "sarif":
        from promptlint.report import sarif

        return sarif.render(findings, _report_root(), sarif.SourceLines(sources), successful)
    if output_format == "github":
        from promptlint.report import github

        return github.render(findings, _report_root())
    from promptlint.report import text

    style: Any = click.style if use_color else text.plain
    return text.render(findings, files_checked, style, quiet)


def _write_report(output_file: str, output: str) -> None:
    from pathlib import Path

    from promptlint.report.output import write_atomic

    try:
        write_atomic(Path(output_file), output)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        click.echo(
            f"promptlint: error: cannot write the report to {output_file}: {reason}; "
            "check that the path is a writable file",
            err=True,
        )
        sys.exit(EXIT_ERROR)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "concise", "json", "json-lines", "sarif", "github"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--output-file",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write the report to FILE (replaced atomically) instead of stdout.",
)
@click.option(
    "--statistics",
    is_flag=True,
    help="Print the number of findings per rule instead of the findings "
    "(a JSON list with --format json).",
)
@click.option("--select", multiple=True, help="Rules to enable: codes, prefixes (PC1) or names.")
@click.option("--ignore", multiple=True, help="Rules to disable: codes, prefixes or names.")
@click.option("--extend-select", multiple=True, help="Rules to enable on top of --select.")
@_provider_options
@_run_options
@_config_options
@_traceback_option
@click.option(
    "--show-settings",
    is_flag=True,
    help="Print the settings that apply to PATH (default `.`) and their config file; lint nothing.",
)
@click.option(
    "--stdin-filename",
    help="Lint source read from stdin, reported under this name (its config is found from it).",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@_fix_options
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@click.option(
    "--color/--no-color", default=None, help="Colour the output (default: on a terminal)."
)
def check(
    paths: tuple[str, ...],
    output_format: str,
    output_file: str | None,
    statistics: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    extend_select: tuple[str, ...],
    provider: str | None,
    model: str | None,
    jobs: int | None,
    no_cache: bool,
    cache_dir: str,
    config_file: str | None,
    force_exclude: bool,
    show_settings: bool,
    stdin_filename: str | None,
    exit_zero: bool,
    quiet: bool,
    color: bool | None,
    fix: bool = False,
    unsafe_fixes: bool = False,
    diff: bool = False,
    show_fixes: bool = False,
    show_traceback: bool = False,
    max_file_size: int | None = None,
) -> None:
    """Check PATHS (files or directories; default `.`) for prompt-caching problems."""
    from pathlib import Path

    from promptlint.checks import UnknownSelectorError, select_rules
    from promptlint.config import Overrides
    from promptlint.discovery import skipped_name
    from promptlint.engine import CheckResult, check_files, check_source

    if statistics and output_format in ("sarif", "github"):
        raise click.UsageError(
            f"--statistics gives counts as text, json or json-lines, not {output_format}; "
            "drop --statistics or choose another --format"
        )
    try:
        select_rules(_split(select) + _split(extend_select), _split(ignore))
    except UnknownSelectorError as exc:
        raise click.UsageError(str(exc)) from exc
    # Command line > the file's nearest config > defaults (config.py); each file its own setup.
    overrides = Overrides(
        _split(select) or None,
        _split(extend_select),
        _split(ignore),
        provider,
        model,
        max_file_size=max_file_size,
    )
    uncached = no_cache or stdin_filename is not None or show_settings
    resolver, setups, cache = _configure(overrides, config_file, uncached, cache_dir)
    if show_settings:
        _show_settings(paths or ((stdin_filename,) if stdin_filename else ()), resolver)
        sys.exit(EXIT_CLEAN)
    root = setups.root()
    settings, rules, estimator = root.settings, root.rules, root.estimator

    stdin_source: bytes | None = None
    if stdin_filename is not None:
        stdin_source = sys.stdin.buffer.read()
        if force_exclude and resolver.excluded(stdin_filename, skipped_name):
            result = CheckResult((), 0)
        else:
            own = setups.for_path(Path(stdin_filename))
            result = check_source(
                stdin_filename, stdin_source, own.settings, own.rules, own.estimator
            )
    else:
        files = _discover(paths, resolver, force_exclude)
        result = check_files(
            files, settings, rules, estimator, _jobs(jobs), cache, setup_for=setups.for_path
        )
        setups.save_counts()
    fixed = None
    if fix or diff:
        # Each pass re-runs the same check: on the fixed bytes (`--diff`, stdin), or on the files
        # once written (`--fix`).
        def recheck(contents: dict[str, bytes]) -> Any:
            if stdin_filename is not None:
                own = setups.for_path(Path(stdin_filename))
                data = contents.get(stdin_filename, stdin_source or b"")
                return check_source(stdin_filename, data, own.settings, own.rules, own.estimator)
            return check_files(
                files,
                settings,
                rules,
                estimator,
                _jobs(jobs),
                cache,
                setup_for=setups.for_path,
                contents=contents if diff else None,
            )

        sources_to_fix: dict[str, Any] = (
            {stdin_filename: stdin_source or b""}
            if stdin_filename is not None
            else {f.display: f.path for f in files}
        )
        if diff:  # --diff exits inside _apply_fixes: the traces of the check it starts from
            _show_traces(result.traces, show_traceback)
        fixed = _apply_fixes(result, sources_to_fix, recheck, unsafe_fixes, diff, show_fixes)
        result = fixed.result
    findings, files_checked = result.findings, result.files_checked

    use_color = (sys.stdout.isatty() and output_file is None) if color is None else color
    sources = {stdin_filename: stdin_source} if stdin_filename and stdin_source is not None else {}
    successful = result.internal_errors == 0
    output = _render_findings(
        output_format, statistics, findings, files_checked, successful, quiet, use_color, sources
    )
    # Fix notes follow a text report; other formats get only the --show-fixes list, on stderr.
    as_text = output_format == "text" and not statistics
    notes = _fix_notes(findings, fixed, unsafe_fixes, show_fixes, quiet or not as_text)
    if as_text:
        output += notes
    elif notes:
        click.echo(notes, nl=False, err=True)
    # `--fix` of stdin (as ruff): the fixed source goes to stdout, so the report to stderr.
    to_stderr = fixed is not None and stdin_filename is not None
    if output_file is None:
        click.echo(output, nl=False, color=use_color, err=to_stderr)
    else:
        _write_report(output_file, output)

    _show_traces(result.traces, show_traceback)
    if result.internal_errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if findings and not exit_zero else EXIT_CLEAN)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@_provider_options
@click.option(
    "--hit-rate",
    type=click.FloatRange(0.0, 1.0),
    default=1.0,
    show_default=True,
    help="Share of calls that find their prefix cached (what-if for the cached cost).",
)
@_run_options
@_config_options
@_traceback_option
def report(
    paths: tuple[str, ...],
    output_format: str,
    provider: str | None,
    model: str | None,
    hit_rate: float,
    jobs: int | None,
    no_cache: bool,
    cache_dir: str,
    config_file: str | None,
    force_exclude: bool,
    show_traceback: bool,
    max_file_size: int | None = None,
) -> None:
    """Per call site: stable prefix tokens, cache-eligible share and cost per 1,000 calls."""
    from pathlib import Path

    from promptlint.config import Overrides
    from promptlint.engine import extract_files
    from promptlint.report.estimates import Row, render_json, render_table

    overrides = Overrides(provider=provider, model=model, max_file_size=max_file_size)
    resolver, setups, cache = _configure(overrides, config_file, no_cache, cache_dir)
    settings = setups.root().settings
    files = _discover(paths, resolver, force_exclude)
    models = extract_files(files, settings, _jobs(jobs), cache, resolver.settings_for)
    rows = [
        Row(model_.path, site, setups.for_path(Path(model_.path)).estimator.estimate(site))
        for model_ in models
        for site in model_.call_sites
    ]
    setups.save_counts()
    if output_format == "json":
        shown = settings.provider or "auto"
        click.echo(render_json(rows, hit_rate, settings.encoding, shown), nl=False)
    else:
        click.echo(render_table(rows, hit_rate, markdown=output_format == "markdown"), nl=False)
    # A file promptlint failed on (a bug) is missing from the figures: said on stderr, exit 2.
    failed = [(m.path, m.parse_error) for m in models if m.parse_error and m.parse_error.internal]
    for path, error in failed:
        click.echo(
            f"promptlint: error: {path}:{error.line}:{error.column}: {error.message}", err=True
        )
        if show_traceback and error.trace:
            click.echo(error.trace, nl=False, err=True)
    if failed:
        sys.exit(EXIT_ERROR)


@main.command()
def providers() -> None:
    """List the provider cache profiles (minimum, granularity, breakpoints, prices, source)."""
    from promptlint.providers import bundled_profiles

    for p in bundled_profiles().profiles:
        mode = f"explicit (max {p.max_breakpoints})" if p.explicit else "automatic"
        prices = (
            f"{p.currency} {p.input:g} / {p.cached_input:g} / {p.cache_write:g} per 1M"
            if p.has_prices
            else "prices unknown"
        )
        flags = " (default)" if p.default else ""
        click.echo(f"{p.name}{flags}")
        click.echo(f"    provider {p.provider}; models {', '.join(p.models)}")
        click.echo(
            f"    min {p.min_tokens} tokens, granularity {p.granularity}, {mode}; "
            f"input / cached / write: {prices}"
        )
        click.echo(f"    {p.date}: {p.source}")
        if p.unconfirmed:
            click.echo(f"    unconfirmed: {', '.join(p.unconfirmed)}")


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="List every rule.")
def rule(code: str | None, show_all: bool) -> None:
    """Print the page of rule CODE (a code such as PC101, or a name); --all lists the rules."""
    from promptlint.checks import RULES, rule_by_code_or_name
    from promptlint.ruledocs import read_page

    if show_all or code is None:
        for r in RULES:
            click.echo(f"{r.code}  {r.name:<24} {r.severity.value:<8} {r.summary}")
        return
    found = rule_by_code_or_name(code)
    if found is None:
        known = ", ".join(r.code for r in RULES)
        raise click.UsageError(f"unknown rule {code!r}; known rules: {known}")
    page = read_page(found.code)
    if page is None:
        click.echo(
            f"promptlint: error: the page of {found.code} is missing from this installation",
            err=True,
        )
        sys.exit(EXIT_ERROR)
    click.echo(page, nl=False)


@main.command()
@click.option(
    "--stdio", is_flag=True, help="Accepted for editors that pass it; stdio is the only transport."
)
def server(stdio: bool) -> None:
    """Run the language server (LSP over stdin/stdout) for editors; needs `promptlint[lsp]`."""
    try:
        from promptlint.server import serve
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in ("pygls", "lsprotocol"):
            raise
        click.echo(
            "promptlint: error: the language server needs pygls, which is not installed; "
            "install it with: pip install 'promptlint[lsp]'",
            err=True,
        )
        sys.exit(EXIT_ERROR)
    serve()
