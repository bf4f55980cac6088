"""The byte prefilter: it may let through files with no prompt, never skip one that has one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promptlint.config import DEFAULT_PROMPT_NAMES, Settings
from promptlint.extract import compile_prefilter, extract_file
from promptlint.ruledocs import pages_dir

REPO = Path(__file__).resolve().parents[1]
DEFAULT = compile_prefilter(DEFAULT_PROMPT_NAMES)


@pytest.mark.parametrize(
    "source",
    [
        "r = client.chat.completions.create(model=m, messages=x)",
        "r = client.chat.completions\n    .create(model=m)",
        "r = await c.responses.create(input=q)",
        "r = c.beta.chat.completions.parse(model=m)",
        "r = c.messages.stream(model=m)",
        "r = c.aio.models.generate_content(model=m, contents=q)",
        "from litellm import completion",
        "SYSTEM_PROMPT = 'x'",
        "system_prompt: str = 'x'",
        "self.Instructions = build()",
        "REVIEW_TEMPLATE: dict[str, str] = {}",
    ],
)
def test_passes_files_that_can_hold_prompts(source: str) -> None:
    assert DEFAULT.might_hold_prompts(source.encode())


@pytest.mark.parametrize(
    "source",
    [
        "import os\nprint(os.system('ls'))\n",
        "if prompt == 'x':\n    pass\n",
        "messages = []\nmessages.append(1)\n",
        "def completion(x):\n    return x\n",
    ],
)
def test_skips_files_that_cannot(source: str) -> None:
    assert not DEFAULT.might_hold_prompts(source.encode())


def test_custom_prompt_names() -> None:
    custom = compile_prefilter(("*_MSG", "greeting?"))
    assert custom.might_hold_prompts(b"WELCOME_MSG = 'hi'")
    assert custom.might_hold_prompts(b"greetings = 'hi'")
    assert not custom.might_hold_prompts(b"SYSTEM_PROMPT = 'hi'")
    assert compile_prefilter(("*",)).might_hold_prompts(b"x = 1")


@given(
    name=st.from_regex(re.compile(r"[a-z_]{0,6}(prompt|system|instruction|template)[a-z0-9_]{0,6}",
                                  re.IGNORECASE), fullmatch=True),
    annotation=st.sampled_from(["", ": str", ": dict[str, str]"]),
)
def test_any_prompt_named_assignment_passes(name: str, annotation: str) -> None:
    assert DEFAULT.might_hold_prompts(f"{name}{annotation} = value\n".encode())


def _sources() -> list[Path]:
    return sorted((REPO / "fixtures").rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.name)
def test_recall_on_fixtures(path: Path) -> None:
    """Every fixture file where full extraction finds something passes the prefilter."""
    data = path.read_bytes()
    model = extract_file(str(path), data, Settings())
    if model.call_sites or model.templates or model.parse_error:
        assert DEFAULT.might_hold_prompts(data)


def test_recall_on_rule_page_examples() -> None:
    blocks = []
    for page in sorted(pages_dir().glob("PC*.md")):
        blocks += re.findall(r"```python \w+\n(.*?)```", page.read_text(), re.DOTALL)
    assert blocks
    for code in blocks:
        model = extract_file("example.py", code.encode(), Settings())
        if model.call_sites or model.templates:
            assert DEFAULT.might_hold_prompts(code.encode()), code
