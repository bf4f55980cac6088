"""Rules as pure functions over hand-built prompt models (no extractor involved), and the
invariants PC101 and PC102 must keep whatever the prompt looks like (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from promptlint.checks import RULES, select_rules
from promptlint.checks.base import Context
from promptlint.checks.pc101_dynamic_before_static import RULE as PC101
from promptlint.checks.pc102_volatile_in_prompt import RULE as PC102
from promptlint.config import Settings
from promptlint.estimate import Estimator
from promptlint.model import Block, CallSite, Message, NamedTemplate, Slot, Span, Template, Text
from promptlint.providers import bundled_profiles


class WordCount:
    """A stand-in tokenizer: one token per word, so thresholds are easy to reason about."""

    def count(self, text: str) -> int:
        return len(text.split())


ESTIMATOR = Estimator(WordCount(), bundled_profiles(), dynamic_tokens=64)
CTX = Context("app.py", Settings(), WordCount(), ESTIMATOR)
LONG = " ".join(["rule"] * 40)  # 40 "tokens": over the default threshold of 32
SHORT = " ".join(["word"] * 5)


def slot(name: str, line: int, **facts: bool) -> Slot:
    return Slot(name, Span(line, 5, line, 5 + len(name)), **facts)


def message(role: str, *segments: Text | Slot) -> Message:
    return Message(role, (Block(Template(tuple(segments))),))


def site(*messages: Message, system: tuple[Text | Slot, ...] = ()) -> CallSite:
    blocks = (Block(Template(system)),) if system else ()
    return CallSite("openai.chat", "openai", Span(1, 1, 1, 1), system=blocks, messages=messages)


def codes(call: CallSite) -> list[tuple[str, int]]:
    found = [*PC101.check_call_site(call, CTX), *PC102.check_call_site(call, CTX)]
    return sorted((f.code, f.line) for f in found)


def test_dynamic_first_in_system_fires_at_it() -> None:
    call = site(message("system", slot("user", 3), Text(LONG)), message("user", slot("q", 9)))
    assert codes(call) == [("PC101", 3)]


def test_static_after_counts_across_messages() -> None:
    # 5 words after the slot in its message, 40 in a later static few-shot message.
    call = site(
        message("system", Text(LONG), slot("user", 3), Text(SHORT)),
        message("assistant", Text(LONG)),
        message("user", slot("q", 9)),
    )
    assert codes(call) == [("PC101", 3)]


def test_below_threshold_is_quiet_and_threshold_is_configurable() -> None:
    call = site(message("system", slot("user", 3), Text(SHORT)), message("user", slot("q", 9)))
    assert codes(call) == []
    strict = Context("app.py", Settings(min_static_tokens=5), WordCount(), ESTIMATOR)
    assert [f.line for f in PC101.check_call_site(call, strict)] == [3]


def test_history_exempts_the_final_user_messages_own_static_text() -> None:
    history = message("history", slot("history", 4, history=True))
    call = site(message("system", Text(LONG)), history, message("user", slot("q", 9), Text(LONG)))
    assert codes(call) == []
    # ...but static few-shot messages after the history are re-sent uncached every turn.
    few_shot = message("assistant", Text(LONG))
    call = site(message("system", Text(LONG)), history, few_shot, message("user", slot("q", 9)))
    assert codes(call) == [("PC101", 4)]


def test_volatile_is_exempt_only_in_the_final_user_message() -> None:
    now = slot("now", 7, volatile=True)
    assert codes(site(message("system", Text(LONG)), message("user", Text(SHORT), now))) == []
    assert codes(site(message("system", Text(SHORT), now), message("user", slot("q", 9)))) == [
        ("PC102", 7)
    ]
    # The last message is an assistant turn: there is no final user message to exempt.
    assert codes(site(message("user", now), message("assistant", Text(SHORT)))) == [("PC102", 7)]


def test_volatile_in_tools_and_system_blocks() -> None:
    now = slot("now", 7, volatile=True)
    tools = Template((Text("[]"), now))
    call = CallSite(
        "anthropic.messages",
        "anthropic",
        Span(1, 1, 1, 1),
        tools=tools,
        system=(Block(Template((now,))),),
        messages=(message("user", slot("q", 9)),),
    )
    assert [
        f.message.split(" sits in ")[1].split(":")[0] for f in PC102.check_call_site(call, CTX)
    ] == ["the tools", "the system prompt"]


def test_named_template_measures() -> None:
    named = NamedTemplate("SYSTEM_PROMPT", Template((slot("now", 2, volatile=True), Text(LONG))))
    found = [*PC101.check_template(named, CTX), *PC102.check_template(named, CTX)]
    assert sorted((f.code, f.line) for f in found) == [("PC101", 2), ("PC102", 2)]


def test_selection_by_code_prefix_and_name() -> None:
    assert [r.code for r in select_rules(("PC1",), ())] == ["PC101", "PC102", "PC103"]
    chosen = select_rules(("ALL",), ("volatile-in-prompt", "PC4"))
    assert [r.code for r in chosen] == [
        "PC000",
        "PC101",
        "PC103",
        "PC201",
        "PC202",
        "PC301",
        "PC302",
        "PC900",
    ]
    assert len(RULES) == len({r.code for r in RULES}) == len({r.name for r in RULES})


# -- invariants ------------------------------------------------------------------------------------

words = st.lists(
    st.sampled_from(["rule", "policy", "answer", "be", "kind"]), min_size=1, max_size=60
).map(" ".join)
segments = st.lists(
    st.one_of(
        words.map(Text),
        st.builds(
            slot, st.sampled_from(["a", "b", "now"]), st.integers(1, 50), volatile=st.booleans()
        ),
    ),
    max_size=8,
)


@given(system=segments, user=segments)
def test_dynamic_values_at_the_very_end_never_raise_pc101(
    system: list[Text | Slot], user: list[Text | Slot]
) -> None:
    """Moving every dynamic value to the end of the final user message is always a fix."""
    statics = [s for s in (*system, *user) if isinstance(s, Text)]
    dynamics = [s for s in (*system, *user) if isinstance(s, Slot)]
    call = site(message("system", *statics), message("user", *dynamics))
    assert list(PC101.check_call_site(call, CTX)) == []
    assert list(PC102.check_call_site(call, CTX)) == []


@given(system=segments, user=segments, extra=words)
def test_more_static_text_at_the_end_never_removes_pc101(
    system: list[Text | Slot], user: list[Text | Slot], extra: str
) -> None:
    call = site(message("system", *system), message("user", *user))
    longer = site(message("system", *system), message("user", *user, Text(extra)))
    before = {f.line for f in PC101.check_call_site(call, CTX)}
    after = {f.line for f in PC101.check_call_site(longer, CTX)}
    assert before <= after


@given(system=segments, user=segments)
def test_pc101_fires_at_most_once_and_only_at_the_first_dynamic_value(
    system: list[Text | Slot], user: list[Text | Slot]
) -> None:
    call = site(message("system", *system), message("user", *user))
    found = list(PC101.check_call_site(call, CTX))
    first = next((s for s in (*system, *user) if isinstance(s, Slot)), None)
    assert len(found) <= 1
    if found:
        assert first is not None and found[0].line == first.span.line
