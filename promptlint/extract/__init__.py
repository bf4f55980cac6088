"""Extraction: one file's bytes -> its `FileModel`. The only stage that touches libcst.

The work is in `pipeline.py`; this package imports it on first use, so that the stages which
only need the extractor's light parts (the link stage's reference syntax, prompt files, the
prefilter) and a run served from the cache start without importing libcst.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from promptlint.extract.prefilter import Prefilter, compile_prefilter

if TYPE_CHECKING:
    from promptlint.extract.pipeline import extract_file, extract_source

__all__ = ["Prefilter", "compile_prefilter", "extract_file", "extract_source"]


def __getattr__(name: str) -> Any:
    if name in {"extract_file", "extract_source"}:
        from promptlint.extract import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
