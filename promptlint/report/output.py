"""Where a report goes: paths relative to the report's root; `--output-file`, written atomically."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path, PurePosixPath


def relative_to(path: str, root: Path) -> PurePosixPath | None:
    """`path` (as a finding gives it: relative to the working directory, or absolute) relative to
    `root`, with forward slashes; None when it lies outside `root`."""
    given = Path(path)
    absolute = Path(os.path.normpath(given if given.is_absolute() else Path.cwd() / given))
    try:
        relative = absolute.relative_to(os.path.normpath(root.absolute()))
    except ValueError:
        return None
    return PurePosixPath(*relative.parts)


def write_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8, newlines as given) to `path` so that a reader sees the old file or the
    new one, never half of it: a temporary file beside it, then a rename. Missing parent
    directories are created. A new file gets the default permissions (the umask applies); a
    replaced file keeps its mode. Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
