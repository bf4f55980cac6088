"""Bad inputs (DESIGN §9): each yields a finding or a notice, the right exit code, and never
hides the other files' findings. One test per row of the README's "Reliability" table.

Every test puts `good.py` (one PC101) next to the bad input and checks that its finding is
reported exactly as when it is linted alone.
"""

from __future__ import annotations

import builtins
import json
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from promptlint.cli import main

GOOD = textwrap.dedent(
    '''\
    from openai import OpenAI

    client = OpenAI()
    RULES = """You are the support agent of Acme Cloud. Answer questions about hosting plans,
    billing and deployments. Be concise and factual, never invent account details, and escalate
    to a human when the customer asks for a refund or threatens to cancel their subscription."""


    def answer(name: str, question: str) -> str:
        response = client.chat.completions.create(
            model="gpt-4o",
            messages=[
                {"role": "system", "content": f"Customer: {name}. " + RULES},
                {"role": "user", "content": question},
            ],
        )
        return response.choices[0].message.content
    '''
)
GOOD_FINDING = ("good.py", 13, 56, "PC101")  # the one finding of GOOD
# A prompt whose finding depends on how the text decodes: PC101 + PC102 at `time.time()`.
VOLATILE = (
    "import time\n"
    "def build():\n"
    "    SYSTEM_PROMPT = f'Café {time.time()} " + "word " * 40 + "'\n"
    "    return SYSTEM_PROMPT\n"
)


@dataclass(frozen=True)
class Run:
    code: int
    findings: list[dict[str, Any]]
    stderr: str

    def at(self, path: str) -> list[tuple[int, int, str]]:
        """(line, column, code) of the findings in `path`."""
        return [(f["line"], f["column"], f["code"]) for f in self.findings if f["path"] == path]

    def message(self, path: str, code: str = "PC000") -> str:
        (found,) = [f["message"] for f in self.findings if f["path"] == path and f["code"] == code]
        return str(found)


def check(*args: str) -> Run:
    result = CliRunner().invoke(main, ["check", "--format", "json", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, json.loads(result.stdout or "[]"), result.stderr)


@pytest.fixture(scope="session")
def alone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """GOOD's finding when it is linted alone (all keys but the path)."""
    path = tmp_path_factory.mktemp("alone") / "good.py"
    path.write_text(GOOD)
    (finding,) = check(str(path), "--no-cache").findings
    return {k: v for k, v in finding.items() if k != "path"}


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.py").write_text(GOOD)
    return tmp_path


def assert_good_intact(run: Run, alone: dict[str, Any], path: str = "good.py") -> None:
    (finding,) = [f for f in run.findings if f["path"] == path]
    assert {k: v for k, v in finding.items() if k != "path"} == alone


def pc000(run: Run, path: str) -> tuple[int, int, str]:
    """The single finding of `path`, which must be a PC000: (line, column, message)."""
    ((line, column, code),) = run.at(path)
    assert code == "PC000"
    return line, column, run.message(path)


# --- source that does not parse or decode -------------------------------------------------------


def test_syntax_error(project: Path, alone: dict[str, Any]) -> None:
    (project / "bad.py").write_text("SYSTEM_PROMPT = 'x'\ndef f(:\n    pass\n")
    run = check("bad.py", "good.py")
    assert run.code == 1
    assert pc000(run, "bad.py") == (2, 7, "syntax error: invalid syntax")
    assert_good_intact(run, alone)


def test_non_utf8_bytes_point_at_the_byte_in_characters(
    project: Path, alone: dict[str, Any]
) -> None:
    # `é` is two bytes: the bad byte is the 23rd character but the 24th byte of its line.
    (project / "bad.py").write_bytes(b"x = 1\nSYSTEM_PROMPT = 'caf\xc3\xa9 \xe9'\n")
    run = check("bad.py", "good.py")
    assert run.code == 1
    line, column, message = pc000(run, "bad.py")
    assert (line, column) == (2, 23)
    assert message == (
        "file is not valid utf-8 (byte 0xe9); save it as UTF-8 or declare its encoding with "
        "a `# -*- coding: ... -*-` line"
    )
    assert_good_intact(run, alone)


def test_coding_cookie_decodes_latin1_with_the_same_columns(
    project: Path, alone: dict[str, Any]
) -> None:
    (project / "utf8.py").write_text("# -*- coding: utf-8 -*-\n" + VOLATILE, encoding="utf-8")
    (project / "latin.py").write_bytes(("# -*- coding: latin-1 -*-\n" + VOLATILE).encode("latin-1"))
    run = check("latin.py", "utf8.py", "good.py")
    assert run.code == 1
    assert run.at("latin.py") == run.at("utf8.py") == [(4, 29, "PC101"), (4, 29, "PC102")]
    assert_good_intact(run, alone)


def test_coding_cookie_that_lies(project: Path, alone: dict[str, Any]) -> None:
    (project / "bad.py").write_bytes(b"# coding: ascii\nSYSTEM_PROMPT = 'caf\xc3\xa9'\n")
    run = check("bad.py", "good.py")
    assert run.code == 1
    assert pc000(run, "bad.py") == (
        2,
        21,
        "file is not valid ascii (byte 0xc3); the coding line (line 1) declares ascii: correct "
        "it, or re-save the file as ascii",
    )
    assert_good_intact(run, alone)


def test_utf8_bom_is_not_text(project: Path, alone: dict[str, Any]) -> None:
    (project / "plain.py").write_text(VOLATILE)
    (project / "bom.py").write_bytes(b"\xef\xbb\xbf" + VOLATILE.encode())
    (project / "bom_error.py").write_bytes(b"\xef\xbb\xbfSYSTEM_PROMPT = (\n")
    run = check("bom.py", "plain.py", "bom_error.py", "good.py")
    assert run.code == 1
    assert run.at("bom.py") == run.at("plain.py") == [(3, 29, "PC101"), (3, 29, "PC102")]
    line, column, _ = pc000(run, "bom_error.py")
    assert (line, column) == (1, 17)  # the `(` that is never closed, counted without the BOM
    assert_good_intact(run, alone)


def test_utf8_bom_with_another_coding_cookie(project: Path, alone: dict[str, Any]) -> None:
    (project / "bad.py").write_bytes(
        b"\xef\xbb\xbf# -*- coding: latin-1 -*-\nSYSTEM_PROMPT = 'x'\n"
    )
    run = check("bad.py", "good.py")
    assert run.code == 1
    assert pc000(run, "bad.py") == (
        1,
        1,
        "cannot decode file: encoding problem: utf-8 (a UTF-8 byte-order mark, but a coding line "
        "declaring another encoding)",
    )
    assert_good_intact(run, alone)


def test_nul_byte(project: Path, alone: dict[str, Any]) -> None:
    (project / "bad.py").write_bytes(b"SYSTEM_PROMPT = 'a'\nx = 'b\x00'\n")
    run = check("bad.py", "good.py")
    assert run.code == 1
    assert pc000(run, "bad.py") == (2, 7, "file contains a NUL byte; it is not Python source")
    assert_good_intact(run, alone)


def test_empty_file(project: Path, alone: dict[str, Any]) -> None:
    (project / "empty.py").write_bytes(b"")
    (project / "empty.ipynb").write_bytes(b"")
    assert check("empty.py") == Run(0, [], "")
    run = check(".")
    assert run.code == 1
    assert run.at("./empty.py") == []
    # An empty notebook is not valid JSON.
    assert pc000(run, "./empty.ipynb")[:2] == (1, 1)
    assert_good_intact(run, alone, "./good.py")


def test_file_python_accepts_but_libcst_does_not(project: Path, alone: dict[str, Any]) -> None:
    """5,000 adjacent string literals: libcst's own limit, not a syntax error of the file."""
    (project / "bad.py").write_text("SYSTEM_PROMPT = " + " ".join(["'a'"] * 5000) + "\n")
    run = check("bad.py", "good.py")
    assert run.code == 1
    message = pc000(run, "bad.py")[2]
    assert message.startswith("cannot parse file: ")
    assert message.endswith(
        "(Python accepts this file, promptlint's parser does not; please report it)"
    )
    assert_good_intact(run, alone)


# --- deep nesting and huge expressions: a PC000 in well under a second, never a crash ------------

TOO_DEEP = (
    "an expression is nested too deeply to analyse (over 500 levels: a long chain of operators, "
    "calls or attribute accesses)"
)
P = "SYSTEM_PROMPT = 'x' + "


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            P + "(" * 5000 + "'a'" + ")" * 5000,
            (1, 223, "syntax error: too many nested parentheses"),
        ),
        (
            P + "[" * 5000 + "'a'" + "]" * 5000,
            (1, 223, "syntax error: too many nested parentheses"),
        ),
        (P + " + ".join(["a"] * 5000), (1, 1, TOO_DEEP)),  # CPython itself gives up: no position
        (P + "(\n    " + "\n    + ".join(["a"] * 5000) + "\n)", (1, 1, TOO_DEEP)),
        (P + "x" + ".a" * 1000, (1, 17, TOO_DEEP)),
        (P + "f()" + "()" * 1000, (1, 17, TOO_DEEP)),
        (P + "-" * 5000 + "x", (1, 1, TOO_DEEP)),
        (P + "(" + "a if b else " * 1000 + "c)", (1, 17, TOO_DEEP)),
        (
            "SYSTEM_PROMPT = f'" + "a{x}" * 100_000 + "'",
            (
                1,
                17,
                "an f-string with 100000 "
                "replacement fields is too large to analyse (the limit is 2000)",
            ),
        ),
        (
            'SYSTEM_PROMPT = f"""\n' + "{x}\n" * 100_000 + '"""',
            (
                1,
                17,
                "an f-string with "
                "100000 replacement fields is too large to analyse (the limit is 2000)",
            ),
        ),
    ],
    ids=[
        "5000-parentheses",
        "5000-brackets",
        "5000-term-sum",
        "5000-line-sum",
        "1000-attributes",
        "1000-calls",
        "5000-unary-minus",
        "1000-conditionals",
        "100k-field-f-string",
        "100k-line-f-string",
    ],
)
def test_deep_or_huge_expression(
    project: Path, alone: dict[str, Any], source: str, expected: tuple[int, int, str]
) -> None:
    (project / "bad.py").write_text(source + "\n")
    run = check("bad.py", "good.py")
    assert run.code == 1
    assert pc000(run, "bad.py") == expected
    assert_good_intact(run, alone)


def test_deep_f_string_nesting_is_read(project: Path, alone: dict[str, Any]) -> None:
    """Python 3.12 f-strings nest to any depth: 50 levels parse, 250 are too deep."""
    (project / "ok.py").write_text("SYSTEM_PROMPT = " + "f'{" * 50 + "x" + "}'" * 50 + "\n")
    (project / "bad.py").write_text("SYSTEM_PROMPT = " + "f'{" * 250 + "x" + "}'" * 250 + "\n")
    run = check("ok.py", "bad.py", "good.py")
    assert run.code == 1
    assert run.at("ok.py") == []
    assert pc000(run, "bad.py")[2].startswith("syntax error: ")
    assert_good_intact(run, alone)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_10000_and_chain_does_not_crash_the_process(project: Path, alone: dict[str, Any]) -> None:
    """libcst's parser segfaults on it: checked in a forked child, so that a regression kills
    only the child."""
    (project / "bad.py").write_text(P + "(" + " and ".join(["a"] * 10000) + ")\n")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read)
            run = check("bad.py", "good.py")
            with os.fdopen(write, "w") as out:
                json.dump([run.code, run.findings], out)
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as got:
        output = got.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status), f"the check crashed: {status}"
    code, findings = json.loads(output)
    run = Run(code, findings, "")
    assert run.code == 1
    assert pc000(run, "bad.py") == (1, 17, TOO_DEEP)
    assert_good_intact(run, alone)


# --- file size ---------------------------------------------------------------------------------


def test_20mb_file_is_skipped_unread_with_a_notice(
    project: Path, alone: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    big = project / "big.py"
    with big.open("w") as out:
        out.write(VOLATILE)  # a finding, were it read
        out.write(("# " + "x" * 98 + "\n") * 200_000)
    assert big.stat().st_size > 20_000_000
    reads = record_reads(monkeypatch)
    run = check(".")
    assert run.code == 1
    assert run.at("./big.py") == []
    assert run.stderr == (
        f"promptlint: warning: ./big.py: {big.stat().st_size:,} bytes, over max-file-size "
        "(2,000,000 bytes); skipped; raise max-file-size (0: no limit) to check it\n"
    )
    assert big.resolve() not in reads
    assert_good_intact(run, alone, "./good.py")


def test_max_file_size_is_configurable(project: Path, alone: dict[str, Any]) -> None:
    (project / "vol.py").write_text(VOLATILE + "# padding\n" * 200)
    size = (project / "vol.py").stat().st_size
    assert (project / "good.py").stat().st_size < 1000 < size < 3000
    (project / "pyproject.toml").write_text('[tool.promptlint]\nmax-file-size = "1kB"\n')
    run = check(".")
    assert run.at("./vol.py") == []
    assert run.stderr == (
        f"promptlint: warning: ./vol.py: {size:,} bytes, over max-file-size (1,000 bytes); "
        "skipped; raise max-file-size (0: no limit) to check it\n"
    )
    assert_good_intact(run, alone, "./good.py")
    # The command line wins; 0 is no limit.
    for limit in ("3KiB", "0"):
        run = check(".", "--max-file-size", limit)
        assert run.at("./vol.py") == [(3, 29, "PC101"), (3, 29, "PC102")] and run.stderr == ""


def test_bad_max_file_size_is_a_config_error(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.promptlint]\nmax-file-size = "2 TB"\n')
    run = check(".")
    assert run.code == 2 and run.findings == []
    assert run.stderr == (
        "promptlint: error: pyproject.toml: key 'max-file-size': expected a size, got '2 TB'; "
        'valid: a number of bytes, or a size such as "500kB", "2MB" or "1MiB"; 0 for no limit\n'
    )
    result = CliRunner().invoke(main, ["check", "--max-file-size", "-1", "good.py"])
    assert result.exit_code == 2 and "Invalid value for '--max-file-size'" in result.stderr


def test_module_over_the_limit_is_not_parsed_for_its_exports(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An imported module is parsed whole (not pruned) for its templates: one over the limit is
    not, so its names stay dynamic."""
    import promptlint.engine as engine

    rules = GOOD.split("RULES = ", 1)[1].split("\n\n\n")[0]
    (project / "prompts.py").write_text("RULES = " + rules + "\n" + "# pad\n" * 400)
    (project / "app.py").write_text(GOOD.replace("RULES = " + rules, "from prompts import RULES"))
    assert check("app.py").at("app.py") == [(11, 56, "PC101")]  # RULES read from prompts.py
    parsed: list[str] = []
    real = engine.safe_extract

    def safe_extract(display: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(display)
        return real(display, *args, **kwargs)

    monkeypatch.setattr(engine, "safe_extract", safe_extract)
    assert check("app.py", "--no-cache", "--max-file-size", "2kB") == Run(0, [], "")
    assert "prompts.py" not in parsed


def record_reads(monkeypatch: pytest.MonkeyPatch, refuse: Path | None = None) -> set[Path]:
    """Every file promptlint opens from now on (by resolved path); opening `refuse` fails."""
    reads: set[Path] = set()
    real_read_bytes, real_read_text, real_open = Path.read_bytes, Path.read_text, builtins.open

    def note(path: Path) -> None:
        path = path.resolve()
        assert path != refuse, f"{path} was opened"
        reads.add(path)

    def read_bytes(self: Path) -> bytes:
        note(self)
        return real_read_bytes(self)

    def read_text(self: Path, *args: Any, **kwargs: Any) -> str:
        note(self)
        return real_read_text(self, *args, **kwargs)

    def open_(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, Path)):
            note(Path(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(Path, "read_text", read_text)
    monkeypatch.setattr(builtins, "open", open_)
    return reads


# --- files and directories that cannot be read --------------------------------------------------


def test_unreadable_file(
    project: Path, alone: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "secret.py").write_text(VOLATILE)
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.py":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    run = check(".")
    assert run.code == 1
    assert pc000(run, "./secret.py") == (1, 1, "cannot read file: Permission denied")
    assert_good_intact(run, alone, "./good.py")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file: chmod 000 is moot"
)
def test_unreadable_file_on_disk(project: Path, alone: dict[str, Any]) -> None:
    secret = project / "secret.py"
    secret.write_text(VOLATILE)
    secret.chmod(0)
    try:
        run = check(".")
    finally:
        secret.chmod(0o644)
    assert run.code == 1
    assert pc000(run, "./secret.py") == (1, 1, "cannot read file: Permission denied")
    assert_good_intact(run, alone, "./good.py")


def test_unreadable_directory(
    project: Path, alone: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "locked").mkdir()
    (project / "locked" / "vol.py").write_text(VOLATILE)
    real = os.scandir

    def scandir(path: Any) -> Any:
        if os.path.basename(os.fspath(path)) == "locked":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    run = check(".")
    assert run.code == 1
    assert run.stderr == (
        "promptlint: warning: ./locked: cannot read the directory (Permission denied); skipped\n"
    )
    assert_good_intact(run, alone, "./good.py")
    assert [f["path"] for f in run.findings] == ["./good.py"]


# --- symlinks, directories, FIFOs ---------------------------------------------------------------


def test_broken_symlink_and_symlink_loops(project: Path, alone: dict[str, Any]) -> None:
    (project / "broken.py").symlink_to("nowhere.py")
    (project / "loop_a.py").symlink_to("loop_b.py")
    (project / "loop_b.py").symlink_to("loop_a.py")
    (project / "sub").mkdir()
    (project / "sub" / "up").symlink_to("..")  # a directory loop: never followed
    (project / "sub" / "good.py").symlink_to("../good.py")
    run = check(".")
    assert run.code == 1
    assert run.stderr == (
        "promptlint: warning: ./broken.py: a broken symlink; skipped\n"
        "promptlint: warning: ./loop_a.py: Too many levels of symbolic links; skipped\n"
        "promptlint: warning: ./loop_b.py: Too many levels of symbolic links; skipped\n"
    )
    assert [f["path"] for f in run.findings] == ["./good.py"]  # the linked copy is the same file
    assert_good_intact(run, alone, "./good.py")
    named = check("broken.py", "good.py")
    assert (named.code, named.findings) == (2, [])
    assert named.stderr == (
        "promptlint: error: path does not exist: broken.py (a broken symlink, or a symlink loop)\n"
    )


def test_directory_named_like_a_source_file(project: Path, alone: dict[str, Any]) -> None:
    (project / "x.py").mkdir()
    (project / "x.py" / "inner.py").write_text(GOOD)
    (project / "y.ipynb").mkdir()
    for args in ((".",), ("x.py", "y.ipynb", "good.py")):
        run = check(*args)
        assert run.code == 1 and run.stderr == ""
        prefix = "./" if args == (".",) else ""
        assert_good_intact(run, alone, f"{prefix}good.py")
        assert_good_intact(run, alone, f"{prefix}x.py/inner.py")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_never_opened(
    project: Path, alone: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a FIFO blocks until a writer comes: an attempt fails the test instead."""
    os.mkfifo(project / "pipe.py")
    reads = record_reads(monkeypatch, refuse=(project / "pipe.py").resolve())
    run = check(".", "pipe.py")
    assert run.code == 1
    assert run.stderr == (
        "promptlint: warning: ./pipe.py: not a regular file; skipped\n"
        "promptlint: warning: pipe.py: not a regular file; skipped\n"
    )
    assert [f["path"] for f in run.findings] == ["./good.py"]
    assert_good_intact(run, alone, "./good.py")
    assert (project / "good.py").resolve() in reads


# --- notebooks and templates ----------------------------------------------------------------------


def test_notebook_with_invalid_json(project: Path, alone: dict[str, Any]) -> None:
    (project / "bad.ipynb").write_text('{"cells": [\n  {"cell_type": "code",\n  "source": [}]}')
    run = check("bad.ipynb", "good.py")
    assert run.code == 1
    assert pc000(run, "bad.ipynb") == (
        3,
        14,
        "cannot read notebook: not valid JSON: Expecting value (line 3, column 14)",
    )
    assert_good_intact(run, alone)


APP = textwrap.dedent(
    """\
    from pathlib import Path

    import jinja2
    from openai import OpenAI

    client = OpenAI()
    HERE = Path(__file__).parent


    def ask(user: str, question: str) -> str:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader({loader}))
        system = env.get_template("{name}").render(user=user)
        return client.chat.completions.create(
            model="gpt-4o",
            messages=[
                {{"role": "system", "content": system}},
                {{"role": "user", "content": question}},
            ],
        )
    """
)
# A template that raises PC101 wherever it is read.
TEMPLATE = "{{ user }} " + GOOD.split('"""')[1].replace("\n", " ") + "\n"


def test_jinja_template_with_a_syntax_error(project: Path, alone: dict[str, Any]) -> None:
    (project / "prompts").mkdir()
    (project / "prompts" / "system.j2").write_text("Hello\n{% if x %}\nunclosed\n{{ user }\n")
    (project / "app.py").write_text(APP.format(loader='HERE / "prompts"', name="system.j2"))
    run = check("app.py", "good.py")
    assert run.code == 1
    assert pc000(run, "prompts/system.j2")[:2] == (4, 1)
    assert pc000(run, "prompts/system.j2")[2].startswith("jinja2 syntax error: ")
    assert run.at("app.py") == []  # the template's text is unknown, not a guess
    assert_good_intact(run, alone)


@pytest.mark.parametrize(
    ("loader", "path"),
    [
        ('"../outside"', '"../outside/secret.txt"'),
        ('HERE / "../outside"', 'HERE / "../outside/secret.txt"'),
        ('HERE / "prompts/link"', 'HERE / "prompts/link/secret.txt"'),
        ("{outside!r}", "{outside!r} + '/secret.txt'"),
    ],
    ids=["relative", "module-relative", "symlink-out", "absolute"],
)
def test_template_paths_leaving_the_project_are_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alone: dict[str, Any], loader: str, path: str
) -> None:
    """Each read here would raise a PC101 in the file read, or in app.py, were it followed."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "system.j2").write_text(TEMPLATE)
    (outside / "secret.txt").write_text(TEMPLATE.replace("{{ user }} ", ""))
    project = tmp_path / "project"
    (project / "prompts").mkdir(parents=True)
    (project / "prompts" / "link").symlink_to(outside)
    monkeypatch.chdir(project)
    (project / "good.py").write_text(GOOD)
    app = APP.format(loader=loader.format(outside=str(outside)), name="system.j2")
    app += textwrap.dedent(
        f"""

        def ask_file(user: str, question: str) -> str:
            system = f"{{user}}: " + open({path.format(outside=str(outside))}).read()
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {{"role": "system", "content": system}},
                    {{"role": "user", "content": question}},
                ],
            )
        """
    )
    (project / "app.py").write_text(app)
    reads = record_reads(monkeypatch)
    run = check("app.py", "good.py")
    assert run.code == 1
    assert [f["path"] for f in run.findings] == ["good.py"]
    assert not {p for p in reads if p.is_relative_to(outside)}
    assert_good_intact(run, alone)


def test_template_paths_inside_the_project_are_read(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counterpart of the test above: the same code, reading inside, finds both."""
    (project / "prompts").mkdir()
    (project / "prompts" / "system.j2").write_text(TEMPLATE)
    (project / "prompts" / "secret.txt").write_text(TEMPLATE.replace("{{ user }} ", ""))
    app = APP.format(loader='HERE / "prompts"', name="system.j2")
    app += textwrap.dedent(
        """

        def ask_file(user: str, question: str) -> str:
            system = f"{user}: " + open(HERE / "prompts/secret.txt").read()
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": question},
                ],
            )
        """
    )
    (project / "app.py").write_text(app)
    run = check("app.py")
    assert [(f["path"], f["code"]) for f in run.findings] == [
        ("app.py", "PC101"),
        ("prompts/system.j2", "PC101"),
    ]


# --- configuration ------------------------------------------------------------------------------


def test_malformed_pyproject_with_a_promptlint_table(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.promptlint]\nselect = ["PC1"\nignore = []\n')
    run = check(".")
    assert (run.code, run.findings) == (2, [])
    assert run.stderr.startswith("promptlint: error: pyproject.toml:3:1: invalid TOML: ")


def test_malformed_pyproject_of_another_tool_is_ignored(
    project: Path, alone: dict[str, Any]
) -> None:
    (project / "pyproject.toml").write_text('[project]\nname = "x\n')
    run = check(".")
    assert run.code == 1 and run.stderr == ""
    assert_good_intact(run, alone, "./good.py")


def test_malformed_promptlint_toml(project: Path) -> None:
    (project / "promptlint.toml").write_text("select = [\n")
    run = check(".")
    assert (run.code, run.findings) == (2, [])
    assert run.stderr.startswith("promptlint: error: promptlint.toml:2:1: invalid TOML: ")
