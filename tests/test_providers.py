"""Provider cache profiles (DESIGN §5): the bundled data file, which profile a call site gets (by
model, base_url, SDK, LiteLLM prefix, or the user's `--provider` / `--model`), what an automatic
cache keeps of a stable prefix, and the errors of invalid profile data."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from conftest import only_site

from promptlint.model import UNKNOWN_SPAN, CallSite
from promptlint.providers import (
    Choice,
    Profile,
    ProfileError,
    Profiles,
    bundled_profiles,
    infer_provider,
    parse_profiles,
    profile_for,
)

PROFILES = bundled_profiles()
API_OF = {
    "openai": "openai.chat",
    "anthropic": "anthropic.messages",
    "gemini": "gemini.generate_content",
    "litellm": "litellm.completion",
}


def site(sdk: str, model: str | None = None, base_url: str | None = None) -> CallSite:
    return CallSite(API_OF[sdk], sdk, UNKNOWN_SPAN, model=model, base_url=base_url)


def chosen(call: CallSite, provider: str | None = None, model: str | None = None) -> Profile:
    return profile_for(call, PROFILES, Choice(provider, model))


def named(name: str) -> Profile:
    profile = PROFILES.named(name)
    assert profile is not None, name
    return profile


# -- matching by model -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sdk", "model", "name", "minimum", "granularity", "explicit"),
    [
        ("openai", "gpt-4o", "openai-gpt-4o", 1024, 128, False),
        ("openai", "gpt-4o-2024-08-06", "openai-gpt-4o", 1024, 128, False),
        ("openai", "gpt-4o-mini", "openai-gpt-4o-mini", 1024, 128, False),
        ("openai", "gpt-4.1", "openai-gpt-4-1", 1024, 128, False),
        ("openai", "gpt-4.1-mini", "openai-gpt-4-1", 1024, 128, False),
        ("openai", "gpt-5", "openai-gpt-5", 1024, 128, False),
        ("openai", "gpt-5-mini", "openai-gpt-5-mini", 1024, 128, False),
        ("openai", "gpt-5.5", "openai-gpt-5-5", 1024, 128, False),
        ("openai", "gpt-5.6-terra", "openai-gpt-5-6", 1024, 1, False),  # exact boundary
        ("openai", "GPT-5.6-Terra", "openai-gpt-5-6", 1024, 1, False),  # case-insensitive
        ("anthropic", "claude-sonnet-4-5", "anthropic-sonnet-4", 1024, 1, True),
        ("anthropic", "claude-opus-4-7", "anthropic-opus-4-7", 2048, 1, True),
        ("anthropic", "claude-haiku-4-5", "anthropic-haiku-4-5", 4096, 1, True),
        ("anthropic", "claude-haiku-4-5-20251001", "anthropic-haiku-4-5", 4096, 1, True),
        ("anthropic", "claude-opus-5", "anthropic-opus-5", 512, 1, True),
        ("gemini", "gemini-2.5-flash", "gemini-2-5", 2048, 1, False),
        ("gemini", "gemini-3-pro", "gemini-3", 4096, 1, False),
    ],
)
def test_profile_by_model(
    sdk: str, model: str, name: str, minimum: int, granularity: int, explicit: bool
) -> None:
    profile = chosen(site(sdk, model))
    assert (profile.name, profile.min_tokens, profile.granularity, profile.explicit) == (
        name,
        minimum,
        granularity,
        explicit,
    )


def test_explicit_profiles_allow_four_breakpoints() -> None:
    for model in ("claude-sonnet-4-5", "claude-opus-4-7", "claude-haiku-4-5", "claude-opus-5"):
        assert chosen(site("anthropic", model)).max_breakpoints == 4


def test_deepseek_chat_through_its_endpoint() -> None:
    profile = chosen(site("openai", "deepseek-chat", "https://api.deepseek.com"))
    assert (profile.name, profile.min_tokens, profile.granularity) == ("deepseek-flash", 64, 64)
    assert chosen(site("openai", "deepseek-reasoner", "https://api.deepseek.com/v1")).name == (
        "deepseek-pro"
    )


@pytest.mark.parametrize(
    ("sdk", "model", "name"),
    [
        ("openai", None, "openai-gpt-5"),
        ("openai", "my-azure-deployment", "openai-gpt-5"),
        ("anthropic", None, "anthropic-sonnet-4"),
        ("anthropic", "claude-someday-9", "anthropic-sonnet-4"),
        ("gemini", None, "gemini-2-5"),
        ("gemini", "gemma-7b", "gemini-2-5"),
        ("litellm", None, "generic"),
        ("litellm", "my-router-alias", "generic"),
    ],
)
def test_unknown_model_gets_the_providers_default(sdk: str, model: str | None, name: str) -> None:
    assert chosen(site(sdk, model)).name == name


def test_every_provider_has_exactly_one_default() -> None:
    for provider in PROFILES.providers:
        defaults = [p.name for p in PROFILES.profiles if p.provider == provider and p.default]
        assert len(defaults) == 1, (provider, defaults)


def test_unknown_provider_falls_back_to_generic() -> None:
    assert PROFILES.for_provider("nope", "gpt-4o").name == "generic"


# -- eligible(): what an automatic cache keeps of a stable prefix ----------------------------------


@pytest.mark.parametrize(
    ("name", "stable", "eligible"),
    [
        # OpenAI before GPT-5.6: nothing under 1024, then 1024 + k * 128.
        ("openai-gpt-4o", 0, 0),
        ("openai-gpt-4o", 1023, 0),
        ("openai-gpt-4o", 1024, 1024),
        ("openai-gpt-4o", 1151, 1024),
        ("openai-gpt-4o", 1152, 1152),
        ("openai-gpt-4o", 2000, 1920),
        ("openai-gpt-4o", 2048, 2048),
        ("openai-gpt-5", 3000, 2944),
        # GPT-5.6: the exact boundary above the minimum.
        ("openai-gpt-5-6", 1023, 0),
        ("openai-gpt-5-6", 1024, 1024),
        ("openai-gpt-5-6", 1025, 1025),
        ("openai-gpt-5-6", 2000, 2000),
        # DeepSeek: 64-token units.
        ("deepseek-flash", 63, 0),
        ("deepseek-flash", 64, 64),
        ("deepseek-flash", 127, 64),
        ("deepseek-flash", 128, 128),
        ("deepseek-flash", 1000, 960),
        # vLLM: full blocks of 16.
        ("vllm", 15, 0),
        ("vllm", 16, 16),
        ("vllm", 31, 16),
        ("vllm", 1000, 992),
        # Kimi: 256-token chunks; MiMo: token level from the first token.
        ("kimi-k2", 255, 0),
        ("kimi-k2", 700, 512),
        ("mimo-v2-5", 1, 1),
        ("mimo-v2-5", 0, 0),
        ("mimo-v2-5", 777, 777),
    ],
)
def test_eligible(name: str, stable: int, eligible: int) -> None:
    assert named(name).eligible(stable) == eligible


def test_eligible_is_monotonic_and_never_exceeds_the_prefix() -> None:
    for profile in PROFILES.profiles:
        previous = 0
        for stable in range(0, 5000, 7):
            value = profile.eligible(stable)
            assert 0 <= value <= stable
            assert value >= previous
            assert value == 0 or value >= profile.min_tokens
            assert value == 0 or (value - profile.min_tokens) % profile.granularity == 0
            previous = value


# -- inference from the client's base_url, the SDK and LiteLLM model names -------------------------


def openai_client_site(base_url: str, model: str) -> CallSite:
    return only_site(
        f"""
        from openai import OpenAI

        client = OpenAI(base_url={base_url!r}, api_key="k")


        def ask(q):
            return client.chat.completions.create(
                model={model!r},
                messages=[{{"role": "user", "content": q}}],
            )
        """
    )


@pytest.mark.parametrize(
    ("base_url", "model", "provider", "name"),
    [
        ("https://api.deepseek.com", "deepseek-chat", "deepseek", "deepseek-flash"),
        ("https://api.deepseek.com/v1", "deepseek-v4-pro", "deepseek", "deepseek-pro"),
        ("https://api.xiaomimimo.com/v1", "mimo-v2.5-pro", "mimo", "mimo-v2-5-pro"),
        ("https://api.xiaomimimo.com/v1", "mimo-v2.5", "mimo", "mimo-v2-5"),
        ("https://api.moonshot.cn/v1", "kimi-k3", "kimi", "kimi-k3"),
        ("https://api.moonshot.ai/v1", "moonshot-v1-8k", "kimi", "kimi-k2"),
        (
            "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
            "qwen-plus",
            "qwen",
            "qwen",
        ),
        ("http://localhost:8000/v1", "meta-llama/Llama-3.1-8B-Instruct", "vllm", "vllm"),
        ("http://127.0.0.1:8000/v1", "gpt-4o", "vllm", "vllm"),
        ("https://llm.internal.example.com/v1", "gpt-4o", "generic", "generic"),
        ("https://api.openai.com/v1", "gpt-4o", "openai", "openai-gpt-4o"),
    ],
)
def test_provider_from_base_url(base_url: str, model: str, provider: str, name: str) -> None:
    call = openai_client_site(base_url, model)
    assert call.base_url == base_url  # the extractor recorded it
    assert infer_provider(call, PROFILES) == provider
    assert chosen(call).name == name


def test_base_url_host_match_is_case_insensitive() -> None:
    assert infer_provider(site("openai", "x", "https://API.DeepSeek.com"), PROFILES) == "deepseek"


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("deepseek/deepseek-chat", "deepseek-flash"),
        ("deepseek/deepseek-reasoner", "deepseek-pro"),
        ("gemini/gemini-2.5-flash", "gemini-2-5"),
        ("claude-haiku-4-5", "anthropic-haiku-4-5"),  # a bare model name names its provider too
        ("gpt-4o-mini", "openai-gpt-4o-mini"),
        ("kimi-k3", "kimi-k3"),
    ],
)
def test_litellm_model_names(model: str, name: str) -> None:
    assert chosen(site("litellm", model)).name == name


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("anthropic/claude-opus-4-7", "anthropic-opus-4-7"),
        ("anthropic/claude-sonnet-4-5", "anthropic-sonnet-4"),
        ("openai/gpt-4o", "openai-gpt-4o"),
    ],
)
def test_litellm_provider_prefixes(model: str, name: str) -> None:
    assert chosen(site("litellm", model)).name == name


def test_litellm_call_extracted_from_source() -> None:
    call = only_site(
        """
        from litellm import completion


        def route(text):
            return completion(
                model="deepseek/deepseek-chat",
                messages=[{"role": "user", "content": text}],
            )
        """
    )
    assert (call.provider, call.model) == ("litellm", "deepseek/deepseek-chat")
    assert chosen(call).name == "deepseek-flash"


# -- --provider / --model --------------------------------------------------------------------------


def test_model_override_within_the_inferred_provider() -> None:
    assert chosen(site("openai", "gpt-4o"), model="gpt-5.6-terra").name == "openai-gpt-5-6"
    assert chosen(site("openai"), model="gpt-4.1").name == "openai-gpt-4-1"
    assert chosen(site("anthropic", "claude-sonnet-4-5"), model="claude-opus-4-7").name == (
        "anthropic-opus-4-7"
    )


def test_provider_override_uses_the_site_model_within_that_provider() -> None:
    assert chosen(site("openai", "deepseek-reasoner"), provider="deepseek").name == "deepseek-pro"
    assert chosen(site("openai", "gpt-4o"), provider="deepseek").name == "deepseek-flash"
    assert chosen(site("openai", "gpt-4o", "http://localhost:8000"), provider="openai").name == (
        "openai-gpt-4o"
    )


def test_provider_and_model_override_together() -> None:
    call = site("openai", "gpt-4o")
    assert chosen(call, provider="anthropic", model="claude-haiku-4-5").name == (
        "anthropic-haiku-4-5"
    )
    assert chosen(call, provider="deepseek", model="deepseek/deepseek-reasoner").name == (
        "deepseek-pro"
    )


def test_provider_override_by_profile_name_wins_over_any_model() -> None:
    call = site("anthropic", "claude-haiku-4-5")
    assert chosen(call, provider="anthropic-opus-5").name == "anthropic-opus-5"
    assert chosen(call, provider="vllm", model="claude-opus-4-7").name == "vllm"
    assert chosen(call, provider="openai-gpt-5-6", model="gpt-4o").name == "openai-gpt-5-6"


def test_empty_choice_infers() -> None:
    call = site("anthropic", "claude-opus-4-7")
    assert profile_for(call, PROFILES, Choice()) == chosen(call)


# -- the bundled data ------------------------------------------------------------------------------

# What `unconfirmed` may name: the data file's fact keys (DESIGN §5: each fact with its source).
FACT_KEYS = {
    "min_tokens",
    "granularity",
    "breakpoints",
    "max_breakpoints",
    "input",
    "cached_input",
    "cache_write",
    "currency",
    "models",
}


@pytest.mark.parametrize("profile", PROFILES.profiles, ids=lambda p: p.name)
def test_bundled_profile_is_sourced_and_dated(profile: Profile) -> None:
    assert profile.source.strip()
    assert profile.date.strip()
    assert re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?|-Q[1-4])?", profile.date), profile.date
    assert profile.models, "a profile matches at least one model pattern"
    field_names = {f.name for f in dataclasses.fields(Profile)} | {"breakpoints"}
    for name in profile.unconfirmed:
        assert name in FACT_KEYS and (name in field_names), name
    assert len(set(profile.unconfirmed)) == len(profile.unconfirmed)


@pytest.mark.parametrize("profile", PROFILES.profiles, ids=lambda p: p.name)
def test_bundled_profile_is_consistent(profile: Profile) -> None:
    assert profile.min_tokens >= 0 and profile.granularity >= 1
    if profile.explicit:
        assert profile.max_breakpoints >= 1
    else:
        assert profile.max_breakpoints == 0
    if profile.has_prices:
        assert profile.cached_input is not None and profile.input is not None
        assert profile.cache_write is not None
        assert 0 < profile.cached_input <= profile.input <= profile.cache_write
    elif profile.provider not in {"vllm", "generic"}:  # self-hosted / unknown: no price at all
        # a hosted provider's unknown prices are marked unconfirmed in the data file
        assert {"input", "cached_input", "cache_write"} <= set(profile.unconfirmed)
    assert profile.currency in {"USD", "CNY"}


def test_profile_names_are_unique_and_hosts_name_known_providers() -> None:
    names = [p.name for p in PROFILES.profiles]
    assert len(names) == len(set(names))
    assert set(PROFILES.hosts.values()) <= set(PROFILES.providers)
    assert "generic" in names


# -- parse_profiles errors -------------------------------------------------------------------------


def raw_profile(**changes: Any) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "provider": "acme",
        "models": ["acme-*"],
        "min_tokens": 1024,
        "granularity": 128,
        "breakpoints": "automatic",
        "currency": "USD",
        "input": 1.0,
        "cached_input": 0.1,
        "cache_write": 1.0,
        "date": "2026-11",
        "source": "tests",
    }
    profile.update(changes)
    return {k: v for k, v in profile.items() if v is not None}


def parse_one(**changes: Any) -> Profiles:
    return parse_profiles({"profiles": {"acme-1": raw_profile(**changes)}}, "custom.toml")


def test_parse_a_valid_profile() -> None:
    profiles = parse_one(input=-1, default=True, unconfirmed=["input"])
    profile = profiles.profiles[0]
    assert (profile.name, profile.provider, profile.models, profile.default) == (
        "acme-1",
        "acme",
        ("acme-*",),
        True,
    )
    assert profile.input is None and not profile.has_prices
    assert profiles.for_provider("acme", "ACME-Large") == profile


@pytest.mark.parametrize(
    ("changes", "key", "pattern"),
    [
        ({"min_token": 5}, "min_token", "unknown key"),
        ({"granularity": "128"}, "granularity", "wrong type"),
        ({"min_tokens": 1024.0}, "min_tokens", "wrong type"),
        ({"min_tokens": True}, "min_tokens", "wrong type"),
        ({"models": "acme-*"}, "models", "wrong type"),
        ({"default": "yes"}, "default", "wrong type"),
        ({"input": "cheap"}, "input", "wrong type"),
        ({"breakpoints": "sometimes"}, "breakpoints", "automatic"),
        ({"source": None}, "source", "missing key"),
        ({"granularity": 0}, "granularity", ">= 1"),
        ({"min_tokens": -1}, "min_tokens", ">= 0"),
    ],
)
def test_parse_errors_name_origin_profile_and_key(
    changes: dict[str, Any], key: str, pattern: str
) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_one(**changes)
    message = str(caught.value)
    assert message.startswith("custom.toml: profile 'acme-1': "), message
    assert f"'{key}'" in message
    assert pattern in message


def test_unknown_key_error_lists_the_valid_keys() -> None:
    with pytest.raises(ProfileError, match=r"valid keys: .*granularity.*min_tokens"):
        parse_one(min_token=5)


def test_parse_errors_for_non_tables() -> None:
    with pytest.raises(ProfileError, match=r"^custom\.toml: 'profiles' and 'hosts' must be tables"):
        parse_profiles({"profiles": ["x"]}, "custom.toml")
    with pytest.raises(ProfileError, match=r"^custom\.toml: profile 'x' must be a table"):
        parse_profiles({"profiles": {"x": 3}}, "custom.toml")
