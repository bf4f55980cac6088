"""Pruning (`extract/pruning.py`) drops what cannot reach a prompt before libcst parses a file.

Its promise: extraction with pruning gives the same call sites, templates, spans, parse errors and
findings as extraction of the whole file (only `exports` may differ: the link stage re-reads a
pruned module whole). Every test here compares the two, with `prune` switched off in the module
that calls it, over the fixtures, the rule pages' examples, hand-written tricky modules and
generated ones; then `prune` itself is checked line by line.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptlint import engine
from promptlint.checks import select_rules
from promptlint.config import Settings
from promptlint.discovery import discover
from promptlint.estimate import Estimator
from promptlint.extract import extract_source
from promptlint.extract.pruning import Pruned, prune
from promptlint.model import FileModel, Finding
from promptlint.providers import bundled_profiles
from promptlint.ruledocs import pages_dir

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
SETTINGS = Settings()
PROMPT_NAMES = SETTINGS.prompt_names
RULES = select_rules(("PC",), ())


class WordCount:
    """A stand-in tokenizer (one token per word), cheap and deterministic."""

    def count(self, text: str) -> int:
        return len(text.split())


ESTIMATOR = Estimator(WordCount(), bundled_profiles(), dynamic_tokens=64)

# -- the equivalence -------------------------------------------------------------------------------

# The module whose `extract_source` calls `prune` (the name it imported is the one to replace).
_CALLER = sys.modules[extract_source.__module__]


@contextmanager
def pruning_disabled() -> Iterator[None]:
    assert getattr(_CALLER, "prune", None) is prune, "extract_source no longer calls `prune`"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_CALLER, "prune", lambda text, prompt_names: None)
        yield


def _finding_facts(findings: tuple[Finding, ...]) -> list[tuple[Any, ...]]:
    """Everything a finding says (its `==` compares the position and code only)."""
    return [
        (f.path, f.line, f.column, f.end_line, f.end_column, f.code, f.message, f.cell, f.fix)
        for f in findings
    ]


def _outcome(path: str, data: bytes) -> tuple[FileModel, list[tuple[Any, ...]]]:
    """The engine's findings for one file, and the model it extracted them from (recorded on
    the way, so that the file is extracted once)."""
    models: list[FileModel] = []
    extract = engine.safe_extract

    def recording(*args: Any, **kwargs: Any) -> FileModel:
        model = extract(*args, **kwargs)
        models.append(model)
        return model

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "safe_extract", recording)
        findings = engine.check_source(path, data, SETTINGS, RULES, ESTIMATOR).findings
    (model,) = models
    return model, _finding_facts(findings)


def assert_equivalent(source: str | bytes, path: str = "mod.py") -> FileModel:
    """Extract (and lint) `source` with and without pruning; both must say the same. Returns
    the model of the whole file."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    pruned_model, pruned_findings = _outcome(path, data)
    with pruning_disabled():
        whole_model, whole_findings = _outcome(path, data)
    for model in (pruned_model, whole_model):
        assert model.parse_error is None or not model.parse_error.internal, model.parse_error
    assert pruned_model.parse_error == whole_model.parse_error
    assert pruned_model.call_sites == whole_model.call_sites
    assert pruned_model.templates == whole_model.templates
    assert pruned_findings == whole_findings
    assert whole_model.exports_complete  # the unpruned side really read the whole file
    return whole_model


def test_disabling_pruning_reaches_extraction() -> None:
    """The switch the equivalence relies on: with it, a pruned module is read whole."""
    source = "def unused():\n    return 1\n\nSYSTEM_PROMPT = 'Be brief.'\n"
    assert prune(source, PROMPT_NAMES) is not None
    assert not extract_source("mod.py", source, SETTINGS).exports_complete
    with pruning_disabled():
        assert extract_source("mod.py", source, SETTINGS).exports_complete


# -- the corpus: fixtures and rule pages -----------------------------------------------------------

FIXTURE_FILES = sorted(
    p for p in FIXTURES.rglob("*") if p.suffix in {".py", ".ipynb"} and "__pycache__" not in p.parts
)
_FENCE = re.compile(
    r"^```(?:python|py)\b[^\n]*\n(?P<code>.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE
)
RULE_BLOCKS = [
    pytest.param(match.group("code"), id=f"{page.stem}-{index}")
    for page in sorted(pages_dir().glob("*.md"))
    for index, match in enumerate(_FENCE.finditer(page.read_text(encoding="utf-8")), start=1)
]


def test_corpus_is_there() -> None:
    assert len([p for p in FIXTURE_FILES if p.suffix == ".py"]) >= 10
    assert len(RULE_BLOCKS) >= 26  # at least a bad and a good block per rule page


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_extracts_the_same_pruned(path: Path) -> None:
    assert_equivalent(path.read_bytes(), str(path.relative_to(REPO)))


def test_fixtures_are_really_pruned() -> None:
    """The fixture equivalence means something only if pruning drops lines from most of them."""
    reduced = 0
    for path in FIXTURE_FILES:
        if path.suffix != ".py":
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        pruned = prune(text, PROMPT_NAMES)
        reduced += pruned is not None and not pruned.holds_nothing
    assert reduced >= 10


@pytest.mark.parametrize("source", RULE_BLOCKS)
def test_rule_page_example_extracts_the_same_pruned(source: str) -> None:
    assert_equivalent(source, "example.py")


# -- hand-written tricky modules -------------------------------------------------------------------

# Appended to every tricky module: code with no marker that pruning must drop, so each case
# really compares a pruned file with the whole one.
FILLER = '''

def _unrelated_total(values):
    """Nothing here reaches a prompt."""
    total = 0
    for value in values:
        if value > 10:
            total += value * 2
        else:
            total -= 1
    return total


class _Unrelated:
    size = 3

    def grow(self):
        return self.size + 1
'''


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    call_sites: int = 1
    templates: int = 0

    def text(self) -> str:
        return textwrap.dedent(self.source).lstrip("\n") + FILLER


CASES = [
    Case(
        # Grown with `+=` (in a loop, then after it) and never read again: the template is what
        # the name holds at the end, so the `+=` lines are markers of their own.
        "template-grown-and-never-read",
        """
        async def think(self, skills, last_talk):
            prompt = ""
            for desc, name in skills.items():
                prompt += f"If the text asks you to {desc}, return `[SKILL]: {name}`.\\n"
            prompt += "Otherwise, return `[TALK]: {talk}` brief and clear, as a sentence.\\n"
            prompt += f"Now what action is explicitly mentioned in the text: {last_talk}\\n"
        """,
        call_sites=0,
        templates=1,
    ),
    Case(
        # No import of litellm at all: the call is recognised by the name it is spelt with.
        "litellm-bound-by-a-helper",
        """
        from myapp.deps import get_litellm


        def stream(data):
            litellm = get_litellm()
            return litellm.completion(model="gpt-4o-mini", **data)


        def helper_in_a_framework_of_its_own():
            from .agent import Agent

            return Agent("openai:gpt-4o")
        """,
    ),
    Case(
        "elif-chain",
        """
        from openai import OpenAI

        client = OpenAI()
        PREAMBLE = "You are the support assistant of Acme. Be precise and polite."


        def ask(kind, question):
            if kind == "refund":
                system = PREAMBLE + " Explain the refund policy."
                unused = 1
            elif kind == "shipping":
                system = PREAMBLE + " Explain shipping times."
            elif kind == "other":
                noise = [1, 2, 3]
            else:
                system = PREAMBLE
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": question},
                ],
            )
        """,
    ),
    Case(
        "else-holding-one-if",
        """
        from openai import OpenAI

        client = OpenAI()


        def ask(kind, question):
            system = "You are a careful assistant. Answer from the documentation."
            if kind == "a":
                system += " Focus on billing."
            else:
                if kind == "b":
                    system += " Focus on accounts."
                    scratch = 2
                else:
                    scratch = 3
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": question},
                ],
            )
        """,
    ),
    Case(
        "one-line-bodies",
        """
        from openai import OpenAI

        client = OpenAI()
        SYSTEM_PROMPT = "You are terse."


        def system_text(): return SYSTEM_PROMPT + " Never guess."
        def other(): return 42


        def ask(question, loud=False):
            if loud: question = question.upper()
            for _ in range(1): pass
            while False: unused = 1
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": system_text()},
                    {"role": "user", "content": question},
                ],
            )
        """,
        templates=1,
    ),
    Case(
        "semicolons",
        """
        from openai import OpenAI

        client = OpenAI()
        a = 1; b = 2
        PREFIX = "You are a translator. "; SUFFIX = "Keep the formatting."


        def ask(text):
            count = 0; label = "x"
            system = PREFIX + SUFFIX; ignored = count + 1
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
            )
        """,
    ),
    Case(
        "decorated-functions-and-classes",
        """
        import functools
        from dataclasses import dataclass

        from openai import OpenAI

        client = OpenAI()


        @functools.lru_cache(maxsize=None)
        def policy():
            return "Refunds are accepted within 30 days of purchase."


        @functools.lru_cache(maxsize=None)
        def unrelated_cached(x):
            return x * 2


        @dataclass
        class Settings:
            retries: int = 3


        @dataclass(frozen=True)
        class Ticket:
            text: str

            def body(self):
                return self.text


        def ask(ticket):
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": "You are the refund desk. " + policy()},
                    {"role": "user", "content": ticket.text},
                ],
            )
        """,
    ),
    Case(
        "nested-classes",
        """
        from anthropic import Anthropic


        class Assistant:
            SYSTEM_PROMPT = "You are a meticulous research assistant. Cite your sources."

            class Config:
                temperature = 0.2

                class Inner:
                    depth = 2

            def __init__(self):
                self.client = Anthropic()

            def unrelated(self):
                return self.Config.temperature

            def ask(self, question):
                return self.client.messages.create(
                    model="claude-3-5-sonnet-latest",
                    max_tokens=512,
                    system=self.SYSTEM_PROMPT,
                    messages=[{"role": "user", "content": question}],
                )


        class Other:
            class Deeper:
                value = 1
        """,
        templates=1,
    ),
    Case(
        "method-calls-module-helper",
        """
        from openai import OpenAI


        def rules_text(topic):
            return f"You answer questions about {topic}. Stay on topic."


        def unused_helper():
            return "never read"


        class Bot:
            def __init__(self):
                self.client = OpenAI()

            def helper_method(self):
                return "only an attribute"

            def ask(self, question):
                system = rules_text("gardening")
                return self.client.chat.completions.create(
                    model="gpt-4o",
                    messages=[
                        {"role": "system", "content": system},
                        {"role": "user", "content": question},
                    ],
                )
        """,
    ),
    Case(
        "async-defs",
        """
        from openai import AsyncOpenAI

        client = AsyncOpenAI()


        async def context_text():
            return "You are an async assistant. Reply in one paragraph."


        async def unrelated(session):
            async with session.get("/") as response:
                return await response.text()


        async def ask(question):
            system = await context_text()
            async for _ in aiter_nothing():
                pass
            return await client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": question},
                ],
            )
        """,
    ),
    Case(
        "try-except-else-finally",
        """
        from openai import OpenAI

        client = OpenAI()


        def ask(question):
            system = "You are a reliable assistant."
            try:
                extra = " Use metric units."
                scratch = 1
            except ValueError:
                extra = ""
                logged = True
            else:
                system += extra
            finally:
                cleanup = None
            try:
                pass
            except Exception:
                failed = True
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": question},
                ],
            )
        """,
    ),
    Case(
        "with-statements",
        """
        import threading
        from pathlib import Path

        from openai import OpenAI

        client = OpenAI()
        LOCK = threading.Lock()


        def ask(question):
            with LOCK:
                system = "You are a thread-safe assistant. Answer calmly."
                unused = 3
            with open(Path("notes.txt")) as handle, LOCK:
                ignored = handle.read()
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": question},
                ],
            )
        """,
    ),
    Case(
        "match-statement",
        """
        from openai import OpenAI

        client = OpenAI()


        def ask(kind, question):
            match kind:
                case "short":
                    system = "You are brief."
                case "long":
                    system = "You are thorough and detailed."
                    other = 1
                case {"mode": mode}:
                    unused = mode
                case _:
                    system = "You are neutral."
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": question},
                ],
            )
        """,
    ),
    Case(
        "prompt-built-across-a-loop",
        """
        from openai import OpenAI

        client = OpenAI()
        RULES = ["Be kind.", "Be brief.", "Never invent facts."]
        UNUSED = ["x", "y"]


        def ask(question, history):
            system = "You are an assistant with these rules:\\n"
            for rule in RULES:
                system += rule + "\\n"
                counter = 0
            messages = [{"role": "system", "content": system}]
            for turn in history:
                messages.append(turn)
            messages.append({"role": "user", "content": question})
            return client.chat.completions.create(model="gpt-4o", messages=messages)
        """,
    ),
    Case(
        "helper-returns-template",
        """
        from datetime import datetime

        from openai import OpenAI

        client = OpenAI()


        def build_context(user):
            header = "You are a concierge for a hotel chain. Use the guest's name."
            return f"{header} Guest: {user}. Time: {datetime.now()}"


        def format_row(row):
            return ", ".join(row)


        def ask(user, question):
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": build_context(user)},
                    {"role": "user", "content": question},
                ],
            )
        """,
    ),
    Case(
        "class-attribute-prompt-via-self",
        """
        from openai import OpenAI


        class Summariser:
            PROMPT = "Summarise the document in three bullet points. Keep numbers exact."
            label = "summary"

            def __init__(self, client=None):
                self.client = client or OpenAI()

            def describe(self):
                return self.label

            def run(self, document):
                return self.client.chat.completions.create(
                    model="gpt-4o-mini",
                    messages=[
                        {"role": "system", "content": self.PROMPT},
                        {"role": "user", "content": document},
                    ],
                )
        """,
        templates=1,
    ),
    Case(
        "docstring-only-function",
        """
        from openai import OpenAI

        client = OpenAI()


        def placeholder():
            \"\"\"Only a docstring: kept, it needs a `pass` in its place.\"\"\"


        def other_placeholder():
            \"\"\"Never named: dropped whole.\"\"\"


        def ask(question):
            placeholder()
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": "You are helpful."},
                    {"role": "user", "content": question},
                ],
            )
        """,
    ),
    Case(
        "marker-inside-docstrings-and-a-real-call",
        '''
        """Usage:

            response = client.chat.completions.create(model="gpt-4o", messages=messages)
            SYSTEM_PROMPT = "not a prompt, an example"
        """
        from openai import OpenAI

        client = OpenAI()


        def example():
            """agent = Agent("openai:gpt-4o", system_prompt="an example too")"""
            return 1


        def ask(question):
            """Send `question`: calls client.chat.completions.create(...)."""
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": "You are concise."},
                    {"role": "user", "content": question},
                ],
            )
        ''',
    ),
    Case(
        "framework-alias",
        """
        from litellm import completion as ask_model
        from pydantic_ai import Agent as PydanticAgent


        def route(question):
            return ask_model(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": "You route tickets to the right team."},
                    {"role": "user", "content": question},
                ],
            )


        triage = PydanticAgent("openai:gpt-4o", system_prompt="You triage incoming bug reports.")


        @triage.system_prompt
        def add_rules():
            return "Label each report with one severity."
        """,
        call_sites=2,
    ),
    Case(
        "prompt-named-definitions",
        """
        import textwrap

        REVIEW_TEMPLATE = textwrap.dedent(
            \"\"\"
            Review the pull request below. List bugs first, style last.
            \"\"\"
        )


        def build_system_prompt(project):
            intro = "You review code for the project "
            return intro + project + ". Be direct."


        class Reviewer:
            def __init__(self):
                self.instruction_text = "Only comment on changed lines."

            def unused(self):
                return 0
        """,
        call_sites=0,
        templates=3,
    ),
    Case(
        "gemini-and-responses",
        """
        from google import genai
        from openai import OpenAI

        gemini = genai.Client()
        openai_client = OpenAI()
        GUIDE = "You classify support emails into billing, bugs or other."


        def classify(email):
            return gemini.models.generate_content(
                model="gemini-2.0-flash",
                contents=email,
                config={"system_instruction": GUIDE},
            )


        def respond(text):
            return openai_client.responses.create(model="gpt-4o", instructions=GUIDE, input=text)
        """,
        call_sites=2,
    ),
    Case(
        "nested-function-helper",
        """
        from openai import OpenAI

        client = OpenAI()


        def ask(question):
            def persona():
                return "You are a pirate. Speak like one."

            def unused_inner():
                return "never"

            class Local:
                value = 1

            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": persona()},
                    {"role": "user", "content": question},
                ],
            )
        """,
    ),
    Case(
        "comments-and-blank-lines",
        """
        from openai import OpenAI

        # A comment about the client.
        client = OpenAI()


        def ask(question):
            # leading comment

            system = "You are helpful."  # trailing comment

            # a comment between statements
            unused = 1

            return client.chat.completions.create(  # the call
                model="gpt-4o",
                # a comment inside the call
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": question},
                ],
            )
        """,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_tricky_module_extracts_the_same_pruned(case: Case) -> None:
    text = case.text()
    pruned = prune(text, PROMPT_NAMES)
    assert pruned is not None and not pruned.holds_nothing, "the case must exercise pruning"
    assert len(pruned.origin) < text.count("\n")
    model = assert_equivalent(text)
    assert model.parse_error is None
    assert len(model.call_sites) == case.call_sites
    assert len(model.templates) == case.templates


CASES_BY_NAME = {case.name: case for case in CASES}


@pytest.mark.parametrize(
    ("name", "ending", "trailing"),
    [
        pytest.param("elif-chain", "\r\n", True, id="elif-chain-crlf"),
        pytest.param("semicolons", "\r\n", True, id="semicolons-crlf"),
        pytest.param(
            "marker-inside-docstrings-and-a-real-call", "\r\n", True, id="docstrings-crlf"
        ),
        pytest.param("docstring-only-function", "\r\n", False, id="crlf-no-newline-at-end"),
        pytest.param("one-line-bodies", "\n", False, id="no-newline-at-end"),
    ],
)
def test_line_endings_extract_the_same_pruned(name: str, ending: str, trailing: bool) -> None:
    case = CASES_BY_NAME[name]
    text = case.text().rstrip("\n") + ("\n" if trailing else "")
    text = text.replace("\n", ending)
    pruned = prune(text, PROMPT_NAMES)
    assert pruned is not None
    ast.parse(pruned.text)
    assert_lines_come_from(text, pruned)
    model = assert_equivalent(text)
    assert len(model.call_sites) == case.call_sites


def test_marker_only_in_docstrings_marks_nothing() -> None:
    source = textwrap.dedent(
        '''\
        """Call it like this:

            client.chat.completions.create(model="gpt-4o", messages=messages)
        """


        def helper():
            """Also `client.messages.create(` and `SYSTEM_PROMPT = x` in a docstring."""
            return 1
        '''
    )
    pruned = prune(source, PROMPT_NAMES)
    assert pruned is not None and pruned.holds_nothing
    model = assert_equivalent(source)
    assert model == FileModel("mod.py")


def test_file_ending_inside_a_kept_function() -> None:
    source = (
        "from openai import OpenAI\n\ndef unused():\n    return 1\n\ndef ask(client, q):\n"
        "    return client.chat.completions.create(model='gpt-4o', messages=[\n"
        "        {'role': 'system', 'content': 'You are kind.'}, {'role': 'user', 'content': q}])"
    )
    pruned = prune(source, PROMPT_NAMES)
    assert pruned is not None and not pruned.text.endswith("\n")
    assert len(assert_equivalent(source).call_sites) == 1


# -- divergences -----------------------------------------------------------------------------------
# Modules where pruning changed what extraction finds. The fixed ones stay as regressions (the
# reason says what went wrong); the two left are strict xfails, accepted and documented in
# pruning.py: they fail loudly if they start to pass.


def _regression(name: str, source: str, reason: str) -> Any:
    return pytest.param(source, id=name)


def _divergence(name: str, source: str, reason: str) -> Any:
    mark = pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)
    return pytest.param(source, id=name, marks=mark)


_CHAT_CALL = """\
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": question},
        ],
    )
"""

KNOWN_DIVERGENCES = [
    _regression(
        "dotted-capital-i-before-prompt-assignment",
        '# İstanbul ofisi için\nSYSTEM_PROMPT = "Sen yard\u0131msever bir asistans\u0131n."\n',
        "_marked_lines searches text.lower() but maps offsets with the original line starts; "
        "'İ'.lower() is two characters, so every later line is sliced one character early and "
        "the assignment is no longer seen as a marker: the template is lost",
    ),
    _regression(
        "dotted-capital-i-crash",
        'NOTE = "' + "İ" * 40 + '"\nSYSTEM_PROMPT = "Be brief."\n',
        "the same offset shift puts a hit past the last line: IndexError in _marked_lines "
        "(an internal error finding instead of the template)",
    ),
    _regression(
        "prompt-assignment-line-ending-in-a-comma",
        textwrap.dedent(
            """\
            BASE = "You are {name}, a {role}. Answer in one paragraph."
            SYSTEM_PROMPT = BASE.format(name="Ada",
                                        role="librarian")
            """
        ),
        "_ASSIGNMENT refuses a line ending in ',' (meant for keyword arguments): a prompt-named "
        "assignment whose call continues on the next line is no marker; the template is lost",
    ),
    _regression(
        "parenthesised-prompt-target",
        '(SYSTEM_PROMPT) = "You are a helpful assistant."\n',
        "_ASSIGNMENT does not allow a parenthesised target; the template is lost",
    ),
    _regression(
        "blank-and-comment-lines-inside-a-string-sharing-its-line",
        textwrap.dedent(
            """\
            from openai import OpenAI

            client = OpenAI()


            def ask(question):
                count = 0
                SYSTEM = \"\"\"You are a support agent.

            # Rules
            Never promise refunds.\"\"\"; count += 1
            """
        )
        + _CHAT_CALL,
        'a statement sharing a line (`..."""; count += 1`) is no unit, so _drop_blank treats '
        "the lines of its multi-line string as blank or comment lines between statements and "
        "deletes them: the prompt text loses '\\n# Rules'",
    ),
    _regression(
        "walrus-in-an-assignment-value",
        textwrap.dedent(
            """\
            from openai import OpenAI

            client = OpenAI()


            def ask(question):
                header = (SYSTEM := "You are a helpful assistant. Answer briefly.")
            """
        )
        + _CHAT_CALL,
        "_bound_names reads only an assignment's targets: the name a walrus in its value binds "
        "is not seen, the statement is dropped and the prompt becomes a slot",
    ),
    _regression(
        "self-documenting-f-string",
        textwrap.dedent(
            """\
            from openai import OpenAI

            client = OpenAI()
            SHOP = "acme"


            def ask(question):
                SYSTEM = f"You are helpful. {SHOP=}"
            """
        )
        + _CHAT_CALL,
        "_NAMES takes `SHOP=` in f'{SHOP=}' for a keyword (a binding), so SHOP is dropped",
    ),
    _regression(
        "api-chain-split-by-a-comment",
        textwrap.dedent(
            """\
            def ask(client, question):
                return (
                    client.chat.completions  # the chat API
                    .create(
                        model="gpt-4o",
                        messages=[{"role": "user", "content": question}],
                    )
                )
            """
        ),
        "the call marker regex allows only whitespace inside `completions.create`; libcst's "
        "scan sees the call: the call site is lost",
    ),
    _regression(
        "api-chain-split-by-a-backslash",
        textwrap.dedent(
            """\
            def ask(client, question):
                return client.chat.completions \\
                    .create(model="gpt-4o", messages=[{"role": "user", "content": question}])
            """
        ),
        "the call marker regex does not allow a line continuation: the call site is lost",
    ),
    _regression(
        "sdk-imported-in-a-dropped-try",
        textwrap.dedent(
            """\
            try:
                import openai
            except ImportError:  # optional dependency
                openai = None


            def ask(client, question, **options):
                return client.chat.completions.create(
                    messages=[{"role": "user", "content": question}],
                    **options,
                )
            """
        ),
        "an SDK import inside a module-level try is only kept when kept code names it; without "
        "it the call (no `model=`, a client passed in) does not count as openai: call site lost",
    ),
    _regression(
        "sdk-imported-in-a-dropped-function",
        textwrap.dedent(
            """\
            def make_client():
                from openai import OpenAI

                return OpenAI()


            def ask(client, question, **options):
                return client.chat.completions.create(
                    messages=[{"role": "user", "content": question}],
                    **options,
                )
            """
        ),
        "the scan's SDK imports are module-wide, including imports inside functions; pruning "
        "drops the function and with it the only openai import: call site lost",
    ),
    _regression(
        "import-in-a-dropped-function-shadows-a-module-import",
        textwrap.dedent(
            """\
            from datetime import datetime

            from openai import OpenAI

            client = OpenAI()


            def ask(question):
                SYSTEM = f"Today is {datetime.now()}. You are the assistant of our shop."
            """
        )
        + _CHAT_CALL
        + textwrap.dedent(
            """\


            def today():
                import datetime

                return datetime.date.today()
            """
        ),
        "the scan's import table is module-wide: whole, `datetime` means the module (from the "
        "function's import) and `datetime.now()` is not volatile; pruned, it is (PC102 appears)",
    ),
    _divergence(
        "unbalanced-brackets-in-dropped-strings",
        textwrap.dedent(
            """\
            from openai import OpenAI

            client = OpenAI()


            def ask(question):
                SYSTEM = "You are helpful."
            """
        )
        + _CHAT_CALL
        + "\n\ndef sad_faces():\n    return ["
        + ", ".join(['":("'] * 201)
        + "]\n",
        "source.parse estimates bracket depth over brackets in strings too: the whole file is "
        "'nested too deeply' (PC000), the pruned one parses and gives a call site",
    ),
    _divergence(
        "method-read-as-an-attribute",
        textwrap.dedent(
            """\
            from openai import OpenAI


            class Bot:
                def __init__(self):
                    self.client = OpenAI()

                @property
                def persona(self):
                    return "You are a cheerful assistant."

                def ask(self, question):
                    speak = self.persona
                    return self.client.chat.completions.create(
                        model="gpt-4o",
                        messages=[
                            {"role": "system", "content": speak},
                            {"role": "user", "content": question},
                        ],
                    )
            """
        ),
        "methods are kept only when named bare; the interpreter resolves `self.persona` to the "
        "method, pruned it is a passed-in slot (the trade-off pruning.py documents)",
    ),
]


@pytest.mark.parametrize("source", KNOWN_DIVERGENCES)
def test_known_divergence(source: str) -> None:
    assert_equivalent(source)


# -- prune itself ----------------------------------------------------------------------------------


def physical_lines(text: str) -> list[str]:
    """Lines as Python counts them (`\\n`, `\\r\\n` or `\\r`), with their endings."""
    return io.StringIO(text, newline="").readlines()


# A dropped statement's stub: `pass`, `class X: pass`, or the imports it held (`import a; ...`).
_STUB = re.compile(
    r"(?P<indent>[ \t]*)(?:pass|class \w+: (?:pass|(?:from|import) .*)|(?:from|import) .*)"
    r"(?P<end>\r\n|\r|\n)?"
)


def assert_lines_come_from(original: str, pruned: Pruned) -> None:
    """Every line of the pruned text is the original line `origin` names, or a stub (`pass`,
    `class X: pass`) with that line's indentation and line ending; `origin` strictly increases."""
    before, after = physical_lines(original), physical_lines(pruned.text)
    assert len(after) == len(pruned.origin)
    assert list(pruned.origin) == sorted(set(pruned.origin))
    assert all(1 <= number <= len(before) for number in pruned.origin)
    for line, number in zip(after, pruned.origin, strict=True):
        source = before[number - 1]
        if line == source:
            continue
        stub = _STUB.fullmatch(line)
        assert stub is not None, f"line {number} changed: {source!r} -> {line!r}"
        indent = source[: len(source) - len(source.lstrip(" \t"))]
        assert stub.group("indent") == indent, f"stub at line {number} is not indented as it"
        assert (stub.group("end") or "") == source[len(source.rstrip("\r\n")) :]


def corpus_texts() -> list[tuple[str, str]]:
    texts = [(case.name, case.text()) for case in CASES]
    texts += [(p.id or "", str(p.values[0])) for p in RULE_BLOCKS]
    for path in FIXTURE_FILES:
        if path.suffix == ".py":
            try:
                texts.append((path.name, path.read_text(encoding="utf-8")))
            except UnicodeDecodeError:
                continue
    return texts


def test_pruned_text_parses_and_keeps_original_lines() -> None:
    checked = 0
    for name, text in corpus_texts():
        pruned = prune(text, PROMPT_NAMES)
        if pruned is None or pruned.holds_nothing:
            continue
        checked += 1
        try:
            ast.parse(pruned.text)
        except SyntaxError as exc:  # pragma: no cover - the failure message
            pytest.fail(f"{name}: pruned text does not parse: {exc}\n{pruned.text}")
        assert_lines_come_from(text, pruned)
    assert checked >= 30


def test_no_marker_holds_nothing() -> None:
    source = "import os\n\n\ndef size(path):\n    return os.path.getsize(path)\n"
    pruned = prune(source, PROMPT_NAMES)
    assert pruned is not None
    assert pruned.holds_nothing and pruned.text == "" and pruned.origin == ()
    assert extract_source("mod.py", source, SETTINGS) == FileModel("mod.py")


def test_syntax_error_is_not_pruned() -> None:
    source = "SYSTEM_PROMPT = 'Be brief.'\ndef broken(:\n    pass\n"
    assert prune(source, PROMPT_NAMES) is None
    model = assert_equivalent(source)
    assert model.parse_error is not None and model.parse_error.line == 2


def test_nothing_to_drop_gives_none() -> None:
    source = (
        "from openai import OpenAI\nSYSTEM_PROMPT = 'Be brief.'\nclient = OpenAI()\n"
        "client.chat.completions.create(model='gpt-4o', messages=[SYSTEM_PROMPT])\n"
    )
    assert prune(source, PROMPT_NAMES) is None
    # An unused binding is what makes the difference.
    assert prune(source.replace("client = OpenAI()\n", "unused = OpenAI()\n"), PROMPT_NAMES)


def test_unmarked_function_dropped_marked_one_kept() -> None:
    body = "".join(f"    value_{i} = {i} * 2\n" for i in range(50))
    source = (
        "from openai import OpenAI\n\nclient = OpenAI()\n\n\n"
        f"def crunch():\n{body}    return value_0\n\n\n"
        "def ask(question):\n"
        "    return client.chat.completions.create(model='gpt-4o', messages=[\n"
        "        {'role': 'user', 'content': question}])\n"
    )
    pruned = prune(source, PROMPT_NAMES)
    assert pruned is not None
    assert "crunch" not in pruned.text and "value_" not in pruned.text
    assert "def ask(question):" in pruned.text
    assert "client = OpenAI()" in pruned.text  # named bare by the kept call
    assert pruned.origin == (1, 3, 60, 61, 62)  # blank lines between statements go too
    assert_lines_come_from(source, pruned)
    assert len(assert_equivalent(source).call_sites) == 1


def test_helper_named_bare_is_kept_attribute_is_not() -> None:
    source = textwrap.dedent(
        """\
        from openai import OpenAI

        client = OpenAI()


        def persona():
            return "You are a librarian. " + tone()


        def tone():
            return "Whisper."


        def summary():
            return "an attribute call does not keep me"


        def ask(question, report):
            report.summary()
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": persona()},
                    {"role": "user", "content": question},
                ],
            )
        """
    )
    pruned = prune(source, PROMPT_NAMES)
    assert pruned is not None
    assert "def persona():" in pruned.text
    assert "def tone():" in pruned.text  # reached through the kept helper
    assert "def summary():" not in pruned.text
    assert_lines_come_from(source, pruned)
    site = assert_equivalent(source).call_sites[0]
    assert site.messages[0].blocks[0].content.static_text == "You are a librarian. Whisper."


def test_unmarked_class_becomes_a_stub() -> None:
    source = textwrap.dedent(
        """\
        SYSTEM_PROMPT = "Be brief."


        @register
        class Widget(
            Base,
        ):
            size = 3

            def grow(self):
                return self.size + 1
        """
    )
    pruned = prune(source, PROMPT_NAMES)
    assert pruned is not None
    assert pruned.text == 'SYSTEM_PROMPT = "Be brief."\nclass Widget: pass\n'
    assert pruned.origin == (1, 5)
    assert_lines_come_from(source, pruned)


def test_emptied_body_gets_a_pass() -> None:
    source = textwrap.dedent(
        """\
        def ask(client, question, items):
            for question in items:
                print(question)
                log(question)
            return client.chat.completions.create(model="gpt-4o", messages=[question])
        """
    )
    pruned = prune(source, PROMPT_NAMES)
    assert pruned is not None
    assert pruned.text.splitlines()[1:3] == ["    for question in items:", "        pass"]
    assert pruned.origin == (1, 2, 3, 5)


def test_statements_that_bind_nothing_go() -> None:
    """The interpreter runs no expression statement but a list's `append`/`extend`/`insert`,
    and no `raise` or `assert`: those go even when they name what the call reads, and so does a
    compound statement holding only them."""
    source = textwrap.dedent(
        """\
        def ask(client, messages, verbose):
            log(messages)
            assert messages, "no messages"
            if verbose:
                print(messages)
            messages.append({"role": "user", "content": "Hi"})
            return client.chat.completions.create(model="gpt-4o", messages=messages)
        """
    )
    pruned = prune(source, PROMPT_NAMES)
    assert pruned is not None
    assert pruned.origin == (1, 6, 7)
    assert_lines_come_from(source, pruned)
    assert_lines_come_from(source, pruned)


def test_original_line_maps_back() -> None:
    pruned = Pruned("a\nb\n", (3, 7))
    assert [pruned.original_line(n) for n in (1, 2)] == [3, 7]
    assert pruned.original_line(5) == 5  # outside the text: unchanged
    assert not pruned.holds_nothing and Pruned("", ()).holds_nothing


# -- generated modules -----------------------------------------------------------------------------

STATIC_TEXTS = (
    "You are a helpful support agent for Acme. Answer in English.",
    "Follow the refund policy strictly and never promise a date.",
    "Reply in at most three sentences.",
    "Cite the document id for every claim you make.",
)
# Module-level dynamic values (the generated constants are evaluated at import).
MODULE_DYNAMIC = ("{datetime.now()}", "{PLAIN_0}", "{os.getpid()}", "{VERSION}")
# Values a call-site function sees.
CALL_DYNAMIC = (
    "{user_name}",
    "{datetime.now()}",
    "{helper_0(user_name)}",
    "{PLAIN_1}",
    "{question}",
)


@st.composite
def fstring(draw: st.DrawFn, dynamic: tuple[str, ...]) -> str:
    """A string expression: static text with a dynamic value before or after it (or none)."""
    static = draw(st.sampled_from(STATIC_TEXTS))
    value = draw(st.sampled_from(dynamic))
    place = draw(st.sampled_from(("before", "after", "none")))
    if place == "none":
        return repr(static)
    text = f"{value} {static}" if place == "before" else f"{static} {value}"
    return 'f"' + text + '"'


@st.composite
def prompt_constant(draw: st.DrawFn, index: int) -> str:
    return f"PART_{index}_PROMPT = {draw(fstring(MODULE_DYNAMIC))}\n"


@st.composite
def plain_constant(draw: st.DrawFn, index: int) -> str:
    return f"PLAIN_{index} = {draw(st.sampled_from(STATIC_TEXTS))!r}\n"


@st.composite
def helper(draw: st.DrawFn, index: int) -> str:
    body = draw(fstring(("{name}", "{PLAIN_0}", "{datetime.now()}")))
    if index and draw(st.booleans()):
        body = f"helper_{index - 1}(name) + {body}"  # a helper reached through another one
    extra = draw(st.sampled_from(("", "    noise = [1, 2, 3]\n", "    # a comment\n\n")))
    decorator = draw(st.sampled_from(("", "@functools.cache\n")))
    return f"{decorator}def helper_{index}(name):\n{extra}    return {body}\n"


@st.composite
def desk_class(draw: st.DrawFn, index: int) -> str:
    """A class whose prompt is a class attribute, read through `self`."""
    system = draw(fstring(CALL_DYNAMIC))
    return (
        f"class Desk{index}:\n"
        f"    PROMPT = {draw(fstring(MODULE_DYNAMIC))}\n\n"
        "    def __init__(self, client):\n        self.client = client\n\n"
        "    def unrelated(self):\n        return 1\n\n"
        "    def ask(self, question):\n"
        "        return self.client.chat.completions.create(\n"
        '            model="gpt-4o",\n'
        "            messages=[\n"
        f'                {{"role": "system", "content": self.PROMPT + {system}}},\n'
        '                {"role": "user", "content": question},\n'
        "            ],\n"
        "        )\n"
    )


UNRELATED = (
    "def unrelated_{i}(values):\n    total = 0\n    for value in values:\n"
    "        total += value\n    return total\n",
    "class Unrelated{i}:\n    size = {i}\n\n    def grow(self):\n        return self.size + 1\n",
    "def check_{i}(x):\n    try:\n        return int(x)\n"
    "    except ValueError:\n        return None\n",
    "if VERSION:\n    FLAG_{i} = True\nelse:\n    FLAG_{i} = False\n",
)


@st.composite
def ask_function(draw: st.DrawFn, index: int) -> str:
    names = st.sampled_from(
        ("PART_0_PROMPT", "PART_1_PROMPT", "PLAIN_0", "PLAIN_1", "helper_0(user_name)")
    )
    system = draw(st.one_of(names, fstring(CALL_DYNAMIC)))
    lines = [f"def ask_{index}(client, question, user_name):", f"    system = {system}"]
    if draw(st.booleans()):
        lines += ["    for rule in RULES:", "        system += rule"]
    if draw(st.booleans()):
        lines += ["    if user_name:", f"        system += {draw(names)}", "        unused = 1"]
    if draw(st.booleans()):
        lines += ["    scratch = [x * 2 for x in range(3)]"]
    user = draw(st.one_of(st.just("question"), fstring(CALL_DYNAMIC)))
    lines += [
        "    messages = [",
        '        {"role": "system", "content": system},',
        f'        {{"role": "user", "content": {user}}},',
        "    ]",
        '    return client.chat.completions.create(model="gpt-4o", messages=messages)',
    ]
    return "\n".join(lines) + "\n"


@st.composite
def modules(draw: st.DrawFn) -> str:
    blocks = [
        *(draw(prompt_constant(i)) for i in range(draw(st.integers(0, 2)))),
        *(draw(plain_constant(i)) for i in range(draw(st.integers(0, 2)))),
        *(draw(helper(i)) for i in range(draw(st.integers(0, 2)))),
        *(
            u.format(i=i)
            for i, u in enumerate(draw(st.lists(st.sampled_from(UNRELATED), max_size=3)))
        ),
        *(draw(ask_function(i)) for i in range(draw(st.integers(1, 2)))),
        *(draw(desk_class(i)) for i in range(draw(st.integers(0, 1)))),
        'RULES = [" Be kind.", " Be brief."]\n',
        'VERSION = "1.0"\n',
    ]
    order = draw(st.permutations(blocks))
    header = "import functools\nimport os\nfrom datetime import datetime\n\n"
    header += "from openai import OpenAI\n\n"
    return header + "\n\n".join(order)


@settings(max_examples=50, deadline=None)
@given(modules())
def test_generated_modules_extract_the_same_pruned(source: str) -> None:
    pruned = prune(source, PROMPT_NAMES)
    assert pruned is not None and not pruned.holds_nothing
    ast.parse(pruned.text)
    assert_lines_come_from(source, pruned)
    model = assert_equivalent(source)
    assert model.parse_error is None
    assert model.call_sites  # every generated module calls the model at least once


# -- across modules --------------------------------------------------------------------------------


def test_a_function_imported_from_a_pruned_module_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ask` is kept in its own module only for the call site in it; its `return` goes (nobody
    there reads what it returns). Another module uses `ask()` as a template, so the link stage
    must read `helpers.py` whole for it, not take the pruned module's `ask()`."""
    (tmp_path / "helpers.py").write_text(
        textwrap.dedent(
            """\
            from openai import OpenAI

            client = OpenAI()


            def ask(question):
                client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": question}]
                )
                return f"{question} You are the assistant of Acme; answer in one paragraph."
            """
        )
    )
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            """\
            from helpers import ask

            SYSTEM_PROMPT = ask("Today") + " Be brief and precise in every answer you give."
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    files = discover(["."])

    def templates() -> list[Any]:
        models = engine.extract_files(files, SETTINGS)
        return [t for m in models for t in m.templates]

    pruned = templates()
    with pruning_disabled():
        whole = templates()
    assert pruned == whole
    rendered = [[getattr(s, "text", None) for s in t.template.segments] for t in whole]
    assert any("You are the assistant of Acme" in (text or "") for r in rendered for text in r)


def test_chat_prompt_template_marks_only_where_called() -> None:
    """A table or an annotation naming `ChatPromptTemplate` holds no prompt; a call of it, or
    of a method of it, does (and extracts the same pruned)."""
    source = textwrap.dedent(
        """\
        from langchain_core.prompts import ChatPromptTemplate

        MAPPING = {("langchain", "prompts", "ChatPromptTemplate"): "x"}

        def kind(p: ChatPromptTemplate) -> str:
            return "chat"

        def build(topic):
            return ChatPromptTemplate.from_messages([("system", f"About {topic}.")])
        """
    )
    pruned = prune(source, PROMPT_NAMES)
    assert pruned is not None
    assert "MAPPING" not in pruned.text and "def kind" not in pruned.text
    assert "def build" in pruned.text
    assert_equivalent(source)


def test_prompt_named_assignment_of_no_text_marks_nothing() -> None:
    """`system_prompt = None` (or a list, a condition, a subscript) is never a template: alone,
    it leaves nothing to parse; a prompt-named name given text still marks its line."""
    inert = textwrap.dedent(
        """\
        class Settings:
            pass

        def configure(options):
            system_prompt = None
            instructions: list[str] = []
            prompt_template = options["template"] if options else None
            return system_prompt, instructions, prompt_template
        """
    )
    pruned = prune(inert, PROMPT_NAMES)
    assert pruned is not None and pruned.holds_nothing
    assert_equivalent(inert)
    texty = inert.replace('options["template"] if options else None', 'f"Use {options}."')
    kept = prune(texty, PROMPT_NAMES)
    assert kept is not None and "prompt_template" in kept.text
    assert_equivalent(texty)


def test_prompt_named_function_returning_no_text_marks_nothing() -> None:
    """A prompt-named function that returns nothing, or only what is never text, makes no
    template: it is no marker (code that calls it still keeps it)."""
    source = textwrap.dedent(
        """\
        def refresh_instructions(cache):
            cache.clear()

        def get_prompts(self):
            return {"system": self.system}

        def build_prompt(topic):
            return f"Write about {topic}."
        """
    )
    pruned = prune(source, PROMPT_NAMES)
    assert pruned is not None
    assert "def build_prompt" in pruned.text
    assert "refresh_instructions" not in pruned.text and "get_prompts" not in pruned.text
    assert_equivalent(source)

