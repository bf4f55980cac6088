"""Fixes: what each rule's fix does to a small example (exact before/after text), how fixes are
applied (order, overlaps, re-parsing, atomic writes that keep the file's bytes otherwise), the CLI
options (`--fix`, `--unsafe-fixes`, `--diff`, `--show-fixes`), and a property test over generated
prompt-shaped code: every fix offered parses, settles, and removes what it fixes."""

from __future__ import annotations

import ast
import json
import re
import shutil
import stat
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptlint.checks import RULES
from promptlint.cli import main
from promptlint.config import Settings
from promptlint.engine import CheckResult, check_source
from promptlint.estimate import Estimator
from promptlint.fixes import FixRun, apply_fixes, digest, fix_run, write_atomically
from promptlint.model import Edit, Finding, Fix, Severity
from promptlint.providers import bundled_profiles
from promptlint.ruledocs import pages_dir
from promptlint.tokens import TokenCounter

REPO = Path(__file__).resolve().parents[1]
ESTIMATOR = Estimator(TokenCounter(), bundled_profiles(), dynamic_tokens=64)
STATIC = (
    "You answer questions from customers of Acme Cloud about billing, outages and accounts. "
    "Quote the documentation page you rely on, keep answers under one hundred words, and say "
    "so plainly when the documentation does not answer the question. Never promise refunds."
)


def lint(data: bytes, name: str = "app.py") -> CheckResult:
    return check_source(name, data, Settings(), RULES, ESTIMATOR)


def fix_text(source: str, unsafe: bool = False) -> tuple[str, FixRun]:
    """Fix a source in memory, as `--diff` does, until it settles."""
    data = textwrap.dedent(source).encode()
    run = fix_run(
        lint(data),
        {"app.py": data},
        lambda contents: lint(contents.get("app.py", data)),
        unsafe=unsafe,
        write=False,
    )
    return run.changed.get("app.py", (data, data))[1].decode(), run


def codes(source: str) -> list[str]:
    return [f.code for f in lint(textwrap.dedent(source).encode()).findings]


HEAD = """\
import json
import os
from datetime import datetime

from openai import OpenAI

client = OpenAI()
TAGS = {"billing", "outage", "account"}
"""


def call(system: str) -> str:
    return (
        "\n\ndef ask(question, data, user):\n"
        f"    system = {system}\n"
        "    return client.chat.completions.create(\n"
        '        model="gpt-4o",\n'
        '        messages=[{"role": "system", "content": system}, '
        '{"role": "user", "content": question}],\n'
        "    )\n"
    )


# -- each fix on a small example -------------------------------------------------------------------


def test_pc201_wraps_the_joined_set_in_sorted() -> None:
    before = HEAD + call(f'"{STATIC} Queues: " + ", ".join(TAGS)')
    after, run = fix_text(before)
    assert after == HEAD + call(f'"{STATIC} Queues: " + ", ".join(sorted(TAGS))')
    assert [f.code for f in run.applied] == ["PC201"]
    assert "PC201" not in codes(after)


def test_pc201_wraps_a_generator_argument() -> None:
    before = HEAD + call(f'"{STATIC}" + "\\n".join(f"- {{t}}" for t in TAGS)')
    after, _ = fix_text(before)
    assert after == HEAD + call(f'"{STATIC}" + "\\n".join(sorted(f"- {{t}}" for t in TAGS))')


def test_pc201_wraps_a_directory_listing_in_a_multiline_join() -> None:
    before = HEAD + call(f'"{STATIC}" + ", ".join(\n        os.listdir("docs")\n    )')
    after, _ = fix_text(before)
    assert after == HEAD + call(
        f'"{STATIC}" + ", ".join(\n        sorted(os.listdir("docs"))\n    )'
    )


def test_pc201_offers_no_fix_for_a_for_loop() -> None:
    source = HEAD + textwrap.dedent(
        f"""
        def ask(question):
            parts = []
            for tag in TAGS:
                parts.append(tag)
            system = "{STATIC}" + ", ".join(parts)
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[{{"role": "system", "content": system}},
                          {{"role": "user", "content": question}}],
            )
        """
    )
    found = [f for f in lint(source.encode()).findings if f.code == "PC201"]
    assert found and all(f.fix is None for f in found)


@pytest.mark.parametrize(
    ("dumps", "fixed"),
    [
        ("json.dumps(data)", "json.dumps(data, sort_keys=True)"),
        ("json.dumps(data, indent=2)", "json.dumps(data, indent=2, sort_keys=True)"),
        ("json.dumps(data, indent=2,)", "json.dumps(data, indent=2, sort_keys=True,)"),
        ("json.dumps(data, sort_keys=False)", "json.dumps(data, sort_keys=True)"),
        (
            "json.dumps(\n        data,\n        indent=2,\n    )",
            "json.dumps(\n        data,\n        indent=2, sort_keys=True,\n    )",
        ),
    ],
)
def test_pc202_adds_sort_keys(dumps: str, fixed: str) -> None:
    after, run = fix_text(HEAD + call(f'"{STATIC}" + {dumps}'))
    assert after == HEAD + call(f'"{STATIC}" + {fixed}')
    assert [f.code for f in run.applied] == ["PC202"]


@pytest.mark.parametrize(
    "dumps", ["json.dumps(data, **options)", "json.dumps(data, sort_keys=flag)"]
)
def test_pc202_offers_no_fix_when_the_call_may_choose_itself(dumps: str) -> None:
    source = HEAD + call(f'"{STATIC}" + {dumps}').replace("user):", "user, options, flag):")
    found = [f for f in lint(source.encode()).findings if f.code == "PC202"]
    assert found and all(f.fix is None for f in found)


def test_pc202_fixes_the_dumps_call_a_name_was_bound_to() -> None:
    before = HEAD + call(f'"{STATIC}" + blob').replace(
        "    system =", "    blob = json.dumps(data)\n    system ="
    )
    after, _ = fix_text(before)
    assert after == before.replace("json.dumps(data)", "json.dumps(data, sort_keys=True)")


def test_pc101_moves_the_sentence_with_the_value_to_the_end() -> None:
    before = HEAD + call(f'f"""Hello {{user}}. {STATIC}\n"""')
    assert codes(before) == ["PC101"]
    safe, _ = fix_text(before)
    assert safe == before  # unsafe: not without --unsafe-fixes
    after, run = fix_text(before, unsafe=True)
    assert after == HEAD + call(f'f"""{STATIC} Hello {{user}}.\n"""')
    assert [f.code for f in run.applied] == ["PC101"]
    assert codes(after) == []


def test_pc101_moves_a_paragraph_and_keeps_the_blank_lines() -> None:
    before = HEAD + call(f'f"""Customer: {{user}}\n\n{STATIC}\n\nBe brief."""')
    after, _ = fix_text(before, unsafe=True)
    assert after == HEAD + call(f'f"""{STATIC}\n\nBe brief.\n\nCustomer: {{user}}"""')


def test_pc101_moves_across_escaped_newlines() -> None:
    before = HEAD + call(f'f"Customer: {{user}}.\\n\\n{STATIC}"')
    after, _ = fix_text(before, unsafe=True)
    assert after == HEAD + call(f'f"{STATIC}\\n\\nCustomer: {{user}}."')


def test_pc101_offers_no_move_for_a_concatenation() -> None:
    source = HEAD + call(f'f"Customer: {{user}}. " + "{STATIC}"')
    found = [f for f in lint(source.encode()).findings if f.code == "PC101"]
    assert found and found[0].fix is None


def test_pc102_moves_the_volatile_value_and_its_finding_stays_without_a_fix() -> None:
    before = HEAD + call(f'f"""Today is {{datetime.now()}}. {STATIC}\n"""')
    assert codes(before) == ["PC101", "PC102"]
    after, run = fix_text(before, unsafe=True)
    assert after == HEAD + call(f'f"""{STATIC} Today is {{datetime.now()}}.\n"""')
    assert sorted(f.code for f in run.applied) == ["PC101", "PC102"]  # one edit, both findings
    remaining = lint(after.encode()).findings
    assert [f.code for f in remaining] == ["PC102"]  # still in the system prompt
    assert remaining[0].fix is None  # nothing left to move: applying again changes nothing


ANTHROPIC = """\
from anthropic import Anthropic

client = Anthropic()
RULES = "{static}"


def ask(question{params}):
    return client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=1024,
        system={system},
        messages={messages},
    )
"""
# Over Sonnet's 1,024-token minimum, with no sentence twice (PC301).
LONG_STATIC = " ".join(
    f"Rule {i}: tickets of class {i * 7} go to queue {i % 5} within {i + 2} hours."
    for i in range(90)
)


def anthropic(system: str, messages: str, params: str = "") -> str:
    return ANTHROPIC.format(static=LONG_STATIC, system=system, messages=messages, params=params)


def test_pc402_makes_a_static_system_string_a_cached_block() -> None:
    before = anthropic("RULES", '[{"role": "user", "content": question}]')
    assert codes(before) == ["PC402"]
    assert fix_text(before)[0] == before  # unsafe
    after, _ = fix_text(before, unsafe=True)
    system = '[{"type": "text", "text": RULES, "cache_control": {"type": "ephemeral"}}]'
    assert after == anthropic(system, '[{"role": "user", "content": question}]')
    assert codes(after) == []


def test_pc402_adds_the_request_level_breakpoint_in_a_conversation() -> None:
    # The static system text is split over two blocks: no single block to mark, but the
    # conversation's history makes the automatic breakpoint useful.
    system = '[{"type": "text", "text": RULES}, {"type": "text", "text": "Be brief."}]'
    messages = '[*history, {"role": "user", "content": question}]'
    before = anthropic(system, messages, ", history")
    assert codes(before) == ["PC402"]
    after, _ = fix_text(before, unsafe=True)
    assert after == before.replace(
        f"messages={messages},", f'messages={messages}, cache_control={{"type": "ephemeral"}},'
    )
    assert codes(after) == []


def test_pc402_offers_nothing_that_would_not_cache() -> None:
    # A one-off request with a dynamic end and no single static block: the automatic breakpoint
    # would land on the question and never be read.
    system = '[{"type": "text", "text": RULES}, {"type": "text", "text": "Be brief."}]'
    source = anthropic(system, '[{"role": "user", "content": question}]')
    found = lint(source.encode()).findings
    assert [f.code for f in found] == ["PC402"] and found[0].fix is None


_BAD = re.compile(r"^```python bad[ \t]*\n(?P<code>.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
PAGE_EXAMPLES = [
    pytest.param(match.group("code"), id=f"{page.stem}-bad-{index}")
    for page in sorted(pages_dir().glob("PC*.md"))
    for index, match in enumerate(_BAD.finditer(page.read_text(encoding="utf-8")), start=1)
]


@pytest.mark.parametrize("source", PAGE_EXAMPLES)
def test_rule_page_examples_fix_cleanly(source: str) -> None:
    """Every fix a page's Bad example is offered parses, and removes its finding (PC102's moves
    the value to the end of its template, where it is still reported, with no fix left)."""
    offered = {f.code for f in lint(source.encode()).findings if f.fix is not None}
    after, run = fix_text(source, unsafe=True)
    assert {f.code for f in run.applied} == offered
    assert not run.problems
    left = lint(after.encode()).findings
    assert not [f for f in left if f.fix is not None or f.code in offered - {"PC102"}]


# -- applying edits --------------------------------------------------------------------------------


def finding(line: int, column: int, *edits: Edit, code: str = "PC201") -> Finding:
    fix = Fix("safe", "test fix", edits)
    return Finding("app.py", line, column, code, line, column, "x", Severity.WARNING, "m", fix)


def test_edits_apply_from_the_end_so_positions_stay_valid() -> None:
    text = "a = f(x)\nb = g(y)\n"
    first = finding(1, 7, Edit(1, 7, 1, 7, "sorted("), Edit(1, 8, 1, 8, ")"))
    second = finding(2, 7, Edit(2, 7, 2, 8, "zz"))
    result = apply_fixes(text, [first, second])
    assert result.text == "a = f(sorted(x))\nb = g(zz)\n"
    assert result.applied == (first, second)


def test_overlapping_fixes_keep_the_first_and_leave_the_rest_for_the_next_pass() -> None:
    text = "a = f(x)\n"
    first = finding(1, 7, Edit(1, 7, 1, 8, "y"))
    overlapping = finding(1, 5, Edit(1, 5, 1, 9, "h(z)"))
    result = apply_fixes(text, [first, overlapping])
    assert result.text == "a = f(y)\n"
    assert result.applied == (first,)
    assert result.dropped == ()  # deferred, not dropped


def test_the_same_fix_offered_twice_is_applied_once() -> None:
    text = "a = f(x)\n"
    one, two = (finding(1, 7, Edit(1, 7, 1, 8, "y"), code=c) for c in ("PC101", "PC102"))
    result = apply_fixes(text, [one, two])
    assert result.text == "a = f(y)\n"
    assert set(result.applied) == {one, two}


def test_a_fix_that_breaks_parsing_is_dropped_and_reported() -> None:
    text = "a = f(x)\nb = g(y)\n"
    broken = finding(1, 7, Edit(1, 7, 1, 7, "("))
    good = finding(2, 7, Edit(2, 7, 2, 8, "z"))
    result = apply_fixes(text, [broken, good])
    assert result.text == "a = f(x)\nb = g(z)\n"
    assert result.applied == (good,)
    assert result.dropped == ((broken, "the fixed file would not parse"),)


def test_edits_outside_the_file_are_dropped() -> None:
    stale = finding(5, 1, Edit(5, 1, 5, 2, "x"))
    result = apply_fixes("a = 1\n", [stale])
    assert result.text == "a = 1\n" and result.dropped[0][0] == stale


def test_columns_count_characters_and_lines_end_as_libcst_counts_them() -> None:
    # A form feed is not a line break for Python (str.splitlines would say it is).
    text = "s = 'é\x0c'; t = f(x)\r\nu = 1\n"
    edit = finding(1, 17, Edit(1, 17, 1, 18, "y"))
    assert apply_fixes(text, [edit]).text == "s = 'é\x0c'; t = f(y)\r\nu = 1\n"


# -- files -----------------------------------------------------------------------------------------


def invoke(*args: str) -> tuple[int, str]:
    """Exit code and stdout (warnings on stderr are left out)."""
    result = CliRunner().invoke(main, ["check", "--no-color", *args])
    return result.exit_code, result.stdout


def test_fix_writes_the_file_and_reports_what_remains(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text(HEAD + call(f'"{STATIC}" + ", ".join(TAGS)'), encoding="utf-8")
    code, output = invoke(str(path), "--fix")
    assert code == 0
    assert "sorted(TAGS)" in path.read_text(encoding="utf-8")
    assert "Fixed 1 finding." in output and "All checks passed!" in output


def test_unsafe_fixes_are_applied_only_with_unsafe_fixes(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    source = HEAD + call(f'f"""Hello {{user}}. {STATIC}\n"""')
    path.write_text(source, encoding="utf-8")
    code, output = invoke(str(path), "--fix")
    assert code == 1
    assert path.read_text(encoding="utf-8") == source
    assert "1 hidden fix can be enabled with the `--unsafe-fixes` option" in output
    code, output = invoke(str(path), "--fix", "--unsafe-fixes")
    assert code == 0
    assert f"{STATIC} Hello {{user}}." in path.read_text(encoding="utf-8")


def test_crlf_line_endings_stay(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    # Two fixes in one f-string (a sorted() inside the text that moves): two passes.
    source = HEAD + call(f'f"""Hello {{user}}.\n{STATIC}\n{{", ".join(TAGS)}}\n"""')
    path.write_bytes(source.replace("\n", "\r\n").encode())
    invoke(str(path), "--fix", "--unsafe-fixes")
    expected = HEAD + call(f'f"""{STATIC}\nHello {{user}}.\n{{", ".join(sorted(TAGS))}}\n"""')
    assert path.read_bytes() == expected.replace("\n", "\r\n").encode()


def test_mode_encoding_and_bom_stay(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    source = "# -*- coding: latin-1 -*-\n# café\n" + HEAD + call(f'"{STATIC}" + json.dumps(data)')
    path.write_bytes(source.encode("latin-1"))
    path.chmod(0o640)
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + (HEAD + call(f'"{STATIC}" + json.dumps(data)')).encode())
    invoke(str(path), str(bom), "--fix")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.read_bytes() == source.replace("(data)", "(data, sort_keys=True)").encode("latin-1")
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf")
    assert b"json.dumps(data, sort_keys=True)" in bom.read_bytes()


def test_a_file_changed_on_disk_since_it_was_read_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text("a = 1\n", encoding="utf-8")
    assert write_atomically(path, digest(b"a = 0\n"), b"a = 2\n") is not None
    assert path.read_text(encoding="utf-8") == "a = 1\n"
    assert write_atomically(path, digest(b"a = 1\n"), b"a = 2\n") is None
    assert path.read_text(encoding="utf-8") == "a = 2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["app.py"]  # no temporary file left


def test_fix_run_skips_a_file_edited_between_passes(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text("a = f(x)\nb = g(y)\n", encoding="utf-8")
    first = finding(1, 7, Edit(1, 7, 1, 8, "x2"))
    second = finding(2, 7, Edit(2, 7, 2, 8, "y2"))

    def recheck(contents: object) -> CheckResult:
        path.write_text(path.read_text(encoding="utf-8") + "# edited meanwhile\n")
        return CheckResult((second,), 1)  # a fix left for the second pass

    run = fix_run(CheckResult((first,), 1), {"app.py": path}, recheck, unsafe=False, write=True)
    assert path.read_text(encoding="utf-8") == "a = f(x2)\nb = g(y)\n# edited meanwhile\n"
    assert run.problems == ["app.py: not fixed: it changed on disk since it was read"]
    assert run.applied == [first]


def test_json_carries_the_fix_edits(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text(HEAD + call(f'"{STATIC}" + json.dumps(data)'), encoding="utf-8")
    code, output = invoke(str(path), "--format", "json")
    assert code == 1
    [item] = json.loads(output)
    line = 1 + (HEAD + call("")).count("\n", 0, (HEAD + call("")).index("system ="))
    column = len(f'    system = "{STATIC}" + json.dumps(data') + 1
    assert item["fix"] == {
        "applicability": "safe",
        "message": "Pass `sort_keys=True` to `json.dumps`",
        "edits": [
            {
                "line": line,
                "column": column,
                "end_line": line,
                "end_column": column,
                "content": ", sort_keys=True",
            }
        ],
    }


def test_diff_prints_a_patch_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = HEAD + call(f'"{STATIC}" + ", ".join(TAGS)')
    Path("app.py").write_text(source, encoding="utf-8")
    code, output = invoke("app.py", "--diff")
    assert code == 1
    assert output == (
        "--- app.py\n+++ app.py\n@@ -9,7 +9,7 @@\n \n \n def ask(question, data, user):\n"
        f'-    system = "{STATIC}" + ", ".join(TAGS)\n'
        f'+    system = "{STATIC}" + ", ".join(sorted(TAGS))\n'
        "     return client.chat.completions.create(\n"
        '         model="gpt-4o",\n'
        '         messages=[{"role": "system", "content": system}, '
        '{"role": "user", "content": question}],\n'
    )
    assert Path("app.py").read_text(encoding="utf-8") == source
    Path("app.py").write_text(source.replace("join(TAGS)", "join(sorted(TAGS))"), encoding="utf-8")
    assert invoke("app.py", "--diff") == (0, "")


def test_show_fixes_lists_available_and_applied_fixes(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text(HEAD + call(f'f"Hello {{user}}. {STATIC}" + json.dumps(data)'), "utf-8")
    _, output = invoke(str(path), "--show-fixes")
    assert f"{path}:" in output and "PC202 [safe] Pass `sort_keys=True` to `json.dumps`" in output
    assert "[*] 1 fixable with the `--fix` option" in output
    _, output = invoke(str(path), "--fix", "--show-fixes")
    assert f"Fixed 1 finding:\n- {path}:\n    1 x PC202 (unsorted-json)\n" in output


def test_fix_of_stdin_prints_the_fixed_source() -> None:
    source = HEAD + call(f'"{STATIC}" + ", ".join(TAGS)')
    result = CliRunner().invoke(
        main, ["check", "--fix", "--stdin-filename", "app.py"], input=source
    )
    assert result.exit_code == 0
    assert result.stdout == source.replace("join(TAGS)", "join(sorted(TAGS))")


def test_a_suppressed_finding_is_not_fixed(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    source = HEAD + call(f'"{STATIC}" + ", ".join(TAGS)  # promptlint: ignore[PC201]')
    path.write_text(source, encoding="utf-8")
    assert invoke(str(path), "--fix")[0] == 0
    assert path.read_text(encoding="utf-8") == source


def test_notebooks_get_no_fixes(tmp_path: Path) -> None:
    cell = HEAD + call(f'"{STATIC}" + ", ".join(TAGS)')
    notebook = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": cell, "outputs": []}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    code, output = invoke(str(path), "--format", "json")
    assert code == 1
    assert [(f["code"], f["fix"]) for f in json.loads(output)] == [("PC201", None)]
    before = path.read_bytes()
    invoke(str(path), "--fix", "--unsafe-fixes")
    assert path.read_bytes() == before


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _parses(data: bytes) -> bool:
    try:
        ast.parse(data)
    except (SyntaxError, ValueError):
        return False
    return True


def test_fix_twice_on_the_fixtures_changes_nothing_the_second_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REPO / "fixtures", tmp_path / "fixtures")
    monkeypatch.chdir(tmp_path)
    original = _snapshot(tmp_path / "fixtures")
    code, first = invoke("fixtures", "--fix", "--unsafe-fixes")
    assert code == 1  # findings without a fix remain
    fixed = _snapshot(tmp_path / "fixtures")
    changed = sorted(p for p in original if original[p] != fixed[p])
    assert changed == [
        "acme_assist/prompts.py",
        "acme_assist/summarizer.py",
        "acme_assist/support_bot.py",
        "research_desk/assistant.py",
    ]
    for name, data in original.items():
        if name.endswith(".py") and _parses(data):
            assert _parses(fixed[name]), name
    code, second = invoke("fixtures", "--fix", "--unsafe-fixes")
    assert _snapshot(tmp_path / "fixtures") == fixed
    assert "Fixed 6 findings." in first.splitlines()
    assert [line for line in first.splitlines() if not line.startswith("Fixed")] == (
        second.splitlines()
    )


# -- generated prompt-shaped code ------------------------------------------------------------------

WORDS = ["answer", "billing", "customer", "politely", "the", "outage", "account", "docs", "plan"]
SLOTS = [
    "{datetime.now()}",
    "{user}",
    '{", ".join(TAGS)}',
    "{json.dumps(data)}",
    "{json.dumps(data, indent=2,)}",
    "{blob}",
]
sentence = st.lists(st.sampled_from(WORDS), min_size=4, max_size=9).map(
    lambda words: " ".join(words).capitalize() + "."
)


@st.composite
def programs(draw: st.DrawFn) -> str:
    sentences = draw(st.lists(sentence, min_size=6, max_size=12))
    for slot in draw(st.lists(st.sampled_from(SLOTS), min_size=1, max_size=3)):
        at = draw(st.integers(0, len(sentences)))
        sentences.insert(at, f"Note {slot}.")
    separator = draw(st.sampled_from([" ", "\n", "\n\n", "\\n"]))
    body = separator.join(sentences)
    literal = f'f"""{body}\n"""' if "\n" in separator else f"f'{body}'"
    system = literal
    if draw(st.booleans()):
        system += ' + "\\n" + ", ".join(os.listdir("docs"))'
    dumps = draw(st.sampled_from(["json.dumps(data)", "json.dumps(data, indent=2)"]))
    return (HEAD + call(system)).replace("    system =", f"    blob = {dumps}\n    system =")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_every_fix_parses_settles_and_removes_its_finding(source: str) -> None:
    data = source.encode()
    assert _parses(data)
    after, run = fix_text(source, unsafe=True)
    assert _parses(after.encode()), after
    assert not run.problems, run.problems
    again, second = fix_text(after, unsafe=True)
    assert again == after and not second.applied
    remaining = lint(after.encode()).findings
    assert all(f.fix is None for f in remaining)
    fixed_codes = {f.code for f in run.applied}
    left = {f.code for f in remaining}
    assert not ({"PC201", "PC202", "PC101"} & fixed_codes & left), (fixed_codes, left, after)
