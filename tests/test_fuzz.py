"""Fuzzing the whole pipeline (extract -> rules) with generated modules.

- hypothesmith: syntactically valid random modules, alone and around a call site, with and
  without pruning: extraction and every rule never raise, and never report an internal error.
- prompt-shaped modules (`tests/strategies.py`): the extracted prompt is exactly the one the
  source builds (static text, slots, their spans, volatility, breakpoints), and PC101 fires iff an
  independent token count says so.

A bounded profile runs with the suite; `PROMPTLINT_FUZZ=long` runs the long one (docs: fuzz.md).
Regressions the fuzzers found are plain tests at the end.
"""

from __future__ import annotations

import functools
import re
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from strategies import (
    Expected,
    Piece,
    Program,
    flat_parts,
    fuzz_settings,
    programs,
)

from promptlint import engine
from promptlint.checks import select_rules
from promptlint.config import Settings
from promptlint.estimate import Estimator
from promptlint.extract import extract_source
from promptlint.model import Block, FileModel, Span, Template, Text
from promptlint.providers import bundled_profiles
from promptlint.tokens import TokenCounter, load_encoding

RULES = select_rules(("ALL",), ())
SETTINGS = Settings()
PROFILES = bundled_profiles()


def estimator() -> Estimator:
    """A fresh one per check (it memoizes per call site)."""
    return Estimator(TokenCounter(), PROFILES, dynamic_tokens=64)


def check(source: str, settings: Settings = SETTINGS) -> tuple[engine.CheckResult, FileModel]:
    """Every rule over one module: no exception may escape, no internal error be reported."""
    result, model = engine.check_document("mod.py", source.encode(), settings, RULES, estimator())
    internal = [f for f in result.findings if f.code == "PC000" and "internal" in f.message]
    assert result.internal_errors == 0 and not internal, (internal, model.parse_error)
    return result, model


# The module whose `extract_source` calls `prune` (as in tests/test_pruning.py).
_CALLER = sys.modules[extract_source.__module__]


@contextmanager
def whole_file() -> Iterator[None]:
    """Extraction without pruning: the interpreter then walks every generated statement."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_CALLER, "prune", lambda text, prompt_names: None)
        yield


# -- hypothesmith: any valid module ----------------------------------------------------------------

SCAFFOLD = """
from datetime import datetime

from openai import OpenAI

client = OpenAI()
SYSTEM_PROMPT = f"You are a helpful agent. Today is {datetime.now()}." + str(x)


def ask(question):
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": question},
        ],
    )
"""


def around_call_site(code: str, inside: bool) -> str:
    """Random code before a call site: at module level, or as the body of the calling function
    (indented: a string spanning lines changes its text, never the syntax)."""
    if not inside:
        return code + "\n" + SCAFFOLD
    body = textwrap.indent(code, "    ", lambda line: True) or "    pass\n"
    return SCAFFOLD.replace("    return", body.rstrip("\n") + "\n    pass\n    return", 1)


def _grammar_modules() -> st.SearchStrategy[str]:
    import hypothesmith  # builds its grammar on import: paid by the test, not by collection

    return hypothesmith.from_grammar()


def _node_modules() -> st.SearchStrategy[str]:
    import hypothesmith

    return hypothesmith.from_node()


def assert_pipeline_survives(code: str) -> None:
    note(code)
    check(code)
    with whole_file():
        check(code)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # hypothesmith compiles its drafts
@fuzz_settings(15)
@given(st.deferred(_grammar_modules), st.booleans())
def test_grammar_modules_never_crash(code: str, inside: bool) -> None:
    assert_pipeline_survives(code)
    assert_pipeline_survives(around_call_site(code, inside))


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # hypothesmith compiles its drafts
@fuzz_settings(12)
@given(st.deferred(_node_modules), st.booleans())
def test_node_modules_never_crash(code: str, inside: bool) -> None:
    assert_pipeline_survives(code)
    assert_pipeline_survives(around_call_site(code, inside))


# -- prompt-shaped modules: the prompt model is what the source builds -----------------------------


def text_at(source: str, span: Span) -> str:
    lines = source.splitlines(keepends=True)
    start = sum(len(line) for line in lines[: span.line - 1]) + span.column - 1
    end = sum(len(line) for line in lines[: span.end_line - 1]) + span.end_column - 1
    return source[start:end]


def shape(template: Template, source: str) -> list[Piece]:
    """A template as the oracle writes it: text, and each slot by its span's source text."""
    return [
        seg.text
        if isinstance(seg, Text)
        else Expected(text_at(source, seg.span), seg.volatile, seg.per_process)
        for seg in template.segments
    ]


def blocks_shape(blocks: Sequence[Block], source: str) -> list[tuple[list[Piece], bool]]:
    return [(shape(b.content, source), b.cache_control is not None) for b in blocks]


def assert_extracted_as_built(program: Program, model: FileModel) -> None:
    """The call site's prompt is exactly what the generator built: static text, each slot's
    span and volatility, breakpoints, roles, in cache order."""
    assert model.parse_error is None, model.parse_error
    source = program.source
    if program.api == "template":
        assert model.call_sites == ()
        (named,) = model.templates
        assert named.name == "SYSTEM_PROMPT"
        (block,) = program.messages[0].blocks
        assert shape(named.template, source) == flat_parts(block.pieces)
        return
    assert model.templates == ()
    (site,) = model.call_sites
    assert site.api == program.api
    expected_system = [(flat_parts(b.pieces), b.cache_control) for b in program.system]
    assert blocks_shape(site.system, source) == expected_system
    expected_messages = [
        (m.role, [(flat_parts(b.pieces), b.cache_control) for b in m.blocks])
        for m in program.messages
    ]
    found = [(m.role, blocks_shape(m.blocks, source)) for m in site.messages]
    assert found == expected_messages


def loosely(pieces: Sequence[Piece]) -> list[object]:
    return [("slot", p.volatile, p.per_process) if isinstance(p, Expected) else p for p in pieces]


@fuzz_settings(30)
@given(programs(loose=True))
def test_placeholders_cut_across_literals(program: Program) -> None:
    """`"{" "}".format(x)`, `"50%" "s" % x`: implicitly concatenated literals are one format
    string. The slots' spans are not compared: a placeholder cut in two has no span of its own."""
    note(program.source)
    model = extract_source("mod.py", program.source, SETTINGS)
    assert model.parse_error is None, model.parse_error
    source = program.source
    if program.api == "template":
        (named,) = model.templates
        found = [[(loosely(shape(named.template, source)), False)]]
    else:
        (site,) = model.call_sites
        found = [
            [(loosely(shape(b.content, source)), b.cache_control is not None) for b in blocks]
            for blocks in (site.system, *(m.blocks for m in site.messages))
        ]
    parts = [m.blocks for m in program.messages]
    parts = parts if program.api == "template" else [program.system, *parts]
    expected = [[(loosely(flat_parts(b.pieces)), b.cache_control) for b in p] for p in parts]
    assert found == expected


# -- PC101 against an independent token count ------------------------------------------------------


@functools.cache
def encoding() -> Any:
    return load_encoding("o200k_base")


def oracle_static_after_first_slot(program: Program) -> tuple[Expected, int] | None:
    """DESIGN §4 PC101: in cache order, skipping the tools, the first dynamic value (one computed
    once per process is no start), and the static tokens after it anywhere in the request, but
    the final user message's own when a spliced history precedes it.

    Counted as promptlint counts: each run of static text between two slots of one block (the
    extractor joins adjacent text within a template) is encoded on its own, and the counts are
    summed; blocks and messages are never joined.
    """
    final = program.messages[-1] if program.messages[-1].role == "user" else None
    history = any(m.role == "history" for m in program.messages[:-1])
    skip = final if history else None
    first: Expected | None = None
    tokens = 0
    for pieces, message in program.parts():
        for piece in flat_parts(pieces):
            if isinstance(piece, Expected):
                if not piece.per_process:  # the same on every request: not a start
                    first = first or piece
            elif first is not None and (skip is None or message is not skip):
                tokens += len(encoding().encode_ordinary(piece))
    return (first, tokens) if first is not None else None


THRESHOLDS = st.sampled_from((32, 32, 32, 1, 8, 64))
_COUNT = re.compile(r"comes before (\d+) tokens")


def assert_pc101_as_counted(program: Program, result: engine.CheckResult, threshold: int) -> None:
    """PC101 fires iff the oracle's count reaches the threshold; then at the first slot, with
    that count in its message."""
    found = [f for f in result.findings if f.code == "PC101"]
    expected = oracle_static_after_first_slot(program)
    if expected is None or expected[1] < threshold:
        assert found == [], (expected, found)
        return
    first, tokens = expected
    (finding,) = found
    span = Span(finding.line, finding.column, finding.end_line, finding.end_column)
    assert text_at(program.source, span) == first.span_text
    count = _COUNT.search(finding.message)
    assert count is not None and int(count.group(1)) == tokens, (finding.message, tokens)


@fuzz_settings(100)
@given(programs(), THRESHOLDS)
def test_prompt_shaped_modules(program: Program, threshold: int) -> None:
    """Extraction gives back the prompt the generator built, and PC101 agrees with the oracle."""
    note(program.source)
    compile(program.source, "mod.py", "exec")  # the generator writes valid Python
    result, model = check(program.source, Settings(min_static_tokens=threshold))
    assert not [f for f in result.findings if f.code == "PC000"]
    assert_extracted_as_built(program, model)
    assert_pc101_as_counted(program, result, threshold)


def test_the_generator_crosses_the_threshold_both_ways() -> None:
    """The PC101 property means something only if, at the default threshold, the static text
    after the first slot is sometimes over it and sometimes under it (but not empty)."""
    counts: list[int] = []

    @settings(max_examples=40, derandomize=True, database=None, deadline=None)
    @given(programs())
    def collect(program: Program) -> None:
        found = oracle_static_after_first_slot(program)
        counts.append(-1 if found is None else found[1])

    collect()
    threshold = SETTINGS.min_static_tokens
    assert any(c >= threshold for c in counts), counts
    assert any(0 < c < threshold for c in counts), counts


# -- regressions the fuzzers found -----------------------------------------------------------------

ONE_MESSAGE = """\
from openai import OpenAI

client = OpenAI()


def ask(user, doc):
    return client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": %s}]
    )
"""
SLOT = ("slot", False, False)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # Was the unformatted text "50%s and %%.": no part held a whole `%s`.
        pytest.param('"50%" "s and %" "%." % (doc,)', ["50", SLOT, " and %."], id="percent"),
        # Was one slot for the whole call: `"a {"` alone is not a valid format string.
        pytest.param('"a {" "} b {" "{x}}".format(user)', ["a ", SLOT, " b {x}"], id="format"),
        pytest.param('"{0" "}: {0}".format(user)', [SLOT, ": ", SLOT], id="indexed"),
    ],
)
def test_placeholder_cut_across_implicitly_concatenated_literals(
    content: str, expected: list[object]
) -> None:
    source = ONE_MESSAGE % content
    (site,) = extract_source("mod.py", source, SETTINGS).call_sites
    (message,) = site.messages
    assert loosely(shape(message.blocks[0].content, source)) == expected


WITH_RULES = ONE_MESSAGE.replace("client = OpenAI()\n", 'client = OpenAI()\nRULES = "Be nice."\n')


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # `%r` and `%-12s` of a known string were its bare text.
        pytest.param('"a %r b" % RULES', ["a 'Be nice.' b"], id="percent-repr"),
        pytest.param('"a %(x)-10s|" % {"x": RULES}', ["a Be nice.  |"], id="percent-width"),
        # `{x=}` dropped the `x=` it writes; of a known string it gave the bare text.
        pytest.param('f"a {user=} b"', ["a user=", SLOT, " b"], id="fstring-debug"),
        pytest.param('f"a { RULES = } b"', ["a  RULES = 'Be nice.' b"], id="fstring-debug-known"),
        # A conversion or a spec of a known string was a slot: a constant started PC101's count.
        pytest.param('f"{RULES!r} {RULES:>10}|"', ["'Be nice.'   Be nice.|"], id="fstring-spec"),
        pytest.param('"{!r} {:>10}|".format(RULES, RULES)', ["'Be nice.'   Be nice.|"], id="fmt"),
        # What Python would reject stays a slot.
        pytest.param('f"{RULES:d}"', [SLOT], id="bad-spec"),
        pytest.param('"%d" % RULES', [SLOT], id="bad-conversion"),
        # And what would fill memory: the linter does not pad to a width of 2e9.
        pytest.param('f"{RULES:>2000000000}"', [SLOT], id="huge-width"),
        pytest.param('"%2000000000s" % RULES', [SLOT], id="huge-percent-width"),
    ],
)
def test_conversions_and_specs_of_known_and_dynamic_values(
    content: str, expected: list[object]
) -> None:
    source = WITH_RULES % content
    (site,) = extract_source("mod.py", source, SETTINGS).call_sites
    (message,) = site.messages
    assert loosely(shape(message.blocks[0].content, source)) == expected


def test_a_sum_of_dynamic_values_spans_only_them() -> None:
    """`user + doc` may be numbers: one slot. Its span took in the whole sum, text after it too."""
    source = ONE_MESSAGE % 'user + doc + "x" + user'
    (site,) = extract_source("mod.py", source, SETTINGS).call_sites
    content = site.messages[0].blocks[0].content
    assert shape(content, source) == [Expected("user + doc", False), "x", Expected("user", False)]


def test_a_prompt_holding_a_comma_then_a_hash_is_linted() -> None:
    """Found by the fuzzer (extract/pruning.py `_KEYWORD_LINE`): the file's only marker is
    dropped, so the template is never linted."""
    model = extract_source("mod.py", 'SYSTEM_PROMPT = "Count them, # of items"\n', SETTINGS)
    assert [t.name for t in model.templates] == ["SYSTEM_PROMPT"]


BUILT_MESSAGES = """\
from openai import OpenAI

client = OpenAI()
SYSTEM_PROMPT = "Be nice."


def ask(user, history):
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    messages += history
    messages += [{"role": "user", "content": user}]
    return client.chat.completions.create(model="gpt-4o", messages=messages)
"""


def test_a_message_list_grown_with_plus_equals() -> None:
    """`messages += history` made the whole list one dynamic value (its system prompt and the
    final user message were lost); `messages += [...]` did not record what the list read, so a
    prompt it holds was linted again as a template no call uses."""
    model = extract_source("mod.py", BUILT_MESSAGES, SETTINGS)
    (site,) = model.call_sites
    assert [m.role for m in site.messages] == ["system", "history", "user"]
    assert model.templates == ()
    source = BUILT_MESSAGES.replace(
        '    messages = [{"role": "system", "content": SYSTEM_PROMPT}]\n    messages += history\n',
        '    messages = []\n    messages += [{"role": "system", "content": SYSTEM_PROMPT}]\n',
    )
    model = extract_source("mod.py", source, SETTINGS)
    assert [m.role for m in model.call_sites[0].messages] == ["system", "user"]
    assert model.templates == ()
