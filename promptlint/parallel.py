"""Extraction of many files on several processes.

Extraction is a pure function of (path, bytes, settings), so files are spread over a process pool
in chunks (few, so that start-up and pickling stay small) and the models come back in the order
given: output is the same whatever the number of processes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from promptlint.config import Settings
from promptlint.discovery import SourceFile
from promptlint.extract import compile_prefilter
from promptlint.model import FileModel

# Below this many files a pool costs more (worker start-up, imports) than it saves.
MIN_FILES_FOR_POOL = 64
CHUNKS_PER_WORKER = 8  # several chunks each, so one slow chunk does not hold back the others


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


Extracted = tuple[str | None, FileModel]  # the SHA-256 of the bytes read (None: unread), model


def _extract_chunk(chunk: Sequence[SourceFile], settings: Settings) -> list[Extracted]:
    from promptlint.engine import read_model  # in the worker: the engine is importable there

    prefilter = compile_prefilter(settings.prompt_names)
    return [read_model(source, settings, prefilter) for source in chunk]


def extract_all(
    files: Sequence[SourceFile],
    settings: Settings,
    jobs: int,
    min_files: int = MIN_FILES_FOR_POOL,
) -> list[Extracted]:
    """Every file's model (with the hash of the bytes it was made from), in the order of
    `files`."""
    if jobs <= 1 or len(files) < min_files:
        return _extract_chunk(files, settings)
    # Strided chunks: neighbouring files (one package's big generated modules) land in
    # different chunks, so the work is spread evenly; the order is restored afterwards.
    count = min(len(files), jobs * CHUNKS_PER_WORKER)
    chunks = [files[i::count] for i in range(count)]
    models: list[Extracted | None] = [None] * len(files)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for offset, chunk in enumerate(pool.map(_extract_chunk, chunks, [settings] * count)):
            models[offset::count] = chunk
    return [m for m in models if m is not None]
