"""Token figures per call site (DESIGN §5), from call sites the extractor builds out of source.

The request is laid out as estimate.py documents it: every part (tools, each system block, each
message block) in cache order, each followed by a newline, and the stable prefix ends where the
first dynamic value starts. Expected figures are computed here from the texts with the same
tokenizer, so each test states exactly which text is the stable prefix.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import only_site

from promptlint.cli import main
from promptlint.estimate import PART_SEPARATOR, Estimate, Estimator
from promptlint.model import UNKNOWN_SPAN, CallSite
from promptlint.providers import Choice, bundled_profiles
from promptlint.tokens import TokenCounter

TOKENS = TokenCounter()
PROFILES = bundled_profiles()
ESTIMATOR = Estimator(TOKENS, PROFILES, 64)  # TOKENS is a plain TokenCounter()
NL = PART_SEPARATOR


def count(text: str) -> int:
    return TOKENS.count(text)


def words(n: int, word: str = "policy") -> str:
    """A text of exactly `n` tokens: one word repeated (each ` word` is one token)."""
    text = " ".join([word] * n)
    assert count(text) == n
    return text


def source(body: str, **constants: str) -> str:
    """Module constants (as literals, so any length fits on one line) followed by `body`."""
    head = "".join(f"{name} = {value!r}\n" for name, value in constants.items())
    return head + textwrap.dedent(body)


def site_of(body: str, **constants: str) -> CallSite:
    return only_site(source(body, **constants))


def estimate(site: CallSite, choice: Choice | None = None, dynamic_tokens: int = 64) -> Estimate:
    if choice is None and dynamic_tokens == 64:
        return ESTIMATOR.estimate(site)
    return Estimator(TOKENS, PROFILES, dynamic_tokens, choice).estimate(site)


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def codes(path: Path, *options: str) -> list[str]:
    code, out = cli("check", str(path), "--format", "json", *options)
    assert code in (0, 1), out
    return [f["code"] for f in json.loads(out)]


OPENAI_CHAT = """
    from openai import OpenAI

    client = OpenAI()


    def ask(question):
        return client.chat.completions.create(
            model="gpt-4o",
            messages=[
                {"role": "system", "content": RULES},
                {"role": "user", "content": question},
            ],
        )
"""

ANTHROPIC_SYSTEM_STRING = """
    import anthropic

    client = anthropic.Anthropic()


    def ask(question):
        return client.messages.create(
            model="MODEL",
            max_tokens=1024,
            system=RULES,
            messages=[{"role": "user", "content": question}],
        )
"""

ANTHROPIC_SYSTEM_BLOCK = """
    import anthropic

    client = anthropic.Anthropic()


    def ask(question):
        return client.messages.create(
            model="MODEL",
            max_tokens=1024,
            system=[{"type": "text", "text": RULES, "cache_control": {"type": "ephemeral"}}],
            messages=[{"role": "user", "content": question}],
        )
"""


# -- automatic profiles ----------------------------------------------------------------------------


def test_openai_static_system_then_dynamic_user() -> None:
    rules = words(1500)
    e = estimate(site_of(OPENAI_CHAT, RULES=rules))
    assert e.profile.name == "openai-gpt-4o"
    assert e.static_prefix_tokens == count(rules + NL) == 1501
    assert e.dynamic_slots == 1
    assert e.estimated_total_tokens == 1501 + 64
    assert e.cache_eligible_tokens == 1024 + 3 * 128  # 1501 rounded down to 128-token steps
    assert e.cache_eligible_share == pytest.approx(1408 / 1565)
    assert e.breakpoints_in_prefix == 0


def test_static_text_before_the_first_slot_is_in_the_prefix_the_rest_in_the_total() -> None:
    body = """
        from openai import OpenAI

        client = OpenAI()


        def ask(question, context):
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": RULES},
                    {"role": "user", "content": f"Context: {context}\\n\\nQuestion: {question}"},
                    {"role": "assistant", "content": "Understood."},
                ],
            )
    """
    rules = words(1200)
    e = estimate(site_of(body, RULES=rules))
    assert e.static_prefix_tokens == count(rules + NL + "Context: ")
    # static text after the first slot, and the newline joining the user and assistant parts
    after = count("\n\nQuestion: ") + count(NL) + count("Understood.")
    assert e.dynamic_slots == 2
    assert e.estimated_total_tokens == e.static_prefix_tokens + after + 2 * 64
    assert e.cache_eligible_tokens == 1152


def test_fully_static_request_parts_joined_by_newlines() -> None:
    body = """
        from openai import OpenAI

        client = OpenAI()
        client.chat.completions.create(
            model="gpt-4o",
            messages=[
                {"role": "system", "content": RULES},
                {"role": "user", "content": "Summarise the policy."},
            ],
        )
    """
    rules = words(1100)
    e = estimate(site_of(body, RULES=rules))
    assert e.static_prefix_tokens == count(rules + NL + "Summarise the policy.")
    assert e.dynamic_slots == 0
    assert e.estimated_total_tokens == e.static_prefix_tokens
    assert e.cache_eligible_tokens == 1024
    assert e.cache_eligible_share == pytest.approx(1024 / e.estimated_total_tokens)


def test_static_tools_come_first_in_the_prefix() -> None:
    body = """
        from openai import OpenAI

        client = OpenAI()


        def ask(question):
            return client.chat.completions.create(
                model="gpt-4o",
                tools=[{"type": "function", "function": {"name": "lookup", "parameters": {}}}],
                messages=[
                    {"role": "system", "content": RULES},
                    {"role": "user", "content": question},
                ],
            )
    """
    rules = words(1100)
    call = site_of(body, RULES=rules)
    assert call.tools is not None and call.tools.is_static
    tools = call.tools.static_text
    assert json.loads(tools)[0]["function"]["name"] == "lookup"
    e = estimate(call)
    assert e.static_prefix_tokens == count(tools + NL + rules + NL)
    assert e.cache_eligible_tokens == openai_steps(e.static_prefix_tokens)


def openai_steps(n: int) -> int:
    return 0 if n < 1024 else 1024 + (n - 1024) // 128 * 128


def test_dynamic_tools_leave_no_stable_prefix() -> None:
    body = """
        from openai import OpenAI

        client = OpenAI()


        def ask(question, tools):
            return client.chat.completions.create(
                model="gpt-4o",
                tools=tools,
                messages=[
                    {"role": "system", "content": RULES},
                    {"role": "user", "content": question},
                ],
            )
    """
    rules = words(3000)
    e = estimate(site_of(body, RULES=rules))
    assert e.static_prefix_tokens == 0
    assert e.dynamic_slots == 2
    assert e.estimated_total_tokens >= count(rules) + 2 * 64
    assert (e.cache_eligible_tokens, e.cache_eligible_share) == (0, 0.0)


def test_total_counts_the_part_separators_after_the_first_dynamic_value() -> None:
    body = OPENAI_CHAT.replace('"content": RULES}', '"content": f"{question} " + RULES}')
    rules = words(3000)
    e = estimate(site_of(body, RULES=rules))
    assert e.static_prefix_tokens == 0
    # system: slot, " " + RULES; the newline joining the parts; user: slot
    assert e.estimated_total_tokens == count(" " + rules) + count(NL) + 64 + 64


def test_dynamic_tokens_per_slot_is_configurable() -> None:
    call = site_of(OPENAI_CHAT, RULES=words(1100))
    assert estimate(call, dynamic_tokens=500).estimated_total_tokens == 1101 + 500
    assert estimate(call, dynamic_tokens=0).estimated_total_tokens == 1101


def test_responses_api_instructions_then_input() -> None:
    body = """
        from openai import OpenAI

        client = OpenAI()


        def ask(question):
            return client.responses.create(
                model="gpt-4.1",
                instructions=RULES,
                input=f"Question: {question}",
            )
    """
    rules = words(1300)
    e = estimate(site_of(body, RULES=rules))
    assert e.profile.name == "openai-gpt-4-1"
    assert e.static_prefix_tokens == count(rules + NL + "Question: ")
    assert e.cache_eligible_tokens == 1280


def test_gemini_exact_boundary_above_its_minimum() -> None:
    body = """
        from google import genai
        from google.genai import types

        client = genai.Client()


        def triage(ticket):
            return client.models.generate_content(
                model="gemini-2.5-flash",
                contents=ticket,
                config=types.GenerateContentConfig(system_instruction=RULES),
            )
    """
    call = site_of(body, RULES=words(2100))
    e = estimate(call)
    assert e.profile.name == "gemini-2-5"
    assert e.static_prefix_tokens == 2101
    assert e.cache_eligible_tokens == 2101
    short = estimate(site_of(body, RULES=words(2000)))
    assert (short.static_prefix_tokens, short.cache_eligible_tokens) == (2001, 0)


def test_deepseek_endpoint_rounds_to_64_token_units() -> None:
    body = OPENAI_CHAT.replace(
        "client = OpenAI()", 'client = OpenAI(base_url="https://api.deepseek.com", api_key="k")'
    ).replace('"gpt-4o"', '"deepseek-chat"')
    e = estimate(site_of(body, RULES=words(1000)))
    assert e.profile.name == "deepseek-flash"
    assert e.static_prefix_tokens == 1001
    assert e.cache_eligible_tokens == 960


def test_share_of_an_empty_request_is_zero() -> None:
    e = ESTIMATOR.estimate(CallSite("openai.chat", "openai", UNKNOWN_SPAN, model="gpt-4o"))
    assert (e.static_prefix_tokens, e.estimated_total_tokens, e.cache_eligible_tokens) == (0, 0, 0)
    assert e.cache_eligible_share == 0.0


def test_estimate_is_memoised_per_call_site() -> None:
    call = site_of(OPENAI_CHAT, RULES=words(50))
    estimator = Estimator(TOKENS, PROFILES, 64)
    assert estimator.estimate(call) is estimator.estimate(call)


# -- explicit (Anthropic) profiles: only up to the last breakpoint in the stable prefix ------------


def anthropic(body: str, model: str = "claude-sonnet-4-5", **constants: str) -> CallSite:
    return site_of(body.replace("MODEL", model), **constants)


def test_no_breakpoint_caches_nothing() -> None:
    rules = words(3000)
    e = estimate(anthropic(ANTHROPIC_SYSTEM_STRING, RULES=rules))
    assert e.profile.explicit and e.profile.name == "anthropic-sonnet-4"
    assert e.static_prefix_tokens == count(rules + NL) == 3001
    assert e.estimated_total_tokens == 3001 + 64
    assert (e.cache_eligible_tokens, e.breakpoints_in_prefix) == (0, 0)


def test_system_block_breakpoint_caches_the_whole_block() -> None:
    rules = words(3000)
    e = estimate(anthropic(ANTHROPIC_SYSTEM_BLOCK, RULES=rules))
    assert e.static_prefix_tokens == 3001
    assert (e.cache_eligible_tokens, e.breakpoints_in_prefix) == (3001, 1)
    assert e.cache_eligible_share == pytest.approx(3001 / 3065)


def test_only_up_to_the_last_breakpoint_inside_the_stable_prefix() -> None:
    body = """
        import anthropic

        client = anthropic.Anthropic()


        def ask(question):
            return client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1024,
                system=[
                    {"type": "text", "text": A, "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": B, "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": C},
                ],
                messages=[{"role": "user", "content": question}],
            )
    """
    a, b, c = words(900, "alpha"), words(400, "beta"), words(700, "gamma")
    e = estimate(site_of(body, A=a, B=b, C=c))
    assert e.static_prefix_tokens == count(a + NL + b + NL + c + NL)
    assert e.cache_eligible_tokens == count(a + NL + b + NL) == 1302
    assert e.breakpoints_in_prefix == 2


def test_breakpoint_under_the_minimum_caches_nothing() -> None:
    body = """
        import anthropic

        client = anthropic.Anthropic()


        def ask(question):
            return client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1024,
                system=[
                    {"type": "text", "text": A, "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": B},
                ],
                messages=[{"role": "user", "content": question}],
            )
    """
    e = estimate(site_of(body, A=words(300, "alpha"), B=words(2000, "beta")))
    assert e.static_prefix_tokens == 2302  # long enough, but the breakpoint sits at 301
    assert (e.cache_eligible_tokens, e.breakpoints_in_prefix) == (0, 1)


def test_message_block_breakpoint() -> None:
    body = """
        import anthropic

        client = anthropic.Anthropic()


        def ask(question):
            return client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1024,
                system=RULES,
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": DOC, "cache_control": {"type": "ephemeral"}},
                            {"type": "text", "text": question},
                        ],
                    }
                ],
            )
    """
    rules, doc = words(600), words(900, "manual")
    e = estimate(site_of(body, RULES=rules, DOC=doc))
    assert e.static_prefix_tokens == count(rules + NL + doc + NL) == 1502
    assert (e.cache_eligible_tokens, e.breakpoints_in_prefix) == (1502, 1)


def test_tool_breakpoint_caches_the_tools() -> None:
    body = """
        import anthropic

        client = anthropic.Anthropic()


        def ask(user, question):
            return client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1024,
                tools=[
                    {
                        "name": "lookup",
                        "description": DOC,
                        "input_schema": {"type": "object", "properties": {}},
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
                system=f"You help {user}.",
                messages=[{"role": "user", "content": question}],
            )
    """
    call = site_of(body, DOC=words(1200, "manual"))
    assert call.tools is not None and len(call.tool_breakpoints) == 1
    tools = call.tools.static_text
    e = estimate(call)
    assert e.static_prefix_tokens == count(tools + NL + "You help ")
    assert e.cache_eligible_tokens == count(tools + NL)
    assert e.cache_eligible_tokens > 1200
    assert e.breakpoints_in_prefix == 1


def test_breakpoint_on_an_earlier_tool_caches_only_up_to_that_tool() -> None:
    body = """
        import anthropic

        client = anthropic.Anthropic()


        def ask(question):
            return client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1024,
                tools=[
                    {
                        "name": "a",
                        "description": "Small.",
                        "input_schema": {},
                        "cache_control": {"type": "ephemeral"},
                    },
                    {"name": "b", "description": DOC, "input_schema": {}},
                ],
                messages=[{"role": "user", "content": question}],
            )
    """
    e = estimate(site_of(body, DOC=words(1500, "manual")))
    assert e.static_prefix_tokens > 1500
    assert e.cache_eligible_tokens == 0  # tool "a" alone is far under the 1,024 minimum


def test_request_level_breakpoint_on_a_fully_static_request() -> None:
    body = """
        import anthropic

        client = anthropic.Anthropic()
        client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=1024,
            system=RULES,
            messages=[{"role": "user", "content": "Summarise the policy."}],
            cache_control={"type": "ephemeral"},
        )
    """
    rules = words(1500)
    call = site_of(body, RULES=rules)
    assert call.cache_control is not None
    e = estimate(call)
    assert e.static_prefix_tokens == count(rules + NL + "Summarise the policy.")
    assert e.cache_eligible_tokens == e.static_prefix_tokens
    assert e.breakpoints_in_prefix == 1


def test_request_level_breakpoint_lands_on_the_dynamic_last_block() -> None:
    """The automatic breakpoint goes on the last block; when that block is dynamic every request
    writes a new entry and none is ever read (providers.md, Anthropic: "the same trap")."""
    body = ANTHROPIC_SYSTEM_STRING.replace(
        'messages=[{"role": "user", "content": question}],',
        'messages=[{"role": "user", "content": question}],\n'
        '            cache_control={"type": "ephemeral"},',
    )
    call = anthropic(body, RULES=words(1500))
    assert call.cache_control is not None
    e = estimate(call)
    assert e.static_prefix_tokens == 1501
    assert (e.cache_eligible_tokens, e.breakpoints_in_prefix) == (0, 0)


def test_breakpoint_after_the_first_dynamic_value_does_not_count() -> None:
    body = """
        import anthropic

        client = anthropic.Anthropic()


        def ask(name, question):
            return client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1024,
                system=[
                    {
                        "type": "text",
                        "text": f"Hello {name}. " + RULES,
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
                messages=[{"role": "user", "content": question}],
            )
    """
    e = estimate(site_of(body, RULES=words(2000)))
    assert e.static_prefix_tokens == count("Hello ")
    assert (e.cache_eligible_tokens, e.breakpoints_in_prefix) == (0, 0)


def test_only_the_breakpoints_before_the_first_dynamic_value_count() -> None:
    body = """
        import anthropic

        client = anthropic.Anthropic()


        def ask(name, question):
            return client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1024,
                system=[
                    {"type": "text", "text": RULES, "cache_control": {"type": "ephemeral"}},
                    {
                        "type": "text",
                        "text": f"The customer is {name}. " + MORE,
                        "cache_control": {"type": "ephemeral"},
                    },
                ],
                messages=[{"role": "user", "content": question}],
            )
    """
    rules = words(1100)
    e = estimate(site_of(body, RULES=rules, MORE=words(2000, "extra")))
    assert e.static_prefix_tokens == count(rules + NL + "The customer is ")
    assert e.cache_eligible_tokens == count(rules + NL) == 1101
    assert e.breakpoints_in_prefix == 1


def test_the_models_minimum_applies_to_the_breakpoint() -> None:
    rules = words(1500)
    for model, eligible in [
        ("claude-sonnet-4-5", 1501),
        ("claude-opus-5", 1501),
        ("claude-opus-4-7", 0),
        ("claude-haiku-4-5", 0),
    ]:
        e = estimate(anthropic(ANTHROPIC_SYSTEM_BLOCK, model, RULES=rules))
        assert e.cache_eligible_tokens == eligible, model


# -- the acceptance cases ------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_acceptance_3000_token_system_without_breakpoint_is_pc402(tmp_path: Path) -> None:
    text = source(ANTHROPIC_SYSTEM_STRING.replace("MODEL", "claude-sonnet-4-5"), RULES=words(3000))
    path = write(tmp_path, "bot.py", text)
    assert codes(path) == ["PC402"]
    e = estimate(only_site(text))
    assert (e.static_prefix_tokens, e.cache_eligible_tokens) == (3001, 0)


def test_acceptance_same_with_cache_control_on_the_system_block(tmp_path: Path) -> None:
    text = source(ANTHROPIC_SYSTEM_BLOCK.replace("MODEL", "claude-sonnet-4-5"), RULES=words(3000))
    path = write(tmp_path, "bot.py", text)
    assert cli("check", str(path)) == (0, "All checks passed! (1 file checked)\n")
    e = estimate(only_site(text))
    assert e.cache_eligible_tokens == e.static_prefix_tokens == 3001


def test_acceptance_1500_tokens_to_a_2048_minimum_model_is_pc401(tmp_path: Path) -> None:
    for body in (ANTHROPIC_SYSTEM_BLOCK, ANTHROPIC_SYSTEM_STRING):
        text = source(body.replace("MODEL", "claude-opus-4-7"), RULES=words(1500))
        path = write(tmp_path, "bot.py", text)
        assert codes(path) == ["PC401"]  # under the minimum: no PC402 either
        e = estimate(only_site(text))
        assert e.profile.min_tokens == 2048
        assert (e.static_prefix_tokens, e.cache_eligible_tokens) == (1501, 0)


def first_dynamic_at_2000(tmp_path: Path) -> tuple[str, Path]:
    body = """
        from openai import OpenAI

        client = OpenAI()


        def ask(question):
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": RULES},
                    {"role": "user", "content": f"{question}\\n\\n{TAIL}"},
                ],
            )
    """
    rules = words(1999)
    assert count(rules + NL) == 2000  # the first dynamic value sits at token 2,000
    text = source(body, RULES=rules, TAIL=words(236, "note"))
    return text, write(tmp_path, "bot.py", text)


def test_acceptance_first_dynamic_value_at_token_2000(tmp_path: Path) -> None:
    text, path = first_dynamic_at_2000(tmp_path)
    call = only_site(text)
    e = estimate(call)
    assert e.static_prefix_tokens == 2000
    assert e.estimated_total_tokens == 2000 + 64 + count("\n\n" + words(236, "note")) == 2301
    assert e.cache_eligible_tokens == 1920  # gpt-4o: 1024 + 7 * 128
    terra = estimate(call, Choice(model="gpt-5.6-terra"))
    assert (terra.profile.name, terra.cache_eligible_tokens) == ("openai-gpt-5-6", 2000)

    code, out = cli("report", str(path), "--format", "json")
    assert code == 0, out
    [row] = json.loads(out)["call_sites"]
    assert (row["static_prefix_tokens"], row["cache_eligible_tokens"]) == (2000, 1920)
    code, out = cli("report", str(path), "--format", "json", "--model", "gpt-5.6-terra")
    assert code == 0, out
    [row] = json.loads(out)["call_sites"]
    assert (row["static_prefix_tokens"], row["cache_eligible_tokens"]) == (2000, 2000)
    assert row["profile"] == "openai-gpt-5-6"
