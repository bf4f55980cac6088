"""Extraction of many files on several processes.

Extraction is a pure function of (path, bytes, settings), so files are spread over a process pool
in chunks (few, so that start-up and pickling stay small) and the models come back in the order
given: output is the same whatever the number of processes. Each file travels with its own settings
(the nearest config's); files with equal settings share one object, which pickle sends once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from promptlint.config import Settings
from promptlint.discovery import SourceFile
from promptlint.extract import compile_prefilter
from promptlint.model import FileModel

if TYPE_CHECKING:
    from promptlint.extract import Prefilter

# Below this many files a pool costs more (worker start-up, imports) than it saves.
MIN_FILES_FOR_POOL = 64
# Many chunks each, so that the last one to finish holds back the other workers briefly.
CHUNKS_PER_WORKER = 32


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


Extracted = tuple[str | None, FileModel]  # the SHA-256 of the bytes read (None: unread), model


def _extract_chunk(chunk: Sequence[tuple[SourceFile, Settings]]) -> list[Extracted]:
    from promptlint.engine import read_model  # in the worker: the engine is importable there

    prefilters: dict[tuple[str, ...], Prefilter] = {}
    extracted = []
    for source, settings in chunk:
        prefilter = prefilters.get(settings.prompt_names)
        if prefilter is None:
            prefilter = prefilters[settings.prompt_names] = compile_prefilter(settings.prompt_names)
        extracted.append(read_model(source, settings, prefilter))
    return extracted


def extract_all(
    files: Sequence[SourceFile],
    settings: Settings | Sequence[Settings],
    jobs: int,
    min_files: int = MIN_FILES_FOR_POOL,
) -> list[Extracted]:
    """Every file's model (with the hash of the bytes it was made from), in the order of
    `files`; `settings`: one for every file, or each file's own."""
    each = [settings] * len(files) if isinstance(settings, Settings) else list(settings)
    pairs = list(zip(files, each, strict=True))
    if jobs <= 1 or len(files) < min_files:
        return _extract_chunk(pairs)
    # Files dealt largest first into chunks in turn, so that every chunk holds about as many
    # bytes (one package's big modules land in different chunks); a worker takes the next chunk
    # when it is done with one. The order of `files` is restored afterwards.
    count = min(len(files), jobs * CHUNKS_PER_WORKER)
    order = sorted(range(len(files)), key=lambda i: -_size(files[i]))
    dealt = [order[i::count] for i in range(count)]
    chunks = [[pairs[i] for i in indices] for indices in dealt]
    models: list[Extracted | None] = [None] * len(files)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        results = pool.map(_extract_chunk, chunks)
        for indices, chunk in zip(dealt, results, strict=True):
            for index, extracted in zip(indices, chunk, strict=True):
                models[index] = extracted
    return [m for m in models if m is not None]


def _size(source: SourceFile) -> int:
    try:
        return source.path.stat().st_size
    except OSError:
        return 0  # read_model reports it
