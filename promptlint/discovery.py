"""Find the source files to lint from the paths named on the command line.

Directories are walked with `os.scandir`, pruning skipped and ignored directories before descending;
`.gitignore` files are honoured the way black does, via `pathspec`.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pathspec

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


def discover(
    paths: Sequence[str], *, respect_gitignore: bool = True, exclude: Sequence[str] = ()
) -> list[SourceFile]:
    """Return the files to lint under `paths`, sorted by display path and de-duplicated.

    Raises `FileNotFoundError` for a path that does not exist.
    """
    # Compiled once up front so a bad pattern fails before any walking.
    exclude_spec = pathspec.GitIgnoreSpec.from_lines(list(exclude)) if exclude else None
    found: list[tuple[SourceFile, str]] = []
    for arg in paths:
        if os.path.isdir(arg):
            _walk(arg, found, respect_gitignore, exclude_spec)
        elif os.path.isfile(arg):
            found.append((SourceFile(Path(arg), arg, True), os.path.realpath(arg)))
        elif not os.path.exists(arg):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), arg)
        # Anything else (a FIFO, a device) exists but is not a source file: nothing to lint.

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


def _walk(
    root: str,
    found: list[tuple[SourceFile, str]],
    respect_gitignore: bool,
    exclude_spec: pathspec.GitIgnoreSpec | None,
) -> None:
    real_root = os.path.realpath(root)
    display_root = root if root.endswith(("/", os.sep)) else root + "/"
    if os.sep != "/":
        display_root = display_root.replace(os.sep, "/")
    base_ignores = _ancestor_ignores(real_root) if respect_gitignore else ()

    # Each frame: the directory's filesystem path, its '/'-joined path relative to the root
    # ("" for the root itself) and the gitignore specs in force there, shallowest first.
    stack: list[tuple[str, str, tuple[_Ignore, ...]]] = [(root, "", base_ignores)]
    while stack:
        dir_path, dir_rel, ignores = stack.pop()
        try:
            with os.scandir(dir_path) as it:
                entries = list(it)
        except OSError:
            continue  # unreadable or vanished: skip rather than fail the whole run

        names = {entry.name for entry in entries}
        # A virtual environment under any name; the root itself was asked for explicitly.
        if dir_rel and _VENV_MARKER in names:
            continue
        if respect_gitignore and _GITIGNORE in names:
            spec = _load_gitignore(os.path.join(dir_path, _GITIGNORE))
            if spec is not None:
                strip = len(dir_rel) + 1 if dir_rel else 0
                ignores = (*ignores, _Ignore(spec, "", strip))
        rel_prefix = dir_rel + "/" if dir_rel else ""

        for entry in entries:
            name = entry.name
            try:
                is_link = entry.is_symlink()
                if not is_link and entry.is_dir(follow_symlinks=False):
                    if name in SKIP_DIRS or name.endswith(_SKIP_DIR_SUFFIXES):
                        continue
                    rel = rel_prefix + name
                    if _ignored(rel + "/", ignores, exclude_spec):
                        continue
                    stack.append((entry.path, rel, ignores))
                    continue
                # Check the suffix first: it's free, and most files in a tree are not Python.
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                rel = rel_prefix + name
                if _ignored(rel, ignores, exclude_spec):
                    continue
                if is_link:
                    # Symlinked directories are never followed (loops); linked files are fine.
                    if not entry.is_file():
                        continue
                    real = os.path.realpath(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    # No symlinks were followed to get here, so the real path needs no syscalls.
                    real = os.path.join(real_root, rel.replace("/", os.sep))
                else:
                    continue
            except OSError:
                continue
            found.append((SourceFile(Path(entry.path), display_root + rel, False), real))


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
