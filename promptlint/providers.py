"""Provider cache profiles (the data file `providers.toml` beside this module) and which profile a
call site gets: by override, by its client's `base_url`, by SDK, and by its static model name."""

from __future__ import annotations

import fnmatch
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from promptlint.model import CallSite

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DATA_FILE = "providers.toml"
SDK_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "gemini": "gemini"}
# LiteLLM names the provider in the model string: "anthropic/claude-...", "deepseek/deepseek-chat".
_MODEL_PREFIXES = {
    "claude": "anthropic",
    "gemini": "gemini",
    "deepseek": "deepseek",
    "mimo": "mimo",
    "kimi": "kimi",
    "moonshot": "kimi",
    "qwen": "qwen",
    "gpt": "openai",
    "o1": "openai",
    "o3": "openai",
    "o4": "openai",
    "chatgpt": "openai",
}


class ProfileError(ValueError):
    """The profile data (bundled or from configuration) is invalid: names the source and key."""


@dataclass(frozen=True)
class Profile:
    name: str
    provider: str
    models: tuple[str, ...]
    default: bool
    min_tokens: int
    granularity: int
    explicit: bool  # only content up to a `cache_control` breakpoint is cached
    max_breakpoints: int
    currency: str
    input: float | None  # price per 1M tokens; None when not known
    cached_input: float | None
    cache_write: float | None
    date: str
    source: str
    unconfirmed: tuple[str, ...]

    @property
    def has_prices(self) -> bool:
        return None not in (self.input, self.cached_input, self.cache_write)

    def eligible(self, stable_tokens: int) -> int:
        """What an automatic cache keeps of a stable prefix: nothing under the minimum, then
        whole steps of `granularity` above it."""
        if stable_tokens < self.min_tokens or stable_tokens <= 0:
            return 0
        steps = (stable_tokens - self.min_tokens) // self.granularity
        return self.min_tokens + steps * self.granularity


@dataclass(frozen=True)
class Profiles:
    """All profiles in file order, and the base_url hosts of OpenAI-compatible providers."""

    profiles: tuple[Profile, ...]
    hosts: Mapping[str, str]

    def named(self, name: str) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None)

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.provider for p in self.profiles))

    def for_provider(self, provider: str, model: str | None) -> Profile:
        """The provider's first profile whose patterns match the model, else its default."""
        candidates = [p for p in self.profiles if p.provider == provider]
        if model is not None:
            lowered = model.lower()
            for profile in candidates:
                if any(fnmatch.fnmatchcase(lowered, pattern) for pattern in profile.models):
                    return profile
        default = next((p for p in candidates if p.default), None)
        if default is not None:
            return default
        generic = self.named("generic")
        assert generic is not None, "the bundled data defines the generic profile"
        return generic


@dataclass(frozen=True)
class Choice:
    """What the user fixed for every call site (`--provider`, `--model`); None means infer."""

    provider: str | None = None
    model: str | None = None


def infer_provider(site: CallSite, profiles: Profiles) -> str:
    """The provider a call site talks to: its client's base_url, else its SDK, else its model."""
    if site.base_url is not None:
        host = site.base_url.lower()
        for fragment, provider in profiles.hosts.items():
            if fragment in host:
                return provider
        if site.provider == "openai" and "api.openai.com" not in host:
            return "generic"  # an OpenAI-compatible server we do not know
    if site.provider in SDK_PROVIDERS:
        return SDK_PROVIDERS[site.provider]
    if site.model is not None:  # LiteLLM: "anthropic/claude-...", "bedrock/...", or a bare name
        lowered = site.model.lower()
        head = re.split(r"[/:]", lowered)[0]  # "anthropic/claude-..." (LiteLLM), "openai:gpt-4o"
        if head != lowered and head in profiles.providers:
            return head
        if head == "google-gla" or head == "google-vertex":  # pydantic-ai's Gemini prefixes
            return "gemini"
        name = model_name(lowered)
        for prefix, provider in _MODEL_PREFIXES.items():
            if name.startswith(prefix):
                return provider
    return "generic"


def model_name(model: str) -> str:
    """The model's own name: without a router prefix (`anthropic/`, `bedrock/`) or a cloud's
    vendor prefix (`us.anthropic.claude-...`)."""
    name = re.split(r"[/:]", model.lower())[-1]
    return re.sub(r"^(?:[a-z]+\.)+(?=[a-z])", "", name)


def profile_for(site: CallSite, profiles: Profiles, choice: Choice) -> Profile:
    if choice.provider is not None:
        named = profiles.named(choice.provider)
        if named is not None:
            return named
    provider = choice.provider or infer_provider(site, profiles)
    model = choice.model or site.model
    return profiles.for_provider(provider, model_name(model) if model is not None else None)


# -- loading and validating ---------------------------------------------------------------------

_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "provider": str,
    "models": list,
    "min_tokens": int,
    "granularity": int,
    "breakpoints": str,
    "currency": str,
    "input": (int, float),
    "cached_input": (int, float),
    "cache_write": (int, float),
    "date": str,
    "source": str,
}
_OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "default": bool,
    "max_breakpoints": int,
    "unconfirmed": list,
}


def _price(value: float) -> float | None:
    return None if value < 0 else float(value)


def _profile(name: str, raw: Mapping[str, Any], origin: str) -> Profile:
    where = f"{origin}: profile {name!r}"
    for key in raw:
        if key not in _REQUIRED and key not in _OPTIONAL:
            known = ", ".join(sorted({*_REQUIRED, *_OPTIONAL}))
            raise ProfileError(f"{where}: unknown key {key!r}; valid keys: {known}")
    for key, kind in {**_REQUIRED, **_OPTIONAL}.items():
        if key not in raw:
            if key in _REQUIRED:
                raise ProfileError(f"{where}: missing key {key!r}")
            continue
        value = raw[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ProfileError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    if raw["breakpoints"] not in ("automatic", "explicit"):
        raise ProfileError(f'{where}: \'breakpoints\' must be "automatic" or "explicit"')
    if raw["min_tokens"] < 0 or raw["granularity"] < 1:
        raise ProfileError(f"{where}: 'min_tokens' must be >= 0 and 'granularity' >= 1")
    return Profile(
        name=name,
        provider=raw["provider"],
        models=tuple(str(m).lower() for m in raw["models"]),
        default=bool(raw.get("default", False)),
        min_tokens=raw["min_tokens"],
        granularity=raw["granularity"],
        explicit=raw["breakpoints"] == "explicit",
        max_breakpoints=int(raw.get("max_breakpoints", 0)),
        currency=raw["currency"],
        input=_price(raw["input"]),
        cached_input=_price(raw["cached_input"]),
        cache_write=_price(raw["cache_write"]),
        date=raw["date"],
        source=raw["source"],
        unconfirmed=tuple(str(u) for u in raw.get("unconfirmed", ())),
    )


def parse_profiles(data: Mapping[str, Any], origin: str) -> Profiles:
    raw_profiles = data.get("profiles", {})
    hosts = data.get("hosts", {})
    if not isinstance(raw_profiles, dict) or not isinstance(hosts, dict):
        raise ProfileError(f"{origin}: 'profiles' and 'hosts' must be tables")
    profiles = []
    for name, raw in raw_profiles.items():
        if not isinstance(raw, dict):
            raise ProfileError(f"{origin}: profile {name!r} must be a table")
        profiles.append(_profile(name, raw, origin))
    return Profiles(tuple(profiles), {str(k).lower(): str(v) for k, v in hosts.items()})


def bundled_profiles() -> Profiles:
    """The profiles shipped with promptlint (read once per run by the caller)."""
    text = (files("promptlint") / DATA_FILE).read_text(encoding="utf-8")
    return parse_profiles(tomllib.loads(text), DATA_FILE)


def bundled_data_bytes() -> bytes:
    """The data file's bytes, for cache keys: a change of profiles invalidates cached results."""
    return (files("promptlint") / DATA_FILE).read_bytes()
