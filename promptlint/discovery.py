"""Find the source files to lint from the paths named on the command line.

Directories are walked with `os.scandir`, pruning skipped and ignored directories before descending;
`.gitignore` files are honoured the way black does, via `pathspec`. With a `config.Resolver`, each
directory's config decides what is skipped there (`exclude`, `extend-exclude`,
`respect-gitignore`); a file named on the command line is linted even if excluded, unless
`force_exclude` is set (ruff's semantics: pre-commit names every file explicitly).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pathspec

if TYPE_CHECKING:
    from promptlint.config import Config, Resolver

SOURCE_SUFFIXES: tuple[str, ...] = (".py", ".ipynb")

# Directories never worth walking: VCS metadata, caches, build output and environments.
SKIP_DIRS: frozenset[str] = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        "node_modules",
        "build",
        "dist",
        ".tox",
        ".nox",
        ".eggs",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".promptlint_cache",
        ".venv",
        "venv",
        "site-packages",
    }
)
_SKIP_DIR_SUFFIXES: tuple[str, ...] = (".egg-info",)
# The same list as `exclude` patterns: what a config's `exclude` replaces (`--show-settings`).
DEFAULT_EXCLUDE: tuple[str, ...] = (*sorted(SKIP_DIRS), *(f"*{s}" for s in _SKIP_DIR_SUFFIXES))
_VENV_MARKER = "pyvenv.cfg"
_GITIGNORE = ".gitignore"


@dataclass(frozen=True)
class SourceFile:
    """One file to lint."""

    path: Path
    display: str
    explicit: bool


@dataclass(frozen=True)
class _Ignore:
    """A gitignore spec and how to turn a walk-relative path into one relative to its directory."""

    spec: pathspec.GitIgnoreSpec
    # Ancestor specs see the walk root's own path (relative to their directory) prepended; nested
    # specs see the walk-relative path with their directory's prefix stripped.
    prefix: str
    strip: int

    def decide(self, rel: str) -> bool | None:
        return self.spec.check_file(self.prefix + rel[self.strip :]).include


def skipped_name(name: str) -> bool:
    """Whether a directory of this name is on the default skip list."""
    return name in SKIP_DIRS or name.endswith(_SKIP_DIR_SUFFIXES)


def discover(
    paths: Sequence[str],
    *,
    respect_gitignore: bool = True,
    exclude: Sequence[str] = (),
    resolver: Resolver | None = None,
    force_exclude: bool = False,
    warn: Callable[[str], None] = lambda notice: None,
) -> list[SourceFile]:
    """Return the files to lint under `paths`, sorted by display path and de-duplicated.

    `exclude`: patterns relative to each directory walked, on top of any config's. `resolver`:
    each directory's config decides what is excluded there; `force_exclude` applies that to
    the paths named too. Raises `FileNotFoundError` for a path that does not exist (and the
    resolver's `ConfigError` for a bad config file met on the way). What cannot be linted is
    skipped, and `warn` told why: a broken symlink or a symlink loop, a FIFO or device, a
    directory that cannot be read.
    """
    # Compiled once up front so a bad pattern fails before any walking.
    exclude_spec = pathspec.GitIgnoreSpec.from_lines(list(exclude)) if exclude else None
    found: list[tuple[SourceFile, str]] = []
    notices: list[str] = []  # told in path order once all is walked, for a stable output
    for arg in paths:
        if os.path.isdir(arg):
            forced = force_exclude and resolver is not None
            if forced and resolver is not None and resolver.excluded(arg, skipped_name, True):
                continue
            _walk(arg, found, respect_gitignore, exclude_spec, resolver, notices.append)
        elif os.path.isfile(arg):
            if force_exclude and resolver is not None and resolver.excluded(arg, skipped_name):
                continue
            found.append((SourceFile(Path(arg), arg, True), os.path.realpath(arg)))
        elif not os.path.exists(arg):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), arg)
        else:  # a FIFO, a device: reading it could block forever
            notices.append(f"{arg}: not a regular file; skipped")

    for notice in sorted(set(notices)):
        warn(notice)
    found.sort(key=lambda item: item[0].display)
    result: list[SourceFile] = []
    index: dict[str, int] = {}
    for source, real in found:
        seen = index.get(real)
        if seen is None:
            index[real] = len(result)
            result.append(source)
        elif source.explicit and not result[seen].explicit:
            # The file was named on the command line, whichever spelling we kept for it.
            result[seen] = replace(result[seen], explicit=True)
    return result


def within_size(
    files: Sequence[SourceFile], limit_of: Callable[[Path], int], warn: Callable[[str], None]
) -> list[SourceFile]:
    """The files of at most `limit_of(path)` bytes (0: no limit); a larger one is skipped unread
    and `warn` told (`max-file-size`: a generated 20 MB module would take minutes to parse)."""
    kept = []
    for source in files:
        limit = limit_of(source.path)
        try:
            size = source.path.stat().st_size if limit else 0
        except OSError:
            size = 0  # gone or unreadable: reading it reports why
        if size > limit > 0:
            warn(
                f"{source.display}: {size:,} bytes, over max-file-size ({limit:,} bytes); "
                "skipped; raise max-file-size (0: no limit) to check it"
            )
        else:
            kept.append(source)
    return kept


@dataclass(frozen=True)
class _Scope:
    """What a directory's config says about the entries in it."""

    config: Config | None  # None: no resolver, the defaults
    skip_defaults: bool  # the default skip list applies (the config sets no `exclude`)
    spec: pathspec.GitIgnoreSpec | None  # the config's `exclude` + `extend-exclude`
    # The directory relative to the config's directory, with a trailing '/' ('' at it); None:
    # outside it, where the patterns see the path relative to the walked root instead.
    prefix: str | None
    respect_gitignore: bool


_NO_CONFIG = _Scope(None, True, None, None, True)


def _scope(config: Config, directory: str) -> _Scope:
    rel = config.relative(directory)
    prefix = None if rel is None else (rel + "/" if rel else "")
    return _Scope(
        config, config.skips_defaults, config.exclude_spec, prefix, config.respect_gitignore
    )


def _root_scope(config: Config, directory: str) -> _Scope:
    """The scope of a directory named on the command line: walked even if excluded, so the
    patterns that exclude it (and with it everything inside) are dropped for this walk."""
    scope = _scope(config, directory)
    if scope.spec is None or not scope.prefix or not scope.spec.match_file(scope.prefix):
        return scope
    kept = [p for p in scope.spec.patterns if not (p.include and p.match_file(scope.prefix))]
    return replace(scope, spec=pathspec.GitIgnoreSpec(kept) if kept else None)


def _walk(
    root: str,
    found: list[tuple[SourceFile, str]],
    respect_gitignore: bool,
    exclude_spec: pathspec.GitIgnoreSpec | None,
    resolver: Resolver | None,
    warn: Callable[[str], None],
) -> None:
    real_root = os.path.realpath(root)
    abs_root = os.path.abspath(root)
    display_root = root if root.endswith(("/", os.sep)) else root + "/"
    if os.sep != "/":
        display_root = display_root.replace(os.sep, "/")
    base_ignores = _ancestor_ignores(real_root) if respect_gitignore else ()
    scope = _NO_CONFIG
    if resolver is not None:
        scope = _root_scope(resolver.config_for_dir(abs_root), abs_root)

    # Each frame: the directory's filesystem path, its '/'-joined path relative to the root
    # ("" for the root itself), the gitignore specs in force there, shallowest first, and the
    # scope of its parent's config.
    stack: list[tuple[str, str, tuple[_Ignore, ...], _Scope]] = [(root, "", base_ignores, scope)]
    while stack:
        dir_path, dir_rel, ignores, scope = stack.pop()
        try:
            with os.scandir(dir_path) as it:
                entries = list(it)
        except OSError as exc:  # unreadable or vanished: skip rather than fail the whole run
            shown = display_root + dir_rel if dir_rel else root
            warn(f"{shown}: cannot read the directory ({exc.strerror or exc}); skipped")
            continue

        names = {entry.name for entry in entries}
        # A virtual environment under any name; the root itself was asked for explicitly.
        if dir_rel and _VENV_MARKER in names:
            continue
        if resolver is not None and scope.config is not None:
            absolute = os.path.join(abs_root, dir_rel) if dir_rel else abs_root
            config = resolver.config_in(absolute, names, scope.config)
            if config is not scope.config:
                scope = _scope(config, absolute)
        if respect_gitignore and _GITIGNORE in names:
            spec = _load_gitignore(os.path.join(dir_path, _GITIGNORE))
            if spec is not None:
                strip = len(dir_rel) + 1 if dir_rel else 0
                ignores = (*ignores, _Ignore(spec, "", strip))
        rel_prefix = dir_rel + "/" if dir_rel else ""
        in_force = ignores if scope.respect_gitignore else ()

        for entry in entries:
            name = entry.name
            try:
                is_link = entry.is_symlink()
                if not is_link and entry.is_dir(follow_symlinks=False):
                    if scope.skip_defaults and (
                        name in SKIP_DIRS or name.endswith(_SKIP_DIR_SUFFIXES)
                    ):
                        continue
                    rel = rel_prefix + name
                    if _excluded(scope, rel, name + "/") or _ignored(
                        rel + "/", in_force, exclude_spec
                    ):
                        continue
                    child = scope
                    if scope.prefix is not None:
                        child = replace(scope, prefix=scope.prefix + name + "/")
                    elif scope.config is not None:  # outside the config's directory: yet?
                        child = _scope(scope.config, os.path.join(abs_root, rel))
                    stack.append((entry.path, rel, ignores, child))
                    continue
                # Check the suffix first: it's free, and most files in a tree are not Python.
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                rel = rel_prefix + name
                if _excluded(scope, rel, name) or _ignored(rel, in_force, exclude_spec):
                    continue
                if is_link:
                    # Symlinked directories are never followed (loops); linked files are fine.
                    if not entry.is_file():
                        if not os.path.exists(entry.path):
                            warn(f"{display_root + rel}: a broken symlink; skipped")
                        continue
                    real = os.path.realpath(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    # No symlinks were followed to get here, so the real path needs no syscalls.
                    real = os.path.join(real_root, rel.replace("/", os.sep))
                else:
                    warn(f"{display_root + rel}: not a regular file; skipped")
                    continue
            except OSError as exc:  # e.g. a symlink loop
                reason = exc.strerror or str(exc)
                warn(f"{display_root + rel_prefix + name}: {reason}; skipped")
                continue
            found.append((SourceFile(Path(entry.path), display_root + rel, False), real))


def _excluded(scope: _Scope, walk_rel: str, name: str) -> bool:
    """Whether the config's `exclude`/`extend-exclude` patterns exclude an entry (`name` ends
    with '/' for a directory)."""
    if scope.spec is None:
        return False
    if scope.prefix is None:
        target = walk_rel + ("/" if name.endswith("/") else "")
    else:
        target = scope.prefix + name
    return bool(scope.spec.match_file(target))


def _ignored(
    rel: str, ignores: tuple[_Ignore, ...], exclude_spec: pathspec.GitIgnoreSpec | None
) -> bool:
    if exclude_spec is not None and exclude_spec.match_file(rel):
        return True
    # Deeper .gitignore files take precedence, so the last spec with an opinion decides.
    decision: bool | None = None
    for ignore in ignores:
        verdict = ignore.decide(rel)
        if verdict is not None:
            decision = verdict
    return decision is True


def _ancestor_ignores(real_root: str) -> tuple[_Ignore, ...]:
    """The .gitignore specs of directories from the git root down to, not including, `real_root`."""
    chain: list[str] = []
    current = real_root
    while not os.path.lexists(os.path.join(current, ".git")):
        parent = os.path.dirname(current)
        if parent == current:
            return ()  # not inside a git repository: only the walked tree's files apply
        current = parent
        chain.append(current)

    ignores: list[_Ignore] = []
    for ancestor in reversed(chain):
        spec = _load_gitignore(os.path.join(ancestor, _GITIGNORE))
        if spec is not None:
            prefix = os.path.relpath(real_root, ancestor).replace(os.sep, "/") + "/"
            ignores.append(_Ignore(spec, prefix, 0))
    # A directory named explicitly is walked even if an ancestor ignores it, as with
    # site-packages; otherwise every file in it would be dropped as a descendant of an ignored dir.
    if _ignored("", tuple(ignores), None):
        return ()
    return tuple(ignores)


def _load_gitignore(path: str) -> pathspec.GitIgnoreSpec | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except ValueError:
        # git skips patterns it can't parse; drop just those rather than the whole file.
        return pathspec.GitIgnoreSpec.from_lines(line for line in lines if _valid_pattern(line))


def _valid_pattern(line: str) -> bool:
    try:
        pathspec.GitIgnoreSpec.from_lines([line])
    except ValueError:
        return False
    return True
