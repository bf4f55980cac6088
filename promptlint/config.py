"""Settings: built-in defaults, overridden by the nearest config file, then by the command line.

A config file is `promptlint.toml` (top-level keys) or a `pyproject.toml` with a
`[tool.promptlint]` table. As with ruff, the one nearest to a linted file wins whole (no merging
with configs further up); `promptlint.toml` wins over `pyproject.toml` in the same directory;
`--config FILE` replaces the lookup for every file. A `Resolver` does the lookup once per directory
and hands out one frozen, hashable `Settings` per file (its config's options, the command line's
overrides and the `per-file-ignores` that match it). Every key and value is validated when the
file is read: a bad one is a `ConfigError` naming the file and the key, never a silent default.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import os
import re
import sys
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_PROMPT_NAMES: tuple[str, ...] = ("*PROMPT*", "*SYSTEM*", "*INSTRUCTION*", "*TEMPLATE*")

PROMPTLINT_TOML = "promptlint.toml"
PYPROJECT_TOML = "pyproject.toml"


@dataclass(frozen=True)
class Settings:
    """The options one file is checked with (hashable: files are grouped by them)."""

    # Rule selection: codes ("PC101"), prefixes ("PC1") or rule names ("dynamic-before-static").
    select: tuple[str, ...] = ("PC",)
    ignore: tuple[str, ...] = ()
    # PC101 fires when a dynamic value precedes at least this many static tokens.
    min_static_tokens: int = 32
    # Tokens assumed for each dynamic slot when estimating a prompt's size.
    dynamic_tokens: int = 64
    # fnmatch patterns (case-insensitive) for names whose templates are linted without a call site.
    prompt_names: tuple[str, ...] = DEFAULT_PROMPT_NAMES
    encoding: str = "o200k_base"
    # A provider or profile name for every call site, and a model; None: inferred per call site.
    provider: str | None = None
    model: str | None = None
    # PC301: the shortest repeated sentence or line reported, in tokens.
    min_repeated_tokens: int = 8
    # PC302: the shortest shared static block reported, in tokens.
    min_shared_tokens: int = 256
    # PC401: a prefix under the provider's minimum is reported from this share of it upwards.
    near_minimum_share: float = 0.25
    # Files larger than this (bytes) are skipped with a notice, not read; 0: no limit.
    max_file_size: int = 2_000_000


# The options extraction reads (extract/pipeline.py, parallel.py). The cache keeps each file's model
# under a hash of these only, so changing a rule's threshold or the provider re-extracts nothing;
# tests/test_config.py checks that extraction reads no other field.
EXTRACTION_FIELDS: tuple[str, ...] = ("prompt_names",)


@functools.lru_cache(maxsize=256)
def extraction_tag(settings: Settings) -> str:
    """A short hash of the options that decide what extraction returns for a file."""
    text = repr(tuple(getattr(settings, name) for name in EXTRACTION_FIELDS))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class ConfigError(Exception):
    """A config file (or `--config`) that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class Overrides:
    """What the command line sets: `--select` replaces the config's selection (its select,
    extend-select and ignore), `--extend-select` and `--ignore` add to it."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    provider: str | None = None
    model: str | None = None
    max_file_size: int | None = None


# --- the keys --------------------------------------------------------------------------------

_Check = Callable[[Any], Any]  # returns the validated value or raises _Invalid


class _Invalid(ValueError):
    def __init__(self, problem: str, valid: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.valid = valid


def _kind(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a float",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


def _strings(value: Any, valid: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Invalid(f"expected an array of strings, got {_kind(value)}", valid)
    for item in value:
        if not isinstance(item, str):
            raise _Invalid(f"expected an array of strings, found {_kind(item)} in it", valid)
    return tuple(value)


def _selector_choices() -> str:
    from promptlint.checks import RULES

    rules = ", ".join(f"{r.code} ({r.name})" for r in RULES)
    return f"ALL, a code prefix such as PC1, or one of {rules}"


def _selectors(value: Any) -> tuple[str, ...]:
    from promptlint.checks import UnknownSelectorError, select_rules

    valid = "an array of rule codes, code prefixes or rule names"
    selectors = tuple(s.strip() for s in _strings(value, valid))
    for selector in selectors:
        try:
            select_rules((selector,), ())
        except UnknownSelectorError:
            raise _Invalid(f"unknown rule selector {selector!r}", _selector_choices()) from None
    return selectors


def _per_file_ignores(value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    valid = 'a table of glob = [rule selectors], e.g. "tests/*" = ["PC101"]'
    if not isinstance(value, dict):
        raise _Invalid(f"expected a table, got {_kind(value)}", valid)
    entries = []
    for pattern, selectors in value.items():
        _compile((pattern.removeprefix("!"),), valid)
        try:
            entries.append((pattern, _selectors(selectors)))
        except _Invalid as exc:
            raise _Invalid(f"pattern {pattern!r}: {exc.problem}", exc.valid) from None
    return tuple(entries)


def _patterns(value: Any) -> tuple[str, ...]:
    valid = "an array of gitignore-style patterns, relative to the config file's directory"
    patterns = _strings(value, valid)
    _compile(patterns, valid)
    return patterns


def _compile(patterns: Sequence[str], valid: str) -> Any:
    import pathspec

    for pattern in patterns:
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
        except ValueError:
            raise _Invalid(f"invalid pattern {pattern!r}", valid) from None
    return pathspec.GitIgnoreSpec.from_lines(list(patterns))


def _integer(minimum: int) -> _Check:
    def check(value: Any) -> int:
        if type(value) is not int:
            raise _Invalid(f"expected an integer, got {_kind(value)}", f"an integer >= {minimum}")
        if value < minimum:
            raise _Invalid(f"{value} is below {minimum}", f"an integer >= {minimum}")
        return value

    return check


def _share(value: Any) -> float:
    valid = "a number from 0 to 1, e.g. 0.25"
    if type(value) not in (int, float):
        raise _Invalid(f"expected a number, got {_kind(value)}", valid)
    if not 0 <= value <= 1:
        raise _Invalid(f"{value} is not between 0 and 1", valid)
    return float(value)


def _boolean(value: Any) -> bool:
    if type(value) is not bool:
        raise _Invalid(f"expected a boolean, got {_kind(value)}", "true or false")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        got = "an empty string" if isinstance(value, str) else _kind(value)
        raise _Invalid(f"expected a name, got {got}", "a non-empty string")
    return value


def _provider(value: Any) -> str:
    from promptlint.providers import bundled_profiles

    name = _text(value)
    profiles = bundled_profiles()
    if name not in (*profiles.providers, *(p.name for p in profiles.profiles)):
        valid = (
            f"a provider ({', '.join(profiles.providers)}) or a profile name from "
            "`promptlint providers`"
        )
        raise _Invalid(f"unknown provider {name!r}{_suggest(name, profiles.providers)}", valid)
    return name


def _encoding(value: Any) -> str:
    from promptlint.tokens import ENCODINGS

    name = _text(value)
    if name not in ENCODINGS:
        raise _Invalid(f"unknown encoding {name!r}", ", ".join(ENCODINGS))
    return name


def _prompt_names(value: Any) -> tuple[str, ...]:
    valid = 'an array of name patterns, e.g. ["*PROMPT*", "*SYSTEM*"]'
    names = _strings(value, valid)
    if any(not name.strip() for name in names):
        raise _Invalid("an empty pattern", valid)
    return names


_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?)\s*(?:([kmg])(i?)b?|b)?\s*", re.IGNORECASE)
_SIZE_VALID = 'a number of bytes, or a size such as "500kB", "2MB" or "1MiB"; 0 for no limit'


def parse_size(value: Any) -> int:
    """A file size in bytes, from an integer or a string with a unit: B, kB, MB, GB (powers of
    1000) or KiB, MiB, GiB (powers of 1024), in any case; raises `ValueError`."""
    if type(value) is int:
        if value < 0:
            raise _Invalid(f"{value} is below 0", _SIZE_VALID)
        return value
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        got = repr(value) if isinstance(value, str) else _kind(value)
        raise _Invalid(f"expected a size, got {got}", _SIZE_VALID)
    number, prefix, binary = match.groups()
    power = " kmg".index(prefix.lower()) if prefix else 0
    return int(float(number) * (1024 if binary else 1000) ** power)


# Each key and the check of its value (which returns the value to use). Order: as documented.
KEYS: dict[str, _Check] = {
    "select": _selectors,
    "extend-select": _selectors,
    "ignore": _selectors,
    "per-file-ignores": _per_file_ignores,
    "exclude": _patterns,
    "extend-exclude": _patterns,
    "respect-gitignore": _boolean,
    "provider": _provider,
    "model": _text,
    "encoding": _encoding,
    "dynamic-tokens": _integer(0),
    "prompt-names": _prompt_names,
    "min-static-tokens": _integer(1),
    "min-repeated-tokens": _integer(1),
    "min-shared-tokens": _integer(1),
    "near-minimum-share": _share,
    "max-file-size": parse_size,
}


def _suggest(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- one config file -------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """One config file's options (or the built-in defaults), with the command line applied."""

    path: Path | None  # the file; None: no config file, built-in defaults
    directory: str  # absolute; the patterns of the file are relative to it
    settings: Settings  # for its files, before `per-file-ignores`
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] | None = None  # None: the default list (discovery.SKIP_DIRS)
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    # Compiled once: `exclude` + `extend-exclude`, and each per-file-ignores pattern.
    exclude_spec: Any = field(default=None, compare=False, repr=False)
    per_file_specs: tuple[tuple[Any, bool, tuple[str, ...]], ...] = field(
        default=(), compare=False, repr=False
    )

    @property
    def skips_defaults(self) -> bool:
        """Whether the default skip list (`.git`, `.venv`, `build`, ...) is in force."""
        return self.exclude is None

    def relative(self, path: str) -> str | None:
        """`path` (absolute) relative to the config's directory, '/'-separated; None outside."""
        rel = os.path.relpath(path, self.directory)
        if rel == os.curdir:
            return ""
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return None
        return rel.replace(os.sep, "/")

    def ignored_here(self, path: str) -> tuple[str, ...]:
        """The selectors `per-file-ignores` adds for the file at `path` (absolute)."""
        if not self.per_file_specs:
            return ()
        rel = self.relative(path)
        target = os.path.basename(path) if rel is None else rel
        found: list[str] = []
        for spec, negated, selectors in self.per_file_specs:
            if spec.match_file(target) != negated:
                found.extend(s for s in selectors if s not in found)
        return tuple(found)


def _options(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Every key of a config table, validated (ConfigError on the first bad one)."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        check = KEYS.get(key)
        if check is None:
            hint = _suggest(key, list(KEYS)) or _snake_hint(key)
            raise ConfigError(f"{where}: key {key!r}: unknown key{hint}; valid: {', '.join(KEYS)}")
        try:
            values[key] = check(value)
        except _Invalid as exc:
            raise ConfigError(f"{where}: key {key!r}: {exc.problem}; valid: {exc.valid}") from None
    return values


def _snake_hint(key: str) -> str:
    dashed = key.replace("_", "-")
    return f" (keys are kebab-case: {dashed!r})" if dashed in KEYS else ""


def _settings(values: Mapping[str, Any], overrides: Overrides) -> Settings:
    """Defaults <- the config's values <- the command line."""
    default = Settings()
    if overrides.select is not None:
        select, ignore = overrides.select, ()
    else:
        select = values.get("select", default.select) + values.get("extend-select", ())
        ignore = values.get("ignore", ())
    simple = {
        f.name: values[f.name.replace("_", "-")]
        for f in fields(Settings)
        if f.name not in ("select", "ignore") and f.name.replace("_", "-") in values
    }
    settings = replace(
        default,
        select=select + overrides.extend_select,
        ignore=ignore + overrides.ignore,
        **simple,
    )
    if overrides.provider is not None:
        settings = replace(settings, provider=overrides.provider)
    if overrides.model is not None:
        settings = replace(settings, model=overrides.model)
    if overrides.max_file_size is not None:
        settings = replace(settings, max_file_size=overrides.max_file_size)
    return settings


def _build(
    path: Path | None, directory: str, values: dict[str, Any], overrides: Overrides
) -> Config:
    import pathspec

    exclude = values.get("exclude")
    extend = values.get("extend-exclude", ())
    patterns = [*(exclude or ()), *extend]
    per_file = values.get("per-file-ignores", ())
    specs = tuple(
        (
            pathspec.GitIgnoreSpec.from_lines([pattern.removeprefix("!")]),
            pattern.startswith("!"),
            selectors,
        )
        for pattern, selectors in per_file
    )
    return Config(
        path=path,
        directory=directory,
        settings=_settings(values, overrides),
        per_file_ignores=per_file,
        exclude=exclude,
        extend_exclude=extend,
        respect_gitignore=values.get("respect-gitignore", True),
        exclude_spec=pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None,
        per_file_specs=specs,
    )


def shown_path(path: str | Path) -> str:
    """A path as errors show it: relative to the current directory when it lies inside it."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith(os.pardir) else rel


def read_table(path: Path, *, pyproject: bool) -> Mapping[str, Any] | None:
    """The promptlint table of a config file: the whole file for promptlint.toml, the
    `[tool.promptlint]` table of a pyproject.toml (None when it has none)."""
    where = shown_path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the file: {exc.strerror or exc}") from None
    if pyproject and b"promptlint" not in data:
        return None  # cheap: most pyproject.toml files are not ours (and need not even parse)
    try:
        document: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 (byte {exc.start + 1})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}{_toml_position(str(exc), data)}") from None
    if not pyproject:
        return document
    tool = document.get("tool")
    if not isinstance(tool, dict) or "promptlint" not in tool:
        return None
    table = tool["promptlint"]
    if not isinstance(table, dict):
        raise ConfigError(
            f"{where}: key 'tool.promptlint': expected a table, got {_kind(table)}; "
            "valid: a [tool.promptlint] table"
        )
    return table


_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")


def _toml_position(message: str, data: bytes) -> str:
    """':LINE:COLUMN: invalid TOML: MESSAGE' from tomllib's 'MESSAGE (at line L, column C)'."""
    match = _POSITION.search(message)
    if match is None:
        return f": invalid TOML: {message}"
    if match[1] is None:  # at the end of the document: its last line and column
        text = data.decode("utf-8")
        line, column = text.count("\n") + 1, len(text) - text.rfind("\n")
    else:
        line, column = int(match[1]), int(match[2])
    return f":{line}:{column}: invalid TOML: {message[: match.start()]}"


def load(
    path: Path, overrides: Overrides = Overrides(), directory: str | None = None
) -> Config | None:
    """The config of a file (None: a pyproject.toml without a [tool.promptlint] table); its
    patterns are relative to `directory` (default: the file's)."""
    table = read_table(path, pyproject=path.name == PYPROJECT_TOML)
    if table is None:
        return None
    values = _options(table, shown_path(path))
    base = directory or os.path.dirname(os.path.abspath(path))
    return _build(path, base, values, overrides)


def defaults(directory: str, overrides: Overrides = Overrides()) -> Config:
    """The built-in defaults (no config file), for files under no config."""
    return _build(None, directory, {}, overrides)


# --- which config applies where ----------------------------------------------------------------


class Resolver:
    """Finds the config of each directory (once per directory) and the settings of each file.

    With `config_file` (`--config`), that file is every file's config and nothing is looked up;
    its patterns are relative to the current directory, as with ruff (a shared file kept
    elsewhere applies to the project it is used in).
    Otherwise the nearest `promptlint.toml`, or `pyproject.toml` with `[tool.promptlint]`, in the
    directory or above it applies; none at all means the built-in defaults. The run's root config
    (project-wide rules, the report's header) is the `--config` file or the one nearest to the
    current directory.
    """

    def __init__(
        self,
        overrides: Overrides = Overrides(),
        config_file: str | Path | None = None,
        cwd: str | None = None,
    ) -> None:
        self._overrides = overrides
        self._cwd = os.path.abspath(cwd or os.getcwd())
        self._by_dir: dict[str, Config] = {}
        self._by_spelling: dict[str, Config] = {}  # directories as files name them
        self._loaded: dict[str, Config | None] = {}
        self._settings: dict[tuple[int, tuple[str, ...]], Settings] = {}
        self._default = defaults(self._cwd, overrides)
        self._forced: Config | None = None
        if config_file is not None:
            path = Path(config_file)
            if not path.is_file():
                raise ConfigError(f"--config {config_file}: no such file")
            forced = load(path, overrides, self._cwd)
            if forced is None:
                raise ConfigError(
                    f"{shown_path(path)}: has no [tool.promptlint] table; "
                    "valid: a promptlint.toml, or a pyproject.toml with a [tool.promptlint] table"
                )
            self._forced = forced

    def root(self) -> Config:
        return self._forced or self.config_for_dir(self._cwd)

    def config_for(self, path: str | Path) -> Config:
        """The config of the file (or directory) at `path`."""
        return self.config_for_dir(os.path.dirname(os.path.abspath(path)))

    def config_for_dir(self, directory: str) -> Config:
        """The config that governs the files directly in `directory` (absolute)."""
        if self._forced is not None:
            return self._forced
        chain: list[str] = []
        current = directory
        found: Config | None = None
        while True:
            known = self._by_dir.get(current)
            if known is not None:
                found = known
                break
            chain.append(current)
            found = self._own(current, None)
            if found is not None:
                break
            parent = os.path.dirname(current)
            if parent == current:
                found = self._default
                break
            current = parent
        for visited in chain:
            self._by_dir[visited] = found
        return found

    def config_in(self, directory: str, names: Container[str], parent: Config) -> Config:
        """The config of a directory a walk entered from a directory governed by `parent`,
        given the names in it (no lookup unless one is a config file's)."""
        if self._forced is not None:
            return self._forced
        known = self._by_dir.get(directory)
        if known is None:
            known = self._own(directory, names) or parent
            self._by_dir[directory] = known
        return known

    def _own(self, directory: str, names: Container[str] | None) -> Config | None:
        """The config file in `directory` itself, if it has one that counts."""
        for name in (PROMPTLINT_TOML, PYPROJECT_TOML):
            path = os.path.join(directory, name)
            if names is not None and name not in names:
                continue
            if path not in self._loaded:
                self._loaded[path] = (
                    load(Path(path), self._overrides) if os.path.isfile(path) else None
                )
            config = self._loaded[path]
            if config is not None:
                return config
        return None

    def settings_for(self, path: str | Path) -> Settings:
        """The settings of the file at `path`: its config's, plus the per-file-ignores matching
        it. Equal settings are one object (cheap to send to worker processes)."""
        # Called for every file, several times: the directory as spelt is looked up first.
        spelling = os.path.dirname(os.fspath(path))
        config = self._by_spelling.get(spelling)
        if config is None:
            directory = os.path.abspath(spelling or os.curdir)
            config = self._by_spelling[spelling] = self.config_for_dir(directory)
        if not config.per_file_specs:
            return config.settings
        absolute = os.path.abspath(path)
        extra = config.ignored_here(absolute)
        key = (id(config), extra)
        settings = self._settings.get(key)
        if settings is None:
            settings = config.settings
            if extra:
                settings = replace(settings, ignore=settings.ignore + extra)
            self._settings[key] = settings
        return settings

    def excluded(
        self, path: str | Path, skip_names: Callable[[str], bool], is_dir: bool = False
    ) -> bool:
        """Whether `exclude`/`extend-exclude` (or the default skip list, `skip_names`) exclude
        the file or directory at `path`, or a directory above it, each judged by the config of
        the directory it is in (for `--force-exclude`)."""
        absolute = os.path.abspath(path)
        child, parent = absolute, os.path.dirname(absolute)
        while True:
            config = self.config_for_dir(parent)
            rel = config.relative(child)
            if rel:
                if config.skips_defaults and is_dir and skip_names(os.path.basename(child)):
                    return True
                spec = config.exclude_spec
                if spec is not None and spec.match_file(rel + "/" if is_dir else rel):
                    return True
            grand = os.path.dirname(parent)
            if grand == parent:
                return False
            child, parent, is_dir = parent, grand, True


# --- what --show-settings prints -----------------------------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def describe(path: str, config: Config, settings: Settings, default_exclude: Sequence[str]) -> str:
    """The resolved settings of `path`, in the config's own keys, and where they came from."""
    from promptlint.checks import select_rules

    source = (
        "none (built-in defaults)"
        if config.path is None
        else shown_path(config.path)
        + (" [tool.promptlint]" if config.path.name == PYPROJECT_TOML else "")
    )
    rules = select_rules(settings.select, settings.ignore)
    lines = [
        f"# settings for {path}",
        f"# config file: {source}",
        f"# rules enabled: {' '.join(r.code for r in rules) or 'none'}",
        f"select = {_toml(settings.select)}",
        f"ignore = {_toml(settings.ignore)}"
        + ("  # with the per-file-ignores of this file" if settings != config.settings else ""),
    ]
    pfi = ", ".join(f"{_toml(k)} = {_toml(v)}" for k, v in config.per_file_ignores)
    lines.append(f"per-file-ignores = {{{pfi}}}")
    exclude = config.exclude if config.exclude is not None else tuple(default_exclude)
    lines.append(f"exclude = {_toml(exclude)}" + ("  # default" if config.skips_defaults else ""))
    lines.append(f"extend-exclude = {_toml(config.extend_exclude)}")
    lines.append(f"respect-gitignore = {_toml(config.respect_gitignore)}")
    for name, unset in (("provider", "inferred per call site"), ("model", "as each call says")):
        value = getattr(settings, name)
        lines.append(f"{name} = {_toml(value)}" if value is not None else f"# {name}: {unset}")
    for f in fields(Settings):
        if f.name not in ("select", "ignore", "provider", "model"):
            lines.append(f"{f.name.replace('_', '-')} = {_toml(getattr(settings, f.name))}")
    if config.path is not None:
        lines.append(f"# patterns are relative to {shown_path(config.directory) or '.'}")
    return "\n".join(lines) + "\n"
