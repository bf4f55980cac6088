"""Settings for one run. Built by the CLI (and later from pyproject/promptlint.toml) and passed in;
nothing deeper in the pipeline reads the environment or global state."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PROMPT_NAMES: tuple[str, ...] = ("*PROMPT*", "*SYSTEM*", "*INSTRUCTION*", "*TEMPLATE*")


@dataclass(frozen=True)
class Settings:
    # Rule selection: codes ("PC101"), prefixes ("PC1") or rule names ("dynamic-before-static").
    select: tuple[str, ...] = ("PC",)
    ignore: tuple[str, ...] = ()
    # PC101 fires when a dynamic value precedes at least this many static tokens.
    min_static_tokens: int = 32
    # Tokens assumed for each dynamic slot when estimating a prompt's size.
    dynamic_tokens: int = 64
    # fnmatch patterns (case-insensitive) for names whose templates are linted without a call site.
    prompt_names: tuple[str, ...] = DEFAULT_PROMPT_NAMES
    encoding: str = "o200k_base"
