"""The rule pages (`rules/PCnnn.md`), shipped inside the wheel as `promptlint/_rules/`."""

from __future__ import annotations

from pathlib import Path


def pages_dir() -> Path:
    """Where the pages are: inside the installed package, else the source checkout's `rules/`."""
    packaged = Path(__file__).parent / "_rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).parent.parent / "rules"


def read_page(code: str) -> str | None:
    page = pages_dir() / f"{code}.md"
    try:
        return page.read_text(encoding="utf-8")
    except OSError:
        return None
