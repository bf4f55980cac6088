"""Extraction of LLM call sites: which calls are recognised, and what each sends in cache order
(tools -> system/instructions -> messages), per SDK (DESIGN §3)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import conversation, extract, locate, only_site, render, render_blocks

from promptlint.model import CacheControl, CallSite, FileModel, Slot


def summary(site: CallSite) -> dict[str, Any]:
    """Everything a call site records except spans, rendered for whole-value comparison."""
    return {
        "api": site.api,
        "provider": site.provider,
        "model": site.model,
        "base_url": site.base_url,
        "tools": render(site.tools) if site.tools is not None else None,
        "system": render_blocks(site.system),
        "messages": conversation(site),
        "cache_control": site.cache_control.ttl if site.cache_control is not None else None,
    }


def openai_chat(**overrides: Any) -> dict[str, Any]:
    expected: dict[str, Any] = {
        "api": "openai.chat",
        "provider": "openai",
        "model": "gpt-4o",
        "base_url": None,
        "tools": None,
        "system": [],
        "messages": [("system", ["Sys."]), ("user", ["{q}"])],
        "cache_control": None,
    }
    expected.update(overrides)
    return expected


# -- OpenAI chat completions ----------------------------------------------------------------------


def test_openai_sync() -> None:
    src = """
        from openai import OpenAI

        client = OpenAI()


        def ask(q):
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": "Sys."},
                    {"role": "user", "content": q},
                ],
            )
    """
    site = only_site(src)
    assert summary(site) == openai_chat()
    assert site.span.line == locate(src, "client.chat").line
    assert site.span.column == locate(src, "client.chat").column


def test_openai_async_awaited() -> None:
    src = """
        from openai import AsyncOpenAI

        client = AsyncOpenAI()


        async def ask(q):
            return await client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "system", "content": "Sys."}, {"role": "user", "content": q}],
            )
    """
    assert summary(only_site(src)) == openai_chat(model="gpt-4o-mini")


def test_azure_openai_client_with_another_name() -> None:
    src = """
        from openai import AzureOpenAI

        llm = AzureOpenAI(api_version="2024-02-01")


        def ask(q):
            return llm.chat.completions.create(
                model="my-deployment",
                messages=[{"role": "system", "content": "Sys."}, {"role": "user", "content": q}],
            )
    """
    assert summary(only_site(src)) == openai_chat(model="my-deployment")


def test_openai_base_url_recorded() -> None:
    src = """
        from openai import OpenAI

        deepseek = OpenAI(base_url="https://api.deepseek.com", api_key="k")


        def ask(q):
            return deepseek.chat.completions.create(
                model="deepseek-chat",
                messages=[{"role": "system", "content": "Sys."}, {"role": "user", "content": q}],
            )
    """
    assert summary(only_site(src)) == openai_chat(
        model="deepseek-chat", base_url="https://api.deepseek.com"
    )


def test_openai_module_import() -> None:
    src = """
        import openai

        client = openai.OpenAI()
        client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "system", "content": "Sys."}, {"role": "user", "content": q}],
        )
    """
    assert summary(only_site(src)) == openai_chat()


def test_openai_aliased_module_import_with_a_client_variable() -> None:
    src = """
        import openai as oa

        client = oa.OpenAI()
        client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "system", "content": "Sys."}, {"role": "user", "content": q}],
        )
    """
    assert summary(only_site(src)) == openai_chat()


def test_openai_aliased_module_inline_client() -> None:
    src = """
        import openai as oa


        def ask(q):
            return oa.OpenAI().chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "system", "content": "Sys."}, {"role": "user", "content": q}],
            )
    """
    assert summary(only_site(src)) == openai_chat()


def test_client_passed_in_recognised_by_call_shape() -> None:
    src = """
        def ask(client, q):
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "system", "content": "Sys."}, {"role": "user", "content": q}],
            )
    """
    assert summary(only_site(src)) == openai_chat()


def test_two_call_sites_in_source_order() -> None:
    src = """
        from openai import OpenAI

        client = OpenAI()


        def a(q):
            return client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": q}]
            )


        def b(q):
            return client.chat.completions.create(
                model="o3", messages=[{"role": "user", "content": "Hi"}]
            )
    """
    model = extract(src)
    assert [(s.model, conversation(s)) for s in model.call_sites] == [
        ("gpt-4o", [("user", ["{q}"])]),
        ("o3", [("user", ["Hi"])]),
    ]
    assert [(s.span.line, s.span.column) for s in model.call_sites] == [
        (locate(src, "client.chat", 1).line, locate(src, "client.chat", 1).column),
        (locate(src, "client.chat", 2).line, locate(src, "client.chat", 2).column),
    ]


# -- OpenAI Responses ------------------------------------------------------------------------------


def test_responses_instructions_and_string_input() -> None:
    src = """
        from openai import OpenAI

        client = OpenAI()
        client.responses.create(model="gpt-4.1", instructions="Be terse.", input="What is 2+2?")
    """
    assert summary(only_site(src)) == openai_chat(
        api="openai.responses",
        model="gpt-4.1",
        system=["Be terse."],
        messages=[("user", ["What is 2+2?"])],
    )


def test_responses_variable_input_is_one_user_message() -> None:
    src = """
        from openai import OpenAI

        client = OpenAI()


        def ask(q):
            return client.responses.create(model="gpt-4.1", instructions="Be terse.", input=q)
    """
    site = only_site(src)
    assert summary(site) == openai_chat(
        api="openai.responses", model="gpt-4.1", system=["Be terse."], messages=[("user", ["{q}"])]
    )
    assert not site.messages[0].is_history


def test_responses_input_list() -> None:
    src = """
        from openai import OpenAI

        client = OpenAI()


        def ask(q):
            return client.responses.create(
                model="gpt-4.1",
                input=[
                    {"role": "developer", "content": "Rules."},
                    {"role": "user", "content": q},
                ],
            )
    """
    assert summary(only_site(src)) == openai_chat(
        api="openai.responses",
        model="gpt-4.1",
        messages=[("developer", ["Rules."]), ("user", ["{q}"])],
    )


# -- Anthropic -------------------------------------------------------------------------------------


def anthropic_messages(**overrides: Any) -> dict[str, Any]:
    return (
        openai_chat(
            api="anthropic.messages",
            provider="anthropic",
            model="claude-sonnet-4-5",
            system=["You are a helpful bot."],
            messages=[("user", ["{q}"])],
        )
        | overrides
    )


def test_anthropic_system_string() -> None:
    src = """
        import anthropic

        client = anthropic.Anthropic()


        def ask(q):
            return client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1024,
                system="You are a helpful bot.",
                messages=[{"role": "user", "content": q}],
            )
    """
    site = only_site(src)
    assert summary(site) == anthropic_messages()
    assert site.system[0].cache_control is None


def test_anthropic_system_blocks_with_cache_control() -> None:
    src = """
        from anthropic import AsyncAnthropic

        client = AsyncAnthropic()


        async def ask(q):
            return await client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1024,
                system=[
                    {
                        "type": "text",
                        "text": "Long rules.",
                        "cache_control": {"type": "ephemeral", "ttl": "1h"},
                    },
                    {"type": "text", "text": "More.", "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": "Tail."},
                ],
                messages=[{"role": "user", "content": q}],
            )
    """
    site = only_site(src)
    assert summary(site) == anthropic_messages(system=["Long rules.", "More.", "Tail."])
    assert [b.cache_control for b in site.system] == [
        CacheControl("1h", locate(src, '{"type": "ephemeral", "ttl": "1h"}')),
        CacheControl(None, locate(src, '{"type": "ephemeral"}}', part='{"type": "ephemeral"}')),
        None,
    ]


def test_anthropic_request_level_cache_control() -> None:
    src = """
        import anthropic

        client = anthropic.Anthropic()


        def ask(q):
            return client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1024,
                system="You are a helpful bot.",
                messages=[{"role": "user", "content": q}],
                cache_control={"type": "ephemeral"},
            )
    """
    site = only_site(src)
    assert site.cache_control == CacheControl(None, locate(src, '{"type": "ephemeral"}'))
    assert summary(site) == anthropic_messages()


def test_anthropic_without_cache_control() -> None:
    src = """
        import anthropic

        client = anthropic.Anthropic()
        client.messages.create(
            model="claude-sonnet-4-5", max_tokens=9, messages=[{"role": "user", "content": "Hi"}]
        )
    """
    site = only_site(src)
    assert site.cache_control is None
    assert summary(site) == anthropic_messages(system=[], messages=[("user", ["Hi"])])


def test_anthropic_message_content_blocks_with_cache_control() -> None:
    src = """
        import anthropic

        client = anthropic.Anthropic()


        def ask(q):
            return client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=100,
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "text",
                                "text": "Doc.",
                                "cache_control": {"type": "ephemeral"},
                            },
                            {"type": "text", "text": q},
                        ],
                    }
                ],
            )
    """
    site = only_site(src)
    assert summary(site) == anthropic_messages(system=[], messages=[("user", ["Doc.", "{q}"])])
    assert [b.cache_control for b in site.messages[0].blocks] == [
        CacheControl(None, locate(src, '{"type": "ephemeral"}')),
        None,
    ]


# -- Google GenAI ----------------------------------------------------------------------------------


def gemini(**overrides: Any) -> dict[str, Any]:
    return (
        openai_chat(
            api="gemini.generate_content",
            provider="gemini",
            model="gemini-2.5-flash",
            system=["You are a clown."],
            messages=[("user", ["Tell me a joke."])],
        )
        | overrides
    )


def test_gemini_typed_config() -> None:
    src = """
        from google import genai
        from google.genai import types

        client = genai.Client()
        client.models.generate_content(
            model="gemini-2.5-flash",
            contents="Tell me a joke.",
            config=types.GenerateContentConfig(system_instruction="You are a clown."),
        )
    """
    assert summary(only_site(src)) == gemini()


def test_gemini_dict_config_and_variable_contents() -> None:
    src = """
        from google import genai

        client = genai.Client()


        def ask(q):
            return client.models.generate_content(
                model="gemini-2.5-flash",
                contents=q,
                config={"system_instruction": "You are a clown."},
            )
    """
    assert summary(only_site(src)) == gemini(messages=[("user", ["{q}"])])


def test_gemini_contents_with_roles() -> None:
    src = """
        from google import genai

        client = genai.Client()
        client.models.generate_content(
            model="gemini-2.5-flash",
            contents=[
                {"role": "user", "parts": [{"text": "Hi"}]},
                {"role": "model", "parts": [{"text": "Yo"}]},
            ],
        )
    """
    assert summary(only_site(src)) == gemini(
        system=[], messages=[("user", ["Hi"]), ("model", ["Yo"])]
    )


# -- LiteLLM ---------------------------------------------------------------------------------------


def test_litellm_completion() -> None:
    src = """
        from litellm import completion


        def ask(q):
            return completion(
                model="gpt-4o",
                messages=[{"role": "system", "content": "Sys."}, {"role": "user", "content": q}],
            )
    """
    assert summary(only_site(src)) == openai_chat(api="litellm.completion", provider="litellm")


def test_litellm_acompletion_with_dict_messages() -> None:
    src = """
        import litellm


        async def ask(q):
            return await litellm.acompletion(
                model="claude-3-haiku",
                messages=[dict(role="system", content="Sys."), dict(role="user", content=q)],
            )
    """
    assert summary(only_site(src)) == openai_chat(
        api="litellm.completion", provider="litellm", model="claude-3-haiku"
    )


def test_litellm_aliased_and_positional() -> None:
    src = """
        from litellm import completion as comp


        def ask(q):
            return comp(
                "gpt-4o", [{"role": "system", "content": "Sys."}, {"role": "user", "content": q}]
            )
    """
    assert summary(only_site(src)) == openai_chat(api="litellm.completion", provider="litellm")


# -- messages --------------------------------------------------------------------------------------


def chat_messages(messages: str, body: str = "", params: str = "q, history, flag") -> str:
    lines = [
        "from openai import OpenAI",
        "",
        "client = OpenAI()",
        "",
        "",
        f"def ask({params}):",
        *[f"    {line}" for line in body.strip("\n").splitlines()],
        f'    return client.chat.completions.create(model="gpt-4o", messages={messages})',
        "",
    ]
    return "\n".join(lines)


def test_messages_as_dict_calls() -> None:
    src = chat_messages('[dict(role="system", content="Sys."), dict(role="user", content=q)]')
    assert conversation(only_site(src)) == [("system", ["Sys."]), ("user", ["{q}"])]


def test_content_as_a_list_of_text_blocks() -> None:
    src = chat_messages(
        '[{"role": "system", "content": [{"type": "text", "text": "A."}, '
        '{"type": "text", "text": "B."}]}, {"role": "user", "content": q}]'
    )
    site = only_site(src)
    assert conversation(site) == [("system", ["A.", "B."]), ("user", ["{q}"])]
    assert [b.cache_control for b in site.messages[0].blocks] == [None, None]


def test_history_splice() -> None:
    src = chat_messages(
        '[{"role": "system", "content": "Sys."}, *history, {"role": "user", "content": q}]'
    )
    site = only_site(src)
    assert conversation(site) == [
        ("system", ["Sys."]),
        ("history", ["{history!h}"]),
        ("user", ["{q}"]),
    ]
    history = site.messages[1]
    assert history.is_history
    assert history.blocks[0].content.slots == (
        Slot("history", locate(src, "*history"), history=True, passed_in=True),
    )
    assert not site.messages[0].is_history
    assert not site.messages[2].is_history


def test_messages_is_a_history_variable() -> None:
    src = chat_messages("history")
    site = only_site(src)
    assert conversation(site) == [("history", ["{history!h}"])]
    assert site.messages[0].blocks[0].content.slots == (
        Slot(
            "history",
            locate(src, "messages=history", part="history"),
            history=True,
            passed_in=True,
        ),
    )


def test_history_plus_a_list() -> None:
    src = chat_messages('history + [{"role": "user", "content": q}]')
    assert conversation(only_site(src)) == [("history", ["{history!h}"]), ("user", ["{q}"])]


def test_list_plus_history_plus_list() -> None:
    src = chat_messages(
        '[{"role": "system", "content": "Sys."}] + history + [{"role": "user", "content": q}]'
    )
    assert conversation(only_site(src)) == [
        ("system", ["Sys."]),
        ("history", ["{history!h}"]),
        ("user", ["{q}"]),
    ]


def test_appended_messages_in_straight_line_code() -> None:
    body = """
messages = [{"role": "system", "content": "Sys."}]
messages.append({"role": "assistant", "content": "Example answer."})
messages.append({"role": "user", "content": q})
"""
    src = chat_messages("messages", body)
    site = only_site(src)
    assert conversation(site) == [
        ("system", ["Sys."]),
        ("assistant", ["Example answer."]),
        ("user", ["{q}"]),
    ]
    assert [m.span.line for m in site.messages] == [7, 8, 9]


def test_extend_with_history() -> None:
    body = """
messages = [{"role": "system", "content": "Sys."}]
messages.extend(history)
messages.append({"role": "user", "content": q})
"""
    assert conversation(only_site(chat_messages("messages", body))) == [
        ("system", ["Sys."]),
        ("history", ["{history!h}"]),
        ("user", ["{q}"]),
    ]


def test_conditional_append_keeps_the_messages_around_it() -> None:
    body = """
messages = [{"role": "system", "content": "Sys."}]
if flag:
    messages.append({"role": "assistant", "content": "Ok."})
messages.append({"role": "user", "content": q})
"""
    site = only_site(chat_messages("messages", body))
    assert conversation(site)[0] == ("system", ["Sys."])
    assert conversation(site)[-1] == ("user", ["{q}"])
    assert len(site.messages) == 3
    (slot,) = site.messages[1].blocks[0].content.slots
    assert site.messages[1].blocks[0].content.segments == (slot,)


def test_conditional_append_is_a_dynamic_message_not_history() -> None:
    body = """
messages = [{"role": "system", "content": "Sys."}]
if flag:
    messages.append({"role": "assistant", "content": "Ok."})
messages.append({"role": "user", "content": q})
"""
    src = chat_messages("messages", body)
    site = only_site(src)
    middle = site.messages[1]
    assert middle.role == "?"
    assert not middle.is_history
    assert [(s.history, s.volatile, s.unordered) for s in middle.blocks[0].content.slots] == [
        (False, False, False)
    ]


# -- model and tools -------------------------------------------------------------------------------


def test_dynamic_model_is_none() -> None:
    src = """
        from openai import OpenAI

        client = OpenAI()


        def ask(q, model_name):
            return client.chat.completions.create(
                model=model_name, messages=[{"role": "user", "content": q}]
            )
    """
    site = only_site(src)
    assert site.model is None
    assert conversation(site) == [("user", ["{q}"])]


def test_model_from_a_module_constant() -> None:
    src = """
        from openai import OpenAI

        MODEL = "gpt-4o-mini"
        client = OpenAI()
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    """
    assert only_site(src).model == "gpt-4o-mini"


def tools_of(body: str, tools: str) -> str | None:
    src = chat_messages('[{"role": "user", "content": q}]', body).replace(
        "messages=[", f"tools={tools}, messages=["
    )
    site = only_site(src)
    return render(site.tools) if site.tools is not None else None


def test_tools_literal_is_static() -> None:
    tools = '[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]'
    assert tools_of("", tools) == (
        '[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]'
    )


def test_tools_from_a_straight_line_variable_is_static() -> None:
    body = 'tools = [{"type": "function", "function": {"name": "a"}}]'
    assert tools_of(body, "tools") == '[{"type": "function", "function": {"name": "a"}}]'


def test_no_tools() -> None:
    assert only_site(chat_messages('[{"role": "user", "content": q}]')).tools is None


def test_tools_set_in_a_branch_are_dynamic() -> None:
    body = """
tools = [{"type": "function", "function": {"name": "a"}}]
if flag:
    tools = [{"type": "function", "function": {"name": "b"}}]
"""
    assert tools_of(body, "tools") == "{tools}"


def test_tools_appended_in_a_branch_are_dynamic() -> None:
    body = """
tools = []
if flag:
    tools.append({"type": "function", "function": {"name": "b"}})
"""
    assert tools_of(body, "tools") == "{tools}"


# -- not LLM calls ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "imports", ["from twilio.rest import Client", "from twilio.rest import Client\nimport openai"]
)
def test_twilio_messages_create_is_not_a_call_site(imports: str) -> None:
    src = (
        imports
        + """
client = Client("sid", "token")


def notify():
    return client.messages.create(to="+15550001", from_="+15550002", body="hi")
"""
    )
    assert extract(src).call_sites == ()


def test_assistants_thread_messages_are_not_a_call_site() -> None:
    src = """
        from openai import OpenAI

        client = OpenAI()


        def post(thread_id):
            client.beta.threads.messages.create(thread_id=thread_id, role="user", content="hello")
    """
    assert extract(src).call_sites == ()


def test_local_function_named_completion_is_not_litellm() -> None:
    src = """
        def completion(model, messages):
            return None


        def ask(q):
            return completion(model="gpt-4o", messages=[{"role": "user", "content": q}])
    """
    assert extract(src).call_sites == ()


def test_completion_imported_from_another_library_is_not_litellm() -> None:
    src = """
        from mylib import completion


        def ask(q):
            return completion(model="gpt-4o", messages=[{"role": "user", "content": q}])
    """
    assert extract(src).call_sites == ()


def test_file_without_llm_imports_or_prompt_names_is_empty() -> None:
    src = """
        import os


        def helper(path):
            greeting = "Hello"
            return os.path.join(path, greeting)
    """
    assert extract(src) == FileModel("mod.py")


def test_class_attributes_resolve_through_self() -> None:
    """`self.system_prompt` set in `__init__`, `self.MODEL` a class constant."""
    site = only_site(
        """
        from openai import OpenAI


        class Bot:
            MODEL = "gpt-4o"
            BASE = "You are Acme's assistant."

            def __init__(self, client: OpenAI, name: str) -> None:
                self.client = client
                self.system_prompt = self.BASE + f" You help {name}."

            def ask(self, question: str) -> str:
                return self.client.chat.completions.create(
                    model=self.MODEL,
                    messages=[
                        {"role": "system", "content": self.system_prompt},
                        {"role": "user", "content": question},
                    ],
                )
        """
    )
    assert site.model == "gpt-4o"
    assert conversation(site) == [
        ("system", ["You are Acme's assistant. You help {name}."]),
        ("user", ["{question}"]),
    ]
