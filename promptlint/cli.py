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


def _caches(no_cache: bool, cache_dir: str, settings: Any) -> tuple[Any, Any]:
    """The extraction cache and the token-count memo (None, None with --no-cache)."""
    if no_cache:
        return None, None
    from pathlib import Path

    from promptlint.cache import Cache, TokenMemo, cache_key
    from promptlint.providers import bundled_data_bytes
    from promptlint.tokens import vocabulary_id

    directory = Path(cache_dir)
    extraction = Cache(directory, cache_key(settings, bundled_data_bytes()))
    return extraction, TokenMemo(directory, vocabulary_id(settings.encoding))


def _remember_counts(memo: Any, known: dict[str, int], estimator: Any) -> None:
    if memo is not None and estimator.tokens.learned:
        memo.save({**known, **estimator.tokens.learned})


def _jobs(jobs: int | None) -> int:
    from promptlint.parallel import default_jobs

    return jobs or default_jobs()


def _estimator(
    provider: str | None,
    model: str | None,
    encoding: str,
    dynamic_tokens: int,
    known: dict[str, int] | None = None,
) -> Any:
    from promptlint.estimate import Estimator
    from promptlint.providers import Choice, bundled_profiles
    from promptlint.tokens import TokenCounter

    profiles = bundled_profiles()
    if provider is not None:
        choices = (*profiles.providers, *(p.name for p in profiles.profiles))
        if provider not in choices:
            names = ", ".join(profiles.providers)
            raise click.UsageError(
                f"unknown provider {provider!r}; choose a provider ({names}) "
                "or a profile name from `promptlint providers`"
            )
    counter = TokenCounter(encoding, known=known)
    return Estimator(counter, profiles, dynamic_tokens, Choice(provider, model))


def _discover(paths: tuple[str, ...]) -> Any:
    from promptlint.discovery import discover

    try:
        return discover(paths or (".",))
    except FileNotFoundError as exc:
        missing = exc.filename or str(exc)
        click.echo(f"promptlint: error: path does not exist: {missing}", err=True)
        sys.exit(EXIT_ERROR)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "concise", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--select", multiple=True, help="Rules to enable: codes, prefixes (PC1) or names.")
@click.option("--ignore", multiple=True, help="Rules to disable: codes, prefixes or names.")
@click.option("--extend-select", multiple=True, help="Rules to enable on top of --select.")
@_provider_options
@_run_options
@click.option("--stdin-filename", help="Lint source read from stdin, reported under this name.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@click.option(
    "--color/--no-color", default=None, help="Colour the output (default: on a terminal)."
)
def check(
    paths: tuple[str, ...],
    output_format: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    extend_select: tuple[str, ...],
    provider: str | None,
    model: str | None,
    jobs: int | None,
    no_cache: bool,
    cache_dir: str,
    stdin_filename: str | None,
    exit_zero: bool,
    quiet: bool,
    color: bool | None,
) -> None:
    """Check PATHS (files or directories; default `.`) for prompt-caching problems."""
    from promptlint.checks import UnknownSelectorError, select_rules
    from promptlint.config import Settings
    from promptlint.engine import check_files, check_source

    settings = Settings()
    chosen = _split(select) or settings.select
    try:
        rules = select_rules(chosen + _split(extend_select), _split(ignore) + settings.ignore)
    except UnknownSelectorError as exc:
        raise click.UsageError(str(exc)) from exc
    cache, memo = _caches(no_cache or stdin_filename is not None, cache_dir, settings)
    known = memo.load() if memo is not None else {}
    estimator = _estimator(provider, model, settings.encoding, settings.dynamic_tokens, known)

    if stdin_filename is not None:
        result = check_source(stdin_filename, sys.stdin.buffer.read(), settings, rules, estimator)
    else:
        files = _discover(paths)
        result = check_files(files, settings, rules, estimator, _jobs(jobs), cache)
        _remember_counts(memo, known, estimator)
    findings, files_checked = result.findings, result.files_checked

    if output_format == "json":
        from promptlint.report import json as json_report

        click.echo(json_report.render(findings), nl=False)
    elif output_format == "concise":
        from promptlint.report import concise

        click.echo(concise.render(findings), nl=False)
    else:
        from promptlint.report import text

        use_color = sys.stdout.isatty() if color is None else color
        style: Any = click.style if use_color else text.plain
        click.echo(text.render(findings, files_checked, style, quiet), nl=False, color=use_color)

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
def report(
    paths: tuple[str, ...],
    output_format: str,
    provider: str | None,
    model: str | None,
    hit_rate: float,
    jobs: int | None,
    no_cache: bool,
    cache_dir: str,
) -> None:
    """Per call site: stable prefix tokens, cache-eligible share and cost per 1,000 calls."""
    from promptlint.config import Settings
    from promptlint.engine import extract_files
    from promptlint.report.estimates import Row, render_json, render_table

    settings = Settings()
    cache, memo = _caches(no_cache, cache_dir, settings)
    known = memo.load() if memo is not None else {}
    estimator = _estimator(provider, model, settings.encoding, settings.dynamic_tokens, known)
    rows = [
        Row(model_.path, site, estimator.estimate(site))
        for model_ in extract_files(_discover(paths), settings, _jobs(jobs), cache)
        for site in model_.call_sites
    ]
    _remember_counts(memo, known, estimator)
    if output_format == "json":
        click.echo(render_json(rows, hit_rate, settings.encoding, provider or "auto"), nl=False)
    else:
        click.echo(render_table(rows, hit_rate, markdown=output_format == "markdown"), nl=False)


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
