"""Decide from a file's bytes, before any parse, whether it can hold anything extraction finds.

Most files of a real code base hold no prompt. A file passes when it contains an API call chain
(`completions.create`, `messages.create`, `models.generate_content`, ...), mentions `litellm`,
LangChain's `ChatPromptTemplate` or `pydantic_ai`, or assigns to (or defines) a prompt-named
name.
Anything extraction can find needs one of these in the source text, so skipping the others loses
nothing (a test checks this on the fixtures and the rule pages' examples).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Each check is a literal keyword (a fast `bytes.find` gate) and a regex starting with it, which
# `re` searches by its literal prefix: much faster than one alternation over all of them.
_CALL_CHECKS: tuple[tuple[bytes, bytes], ...] = (
    (b"completions", rb"completions\s*\.\s*(?:create|parse|stream)\b"),
    (b"responses", rb"responses\s*\.\s*(?:create|parse|stream)\b"),
    (b"messages", rb"messages\s*\.\s*(?:create|stream)\b"),
    (b"generate_content", rb"generate_content"),
    (b"litellm", rb"litellm"),
    (b"chatprompttemplate", rb"chatprompttemplate"),
    (b"pydantic_ai", rb"pydantic_ai"),
)


def literal_chunk(pattern: str) -> str:
    """The longest wildcard-free run of an fnmatch pattern (may be empty)."""
    return max(re.split(r"[*?]|\[[^\]]*\]", pattern), key=len)


@dataclass(frozen=True)
class Prefilter:
    checks: tuple[tuple[bytes, re.Pattern[bytes]], ...]

    def might_hold_prompts(self, data: bytes) -> bool:
        lowered = data.lower()  # ASCII-only, in C: much faster than a case-insensitive regex
        return any(k in lowered and p.search(lowered) for k, p in self.checks)


def compile_prefilter(prompt_names: Sequence[str]) -> Prefilter:
    """An API call marker, or an assignment to a name holding a prompt-name chunk.

    The name part is matched from the pattern's longest literal chunk to the `=`: a superset of
    the names the pattern matches, searched without backtracking over whole identifiers.
    """
    chunks = sorted({literal_chunk(p).lower().encode("utf-8") for p in prompt_names})
    if any(not c for c in chunks):  # a pattern such as "*": every assignment may be a prompt
        return Prefilter(((b"", re.compile(rb"")),))
    # An assignment (`X =`, `X: str =`), or a definition (`def build_x_prompt(`).
    assignments = [(c, re.escape(c) + rb"\w*\s*(?::[^=\n]*)?=(?!=)") for c in chunks]
    assignments += [(c, rb"def\s+\w*" + re.escape(c) + rb"\w*\s*\(") for c in chunks]
    return Prefilter(tuple((k, re.compile(p)) for k, p in (*_CALL_CHECKS, *assignments)))
