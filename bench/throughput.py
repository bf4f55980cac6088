"""Measure how many files and lines per second `promptlint check` handles on a real tree.

    python bench/throughput.py /path/to/site-packages [--runs 3]

Runs the CLI in a subprocess (as a user would), several times, and prints the median. Not part of
the test suite: wall-clock figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def count_lines(root: Path) -> tuple[int, int]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from promptlint.discovery import discover

    files = discover([str(root)])
    lines = 0
    for source in files:
        try:
            lines += source.path.read_bytes().count(b"\n")
        except OSError:
            pass
    return len(files), lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    files, lines = count_lines(args.path)
    times = []
    findings = 0
    for _ in range(args.runs):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "promptlint", "check", str(args.path), "--format", "concise"],
            capture_output=True,
            text=True,
        )
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            sys.exit(f"promptlint failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        findings = len(proc.stdout.splitlines())
    median = statistics.median(times)
    print(f"tree: {args.path}")
    print(f"files: {files}, lines: {lines}, findings: {findings}")
    print(f"runs: {', '.join(f'{t:.2f}' for t in times)} s; median {median:.2f} s")
    print(f"throughput: {files / median:,.0f} files/s, {lines / median:,.0f} lines/s")


if __name__ == "__main__":
    main()
