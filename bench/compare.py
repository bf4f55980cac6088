"""Time promptlint (cold and warm) side by side with ruff, flake8 and pcdlint on the bench corpus.

    python bench/compare.py [--runs 3] [--jobs 2] [--corpus DIR] [--json FILE] [--skip-tools]

Builds the corpus with ../shared/bench/corpus.sh when it is missing, installs the other linters
(pinned) in their own venv, runs every tool --runs times round-robin, and prints a Markdown table
of medians, peak memory of the whole process tree, ratios and pass/fail against the targets.
Not part of the test suite: wall-clock figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS_SCRIPT = REPO.parent / "shared" / "bench" / "corpus.sh"
DEFAULT_CORPUS = Path(os.environ.get("TMPDIR", "/tmp")) / "promptlint-bench-corpus"
PINS = ("ruff==0.17.6", "flake8==7.5.0", "pcdlint==0.3.0")
PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1_000_000


@dataclass
class Tool:
    name: str
    argv: list[str]
    ok_codes: tuple[int, ...] = (0,)
    once: bool = False  # run in the first round only
    times: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)  # bytes, one per run
    output_lines: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def count_lines(corpus: Path) -> tuple[int, int]:
    """Files and lines as promptlint discovers them (all *.py here); warms the page cache."""
    sys.path.insert(0, str(REPO))
    from promptlint.discovery import discover

    files = discover([str(corpus)])
    return len(files), sum(f.path.read_bytes().count(b"\n") for f in files)


def read_stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, RSS in bytes) of `pid` from /proc, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[21]) * PAGE


def descendants(root: int) -> set[int]:
    """`root` and all its descendants, from one scan of /proc (~2 ms, so done every 100 ms)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := read_stat(int(entry))):
            children.setdefault(stat[0], []).append(int(entry))
    tree, stack = set(), [root]
    while stack:
        pid = stack.pop()
        if pid not in tree:
            tree.add(pid)
            stack.extend(children.get(pid, ()))
    return tree


def run_once(tool: Tool, cwd: Path) -> None:
    """Run `tool` once; record wall time, peak tree RSS (polled every 20 ms) and output size."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(tool.argv, stdout=out, stderr=err, cwd=cwd)
        peak, done = 0, threading.Event()

        def sample() -> None:
            nonlocal peak
            tick, tree = 0, {proc.pid}
            while not done.is_set():
                if tick % 5 == 0:
                    tree = descendants(proc.pid)
                peak = max(peak, sum(stat[1] for pid in tree if (stat := read_stat(pid))))
                tick += 1
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        if code not in tool.ok_codes:
            err.seek(0)
            tail = err.read()[-2000:].decode(errors="replace")
            sys.exit(f"{tool.name} failed (exit {code}): {' '.join(tool.argv)}\n{tail}")
        out.seek(0)
        tool.output_lines = sum(1 for _ in out)
    tool.times.append(elapsed)
    tool.peaks.append(peak)
    print(f"  {tool.name}: {elapsed:.2f} s, {peak / MB:.0f} MB", file=sys.stderr, flush=True)


def effective_cores(n: int) -> float:
    """Throughput of n concurrent CPU-bound processes relative to one: n on n idle cores."""
    spin = [sys.executable, "-c", "for _ in range(20_000_000): pass"]

    def wall(k: int) -> float:
        start = time.perf_counter()
        for proc in [subprocess.Popen(spin) for _ in range(k)]:
            proc.wait()
        return time.perf_counter() - start

    return n * wall(1) / wall(n)


def ensure_corpus(corpus: Path) -> None:
    if corpus.is_dir() and any(corpus.iterdir()):
        return
    print(f"building corpus in {corpus} with {CORPUS_SCRIPT}", file=sys.stderr)
    env = {**os.environ, "CORPUS": str(corpus), "PY": sys.executable}
    subprocess.run(["bash", str(CORPUS_SCRIPT)], env=env, check=True)


def ensure_tools(venv: Path) -> Path:
    """Create `venv` with the pinned linters (reused while the pins are unchanged); its bin/."""
    stamp = venv / ".pins"
    if not stamp.is_file() or stamp.read_text() != "\n".join(PINS):
        print(f"installing {', '.join(PINS)} into {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *PINS]
        subprocess.run(pip, check=True)
        stamp.write_text("\n".join(PINS))
    return venv / "bin"


COLD, WARM, SINGLE = "promptlint cold", "promptlint warm", "promptlint cold --jobs 1"
FLAKE8, PCDLINT = "flake8", "pcdlint"


def build_tools(args: argparse.Namespace, scratch: Path) -> tuple[list[Tool], bool]:
    corpus, jobs = str(args.corpus), str(args.jobs)
    base = [sys.executable, "-m", "promptlint", "check", corpus, "--format", "concise"]
    helped = subprocess.run([*base[:4], "--help"], capture_output=True, text=True, cwd=scratch)
    if helped.returncode != 0:
        sys.exit(f"cannot run promptlint with {sys.executable}:\n{helped.stderr}")
    has_cache = "--no-cache" in helped.stdout and "--cache-dir" in helped.stdout
    nocache = ["--no-cache"] if has_cache else []
    tools = [Tool(COLD, [*base, "--jobs", jobs, *nocache], (0, 1))]
    if has_cache:
        warm = [*base, "--jobs", jobs, "--cache-dir", str(scratch / "promptlint-cache")]
        subprocess.run(warm, cwd=scratch, stdout=subprocess.DEVNULL, check=False)  # fill the cache
        tools.append(Tool(WARM, warm, (0, 1)))
    tools.append(Tool(SINGLE, [*base, "--jobs", "1", *nocache], (0, 1), once=True))
    if not args.skip_tools:
        bin_ = ensure_tools(args.tools_venv)
        ruff = [str(bin_ / "ruff"), "check", "--isolated", "--no-cache", "--exit-zero"]
        ruff += ["--output-format", "concise"]
        flake8 = [str(bin_ / "flake8"), "--isolated", "-j", jobs, "--exit-zero", corpus]
        tools += [
            Tool("ruff (default rules)", [*ruff, corpus]),
            Tool("ruff --select ALL", [*ruff, "--select", "ALL", corpus]),
            Tool(FLAKE8, flake8),
            # pcdlint exits 2 when some file cannot be parsed (it still checks the rest).
            Tool(PCDLINT, [str(bin_ / "pcdlint"), "check", corpus], (0, 1, 2)),
        ]
    return tools, has_cache


def report(tools: list[Tool], lines: int, has_cache: bool) -> list[dict[str, object]]:
    print("| tool | runs | median s | min s | max s | lines/s | peak MB | output lines |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    for t in tools:
        times = f"{t.median:.2f} | {min(t.times):.2f} | {max(t.times):.2f}"
        rate, peak = f"{lines / t.median:,.0f}", f"{max(t.peaks) / MB:.0f}"
        print(f"| {t.name} | {len(t.times)} | {times} | {rate} | {peak} | {t.output_lines} |")
    by = {t.name: t for t in tools}
    cold = by[COLD].median
    print("\n| ratio | value |\n|---|--:|")
    for t in tools:
        if t.name != COLD:
            print(f"| {t.name} median / {COLD} median | {t.median / cold:.2f}x |")

    checks: list[dict[str, object]] = []
    print("\n| target | measured | goal | verdict |\n|---|--:|--:|---|")

    def check(name: str, value: float | None, goal: float, unit: str, at_most: bool) -> None:
        ok = None if value is None else (value <= goal if at_most else value >= goal)
        shown = "n/a" if value is None else f"{value:.2f}{unit}"
        verdict = {None: "n/a", True: "PASS", False: "FAIL"}[ok]
        print(f"| {name} | {shown} | {'<=' if at_most else '>='} {goal:g}{unit} | {verdict} |")
        checks.append({"target": name, "value": value, "goal": goal, "pass": ok})

    def ratio(name: str) -> float | None:  # promptlint cold speed relative to `name`, per line
        return by[name].median / cold if name in by else None

    check(f"{COLD}, median", cold, 12, " s", True)
    check(f"{FLAKE8} median / {COLD} median", ratio(FLAKE8), 6, "x", False)
    check(f"{COLD} lines/s / {PCDLINT} lines/s", ratio(PCDLINT), 7, "x", False)
    check(f"{WARM}, median", by[WARM].median if WARM in by else None, 1.0, " s", True)
    top = max(p for t in tools if t.name.startswith("promptlint") for p in t.peaks)
    check("promptlint peak memory (process tree)", top / MB, 400, " MB", True)
    if not has_cache:
        print("\nwarm: unavailable (promptlint check has no --no-cache/--cache-dir yet)")
    elif by[WARM].median > cold / 2:
        print("\nwarm: no faster than cold, the cache missed (promptlint's source changed?)")
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool (default 3)")
    parser.add_argument("--jobs", type=int, default=2, help="processes for promptlint and flake8")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--tools-venv", type=Path, default=REPO / "bench" / ".tools-venv")
    parser.add_argument("--json", type=Path, help="save raw results to this file")
    parser.add_argument("--skip-tools", action="store_true", help="time promptlint only")
    args = parser.parse_args()
    args.corpus = args.corpus.resolve()
    ensure_corpus(args.corpus)
    files, lines = count_lines(args.corpus)
    cpus, cores = os.cpu_count(), [effective_cores(args.jobs)]
    print(f"corpus: {files:,} files, {lines:,} lines; {cpus} CPUs", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="promptlint-bench-") as tmp:
        scratch = Path(tmp)  # neutral cwd: no config files, no stray caches
        tools, has_cache = build_tools(args, scratch)
        for round_ in range(args.runs):
            print(f"round {round_ + 1}/{args.runs}", file=sys.stderr)
            for tool in tools:
                if round_ == 0 or not tool.once:
                    run_once(tool, scratch)
    cores.append(effective_cores(args.jobs))
    pins = "-" if args.skip_tools else ", ".join(PINS)
    print(f"\ncorpus {args.corpus}: {files:,} files, {lines:,} lines; {cpus} CPUs; ", end="")
    print(f"--jobs {args.jobs}; {args.runs} round-robin run(s) per tool; pins: {pins}")
    print(f"effective cores for {args.jobs} CPU-bound processes, before/after: ", end="")
    print(f"{cores[0]:.2f} / {cores[1]:.2f} ({args.jobs} when idle; less: CPUs shared)\n")
    checks = report(tools, lines, has_cache)
    if args.json:
        data = {"corpus": str(args.corpus), "files": files, "lines": lines, "cpus": cpus}
        data |= {"jobs": args.jobs, "effective_cores": cores, "runs": args.runs, "pins": PINS}
        data |= {"warm_supported": has_cache}
        data |= {"tools": [asdict(t) for t in tools], "checks": checks}
        args.json.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
