"""Where a source file sits in its project: its dotted module name and the project's root."""

from __future__ import annotations

from pathlib import Path


def module_name(path: Path) -> tuple[str, Path]:
    """(dotted module name, the directory its top-level package lives in) for a source file:
    packages are the directories holding an `__init__.py`."""
    path = path.resolve()
    parts = [] if path.stem == "__init__" else [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts), directory
