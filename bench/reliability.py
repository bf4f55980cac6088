"""Reliability run: promptlint, as a user runs it, over 1M lines of pinned PyPI code.

    python bench/reliability.py [--corpus DIR] [--jobs 2] [--json] [--save-outputs DIR]

Builds the corpus with ../shared/bench/corpus.sh when it is missing (as compare.py does), runs
`check --format json --no-cache` with `--jobs N` and with `--jobs 1`, and `report --format json`,
and reports files, lines, findings per code, crashes, files not analysed (by reason), determinism
and wall times. A crash is an internal error (a PC000 finding of `check`, an error line of
`report`: promptlint failed on a file and went on), or a run that exits with an unexpected code,
prints a stray traceback or no valid JSON. Exit 1 when there is a crash or the two `check`
outputs differ, else 0. Not part of the test suite: it takes two to three minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from compare import DEFAULT_CORPUS, REPO, ensure_corpus

sys.path.insert(0, str(REPO))  # the checkout's promptlint, here and in the subprocesses

if TYPE_CHECKING:
    from promptlint.config import Resolver
    from promptlint.discovery import SourceFile

MIN_LINES = 500_000  # the corpus size the reliability target asks for
INTERNAL = "internal error"  # how every crash's message starts (engine.py, link.py)
ALSO = f"Also: {INTERNAL}"  # a crash merged into another PC000 at the same place
TRACE_START = "promptlint: internal error at "  # a --show-traceback block on stderr
REPORT_ERROR = "promptlint: error: "  # `report`'s line per file it failed on
TRACEBACK = "Traceback (most recent call last)"
PREFILTERED = "no prompt marker (prefilter: never decoded or parsed)"


@dataclass(frozen=True)
class Run:
    name: str
    seconds: float
    exit_code: int
    stdout: bytes
    stderr: str


def environment() -> dict[str, str]:
    """The caller's environment, with the checkout first on the module path."""
    paths = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def run(name: str, argv: list[str], cwd: Path) -> Run:
    print(f"  {name}: promptlint {' '.join(argv[3:])}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, env=environment(), check=False)
    seconds = time.perf_counter() - start
    print(f"    {seconds:.1f} s, exit {proc.returncode}", file=sys.stderr, flush=True)
    return Run(name, seconds, proc.returncode, proc.stdout, proc.stderr.decode(errors="replace"))


def split_stderr(stderr: str) -> tuple[list[str], dict[str, str]]:
    """The lines before any --show-traceback block, and each block's traceback by its first
    line (`path:line:column: message`)."""
    head, *blocks = stderr.split(TRACE_START)
    traces = {}
    for block in blocks:
        where, _, trace = block.partition("\n")
        traces[where] = trace
    return head.splitlines(), traces


def run_problem(
    r: Run, ok: tuple[int, ...], shape: type, internal: int, head: list[str]
) -> str | None:
    """Why a whole run counts as a crash, if it does."""
    if r.exit_code not in ok:
        return f"exit code {r.exit_code}"
    try:
        data = json.loads(r.stdout)
    except ValueError as exc:
        return f"output is not JSON ({exc})"
    if not isinstance(data, shape):
        return f"output is JSON but not a {shape.__name__}"
    if r.exit_code == 2 and not internal:
        return "exit code 2 with no internal error reported"
    if any(TRACEBACK in line for line in head):
        return "a traceback on stderr"
    return None


def is_internal(message: str) -> bool:
    return message.startswith(INTERNAL) or ALSO in message


def kind(message: str) -> str:
    """A PC000 message's kind: its text before the first detail (`syntax error: ...`)."""
    cuts = [i for i in (message.find(c) for c in ":;(") if i > 0]
    return message[: min(cuts, default=len(message))].strip()


@dataclass(frozen=True)
class Inventory:
    files: list[SourceFile]
    reasons: dict[str, str]  # display path -> why it is not analysed ("": it is)
    others: dict[str, int]  # files of the tree that are not linted at all, by reason
    lines: int
    lines_past_prefilter: int


def inventory(corpus: Path, resolver: Resolver) -> Inventory:
    """The files `check` discovers, and what the stages before parsing make of each (read,
    `skip-file` comment, prefilter), computed in-process on the same bytes."""
    from promptlint.discovery import SOURCE_SUFFIXES, discover
    from promptlint.extract import Prefilter, compile_prefilter
    from promptlint.extract.source import decode
    from promptlint.suppress import scan, skips_file

    files = discover([str(corpus)], resolver=resolver)
    reasons: dict[str, str] = {}
    prefilters: dict[tuple[str, ...], Prefilter] = {}
    lines = past = 0
    for source in files:
        try:
            data = source.path.read_bytes()
        except OSError as exc:
            reasons[source.display] = f"unreadable ({exc.strerror or type(exc).__name__})"
            continue
        lines += data.count(b"\n")
        names = resolver.settings_for(source.path).prompt_names
        if names not in prefilters:
            prefilters[names] = compile_prefilter(names)
        text = decode(data) if b"skip-file" in data else None
        if isinstance(text, str) and skips_file(scan(text)):
            reasons[source.display] = "`# promptlint: skip-file` comment"
        elif not prefilters[names].might_hold_prompts(data):
            reasons[source.display] = PREFILTERED
        else:
            reasons[source.display] = ""
            past += data.count(b"\n")
    linted = {os.path.realpath(s.path) for s in files}
    others: Counter[str] = Counter()
    for root, _, names_ in os.walk(corpus):
        for name in names_:
            path = os.path.join(root, name)
            if name == ".corpus-stamp" or os.path.realpath(path) in linted:
                continue
            suffix = os.path.splitext(name)[1]
            excluded = suffix in SOURCE_SUFFIXES
            others[
                "excluded (skip list, .gitignore)" if excluded else f"not Python ({suffix})"
            ] += 1
    return Inventory(files, reasons, dict(sorted(others.items())), lines, past)


def extraction_trace(path: str, inv: Inventory, resolver: Resolver) -> str:
    """An internal error's traceback from extracting the file again in-process, for a
    promptlint without --show-traceback."""
    from promptlint.extract import compile_prefilter, extract_file

    source = next((s for s in inv.files if s.display == path), None)
    if source is None:
        return "(not a discovered file: a prompt file a call reads)"
    settings = resolver.settings_for(source.path)
    prefilter = compile_prefilter(settings.prompt_names)
    try:
        extract_file(path, source.path.read_bytes(), settings, prefilter)
    except Exception:
        return traceback.format_exc()
    return "(extraction alone does not fail: the error is in linking or a rule)"


@dataclass(frozen=True)
class Outcome:
    corpus: str
    files: int
    lines: int
    lines_past_prefilter: int
    files_analysed: int  # past the prefilter, parsed, no PC000
    findings: int
    findings_per_code: dict[str, int]
    call_sites: int | None  # from `report`; None when it failed
    crashes: list[dict[str, str]]  # where, problem, trace (or the run's stderr)
    deterministic: bool
    difference: str  # the start of the diff when not deterministic
    not_analysed: dict[str, int]  # discovered files, by why they were not analysed
    not_linted: dict[str, int]  # the tree's other files, by why they are not discovered
    notices: list[str]  # anything else the runs printed on stderr
    runs: list[dict[str, object]]  # name, seconds, exit
    wall_seconds: float


def measure(corpus: Path, jobs: int, save: Path | None) -> Outcome:
    from promptlint.config import Overrides, Resolver

    started = time.perf_counter()
    ensure_corpus(corpus)
    print(f"corpus {corpus}: inventory", file=sys.stderr, flush=True)
    resolver = Resolver(Overrides(), None)
    inv = inventory(corpus, resolver)
    print(f"  {len(inv.files):,} files, {inv.lines:,} lines", file=sys.stderr, flush=True)
    base = [sys.executable, "-m", "promptlint"]
    helped = subprocess.run(
        [*base, "check", "--help"], capture_output=True, text=True, env=environment()
    )
    traced = ["--show-traceback"] if "--show-traceback" in helped.stdout else []
    common = [str(corpus), "--format", "json", "--no-cache", *traced, "--jobs"]
    with tempfile.TemporaryDirectory(prefix="promptlint-reliability-") as tmp:
        cwd = Path(tmp)  # no config file or cache of the caller's is picked up
        runs = [
            run(f"check --jobs {jobs}", [*base, "check", *common, str(jobs)], cwd),
            run("check --jobs 1", [*base, "check", *common, "1"], cwd),
            run(f"report --jobs {jobs}", [*base, "report", *common, str(jobs)], cwd),
        ]
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        for r in runs:
            name = r.name.replace("--jobs ", "jobs").replace(" ", "-")
            (save / f"{name}.json").write_bytes(r.stdout)
            (save / f"{name}.stderr").write_text(r.stderr)

    crashes: dict[str, dict[str, str]] = {}  # by `path:line:column: message`, or by run
    notices: list[str] = []
    findings: list[dict[str, object]] | None = None
    for r in runs:
        head, traces = split_stderr(r.stderr)
        if r.name.startswith("check"):
            try:
                data = json.loads(r.stdout)
            except ValueError:
                data = None  # run_problem says so
            found: list[dict[str, object]] = data if isinstance(data, list) else []
            if findings is None and isinstance(data, list):
                findings = found  # the parallel run's, unless it printed no list
            errors = [
                f"{f['path']}:{f['line']}:{f['column']}: {f['message']}"
                for f in found
                if f["code"] == "PC000" and is_internal(str(f["message"]))
            ]
            problem = run_problem(r, (0, 1, 2), list, len(errors), head)
        else:
            errors = [h[len(REPORT_ERROR) :] for h in head if h.startswith(REPORT_ERROR)]
            errors = [e for e in errors if INTERNAL in e]
            head = [h for h in head if not h.startswith(REPORT_ERROR)]
            problem = run_problem(r, (0, 2), dict, len(errors), head)
        if problem is not None:
            crashes[r.name] = {"where": r.name, "problem": problem, "trace": r.stderr[-3000:]}
        else:
            notices += [f"{r.name}: {line}" for line in head if line.strip()]
        for error in errors:
            path = error.split(":", 1)[0]
            trace = traces.get(error) or extraction_trace(path, inv, resolver)
            crashes.setdefault(error, {"where": r.name, "problem": error, "trace": trace})

    findings = findings or []
    skipped = Counter(why for why in inv.reasons.values() if why)
    errors_by_path: dict[str, str] = {}
    for f in findings:
        if f["code"] == "PC000":
            errors_by_path.setdefault(str(f["path"]), str(f["message"]))
    for path, message in errors_by_path.items():
        before = inv.reasons.get(path)
        if before:  # e.g. unreadable: counted once, under PC000's word for it
            skipped[before] -= 1
        label = f"{'crash' if is_internal(message) else 'PC000'}: {kind(message)}"
        skipped[label if before is not None else f"{label} (a prompt file a call reads)"] += 1
    parallel, serial, estimates = runs
    difference = ""
    if parallel.stdout != serial.stdout:
        a, b = (r.stdout.decode(errors="replace").splitlines() for r in (serial, parallel))
        diff = difflib.unified_diff(a, b, serial.name, parallel.name, lineterm="", n=1)
        difference = "\n".join(list(diff)[:30])
    call_sites = None
    if estimates.name not in crashes:
        call_sites = len(json.loads(estimates.stdout).get("call_sites", []))
    analysed = [p for p, why in inv.reasons.items() if not why and p not in errors_by_path]
    return Outcome(
        corpus=str(corpus),
        files=len(inv.files),
        lines=inv.lines,
        lines_past_prefilter=inv.lines_past_prefilter,
        files_analysed=len(analysed),
        findings=len(findings),
        findings_per_code=dict(sorted(Counter(str(f["code"]) for f in findings).items())),
        call_sites=call_sites,
        crashes=list(crashes.values()),
        deterministic=not difference,
        difference=difference,
        not_analysed=dict(sorted((k, v) for k, v in skipped.items() if v)),
        not_linted=inv.others,
        notices=notices,
        runs=[{"name": r.name, "seconds": round(r.seconds, 2), "exit": r.exit_code} for r in runs],
        wall_seconds=round(time.perf_counter() - started, 1),
    )


def counts(title: str, unit: str, values: dict[str, int]) -> list[str]:
    body = [f"| {key} | {n:,} |" for key, n in values.items()] or ["| (none) | 0 |"]
    return ["", f"| {title} | {unit} |", "|---|--:|", *body]


def table(o: Outcome) -> str:
    sites = "n/a" if o.call_sites is None else f"{o.call_sites:,}"
    same = "yes" if o.deterministic else "NO"
    out = [
        f"corpus: {o.corpus}",
        "",
        "| measure | value |",
        "|---|--:|",
        f"| files (as `check` discovers them) | {o.files:,} |",
        f"| lines | {o.lines:,} |",
        f"| lines of the files past the prefilter | {o.lines_past_prefilter:,} |",
        f"| files analysed (past the prefilter, no PC000) | {o.files_analysed:,} |",
        f"| findings | {o.findings:,} |",
        f"| call sites (`report`) | {sites} |",
        f"| crashes | {len(o.crashes)} |",
        f"| `--jobs 1` and `--jobs N` outputs byte-identical | {same} |",
        *(f"| wall time: {r['name']} (exit {r['exit']}) | {r['seconds']:.1f} s |" for r in o.runs),
        f"| wall time of this script | {o.wall_seconds:.1f} s |",
    ]
    out += counts("code", "findings", o.findings_per_code)
    out += counts("discovered files not analysed, why", "files", o.not_analysed)
    out += counts("other files in the tree, not linted", "files", o.not_linted)
    if o.lines < MIN_LINES:
        out += ["", f"note: the corpus has under {MIN_LINES:,} lines"]
    out += ["", *(f"notice: {note}" for note in o.notices)] if o.notices else []
    for crash in o.crashes:
        out += ["", f"CRASH ({crash['where']}): {crash['problem']}", crash["trace"].rstrip()]
    if o.difference:
        out += ["", "OUTPUTS DIFFER; the diff starts:", o.difference]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--jobs", type=int, default=2, help="processes of the parallel runs")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.add_argument("--save-outputs", type=Path, metavar="DIR", help="keep each run's output")
    args = parser.parse_args()
    if args.jobs < 2:
        parser.error("--jobs must be 2 or more: the run compares its output with --jobs 1's")
    outcome = measure(args.corpus.resolve(), args.jobs, args.save_outputs)
    text = json.dumps(asdict(outcome), indent=2) + "\n" if args.json else table(outcome)
    sys.stdout.write(text)
    sys.exit(1 if outcome.crashes or not outcome.deterministic else 0)


if __name__ == "__main__":
    main()
