"""PC103, PC201, PC202 and PC301 as pure functions over hand-built prompt models (no extractor
involved), and the invariants they keep whatever the prompt looks like (hypothesis)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from promptlint.checks.base import Context
from promptlint.checks.pc103_dynamic_tools import RULE as PC103
from promptlint.checks.pc201_unordered_iteration import RULE as PC201
from promptlint.checks.pc202_unsorted_json import RULE as PC202
from promptlint.checks.pc301_repeated_text import RULE as PC301
from promptlint.config import Settings
from promptlint.estimate import Estimator
from promptlint.model import (
    Block,
    CallSite,
    Finding,
    Message,
    NamedTemplate,
    Slot,
    Span,
    Template,
    Text,
)
from promptlint.providers import bundled_profiles
from promptlint.tokens import TokenCounter


class WordCount:
    """A stand-in tokenizer: one token per word, so thresholds are easy to reason about."""

    def count(self, text: str) -> int:
        return len(text.split())


ESTIMATOR = Estimator(WordCount(), bundled_profiles(), dynamic_tokens=64)
CTX = Context("app.py", Settings(), WordCount(), ESTIMATOR)
CALL_SPAN = Span(1, 1, 30, 2)
TEMPLATE_SPAN = Span(40, 1, 44, 2)

# Sentences of 8+ words (8+ "tokens") and of fewer.
LONG = "Never promise a refund before the billing team has approved it."
LONG_2 = "Always answer in the customer's language and never invent menu names."
SHORT = "Be concise and kind."


def slot(
    name: str,
    line: int,
    *,
    volatile: bool = False,
    unordered: bool = False,
    unsorted_json: bool = False,
) -> Slot:
    span = Span(line, 5, line, 5 + len(name))
    return Slot(name, span, volatile=volatile, unordered=unordered, unsorted_json=unsorted_json)


def template(*segments: Text | Slot) -> Template:
    return Template(tuple(segments))


def message(role: str, *segments: Text | Slot) -> Message:
    return Message(role, (Block(template(*segments)),))


def site(
    *messages: Message,
    system: tuple[Text | Slot, ...] = (),
    tools: Template | None = None,
) -> CallSite:
    blocks = (Block(template(*system)),) if system else ()
    return CallSite(
        "openai.chat", "openai", CALL_SPAN, tools=tools, system=blocks, messages=messages
    )


def found(rule_check: object, target: object, ctx: Context = CTX) -> list[Finding]:
    assert callable(rule_check)
    return list(rule_check(target, ctx))


def lines(findings: list[Finding]) -> list[int]:
    return sorted(f.line for f in findings)


def all_codes(call: CallSite) -> list[tuple[str, int]]:
    hits: list[Finding] = []
    for rule in (PC103, PC201, PC202, PC301):
        assert rule.check_call_site is not None
        hits.extend(rule.check_call_site(call, CTX))
    return sorted((f.code, f.line) for f in hits)


# -- PC103 dynamic-tools ---------------------------------------------------------------------------


def test_static_or_absent_tools_are_quiet() -> None:
    question = message("user", slot("q", 9))
    assert found(PC103.check_call_site, site(question)) == []
    static = template(Text('[{"type": "function", "function": {"name": "search"}}]'))
    assert found(PC103.check_call_site, site(question, tools=static)) == []


def test_dynamic_tools_fire_at_the_tools_argument() -> None:
    tools = template(slot("tools", 7))
    hits = found(PC103.check_call_site, site(message("user", slot("q", 9)), tools=tools))
    assert [(f.code, f.line, f.column) for f in hits] == [("PC103", 7, 5)]
    assert "not fixed in the source" in hits[0].message
    assert "one fixed tools list" in hits[0].message


def test_tools_from_a_set_are_pc103_never_pc201() -> None:
    tools = template(slot("tools", 7, unordered=True))
    call = site(message("system", Text(LONG)), message("user", slot("q", 9)), tools=tools)
    assert all_codes(call) == [("PC103", 7)]
    message_text = found(PC103.check_call_site, call)[0].message
    assert "order differs between processes" in message_text


def test_volatile_or_unsorted_json_tools_are_left_to_pc102_and_pc202() -> None:
    question = message("user", slot("q", 9))
    volatile = template(Text("["), slot("tools", 7, volatile=True), Text("]"))
    assert found(PC103.check_call_site, site(question, tools=volatile)) == []
    unsorted = template(slot("tools", 7, unsorted_json=True))
    assert all_codes(site(question, tools=unsorted)) == [("PC202", 7)]
    # ...but an unsorted json.dumps of a set's items is still a tools list in no fixed order.
    both = template(slot("tools", 7, unsorted_json=True, unordered=True))
    assert all_codes(site(question, tools=both)) == [("PC103", 7), ("PC202", 7)]


def test_pc103_reports_the_first_slot_no_other_rule_covers() -> None:
    tools = template(slot("now", 3, volatile=True), Text(", "), slot("extra", 4), slot("more", 5))
    assert lines(found(PC103.check_call_site, site(message("user"), tools=tools))) == [4]


# -- PC201 unordered-iteration ---------------------------------------------------------------------


def test_unordered_slots_fire_anywhere_in_the_prompt() -> None:
    call = site(
        message("assistant", Text(SHORT), slot("examples", 4, unordered=True)),
        message("user", Text("Queues: "), slot("QUEUES", 9, unordered=True), slot("q", 10)),
        system=(Text(SHORT), slot("docs", 2, unordered=True), slot("name", 3)),
    )
    hits = found(PC201.check_call_site, call)
    assert lines(hits) == [2, 4, 9]
    assert all("sorted()" in f.message for f in hits)


def test_ordered_values_are_quiet() -> None:
    call = site(message("user", slot("sorted(QUEUES)", 9), slot("now", 10, volatile=True)))
    assert found(PC201.check_call_site, call) == []


def test_unordered_named_template() -> None:
    named = NamedTemplate("ROUTER_PROMPT", template(Text(LONG), slot("QUEUES", 3, unordered=True)))
    assert lines(found(PC201.check_template, named)) == [3]


# -- PC202 unsorted-json ---------------------------------------------------------------------------


def test_unsorted_json_before_the_final_user_message_fires() -> None:
    profile = slot("json.dumps(profile)", 3, unsorted_json=True)
    ticket = slot("json.dumps(ticket)", 5, unsorted_json=True)
    call = site(
        message("user", Text("Ticket:\n"), ticket),
        message("assistant", Text(SHORT)),
        message("user", slot("question", 9)),
        system=(Text(LONG), profile),
    )
    hits = found(PC202.check_call_site, call)
    assert lines(hits) == [3, 5]
    assert "in the system prompt" in hits[0].message
    assert "in a user message" in hits[1].message
    assert "sort_keys=True" in hits[0].message


def test_unsorted_json_in_the_final_user_message_is_exempt() -> None:
    data = slot("json.dumps(order)", 8, unsorted_json=True)
    assert found(PC202.check_call_site, site(message("user", Text(SHORT), data))) == []
    # Without a final user message (the last turn is the assistant's) nothing is exempt.
    call = site(message("user", data), message("assistant", Text(SHORT)))
    assert lines(found(PC202.check_call_site, call)) == [8]


def test_unsorted_json_in_the_tools_fires() -> None:
    tools = template(slot("tools", 6, unsorted_json=True))
    hits = found(PC202.check_call_site, site(message("user", slot("q", 9)), tools=tools))
    assert lines(hits) == [6]
    assert "in the tools" in hits[0].message


def test_pc202_does_not_judge_templates_without_a_call() -> None:
    """Whether such a template ends up in the (exempt) final user message is not known."""
    assert PC202.check_template is None


# -- PC301 repeated-text ---------------------------------------------------------------------------


def test_repeat_across_system_and_user_message_fires_at_the_call() -> None:
    call = site(
        message("user", slot("articles", 5), Text(f"\n\n{LONG}")),
        system=(Text(f"You answer questions. {LONG} {SHORT}"),),
    )
    hits = found(PC301.check_call_site, call)
    assert [(f.line, f.column, f.end_line) for f in hits] == [(1, 1, 30)]
    text = hits[0].message
    assert '"Never promise a refund before the billing team has approved…"' in text
    assert "twice" in text and "the system prompt and a user message" in text
    assert "keep one copy" in text


def test_short_repeats_are_normal_structure() -> None:
    call = site(message("user", Text(f"{SHORT}\n{SHORT}\n{SHORT}")), system=(Text(SHORT),))
    assert found(PC301.check_call_site, call) == []


def test_threshold_is_eight_tokens() -> None:
    seven = "one two three four five six seven"
    eight = "one two three four five six seven eight"
    below = NamedTemplate("P", template(Text(f"{seven}\n{seven}")))
    assert found(PC301.check_template, below) == []
    named = NamedTemplate("P", template(Text(f"{eight}\n{eight}")))
    assert len(found(PC301.check_template, named)) == 1


def test_threshold_counts_tokens_not_words() -> None:
    """Three long words are 8+ tokens for o200k_base: the rule asks the context's counter."""
    words = (
        "Supercalifragilisticexpialidocious antidisestablishmentarianism "
        "floccinaucinihilipilification."
    )
    real = Context("app.py", Settings(), TokenCounter(), ESTIMATOR)
    assert real.tokens.count(words) >= 8
    named = NamedTemplate("PROMPT", template(Text(f"{words}\n{words}")))
    assert found(PC301.check_template, named, CTX) == []
    assert len(found(PC301.check_template, named, real)) == 1


def test_lines_and_sentences_compare_normalised() -> None:
    # A bullet line against the same sentence inside a paragraph, wrapped differently.
    wrapped = LONG.replace(" the ", "\n  the ", 1)
    named = NamedTemplate(
        "SYSTEM_PROMPT", template(Text(f"Rules:\n- {LONG}\n- {SHORT}\n\nIn short. {wrapped} Go."))
    )
    hits = found(PC301.check_template, named)
    assert len(hits) == 1
    assert "prompt template `SYSTEM_PROMPT`" in hits[0].message


def test_template_repeat_is_reported_at_the_template() -> None:
    named = NamedTemplate(
        "SUPPORT_PROMPT", Template((Text(f"{LONG}\n{LONG_2}\n{LONG}"),), TEMPLATE_SPAN)
    )
    hits = found(PC301.check_template, named)
    assert [(f.line, f.column, f.end_line, f.end_column) for f in hits] == [(40, 1, 44, 2)]


def test_no_unit_spans_a_dynamic_value_or_a_block() -> None:
    first, second = LONG.split(" the ", 1)
    split_by_slot = template(Text(f"{first} the "), slot("x", 3), Text(second))
    split_by_block = Message(
        "user", (Block(template(Text(f"{first} the "))), Block(template(Text(second))))
    )
    call = CallSite(
        "openai.chat",
        "openai",
        CALL_SPAN,
        system=(Block(template(Text(LONG))), Block(split_by_slot)),
        messages=(split_by_block,),
    )
    assert found(PC301.check_call_site, call) == []


def test_rules_without_letters_are_ignored() -> None:
    rule = "= " * 12
    named = NamedTemplate("PROMPT", template(Text(f"{rule}\nA\n{rule}\nB\n{rule}")))
    assert found(PC301.check_template, named) == []


def test_one_finding_per_call_the_repeat_whose_second_copy_comes_first() -> None:
    call = site(
        message("user", Text(f"{LONG_2}\n{LONG}"), slot("q", 9), Text(f"\n{LONG_2}")),
        system=(Text(f"{LONG}\n{LONG_2}"),),
    )
    hits = found(PC301.check_call_site, call)
    assert len(hits) == 1
    assert "Always answer in the customer's" in hits[0].message
    assert "the system prompt and a user message" in hits[0].message


def test_three_copies_are_counted() -> None:
    named = NamedTemplate("PROMPT", template(Text(f"{LONG}\n{LONG}\n{LONG}")))
    assert "occurs 3 times" in found(PC301.check_template, named)[0].message


def test_long_repeats_are_quoted_by_their_start() -> None:
    long_line = " ".join(f"word{i}" for i in range(40)) + "."
    named = NamedTemplate("PROMPT", template(Text(f"{long_line}\n{long_line}")))
    text = found(PC301.check_template, named)[0].message
    assert '"word0 word1' in text and '…"' in text and "word39" not in text


# -- invariants ------------------------------------------------------------------------------------

VOCABULARY = [
    "refund",
    "policy",
    "answer",
    "customer",
    "invoice",
    "never",
    "always",
    "plan",
    "ticket",
    "kind",
    "brief",
    "quote",
    "price",
    "team",
    "billing",
    "support",
]
sentence_words = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=14)
sentences = st.lists(
    sentence_words.map(lambda ws: " ".join(ws).capitalize() + "."), unique=True, max_size=12
)
separators = st.sampled_from([" ", "\n", "\n\n", "\n- ", "\n  ", "\n1. "])


def join(parts: list[str], seps: list[str]) -> str:
    out = parts[0] if parts else ""
    for index, part in enumerate(parts[1:]):
        out += seps[index % len(seps)] + part
    return out


@given(items=sentences, seps=st.lists(separators, min_size=1, max_size=5))
def test_distinct_sentences_never_fire_in_a_template(items: list[str], seps: list[str]) -> None:
    named = NamedTemplate("SYSTEM_PROMPT", template(Text(join(items, seps))))
    assert found(PC301.check_template, named) == []


@given(
    items=sentences,
    seps=st.lists(separators, min_size=1, max_size=5),
    cuts=st.lists(st.integers(0, 12), max_size=4),
    slots_at=st.sets(st.integers(0, 12)),
)
def test_distinct_sentences_never_fire_across_a_call(
    items: list[str], seps: list[str], cuts: list[int], slots_at: set[int]
) -> None:
    """However the sentences are spread over messages, with slots between them."""
    bounds = sorted({0, len(items), *(min(c, len(items)) for c in cuts)})
    messages: list[Message] = []
    for start, end in itertools.pairwise(bounds):
        segments: list[Text | Slot] = []
        for index in range(start, end):
            if index in slots_at:
                segments.append(slot("x", index + 1))
            segments.append(Text(items[index] + seps[index % len(seps)]))
        messages.append(message("user" if len(messages) % 2 else "system", *segments))
    assert found(PC301.check_call_site, site(*messages)) == []


@given(
    items=sentences,
    extra=st.lists(st.sampled_from(VOCABULARY), min_size=8, max_size=14),
    seps=st.lists(separators, min_size=1, max_size=5),
    first=st.integers(0, 12),
    second=st.integers(0, 13),
)
def test_duplicating_a_sentence_of_8_tokens_always_fires(
    items: list[str], extra: list[str], seps: list[str], first: int, second: int
) -> None:
    repeated = " ".join(extra).capitalize() + "."
    others = [s for s in items if s != repeated]
    parts = list(others)
    parts.insert(min(first, len(parts)), repeated)
    parts.insert(min(second, len(parts)), repeated)
    named = NamedTemplate("SYSTEM_PROMPT", Template((Text(join(parts, seps)),), TEMPLATE_SPAN))
    hits = found(PC301.check_template, named)
    assert len(hits) == 1
    assert hits[0].line == TEMPLATE_SPAN.line
    assert f'"{" ".join(repeated.split()[:3])}' in hits[0].message
    # In a call, with the copies in different messages, it fires at the call.
    call = site(message("user", Text(join(parts[1:], seps))), system=(Text(parts[0]),))
    assert lines(found(PC301.check_call_site, call)) == [CALL_SPAN.line]


@given(
    items=sentences,
    extra=st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=7),
    seps=st.lists(separators, min_size=1, max_size=5),
    first=st.integers(0, 12),
)
def test_duplicating_a_short_sentence_never_fires(
    items: list[str], extra: list[str], seps: list[str], first: int
) -> None:
    repeated = " ".join(extra).capitalize() + "."
    parts = [s for s in items if s != repeated]
    parts.insert(min(first, len(parts)), repeated)
    parts.append(repeated)
    named = NamedTemplate("SYSTEM_PROMPT", template(Text(join(parts, seps))))
    assert found(PC301.check_template, named) == []


slots = st.builds(
    slot,
    st.sampled_from(["a", "b", "c"]),
    st.integers(1, 60),
    volatile=st.booleans(),
    unordered=st.booleans(),
    unsorted_json=st.booleans(),
)
segments = st.lists(st.one_of(st.sampled_from([Text(SHORT), Text(LONG)]), slots), max_size=6)
roles = st.sampled_from(["user", "assistant", "system"])
conversations = st.lists(st.tuples(roles, segments), max_size=4)
tool_templates = st.one_of(st.none(), segments.map(lambda s: template(*s)))


def build(
    system: list[Text | Slot], turns: list[tuple[str, list[Text | Slot]]], tools: Template | None
) -> CallSite:
    return site(*(message(role, *segs) for role, segs in turns), system=tuple(system), tools=tools)


@given(system=segments, turns=conversations, tools=tool_templates)
def test_pc201_reports_exactly_the_unordered_prompt_slots(
    system: list[Text | Slot], turns: list[tuple[str, list[Text | Slot]]], tools: Template | None
) -> None:
    call = build(system, turns, tools)
    expected = [s.span for t, _ in call.prompt_parts() for s in t.slots if s.unordered]
    assert [(f.line, f.column) for f in found(PC201.check_call_site, call)] == [
        (s.line, s.column) for s in expected
    ]


@given(system=segments, turns=conversations, tools=tool_templates)
def test_pc202_reports_unsorted_json_except_in_the_final_user_message(
    system: list[Text | Slot], turns: list[tuple[str, list[Text | Slot]]], tools: Template | None
) -> None:
    call = build(system, turns, tools)
    final = call.final_user_message
    expected = [s for s in (tools.slots if tools else ()) if s.unsorted_json] + [
        s
        for t, m in call.prompt_parts()
        if m is None or m is not final
        for s in t.slots
        if s.unsorted_json
    ]
    assert [f.line for f in found(PC202.check_call_site, call)] == [s.span.line for s in expected]


@given(system=segments, turns=conversations)
def test_moving_unsorted_json_into_the_final_user_message_clears_pc202(
    system: list[Text | Slot], turns: list[tuple[str, list[Text | Slot]]]
) -> None:
    everything = [*system, *(s for _, segs in turns for s in segs)]
    data = [s for s in everything if isinstance(s, Slot) and s.unsorted_json]
    rest = [s for s in everything if not (isinstance(s, Slot) and s.unsorted_json)]
    call = site(message("user", *rest[:3], *data), system=tuple(rest[3:]))
    assert found(PC202.check_call_site, call) == []


@given(system=segments, turns=conversations, tools=tool_templates)
def test_pc103_fires_once_iff_the_tools_vary_for_a_reason_of_its_own(
    system: list[Text | Slot], turns: list[tuple[str, list[Text | Slot]]], tools: Template | None
) -> None:
    call = build(system, turns, tools)
    hits = found(PC103.check_call_site, call)
    own = [
        s
        for s in (tools.slots if tools else ())
        if not s.volatile and (s.unordered or not s.unsorted_json)
    ]
    assert len(hits) == (1 if own else 0)
    if own:
        assert hits[0].line == own[0].span.line
    # Static tools never fire, and nothing outside the tools matters.
    static = build(system, turns, template(Text("[]")))
    assert found(PC103.check_call_site, static) == []
