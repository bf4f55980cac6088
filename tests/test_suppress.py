"""Inline suppressions (`suppress.py`): each comment form, the lines a comment covers, notebooks,
skip-file, linked modules, unparsed files, and PC900 for what suppresses nothing."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

import promptlint.extract
from promptlint.cache import Cache, cache_key
from promptlint.checks import RULES, Rule, select_rules
from promptlint.config import Settings
from promptlint.discovery import SourceFile
from promptlint.engine import check_files, check_source
from promptlint.estimate import Estimator
from promptlint.extract import pipeline
from promptlint.model import FileModel, Finding, Severity, Span, Suppression
from promptlint.providers import bundled_data_bytes, bundled_profiles
from promptlint.suppress import apply, might_hold, scan
from promptlint.tokens import TokenCounter

LONG = (
    "Rule 1: answer politely and cite the knowledge base. Rule 2: answer politely and cite the "
    "knowledge base. Rule 3: never guess, say you do not know and offer a ticket instead."
)
# `system_prompt` is prompt-named, so it is linted on its own: PC101 at `name` (7:24) and PC102
# at `datetime.datetime.now()` (7:31), both on line 7. `<comment>` goes at the end of line 7.
SOURCE = f'''\
import datetime

RULES = "{LONG}"


def build(name: str) -> str:
    system_prompt = f"{{name}} {{datetime.datetime.now()}} " + RULES<comment>
    return system_prompt
'''
CLEAN = 'SYSTEM_PROMPT = "You are a helpful assistant."<comment>\n'

Hit = tuple[int, int, str]  # line, column, code


@pytest.fixture(scope="module")
def estimator() -> Estimator:
    return Estimator(TokenCounter(), bundled_profiles(), dynamic_tokens=64)


def findings(
    estimator: Estimator, source: str, rules: Sequence[Rule] = RULES, path: str = "mod.py"
) -> tuple[Finding, ...]:
    return check_source(path, source.encode(), Settings(), rules, estimator).findings


def hits(estimator: Estimator, source: str, rules: Sequence[Rule] = RULES) -> list[Hit]:
    return [(f.line, f.column, f.code) for f in findings(estimator, source, rules)]


def clean(comment: str) -> str:
    return CLEAN.replace("<comment>", comment)


def on_line_7(comment: str) -> str:
    return SOURCE.replace("<comment>", comment)


def test_without_a_comment_both_rules_fire(estimator: Estimator) -> None:
    assert hits(estimator, on_line_7("")) == [(7, 24, "PC101"), (7, 31, "PC102")]


# --- each form -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "left"),
    [
        ("  # promptlint: ignore[PC101]", [(7, 31, "PC102")]),
        ("  # promptlint: ignore[PC102]", [(7, 24, "PC101")]),
        ("  # promptlint: ignore[PC101, PC102]", []),
        ("  # promptlint: ignore[PC101,PC102]", []),
        ("  # promptlint: ignore[dynamic-before-static]", [(7, 31, "PC102")]),
        ("  # promptlint: ignore[dynamic-before-static, volatile-in-prompt]", []),
        ("  # promptlint: ignore[pc101]", [(7, 31, "PC102")]),
        ("  # promptlint: ignore", []),
        ("  # promptlint: ignore  (accepted: internal tool)", []),
        ("  # noqa: PC101", [(7, 31, "PC102")]),
        ("  # noqa:PC101,PC102", []),
        ("  # noqa: PC101, PC102", []),
        ("  # noqa PC102", [(7, 24, "PC101")]),
        ("  # NOQA: E501, PC101", [(7, 31, "PC102")]),
        ("  # noqa", []),
        ("  # noqa: E501  # promptlint: ignore[PC102]", [(7, 24, "PC101")]),
        ("  # type: ignore[misc]  # noqa: PC101", [(7, 31, "PC102")]),
    ],
)
def test_suppression_forms(estimator: Estimator, comment: str, left: list[Hit]) -> None:
    assert hits(estimator, on_line_7(comment)) == left


def test_other_tools_codes_are_neither_honoured_nor_reported(estimator: Estimator) -> None:
    assert hits(estimator, on_line_7("  # noqa: E501")) == [(7, 24, "PC101"), (7, 31, "PC102")]
    assert hits(estimator, clean("  # noqa: E501, W291")) == []
    assert scan("x = 1  # noqa: E501\n") == ()


def test_bare_noqa_is_never_reported_unused(estimator: Estimator) -> None:
    assert hits(estimator, clean("  # noqa")) == []


def test_a_suppression_inside_a_string_is_text(estimator: Estimator) -> None:
    source = on_line_7("").replace('" + RULES', ' # promptlint: ignore" + RULES')
    assert [h[2] for h in hits(estimator, source)] == ["PC101", "PC102"]


# --- PC900 ---------------------------------------------------------------------------------------


def test_unused_suppression_is_reported_at_the_comment(estimator: Estimator) -> None:
    (finding,) = findings(estimator, clean("  # promptlint: ignore[PC101]"))
    assert (finding.line, finding.column, finding.end_line, finding.end_column) == (1, 49, 1, 76)
    assert (finding.code, finding.name, finding.severity.value) == (
        "PC900",
        "unused-suppression",
        "info",
    )
    assert finding.message == (
        "unused suppression `# promptlint: ignore[PC101]`: PC101 matches no finding on its lines"
    )


def test_bare_ignore_that_matches_nothing_is_reported(estimator: Estimator) -> None:
    (finding,) = findings(estimator, clean("  # promptlint: ignore"))
    assert (finding.line, finding.column, finding.code) == (1, 49, "PC900")
    assert "matches no finding" in finding.message


def test_partly_used_suppression_names_the_unused_part(estimator: Estimator) -> None:
    source = on_line_7("  # noqa: PC101, PC102, PC201")
    (finding,) = findings(estimator, source)
    assert (finding.line, finding.column, finding.code) == (7, 67, "PC900")
    assert finding.message == (
        "unused suppression `# noqa: PC101, PC102, PC201`: PC201 matches no finding on its lines"
    )


def test_unknown_code_is_reported_and_the_known_one_still_applies(estimator: Estimator) -> None:
    got = findings(estimator, on_line_7("  # promptlint: ignore[PC101, PC1O2]"))
    assert [(f.line, f.code) for f in got] == [(7, "PC102"), (7, "PC900")]
    message = got[1].message
    assert "unknown rule PC1O2" in message
    for rule in RULES:
        assert (rule.code in message) == (rule.code != "PC900")


def test_noqa_with_an_unknown_pc_code_is_reported(estimator: Estimator) -> None:
    (finding,) = findings(estimator, clean("  # noqa: PC999"))
    assert finding.code == "PC900" and "unknown rule PC999" in finding.message


def test_pc900_itself_cannot_be_suppressed_inline(estimator: Estimator) -> None:
    (finding,) = findings(estimator, clean("  # promptlint: ignore[PC900]"))
    assert finding.code == "PC900" and "cannot be suppressed inline" in finding.message
    # A blanket on the line of an unused suppression does not hide that PC900 either.
    both = clean("  # promptlint: ignore[PC101]  # noqa")
    assert [f.code for f in findings(estimator, both)] == ["PC900"]


@pytest.mark.parametrize(
    ("comment", "problem"),
    [
        ("  # promptlint: ignroe[PC101]", "unknown directive `# promptlint: ignroe[PC101]`"),
        ("  # promptlint: ignore[PC101", "lacks its closing `]`"),
        ("  # promptlint: ignore PC101", "write the rules in brackets, `ignore[PC101]`"),
        ("  # promptlint: ignore: PC101, PC102", "in brackets, `ignore[PC101, PC102]`"),
        ("  # promptlint: ignore dynamic-before-static", "`ignore[dynamic-before-static]`"),
        ("  # promptlint: ignore[]", "names no rule"),
        ("  # promptlint:", "unknown directive"),
        ("  # promptlint: skip-file", "works only on a comment line of its own"),
    ],
)
def test_malformed_directives_suppress_nothing_and_are_reported(
    estimator: Estimator, comment: str, problem: str
) -> None:
    got = findings(estimator, on_line_7(comment))
    assert [f.code for f in got] == ["PC101", "PC102", "PC900"]
    assert problem in got[2].message and got[2].message.endswith("it suppresses nothing")


@pytest.mark.parametrize(
    ("data", "blanket", "expected"),
    [
        (b"x = 1\n", True, False),
        (b"x = 1  # noqa: E501, W291\n", True, False),  # only other tools' codes
        (b"x = 1  # NOQA:E501,pc101\n", True, True),
        (b"x = 1  # noqa\n", True, True),
        (b"x = 1  # noqa\n", False, False),  # a blanket only matters where findings can be
        (b"pass  # promptlint: magic\n", True, False),
        (b"x = 1  # promptlint: ignore\n", False, True),
    ],
)
def test_the_byte_gate_before_tokenizing(data: bytes, blanket: bool, expected: bool) -> None:
    assert might_hold(data, blanket=blanket) is expected


def test_notebook_magic_comments_are_not_directives() -> None:
    assert scan("pass  # promptlint: magic\n# promptlint: magic\n") == ()


def test_pc900_not_selected_reports_nothing_but_suppressions_still_apply(
    estimator: Estimator,
) -> None:
    without = select_rules(("PC",), ("PC900",))
    assert hits(estimator, on_line_7("  # promptlint: ignore[PC101]"), without) == [
        (7, 31, "PC102")
    ]
    assert hits(estimator, clean("  # promptlint: ignore[PC101]"), without) == []


def test_suppression_of_a_rule_not_selected_is_reported(estimator: Estimator) -> None:
    rules = select_rules(("PC",), ("PC102",))
    (finding,) = findings(estimator, on_line_7("  # promptlint: ignore[PC101, PC102]"), rules)
    assert finding.code == "PC900"
    assert finding.message.endswith(": PC102 is not selected in this run")


# --- the lines a comment covers ------------------------------------------------------------------

MULTI_LINE_CALL = f'''\
from openai import OpenAI

client = OpenAI()
RULES = "{LONG}"


def ask(name: str, q: str) -> str:
    response = client.chat.completions.create(<comment>
        model="gpt-4o",
        messages=[
            {{"role": "system", "content": f"Hello {{name}}. " + RULES}},
            {{"role": "user", "content": q}},
        ],
    )
    return response.choices[0].message.content or ""
'''


def test_first_line_of_a_statement_covers_the_whole_statement(estimator: Estimator) -> None:
    assert hits(estimator, MULTI_LINE_CALL.replace("<comment>", "")) == [(11, 52, "PC101")]
    covered = MULTI_LINE_CALL.replace("<comment>", "  # promptlint: ignore[PC101]")
    assert hits(estimator, covered) == []


def test_a_continuation_line_covers_only_itself(estimator: Estimator) -> None:
    source = MULTI_LINE_CALL.replace("<comment>", "").replace(
        'model="gpt-4o",', 'model="gpt-4o",  # promptlint: ignore[PC101]'
    )
    assert hits(estimator, source) == [(9, 26, "PC900"), (11, 52, "PC101")]


COMPOUND = f'''\
RULES = "{LONG}"


def build(name: str, flag: bool) -> str:
    if flag:<comment>
        system_prompt = f"Hi {{name}}. " + RULES
        return system_prompt
    return ""
'''


def test_a_compound_header_does_not_cover_its_body(estimator: Estimator) -> None:
    assert hits(estimator, COMPOUND.replace("<comment>", "")) == [(6, 31, "PC101")]
    source = COMPOUND.replace("<comment>", "  # promptlint: ignore[PC101]")
    assert hits(estimator, source) == [(5, 15, "PC900"), (6, 31, "PC101")]


def covered(source: str) -> list[tuple[int, int, int]]:
    """(comment line, first covered line, last covered line) of each suppression."""
    return [(s.span.line, s.first_line, s.last_line) for s in scan(textwrap.dedent(source))]


def test_covered_lines() -> None:
    # A compound header over several lines: the header, not the body.
    assert covered(
        """\
        with open(  # noqa: PC101
            "a",
        ) as f:
            x = f(  # noqa: PC101
                1)  # noqa: PC102
        """
    ) == [(1, 1, 3), (4, 4, 5), (5, 5, 5)]
    # A decorator is a line of its own; a one-line compound statement is covered whole.
    assert covered(
        """\
        @decorate(  # promptlint: ignore
            1)
        def f(): return g(  # promptlint: ignore
            2)
        # promptlint: ignore
        """
    ) == [(1, 1, 2), (3, 3, 4), (5, 5, 5)]


def test_after_a_multi_line_string_the_string_is_covered(estimator: Estimator) -> None:
    source = f'''\
def build(name: str) -> str:
    system_prompt = f"""Customer: {{name}}.
{LONG}
"""  # promptlint: ignore[PC101]
    return system_prompt
'''
    assert covered(source) == [(4, 2, 4)]
    assert hits(estimator, source) == []


def test_a_file_the_tokenizer_gives_up_on_keeps_the_suppressions_before_the_error() -> None:
    source = 'x = f(  # noqa: PC101\n    1)  # noqa: PC102\ny = """never closed  # noqa: PC201\n'
    assert covered(source) == [(1, 1, 2), (2, 2, 2)]


# --- skip-file -----------------------------------------------------------------------------------


def test_skip_file_yields_no_findings(estimator: Estimator) -> None:
    source = "# promptlint: skip-file\n" + on_line_7("  # promptlint: ignore[PC301]")
    assert hits(estimator, source) == []


def test_skip_file_anywhere_on_its_own_line_skips_a_file_that_does_not_parse(
    estimator: Estimator,
) -> None:
    source = 'SYSTEM_PROMPT = "x"\ndef broken(:\n    pass\n    # promptlint: skip-file\n'
    assert hits(estimator, source) == []
    assert [h[2] for h in hits(estimator, source.replace("skip-file", "ignore"))] == [
        "PC000",
        "PC900",
    ]


def test_skip_file_is_not_parsed_yet_still_exports_its_templates(
    tmp_path: Path, estimator: Estimator
) -> None:
    """An importer still resolves what a skipped module exports (its findings are not shown)."""
    app = make_app(tmp_path, prompts_comment="")
    (app / "prompts.py").write_text("# promptlint: skip-file\n" + PROMPTS.replace("<comment>", ""))
    result = run_files(tmp_path, ["app/bot.py", "app/prompts.py"], estimator)
    assert result == []
    model = extract(tmp_path / "app" / "prompts.py")
    assert (model.call_sites, model.templates, model.exports_complete) == ((), (), False)


# --- PC000 ---------------------------------------------------------------------------------------


def test_a_parse_error_can_be_suppressed_on_its_line(estimator: Estimator) -> None:
    source = 'SYSTEM_PROMPT = "x"\ndef broken(:<comment>\n    pass\n'
    assert hits(estimator, source.replace("<comment>", "")) == [(2, 12, "PC000")]
    assert hits(estimator, source.replace("<comment>", "  # promptlint: ignore[PC000]")) == []


# --- notebooks -----------------------------------------------------------------------------------


def notebook(*cells: str) -> bytes:
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "metadata": {},
                    "source": source.splitlines(keepends=True),
                    "outputs": [],
                    "execution_count": None,
                }
                for source in cells
            ],
            "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    ).encode()


def test_a_suppression_in_a_cell_applies_to_that_cell(estimator: Estimator) -> None:
    setup = f'%pip install openai\nRULES = "{LONG}"\n'
    cell = 'def build(name):\n    system_prompt = f"Hi {name}. " + RULES<comment>\n'
    cell += "    return system_prompt\n"

    def lint(*cells: str) -> list[tuple[int | None, int, str]]:
        result = check_source("nb.ipynb", notebook(*cells), Settings(), RULES, estimator)
        return [(f.cell, f.line, f.code) for f in result.findings]

    assert lint(setup, cell.replace("<comment>", "")) == [(2, 2, "PC101")]
    assert lint(setup, cell.replace("<comment>", "  # promptlint: ignore[PC101]")) == []
    # Line 2 of cell 1 is not line 2 of cell 2.
    other = setup + "# promptlint: ignore[PC101]\n"
    other = other.replace(f'"{LONG}"\n', f'"{LONG}"  # promptlint: ignore[PC101]\n')
    assert lint(other, cell.replace("<comment>", "")) == [
        (1, 2, "PC900"),
        (1, 3, "PC900"),
        (2, 2, "PC101"),
    ]


# --- several files: linked modules, unparsed files, the cache ------------------------------------

BASE_RULES = " ".join(f"Rule {i}: answer politely and cite the knowledge base." for i in range(20))
PROMPTS = """\
from .base import BASE_RULES


def build_system(user):
    return f"Hello {user}. " + BASE_RULES<comment>
"""
BOT = """\
from openai import OpenAI

from app.prompts import build_system

client = OpenAI()


def personal(q, user):
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": build_system(user)},
            {"role": "user", "content": q},
        ],
    )
"""


def make_app(root: Path, prompts_comment: str) -> Path:
    app = root / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "base.py").write_text(f'BASE_RULES = "{BASE_RULES}"\n')
    (app / "prompts.py").write_text(PROMPTS.replace("<comment>", prompts_comment))
    (app / "bot.py").write_text(BOT)
    (app / "tools.py").write_text("import os  # promptlint: ignore[PC201]\n")
    return app


def extract(path: Path) -> FileModel:
    from promptlint.extract import extract_file

    return extract_file(str(path), path.read_bytes(), Settings())


def run_files(
    root: Path, displays: list[str], estimator: Estimator, cache: Cache | None = None
) -> list[tuple[str, int, str]]:
    files = [SourceFile(root / d, d, True) for d in displays]
    result = check_files(files, Settings(), RULES, estimator, jobs=1, cache=cache)
    return [(f.path, f.line, f.code) for f in result.findings]


def test_a_finding_placed_in_an_imported_module_uses_that_modules_comments(
    tmp_path: Path, estimator: Estimator
) -> None:
    make_app(tmp_path, prompts_comment="")
    both = ["app/bot.py", "app/prompts.py"]
    assert run_files(tmp_path, both, estimator) == [("app/prompts.py", 5, "PC101")]
    (tmp_path / "app" / "prompts.py").write_text(
        PROMPTS.replace("<comment>", "  # promptlint: ignore[PC101]")
    )
    assert run_files(tmp_path, both, estimator) == []
    # Alone, prompts.py's builder is linted on its own (no call site uses it): the same line.
    assert run_files(tmp_path, ["app/prompts.py"], estimator) == []


def test_apply_matches_a_finding_against_the_file_it_is_reported_in() -> None:
    """A finding raised by a call site in a.py but located in b.py (linking) meets b.py's
    comments, not a.py's."""
    comment = Suppression("ignore", Span(5, 40, 5, 67), 5, 5, ("PC101",))
    finding = Finding("b.py", 5, 10, "PC101", 5, 14, "dynamic-before-static", Severity.WARNING, "")
    in_b = [FileModel("a.py"), FileModel("b.py", suppressions=(comment,))]
    assert apply([finding], in_b, RULES) == []
    in_a = [FileModel("a.py", suppressions=(comment,)), FileModel("b.py")]
    assert [(f.path, f.line, f.column, f.code) for f in apply([finding], in_a, RULES)] == [
        ("b.py", 5, 10, "PC101"),
        ("a.py", 5, 40, "PC900"),
    ]


def test_a_file_with_no_prompt_is_not_parsed_but_its_suppressions_are_checked(
    tmp_path: Path, estimator: Estimator, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_app(tmp_path, prompts_comment="")
    monkeypatch.setattr(pipeline, "parse", forbidden("parse"))
    assert run_files(tmp_path, ["app/tools.py"], estimator) == [("app/tools.py", 1, "PC900")]
    model = extract(tmp_path / "app" / "tools.py")
    assert model.suppressions == (Suppression("ignore", Span(1, 12, 1, 39), 1, 1, ("PC201",)),)


def test_suppressions_in_code_that_pruning_drops_keep_their_lines(estimator: Estimator) -> None:
    source = f"""\
import os

SYSTEM_PROMPT = "{LONG}"


def files():
    return os.listdir(".")  # promptlint: ignore[PC201]


def build(name):
    system_prompt = f"{{name}}: " + SYSTEM_PROMPT  # promptlint: ignore[PC101]
    return system_prompt
"""
    assert hits(estimator, source) == [(7, 29, "PC900")]


def forbidden(what: str) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{what} called")

    return fail


def test_suppressions_round_trip_through_the_cache(
    tmp_path: Path, estimator: Estimator, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_app(tmp_path, prompts_comment="  # promptlint: ignore[PC101, PC102]")
    displays = ["app/bot.py", "app/prompts.py", "app/tools.py"]
    cache = Cache(tmp_path / "cache", cache_key(Settings(), bundled_data_bytes()))
    cold = run_files(tmp_path, displays, estimator, cache)
    assert cold == [("app/prompts.py", 5, "PC900"), ("app/tools.py", 1, "PC900")]
    entries = cache.load()
    for display in displays:
        fresh = extract(tmp_path / display).suppressions
        assert entries[display].model.suppressions == fresh
    assert entries["app/prompts.py"].model.suppressions[0].codes == ("PC101", "PC102")
    # A warm run extracts nothing, and says the same.
    monkeypatch.setattr(promptlint.extract, "extract_file", forbidden("extraction"))
    assert run_files(tmp_path, displays, estimator, cache) == cold
