"""promptlint's own failures (a bug in a rule, the extractor or the linker): each becomes a PC000
finding naming what failed, the run goes on with the other rules and files, the exit code is 2,
and `--show-traceback` (or PROMPTLINT_SHOW_TRACEBACK=1) prints the trace to stderr, also when
the failure happened in a worker process."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import re
import textwrap
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from samples import SUPPORT_BOT as BAD

from promptlint import checks, engine, parallel
from promptlint.checks import Context, rule_by_code_or_name
from promptlint.cli import main
from promptlint.config import Settings
from promptlint.estimate import Estimator
from promptlint.extract import pipeline
from promptlint.model import FileModel
from promptlint.providers import bundled_profiles
from promptlint.tokens import TokenCounter

# A call site with PC101 and PC102 at 15:55 (the same source as tests/test_cli.py).
CALL = (12, 16)  # where the call in BAD starts
# A prompt-named template no call site uses (checked by the rules' check_template): PC101 and
# PC102 at 5:35; the template itself starts at 5:5.
NAMED = textwrap.dedent(
    '''\
    from datetime import datetime


    def build_prompt() -> str:
        SYSTEM_PROMPT = f"""Today is {datetime.now()}. You are the support agent of Acme Cloud.
    Answer questions about hosting plans, billing and deployments. Be concise and factual, never
    invent account details, and escalate to a human when the customer asks for a refund."""
        return SYSTEM_PROMPT
    '''
)
TEMPLATE = (5, 5)

HINT = "please report it (run with --show-traceback for the trace)"
TRACE_HEAD = "Traceback (most recent call last):"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(json.loads(self.stdout))

    def at(self, path: str) -> list[tuple[str, int, int]]:
        """(code, line, column) of the findings in `path`."""
        return [(f["code"], f["line"], f["column"]) for f in self.findings if f["path"] == path]


def run(*args: str, env: Mapping[str, str] | None = None) -> Run:
    result = CliRunner().invoke(main, list(args), env=dict(env or {}))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def check(*args: str, env: Mapping[str, str] | None = None) -> Run:
    return run("check", "--format", "json", "--no-cache", *args, env=env)


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """app/bad.py and app/copy.py: a faulty call each; app/named.py: a faulty template."""
    (tmp_path / "app").mkdir()
    for name, source in (("bad.py", BAD), ("copy.py", BAD), ("named.py", NAMED)):
        (tmp_path / "app" / name).write_text(source)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PROMPTLINT_SHOW_TRACEBACK", raising=False)
    return tmp_path


def divide_by_zero() -> None:
    """What the broken rules and extractor raise: a real exception with a real trace."""
    _ = 1 / 0


def break_rule(
    monkeypatch: pytest.MonkeyPatch,
    code: str,
    hook: str,
    fails: Callable[[Any, Context], bool] = lambda item, ctx: True,
) -> None:
    """Replace rule `code` in the registry by one whose `hook` raises where `fails`."""
    rule = rule_by_code_or_name(code)
    assert rule is not None
    real = getattr(rule, hook)
    assert real is not None, f"{code} has no {hook}"

    def broken(item: Any, ctx: Context) -> Any:
        if fails(item, ctx):
            divide_by_zero()
        return real(item, ctx)

    changes: dict[str, Any] = {hook: broken}
    registry = tuple(dataclasses.replace(r, **changes) if r is rule else r for r in checks.RULES)
    monkeypatch.setattr(checks, "RULES", registry)
    monkeypatch.setattr(engine, "RULES", registry)


def in_file(path: str) -> Callable[[Any, Context], bool]:
    return lambda item, ctx: ctx.path == path


def internal(code: str, name: str, what: str = "rule") -> str:
    return f"internal error in {what} {code} ({name}): ZeroDivisionError: division by zero; {HINT}"


# --- a rule that raises ---------------------------------------------------------------------


def test_a_rule_failing_on_one_call_site_is_a_finding_there_and_the_run_goes_on(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    healthy = check("app")
    assert healthy.code == 1
    assert healthy.at("app/bad.py") == [("PC101", 15, 55), ("PC102", 15, 55)]

    break_rule(monkeypatch, "PC101", "check_call_site", in_file("app/bad.py"))
    broken = check("app")
    assert broken.code == 2
    # PC101's findings in app/bad.py are replaced by the internal error, at the call it failed
    # on; everything else is as before: other rules on the same file, PC101 on other files.
    expected = [f for f in healthy.findings if (f["path"], f["code"]) != ("app/bad.py", "PC101")]
    found = broken.findings
    failure = next(f for f in found if f["code"] == "PC000")
    assert [f for f in found if f is not failure] == expected
    assert failure == {
        **failure,
        "path": "app/bad.py",
        "line": CALL[0],
        "column": CALL[1],
        "severity": "error",
        "message": internal("PC101", "dynamic-before-static"),
        "fix": None,
    }
    assert broken.stderr == ""  # no trace unless asked


@pytest.mark.parametrize(
    ("options", "env", "shown"),
    [
        ((), {}, False),
        (("--show-traceback",), {}, True),
        ((), {"PROMPTLINT_SHOW_TRACEBACK": "1"}, True),
        ((), {"PROMPTLINT_SHOW_TRACEBACK": "0"}, False),
    ],
    ids=["default", "option", "env", "env-off"],
)
@pytest.mark.parametrize("output", ["json", "text"])
def test_the_trace_goes_to_stderr_only_when_asked(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    options: tuple[str, ...],
    env: dict[str, str],
    shown: bool,
    output: str,
) -> None:
    break_rule(monkeypatch, "PC101", "check_call_site", in_file("app/bad.py"))
    result = run("check", "app/bad.py", "--no-cache", "--format", output, *options, env=env)
    plain = run("check", "app/bad.py", "--no-cache", "--format", output)
    assert result.code == plain.code == 2
    assert result.stdout == plain.stdout  # the report is the same either way
    assert internal("PC101", "dynamic-before-static") in result.stdout
    if not shown:
        assert result.stderr == ""
        return
    head, _, trace = result.stderr.partition("\n")
    assert head == (
        f"promptlint: app/bad.py:{CALL[0]}:{CALL[1]}: " + internal("PC101", "dynamic-before-static")
    )
    assert trace.startswith(TRACE_HEAD)
    assert "in divide_by_zero\n" in trace and "_ = 1 / 0" in trace
    assert trace.rstrip().endswith("ZeroDivisionError: division by zero")


@pytest.mark.parametrize(
    ("code", "hook", "expected"),
    [
        # A file-wide check fails at the file's first position.
        ("PC000", "check_file", {f"app/{name}.py": (1, 1) for name in ("bad", "copy", "named")}),
        ("PC102", "check_call_site", {"app/bad.py": CALL, "app/copy.py": CALL}),
        ("PC102", "check_template", {"app/named.py": TEMPLATE}),
    ],
)
def test_each_kind_of_rule_hook_is_caught(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    code: str,
    hook: str,
    expected: dict[str, tuple[int, int]],
) -> None:
    healthy = check("app")
    break_rule(monkeypatch, code, hook)
    broken = check("app")
    assert broken.code == 2
    rule = rule_by_code_or_name(code)
    assert rule is not None
    failures = {f["path"]: f for f in broken.findings if f["message"].startswith("internal")}
    assert {path: (f["line"], f["column"]) for path, f in failures.items()} == expected
    assert {f["message"] for f in failures.values()} == {internal(code, rule.name)}
    # Only what the broken hook would have found is gone (PC000 finds nothing here).
    lost = [f for f in healthy.findings if f not in broken.findings]
    assert all(f["code"] == code and f["path"] in expected for f in lost)
    assert len(lost) == (0 if code == "PC000" else len(expected))


def test_one_failure_per_rule_and_file_at_the_first_place_it_failed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two call sites in one file: one internal error (at the first); the trace once."""
    (project / "app" / "bad.py").write_text(BAD + "\n\n" + BAD.split("\n\n\n")[1])
    break_rule(monkeypatch, "PC102", "check_call_site")
    result = check("app/bad.py", "--show-traceback")
    assert result.code == 2
    assert result.at("app/bad.py") == [("PC000", *CALL), ("PC101", 15, 55), ("PC101", 27, 55)]
    assert result.stderr.count(TRACE_HEAD) == 1


def test_a_rule_failing_on_one_call_site_keeps_its_findings_on_the_others(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "app" / "bad.py").write_text(BAD + "\n\n" + BAD.split("\n\n\n")[1])
    break_rule(monkeypatch, "PC102", "check_call_site", lambda site, ctx: site.span.line == 12)
    result = check("app/bad.py")
    assert result.code == 2
    assert result.at("app/bad.py") == [
        ("PC000", *CALL),
        ("PC101", 15, 55),
        ("PC101", 27, 55),
        ("PC102", 27, 55),
    ]


def test_two_rules_failing_at_the_same_place_keep_both_messages(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_rule(monkeypatch, "PC101", "check_call_site")
    break_rule(monkeypatch, "PC102", "check_call_site")
    result = check("app/bad.py", "--show-traceback")
    assert result.code == 2
    assert [f["message"] for f in result.findings] == [
        internal("PC101", "dynamic-before-static")
        + " Also: "
        + internal("PC102", "volatile-in-prompt")
    ]
    heads = [line for line in result.stderr.splitlines() if line.startswith("promptlint:")]
    assert heads == [
        f"promptlint: app/bad.py:{CALL[0]}:{CALL[1]}: " + internal(code, name)
        for code, name in (("PC101", "dynamic-before-static"), ("PC102", "volatile-in-prompt"))
    ]


def test_a_failing_project_wide_rule_is_reported_at_the_first_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    healthy = check("app")
    break_rule(monkeypatch, "PC302", "check_project")
    result = check("app", "--show-traceback")
    assert result.code == 2
    message = (
        "internal error in project-wide rule PC302 (divergent-shared-prefix), reported at the "
        f"first file of the run: ZeroDivisionError: division by zero; {HINT}"
    )
    assert result.findings[0] == {**result.findings[0], "path": "app/bad.py", "line": 1}
    assert result.findings[0]["message"] == message
    assert result.findings[1:] == healthy.findings  # PC302 finds nothing here anyway
    assert result.stderr.startswith(f"promptlint: app/bad.py:1:1: {message}\n")
    assert "in divide_by_zero" in result.stderr


def test_a_failure_is_shown_whatever_the_selection_and_suppressions(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It is promptlint's failure, not a finding about the code: nothing hides it."""
    source = BAD.replace(
        "response = client.chat.completions.create(",
        "response = client.chat.completions.create(  # promptlint: ignore",
    )
    (project / "app" / "bad.py").write_text(source)
    break_rule(monkeypatch, "PC101", "check_call_site")
    result = check("app/bad.py", "--select", "PC101")
    assert result.code == 2
    assert [(f["code"], f["message"]) for f in result.findings] == [
        ("PC000", internal("PC101", "dynamic-before-static"))
    ]
    assert check("app/bad.py", "--select", "PC101", "--exit-zero").code == 2


def test_an_empty_exception_message_names_the_type(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = rule_by_code_or_name("PC101")
    assert rule is not None

    def broken(item: Any, ctx: Context) -> Any:
        raise RuntimeError

    registry = tuple(
        dataclasses.replace(r, check_call_site=broken) if r is rule else r for r in checks.RULES
    )
    monkeypatch.setattr(checks, "RULES", registry)
    monkeypatch.setattr(engine, "RULES", registry)
    messages = [f["message"] for f in check("app/bad.py").findings]
    assert (
        messages[0] == f"internal error in rule PC101 (dynamic-before-static): RuntimeError; {HINT}"
    )


def test_stdin_and_diff_report_a_failing_rule_too(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_rule(monkeypatch, "PC101", "check_call_site")
    stdin = CliRunner().invoke(
        main,
        ["check", "--stdin-filename", "app/bad.py", "--format", "json", "--show-traceback"],
        input=BAD,
    )
    assert stdin.exit_code == 2
    assert json.loads(stdin.stdout)[0]["message"] == internal("PC101", "dynamic-before-static")
    assert "in divide_by_zero" in stdin.stderr

    diff = run("check", "app/bad.py", "--no-cache", "--diff", "--show-traceback")
    assert diff.code == 2
    assert diff.stderr.startswith(f"promptlint: app/bad.py:{CALL[0]}:")
    assert "in divide_by_zero" in diff.stderr


def test_check_source_keeps_the_trace_for_the_editor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine prints nothing: the trace is in the result, for whoever shows it."""
    break_rule(monkeypatch, "PC101", "check_call_site")
    settings = Settings()
    estimator = Estimator(TokenCounter(settings.encoding), bundled_profiles(), 64)
    result = engine.check_source("bad.py", BAD.encode(), settings, checks.RULES, estimator)
    assert result.internal_errors == 1
    assert [f.code for f in result.findings] == ["PC000", "PC102"]
    (trace,) = result.traces
    assert trace.startswith(f"bad.py:{CALL[0]}:{CALL[1]}: internal error in rule PC101 ")
    assert TRACE_HEAD in trace and "divide_by_zero" in trace


# --- the extractor fails on one file ----------------------------------------------------------


def break_extraction(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """`extract_file` raises for the file called `name`, naming the process it ran in."""
    real = pipeline.extract_file

    def broken(display: str, data: bytes, *args: Any, **kwargs: Any) -> FileModel:
        if Path(display).name == name:
            raise ValueError(f"boom in process {os.getpid()}")
        return real(display, data, *args, **kwargs)

    monkeypatch.setattr(pipeline, "extract_file", broken)


def no_pid(text: str) -> str:
    return re.sub(r"process \d+", "process <pid>", text)


@pytest.fixture()
def pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Pools started by `parallel.extract_all`, forked so that the workers inherit the broken
    extractor (the default start method differs between platforms and Python versions)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs the fork start method")
    started: list[int] = []

    class Forked(ProcessPoolExecutor):
        def __init__(self, max_workers: int | None = None, **kwargs: Any) -> None:
            started.append(max_workers or 0)
            kwargs["mp_context"] = multiprocessing.get_context("fork")
            super().__init__(max_workers, **kwargs)

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", Forked)
    return started


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_extractor_failure_in_a_worker_keeps_its_trace(
    project: Path, monkeypatch: pytest.MonkeyPatch, pools: list[int], jobs: int
) -> None:
    many = parallel.MIN_FILES_FOR_POOL + 6
    for index in range(many):  # enough files for a pool; the one that fails has findings
        source = BAD if index == 7 else f"def helper_{index}(x: int) -> int:\n    return x\n"
        (project / "app" / f"copy_{index:02d}.py").write_text(source)
    healthy = check("app", "--jobs", str(jobs))
    break_extraction(monkeypatch, "copy_07.py")

    quiet = check("app", "--jobs", str(jobs))
    result = check("app", "--jobs", str(jobs), "--show-traceback")
    assert pools == ([jobs] * 3 if jobs > 1 else [])
    assert quiet.code == result.code == 2
    assert no_pid(quiet.stdout) == no_pid(result.stdout) and quiet.stderr == ""
    lost = [f for f in healthy.findings if f not in result.findings]
    assert {f["path"] for f in lost} == {"app/copy_07.py"}
    failure = [f for f in result.findings if f["path"] == "app/copy_07.py"]
    assert len(failure) == 1
    message = failure[0]["message"]
    pid = int(re.search(r"boom in process (\d+)", message).group(1))  # type: ignore[union-attr]
    assert (pid != os.getpid()) == (jobs > 1)  # really extracted in a worker
    assert message == (
        f"internal error while analysing this file (ValueError: boom in process {pid}); "
        "please report it with the file attached (run with --show-traceback for the trace)"
    )
    assert (failure[0]["line"], failure[0]["column"]) == (1, 1)
    head, _, trace = result.stderr.partition("\n")
    assert head == f"promptlint: app/copy_07.py:1:1: {message}"
    assert trace.startswith(TRACE_HEAD)
    assert "in broken\n" in trace and f"ValueError: boom in process {pid}" in trace


def test_report_says_which_file_it_failed_on_and_exits_2(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    healthy = run("report", "app", "--format", "json", "--no-cache", "--jobs", "1")
    assert healthy.code == 0
    break_extraction(monkeypatch, "copy.py")
    quiet = run("report", "app", "--format", "json", "--no-cache", "--jobs", "1")
    traced = run(
        "report", "app", "--format", "json", "--no-cache", "--jobs", "1", "--show-traceback"
    )
    assert quiet.code == traced.code == 2
    assert quiet.stdout == traced.stdout
    sites = [s["path"] for s in json.loads(quiet.stdout)["call_sites"]]
    assert sites == [
        s["path"] for s in json.loads(healthy.stdout)["call_sites"] if "copy" not in s["path"]
    ]
    error = (
        "promptlint: error: app/copy.py:1:1: internal error while analysing this file "
        f"(ValueError: boom in process {os.getpid()}); please report it with the file attached"
    )
    assert quiet.stderr.startswith(error) and quiet.stderr.count("\n") == 1
    assert traced.stderr.startswith(error + " (run with --show-traceback for the trace)\n")
    assert TRACE_HEAD in traced.stderr and "in broken" in traced.stderr


def test_a_linker_failure_keeps_its_trace(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from promptlint import link

    real = link.Linker.call_site

    def broken(self: link.Linker, site: Any, where: Path) -> Any:
        if where.name == "copy.py":
            divide_by_zero()
        return real(self, site, where)

    monkeypatch.setattr(link.Linker, "call_site", broken)
    healthy = check("app")
    result = check("app", "--show-traceback")
    assert result.code == 2
    assert result.at("app/copy.py") == [("PC000", 1, 1)]
    found = result.findings
    (failure,) = [f for f in found if f["path"] == "app/copy.py"]
    assert failure["message"] == (
        "internal error while linking this file (ZeroDivisionError: division by zero); "
        "please report it with the file attached (run with --show-traceback for the trace)"
    )
    assert [f for f in found if f is not failure] == [
        f for f in healthy.findings if f["path"] != "app/copy.py"
    ]
    assert result.stderr.startswith(f"promptlint: app/copy.py:1:1: {failure['message']}\n")
    assert "in divide_by_zero" in result.stderr
