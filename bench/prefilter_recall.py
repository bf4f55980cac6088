"""Measure the byte prefilter on a tree: its pass rate, and its recall against full extraction.

    python bench/prefilter_recall.py /path/to/tree

Recall: of the files where full extraction (no prefilter) finds a call site or a prompt-named
template, the share the prefilter lets through. It must be 100 %. Slow: it parses every file.
"""

from __future__ import annotations

import sys
import time

from promptlint.config import Settings
from promptlint.discovery import discover
from promptlint.extract import compile_prefilter, extract_file


def main() -> None:
    settings = Settings()
    prefilter = compile_prefilter(settings.prompt_names)
    files = discover(sys.argv[1:])
    passed = found = missed = 0
    start = time.perf_counter()
    for source in files:
        data = source.path.read_bytes()
        passes = prefilter.might_hold_prompts(data)
        passed += passes
        model = extract_file(source.display, data, settings)
        if model.call_sites or model.templates:
            found += 1
            if not passes:
                missed += 1
                print(f"MISSED: {source.display}")
    print(f"files: {len(files)}; prefilter passes {passed} ({passed / len(files):.1%})")
    print(f"files with prompts (full extraction): {found}; missed by the prefilter: {missed}")
    print(f"recall: {(found - missed) / found:.1%}" if found else "recall: n/a")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
