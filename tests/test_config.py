"""Configuration (config.py, DESIGN §7): which config file applies to which file, what each key
does, how the command line overrides it, exclusion, --show-settings, and every kind of bad config,
which stops the run with exit code 2 and a message naming the file and the key."""

from __future__ import annotations

import json
import os
import textwrap
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from promptlint import config as config_module
from promptlint.cli import main
from promptlint.config import EXTRACTION_FIELDS, Overrides, Resolver, Settings
from promptlint.discovery import discover
from promptlint.extract import pipeline
from promptlint.model import FileModel
from promptlint.parallel import extract_all

# PC101 and PC102 at 15:55 (`now` before the rules, in the system message).
BAD = '''\
from datetime import datetime
from openai import OpenAI

client = OpenAI()
RULES = """You are the support agent of Acme Cloud. Answer questions about hosting plans,
billing and deployments. Be concise and factual, never invent account details, and escalate
to a human when the customer asks for a refund or threatens to cancel their subscription."""


def answer(question: str) -> str:
    now = datetime.now()
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": f"Today is {now}. " + RULES},
            {"role": "user", "content": question},
        ],
    )
'''

# No call site: PC101 only when `greeting` is a prompt name (`prompt-names`).
GREETING = '''\
RULES = """You are the support agent of Acme Cloud. Answer questions about hosting plans,
billing and deployments. Be concise and factual, never invent account details, and escalate
to a human when the customer asks for a refund or threatens to cancel their subscription."""


def build(name: str) -> str:
    greeting = f"Hello {name}. {RULES}"
    return greeting
'''

# Two calls sharing a 15-token line after different first lines (PC302 under
# `min-shared-tokens` 15); the second repeats that line (PC301 under `min-repeated-tokens` 15).
# Their stable prefixes, 19 and 34 tokens, are far under OpenAI's 1,024 (PC401 from a
# `near-minimum-share` of 0.018 and 0.033).
SHARED = """\
from openai import OpenAI

client = OpenAI()
POLICY = "Answer questions about hosting plans, billing and deployments. Be concise and factual."


def billing(question: str) -> object:
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "You handle billing.\\n" + POLICY},
            {"role": "user", "content": question},
        ],
    )


def support(question: str) -> object:
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "You handle support.\\n" + POLICY + "\\n" + POLICY},
            {"role": "user", "content": question},
        ],
    )
"""


def one_call(first_line: str) -> str:
    """A module with one call: `first_line`, then the 15-token policy line."""
    start = SHARED.index("def support")
    return SHARED[:start].replace("You handle billing.", first_line)


# One call whose static system prompt of ~2,850 tokens is cached by OpenAI (minimum 1,024) but
# not by Claude Haiku 4.5 (minimum 4,096).
LONG_RULES = "\n".join(
    f"Regel {i}: antworte kurz über Thema {i}, ohne Floskeln." for i in range(150)
)
LONG = f'''\
from openai import OpenAI

client = OpenAI()
RULES = """{LONG_RULES}"""


def answer(question: str) -> object:
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {{"role": "system", "content": RULES}},
            {{"role": "user", "content": question}},
        ],
    )
'''


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def run(*args: str, input: str | None = None) -> Run:
    result = CliRunner().invoke(main, list(args), input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def lint(*args: str) -> list[tuple[str, str]]:
    """(path, code) of each finding of `check --format json ARGS`."""
    result = run("check", "--format", "json", *args)
    assert result.code in (0, 1), result.stderr
    return [(f["path"], f["code"]) for f in json.loads(result.stdout)]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture()
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


# --- 1. Which config applies -------------------------------------------------------------------


def test_nearest_config_wins_in_nested_projects(cwd: Path) -> None:
    write(cwd / "pyproject.toml", '[tool.promptlint]\nignore = ["PC102"]\n')
    write(cwd / "svc/promptlint.toml", 'select = ["PC102"]\n')
    for rel in ("a.py", "pkg/b.py", "svc/c.py", "svc/deep/d.py"):
        write(cwd / rel, BAD)
    # The nested project's config replaces the outer one whole (its `ignore` does not carry over).
    assert lint(".") == [
        ("./a.py", "PC101"),
        ("./pkg/b.py", "PC101"),
        ("./svc/c.py", "PC102"),
        ("./svc/deep/d.py", "PC102"),
    ]
    # The same from inside the nested project, and for files named one by one.
    assert lint("svc/c.py", "pkg/b.py") == [("pkg/b.py", "PC101"), ("svc/c.py", "PC102")]
    os.chdir(cwd / "svc/deep")
    assert lint(".", "../../a.py") == [("../../a.py", "PC101"), ("./d.py", "PC102")]


def test_promptlint_toml_wins_over_pyproject_in_the_same_directory(cwd: Path) -> None:
    write(cwd / "pyproject.toml", '[tool.promptlint]\nselect = ["PC101"]\n')
    write(cwd / "promptlint.toml", 'select = ["PC102"]\n')
    write(cwd / "a.py", BAD)
    assert lint("a.py") == [("a.py", "PC102")]


def test_a_pyproject_without_the_table_does_not_count(cwd: Path) -> None:
    write(cwd / "pyproject.toml", '[tool.promptlint]\nselect = ["PC102"]\n')
    # Not ours (and not even valid TOML): skipped without being parsed, the search goes on up.
    write(cwd / "lib/pyproject.toml", "[tool.black]\nline-length = 100\n")
    write(cwd / "other/pyproject.toml", "[tool.black\n")
    write(cwd / "lib/a.py", BAD)
    write(cwd / "other/b.py", BAD)
    assert lint(".") == [("./lib/a.py", "PC102"), ("./other/b.py", "PC102")]


def test_files_under_no_config_get_the_defaults(cwd: Path) -> None:
    write(cwd / "a.py", BAD)
    assert lint("a.py") == [("a.py", "PC101"), ("a.py", "PC102")]


def test_settings_are_resolved_once_per_config_and_shared(cwd: Path) -> None:
    write(cwd / "promptlint.toml", 'per-file-ignores = {"tests/*" = ["PC101"]}\n')
    resolver = Resolver()
    one, two = resolver.settings_for("a.py"), resolver.settings_for(cwd / "pkg/b.py")
    assert one is two and hash(one) == hash(Settings())
    tests = resolver.settings_for("tests/t.py")
    assert tests.ignore == ("PC101",) and tests is resolver.settings_for("tests/u.py")


# --- 2. What each key does ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "source", "expected"),
    [
        ("", BAD, ["PC101", "PC102"]),
        ('select = ["PC102"]', BAD, ["PC102"]),
        ('select = ["dynamic-before-static"]', BAD, ["PC101"]),
        ('ignore = ["PC1"]', BAD, []),
        ('select = ["PC000"]\nextend-select = ["PC102"]', BAD, ["PC102"]),
        ('select = ["PC1"]\nignore = ["PC101"]', BAD, ["PC102"]),
        ("min-static-tokens = 52", BAD, ["PC102"]),
        ("min-static-tokens = 51", BAD, ["PC101", "PC102"]),
        ("", GREETING, []),
        ('prompt-names = ["greet*"]', GREETING, ["PC101"]),
        ("", SHARED, ["PC301"]),
        ("min-repeated-tokens = 16", SHARED, []),
        ("min-repeated-tokens = 15", SHARED, ["PC301"]),
        ("min-shared-tokens = 15", SHARED, ["PC301", "PC302"]),
        ("min-shared-tokens = 16", SHARED, ["PC301"]),
        ("near-minimum-share = 0.018", SHARED, ["PC401", "PC301", "PC401"]),
        ("near-minimum-share = 0.033", SHARED, ["PC301", "PC401"]),
        ("near-minimum-share = 0.034", SHARED, ["PC301"]),
        # Claude Haiku 4.5's minimum is 4,096: 0.018 of it is over 19 and 34 tokens.
        ('near-minimum-share = 0.018\nprovider = "anthropic-haiku-4-5"', SHARED, ["PC301"]),
    ],
)
def test_each_key_changes_the_findings(
    cwd: Path, toml: str, source: str, expected: list[str]
) -> None:
    write(cwd / "promptlint.toml", toml + "\n")
    write(cwd / "mod.py", source)
    assert [code for _, code in lint("mod.py")] == expected


def report(*args: str) -> dict[str, Any]:
    result = run("report", "--format", "json", *args)
    assert result.code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def figures(data: dict[str, Any]) -> tuple[Any, ...]:
    [site] = data["call_sites"]
    keys = ("profile", "static_prefix_tokens", "estimated_total_tokens", "cache_eligible_tokens")
    return (data["encoding"], data["provider"], *(site[key] for key in keys))


def test_report_uses_provider_model_encoding_and_dynamic_tokens(cwd: Path) -> None:
    write(cwd / "mod.py", LONG)
    static = 2850  # o200k_base
    assert figures(report("mod.py")) == (
        "o200k_base",
        "auto",
        "openai-gpt-4o",
        static,
        static + 64,
        2816,
    )
    write(cwd / "promptlint.toml", 'provider = "anthropic"\nmodel = "claude-haiku-4-5"\n')
    assert figures(report("mod.py")) == (
        "o200k_base",
        "anthropic",
        "anthropic-haiku-4-5",
        static,
        static + 64,
        0,
    )
    write(cwd / "promptlint.toml", "dynamic-tokens = 10\n")
    assert figures(report("mod.py"))[3:5] == (static, static + 10)
    write(cwd / "promptlint.toml", 'encoding = "cl100k_base"\n')
    counted = figures(report("mod.py"))
    assert counted[0] == "cl100k_base" and counted[3] != static


def test_report_excludes_what_the_config_excludes(cwd: Path) -> None:
    write(cwd / "promptlint.toml", 'extend-exclude = ["gen/"]\n')
    write(cwd / "mod.py", BAD)
    write(cwd / "gen/copy.py", BAD)
    assert [s["path"] for s in report(".")["call_sites"]] == ["./mod.py"]


# --- 3. per-file-ignores -----------------------------------------------------------------------


def test_per_file_ignores_are_relative_to_the_config_directory(cwd: Path) -> None:
    write(
        cwd / "proj/pyproject.toml",
        """\
        [tool.promptlint.per-file-ignores]
        "tests/*" = ["PC101"]
        "*_legacy.py" = ["volatile-in-prompt", "PC101"]
        "!src/**" = ["PC102"]
        """,
    )
    for rel in ("src/a.py", "src/old_legacy.py", "tests/t.py", "tests/sub/u.py", "x.py"):
        write(cwd / "proj" / rel, BAD)
    write(cwd / "tests/outside.py", BAD)  # another project: `tests/*` is anchored to proj/
    assert lint(".") == [
        ("./proj/src/a.py", "PC101"),
        ("./proj/src/a.py", "PC102"),
        ("./proj/x.py", "PC101"),
        ("./tests/outside.py", "PC101"),
        ("./tests/outside.py", "PC102"),
    ]


def test_per_file_ignores_apply_even_with_select_on_the_command_line(cwd: Path) -> None:
    write(cwd / "promptlint.toml", 'per-file-ignores = {"a.py" = ["PC1"]}\n')
    write(cwd / "a.py", BAD)
    write(cwd / "b.py", BAD)
    assert lint(".", "--select", "PC101") == [("./b.py", "PC101")]


def test_project_wide_rules_use_the_root_config_and_each_files_selection(cwd: Path) -> None:
    # PC302 runs once, with the thresholds of the config nearest to the current directory; its
    # findings are kept where the file's own config selects the rule.
    write(cwd / "promptlint.toml", 'select = ["PC302"]\nmin-shared-tokens = 15\n')
    write(cwd / "a/mod.py", one_call("You handle billing."))
    write(cwd / "b/promptlint.toml", 'select = ["PC1"]\nmin-shared-tokens = 15\n')
    write(cwd / "b/mod.py", one_call("You handle sales."))
    write(cwd / "c/promptlint.toml", 'select = ["PC302"]\nmin-shared-tokens = 1000\n')
    write(cwd / "c/mod.py", one_call("You handle support."))
    assert lint(".") == [("./c/mod.py", "PC302")]
    # Run from b/, whose config does not select PC302, it still runs for a/ and c/, with b's
    # threshold; b's default threshold, 256 tokens, would find nothing.
    os.chdir(cwd / "b")
    assert lint("..") == [("../c/mod.py", "PC302")]
    write(cwd / "b/promptlint.toml", 'select = ["PC1"]\n')
    assert lint("..") == []


# --- 4. Exclusion ------------------------------------------------------------------------------


@pytest.fixture()
def tree(cwd: Path) -> Path:
    for rel in ("src/a.py", "gen/g.py", "build/b.py", "src/gen/h.py", "sub/gen/s.py", "sub/k.py"):
        write(cwd / rel, BAD)
    return cwd


def paths(*args: str) -> list[str]:
    return sorted({path for path, _ in lint(*args)})


def test_extend_exclude_adds_to_the_default_skip_list(tree: Path) -> None:
    write(tree / "promptlint.toml", 'extend-exclude = ["/gen/"]\n')
    assert paths(".") == ["./src/a.py", "./src/gen/h.py", "./sub/gen/s.py", "./sub/k.py"]


def test_exclude_replaces_the_default_skip_list(tree: Path) -> None:
    write(tree / "promptlint.toml", 'exclude = ["gen"]\n')
    assert paths(".") == ["./build/b.py", "./src/a.py", "./sub/k.py"]


def test_a_nested_configs_patterns_are_relative_to_its_directory(tree: Path) -> None:
    write(tree / "promptlint.toml", 'extend-exclude = ["/src/"]\n')
    write(tree / "sub/promptlint.toml", 'extend-exclude = ["/gen/"]\n')
    assert paths(".") == ["./gen/g.py", "./sub/k.py"]


def test_named_files_are_linted_unless_force_exclude(tree: Path) -> None:
    write(tree / "promptlint.toml", 'extend-exclude = ["gen/"]\n')
    named = ("gen/g.py", "build/b.py", "src/a.py")
    assert paths(*named) == ["build/b.py", "gen/g.py", "src/a.py"]
    assert paths("--force-exclude", *named) == ["src/a.py"]
    # A directory named explicitly is walked (its own excluded subdirectories are not) ...
    assert paths("gen", "src") == ["gen/g.py", "src/a.py"]
    # ... unless --force-exclude applies the patterns to it too.
    assert paths("--force-exclude", "gen", "src") == ["src/a.py"]


def test_force_exclude_applies_to_stdin(tree: Path) -> None:
    write(tree / "promptlint.toml", 'extend-exclude = ["gen/"]\n')
    args = ("check", "--format", "json", "--force-exclude", "--stdin-filename")
    assert run(*args, "gen/new.py", input=BAD) == Run(0, "[]\n", "")
    assert run(*args, "src/new.py", input=BAD).code == 1


def test_respect_gitignore(tree: Path) -> None:
    write(tree / ".gitignore", "src/\n")
    assert "./src/a.py" not in paths(".")
    write(tree / "promptlint.toml", "respect-gitignore = false\n")
    assert "./src/a.py" in paths(".")


def test_discovery_without_a_resolver_is_unchanged(tree: Path) -> None:
    write(tree / "promptlint.toml", 'exclude = ["src/"]\n')
    shown = [s.display for s in discover(["."])]
    assert "./src/a.py" in shown and "./build/b.py" not in shown


# --- 5. The command line over the config ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), ["PC102"]),
        # --select replaces the config's select, extend-select and ignore.
        (("--select", "PC1"), ["PC101", "PC102"]),
        (("--select", "PC101"), ["PC101"]),
        # --extend-select and --ignore add to the config's selection; ignore wins over select.
        (("--extend-select", "PC000"), ["PC102"]),
        (("--extend-select", "PC101"), ["PC102"]),
        (("--ignore", "PC102"), []),
        (("--select", "PC1", "--ignore", "PC102"), ["PC101"]),
    ],
)
def test_command_line_selection_over_config(
    cwd: Path, args: tuple[str, ...], expected: list[str]
) -> None:
    toml = 'select = ["PC000"]\nextend-select = ["PC1"]\nignore = ["PC101"]\n'
    write(cwd / "promptlint.toml", toml)
    write(cwd / "a.py", BAD)
    assert [code for _, code in lint("a.py", *args)] == expected


def test_command_line_extend_select_adds_to_the_config(cwd: Path) -> None:
    write(cwd / "promptlint.toml", 'select = ["PC102"]\n')
    write(cwd / "a.py", BAD)
    assert [code for _, code in lint("a.py", "--extend-select", "PC101")] == ["PC101", "PC102"]


def test_command_line_provider_and_model_over_config(cwd: Path) -> None:
    write(cwd / "promptlint.toml", 'provider = "openai"\nmodel = "gpt-4.1"\n')
    write(cwd / "a.py", LONG)
    assert figures(report("a.py"))[1:3] == ("openai", "openai-gpt-4-1")
    data = report("a.py", "--provider", "anthropic", "--model", "claude-haiku-4-5")
    assert figures(data)[1:3] == ("anthropic", "anthropic-haiku-4-5")
    # Only the model on the command line: the config's provider stays.
    assert figures(report("a.py", "--model", "gpt-4o"))[1:3] == ("openai", "openai-gpt-4o")


def test_config_option_is_used_for_every_file(cwd: Path) -> None:
    write(cwd / "ci/strict.toml", 'select = ["PC102"]\nextend-exclude = ["/skipped/"]\n')
    write(cwd / "svc/promptlint.toml", 'select = ["PC101"]\n')  # not looked at
    write(cwd / "svc/a.py", BAD)
    # The patterns of a --config file are relative to the current directory, as with ruff.
    write(cwd / "ci/skipped/b.py", BAD)
    write(cwd / "skipped/c.py", BAD)
    assert lint(".", "--config", "ci/strict.toml") == [
        ("./ci/skipped/b.py", "PC102"),
        ("./svc/a.py", "PC102"),
    ]
    # A pyproject.toml given with --config is read for its [tool.promptlint] table.
    write(cwd / "alt/pyproject.toml", '[tool.promptlint]\nselect = ["PC101"]\n')
    assert lint("svc/a.py", "--config", "alt/pyproject.toml") == [("svc/a.py", "PC101")]


def test_stdin_filename_finds_the_config_from_its_name(cwd: Path) -> None:
    write(cwd / "svc/promptlint.toml", 'select = ["PC102"]\n')
    args = ("check", "--format", "json", "--stdin-filename")
    out = run(*args, "svc/new.py", input=BAD)
    assert [f["code"] for f in json.loads(out.stdout)] == ["PC102"]
    out = run(*args, "new.py", input=BAD)
    assert [f["code"] for f in json.loads(out.stdout)] == ["PC101", "PC102"]


# --- 6. --show-settings --------------------------------------------------------------------------


def test_show_settings_prints_the_resolved_settings_and_their_file(cwd: Path) -> None:
    write(
        cwd / "pyproject.toml",
        """\
        [tool.promptlint]
        ignore = ["PC102"]
        extend-exclude = ["gen/"]
        min-static-tokens = 64
        provider = "anthropic"
        per-file-ignores = {"tests/*" = ["PC101"]}
        """,
    )
    result = run("check", "--show-settings", "tests/t.py", "--extend-select", "PC9")
    assert result.code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[:6] == [
        "# settings for tests/t.py",
        "# config file: pyproject.toml [tool.promptlint]",
        "# rules enabled: PC000 PC103 PC201 PC202 PC301 PC302 PC401 PC402 PC403 PC404 PC405 PC900",
        'select = ["PC", "PC9"]',
        'ignore = ["PC102", "PC101"]  # with the per-file-ignores of this file',
        'per-file-ignores = {"tests/*" = ["PC101"]}',
    ]
    assert lines[6].startswith('exclude = [".eggs", ".git",') and lines[6].endswith("# default")
    assert lines[7:] == [
        'extend-exclude = ["gen/"]',
        "respect-gitignore = true",
        'provider = "anthropic"',
        "# model: as each call says",
        "min-static-tokens = 64",
        "dynamic-tokens = 64",
        'prompt-names = ["*PROMPT*", "*SYSTEM*", "*INSTRUCTION*", "*TEMPLATE*"]',
        'encoding = "o200k_base"',
        "min-repeated-tokens = 8",
        "min-shared-tokens = 256",
        "near-minimum-share = 0.25",
        "max-file-size = 2000000",
        "# patterns are relative to .",
    ]


def test_show_settings_without_a_config_file(cwd: Path) -> None:
    result = run("check", "--show-settings")
    assert result.code == 0
    assert result.stdout.splitlines()[:2] == [
        "# settings for .",
        "# config file: none (built-in defaults)",
    ]


def test_every_setting_is_shown_and_has_a_key() -> None:
    text = config_module.describe(".", config_module.defaults("/"), Settings(), ())
    keys = {line.split(" = ")[0].lstrip("# ").split(":")[0] for line in text.splitlines()}
    for f in fields(Settings):
        assert f.name.replace("_", "-") in keys
        assert f.name.replace("_", "-") in config_module.KEYS


# --- 7. Errors: exit 2, naming the file and the key, before anything is linted -------------------


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            'selct = ["PC1"]',
            "key 'selct': unknown key (did you mean 'select'?); valid: select, extend-select, "
            "ignore, per-file-ignores, exclude, extend-exclude, respect-gitignore, provider, "
            "model, encoding, dynamic-tokens, prompt-names, min-static-tokens, "
            "min-repeated-tokens, min-shared-tokens, near-minimum-share",
        ),
        ("min_static_tokens = 3", "key 'min_static_tokens': unknown key (did you mean"),
        (
            'select = "PC1"',
            "key 'select': expected an array of strings, got a string; valid: an array of rule "
            "codes, code prefixes or rule names",
        ),
        (
            'select = ["PC999"]',
            "key 'select': unknown rule selector 'PC999'; valid: ALL, a code prefix such as PC1, "
            "or one of PC000 (parse-error), PC101 (dynamic-before-static),",
        ),
        ('ignore = ["nope"]', "key 'ignore': unknown rule selector 'nope'; valid: ALL,"),
        ("extend-select = [1]", "key 'extend-select': expected an array of strings, found an"),
        (
            'per-file-ignores = {"tests/*" = ["PC9999"]}',
            "key 'per-file-ignores': pattern 'tests/*': unknown rule selector 'PC9999'; valid:",
        ),
        ('per-file-ignores = ["x"]', "key 'per-file-ignores': expected a table, got an array"),
        (
            'dynamic-tokens = "64"',
            "key 'dynamic-tokens': expected an integer, got a string; valid: an integer >= 0",
        ),
        ("dynamic-tokens = -1", "key 'dynamic-tokens': -1 is below 0; valid: an integer >= 0"),
        ("min-static-tokens = true", "key 'min-static-tokens': expected an integer, got a bool"),
        ("min-shared-tokens = 0", "key 'min-shared-tokens': 0 is below 1; valid: an integer >= 1"),
        ("near-minimum-share = 1.5", "key 'near-minimum-share': 1.5 is not between 0 and 1"),
        ("respect-gitignore = 1", "key 'respect-gitignore': expected a boolean, got an integer"),
        (
            'provider = "opnai"',
            "key 'provider': unknown provider 'opnai' (did you mean 'openai'?); valid: a "
            "provider (openai, anthropic,",
        ),
        ('model = ""', "key 'model': expected a name, got an empty string"),
        (
            'encoding = "p50k_base"',
            "key 'encoding': unknown encoding 'p50k_base'; valid: o200k_base, cl100k_base",
        ),
        ('prompt-names = "*PROMPT*"', "key 'prompt-names': expected an array of strings"),
        ('exclude = ["!"]', "key 'exclude': invalid pattern '!'; valid: an array of gitignore"),
        ('extend-exclude = "gen"', "key 'extend-exclude': expected an array of strings, got"),
    ],
)
def test_a_bad_key_or_value_stops_the_run(cwd: Path, toml: str, message: str) -> None:
    write(cwd / "sub/promptlint.toml", toml + "\n")
    write(cwd / "a.py", BAD)
    write(cwd / "sub/b.py", BAD)
    result = run("check", ".")
    assert result.code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"promptlint: error: sub/promptlint.toml: {message}")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("select = [\n", "2:1: invalid TOML: Invalid value"),
        ('select = ["PC1"]\nignore = \n', "2:10: invalid TOML: Invalid value"),
        ("[tool.promptlint\n", "1:17: invalid TOML: Expected ']' at the end of a table"),
    ],
)
def test_malformed_toml_names_file_line_and_column(cwd: Path, text: str, message: str) -> None:
    write(cwd / "promptlint.toml", text)
    write(cwd / "a.py", BAD)
    result = run("check", "a.py")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"promptlint: error: promptlint.toml:{message}")


def test_errors_in_pyproject_name_the_file(cwd: Path) -> None:
    write(cwd / "a.py", BAD)
    write(cwd / "pyproject.toml", "[tool.promptlint]\nselct = []\n")
    result = run("check", "a.py")
    assert result.code == 2
    assert result.stderr.startswith("promptlint: error: pyproject.toml: key 'selct': unknown key")
    write(cwd / "pyproject.toml", "[tool]\npromptlint = 3\n")
    result = run("report", "a.py")
    assert result.code == 2
    assert result.stderr == (
        "promptlint: error: pyproject.toml: key 'tool.promptlint': expected a table, got an "
        "integer; valid: a [tool.promptlint] table\n"
    )
    write(cwd / "pyproject.toml", '[tool.promptlint]\nname = "x\n')
    assert run("check", "a.py").stderr == (
        "promptlint: error: pyproject.toml:2:10: invalid TOML: Illegal character '\\n'\n"
    )


def test_a_bad_config_file_given_with_the_config_option(cwd: Path) -> None:
    write(cwd / "a.py", BAD)
    result = run("check", "--config", "missing.toml", "a.py")
    assert (result.code, result.stderr) == (
        2,
        "promptlint: error: --config missing.toml: no such file\n",
    )
    write(cwd / "other/pyproject.toml", "[tool.black]\n")
    result = run("check", "--config", "other/pyproject.toml", "a.py")
    assert result.code == 2
    assert result.stderr.startswith(
        "promptlint: error: other/pyproject.toml: has no [tool.promptlint] table"
    )
    write(cwd / "bad.toml", 'encoding = "nope"\n')
    result = run("report", "--config", "bad.toml", "a.py")
    assert result.code == 2 and "bad.toml: key 'encoding': unknown encoding" in result.stderr


def test_a_bad_config_in_a_directory_walked_stops_the_run(cwd: Path) -> None:
    write(cwd / "a.py", BAD)
    write(cwd / "deep/er/promptlint.toml", "dynamic-tokens = 1.5\n")
    result = run("check", "--format", "json", ".")
    assert result.code == 2 and result.stdout == ""
    assert "deep/er/promptlint.toml: key 'dynamic-tokens': expected an integer" in result.stderr


# --- 8. The cache and the process pool with per-file settings -----------------------------------


def test_changing_one_projects_config_re_extracts_only_its_files(
    cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(cwd / "one/greet.py", GREETING)
    write(cwd / "two/greet.py", GREETING)
    write(cwd / "two/promptlint.toml", 'prompt-names = ["*PROMPT*"]\n')
    args = ("--jobs", "1", "--cache-dir", "cache")
    cold = run("check", "--format", "json", ".", *args)
    assert cold.code == 0

    calls: list[str] = []
    real = pipeline.extract_file

    def counting(display: str, data: bytes, *rest: Any, **kwargs: Any) -> FileModel:
        calls.append(display)
        return real(display, data, *rest, **kwargs)

    monkeypatch.setattr(pipeline, "extract_file", counting)
    assert run("check", "--format", "json", ".", *args) == cold
    assert calls == []
    # A threshold or the selection is not part of extraction: nothing is extracted again.
    write(cwd / "two/promptlint.toml", 'prompt-names = ["*PROMPT*"]\nmin-static-tokens = 5\n')
    assert run("check", "--format", "json", ".", *args) == cold
    assert calls == []
    write(cwd / "two/promptlint.toml", 'prompt-names = ["greet*"]\n')
    warm = run("check", "--format", "json", ".", *args)
    assert calls == ["./two/greet.py"]
    assert [f["path"] for f in json.loads(warm.stdout)] == ["./two/greet.py"]
    assert warm == run("check", "--format", "json", ".", "--no-cache", "--jobs", "1")


def test_the_pool_extracts_each_file_with_its_own_settings(cwd: Path) -> None:
    for index in range(6):
        write(cwd / f"f{index}.py", GREETING)
    files = discover(["."])
    each = [Settings(prompt_names=("greet*",) if i % 2 else ()) for i in range(len(files))]
    serial = extract_all(files, each, jobs=1)
    assert serial == extract_all(files, each, jobs=2, min_files=0)
    assert [bool(model.templates) for _, model in serial] == [False, True] * 3


def test_extraction_reads_only_the_fields_the_cache_keys_it_by(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Extraction must read no option outside EXTRACTION_FIELDS: the cache would otherwise
    serve a model made under other settings."""
    read: set[str] = set()
    names = {f.name for f in fields(Settings)}

    class Recording(Settings):
        def __getattribute__(self, name: str) -> Any:
            if name in names:
                read.add(name)
            return super().__getattribute__(name)

    settings = Recording(prompt_names=("*PROMPT*", "greet*"))
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    for path in sorted(fixtures.rglob("*.py")):
        data = path.read_bytes()
        pipeline.extract_file(str(path), data, settings, None, exports=False)
        pipeline.extract_file(str(path), data, settings, None, exports=True)
    for source in (BAD, GREETING, SHARED):
        pipeline.extract_file("x.py", source.encode(), settings, None, exports=False)
    assert read and read <= set(EXTRACTION_FIELDS)


def test_overrides_reach_every_config() -> None:
    overrides = Overrides(select=("PC1",), ignore=("PC101",), provider="openai", model="gpt-4.1")
    settings = config_module.defaults("/", overrides).settings
    assert (settings.select, settings.ignore) == (("PC1",), ("PC101",))
    assert (settings.provider, settings.model) == ("openai", "gpt-4.1")
