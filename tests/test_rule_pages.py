"""The rule pages (`rules/PCnnn.md`): one per rule, well formed, and their examples lint as claimed.

Every ```` ```python bad ```` block must raise exactly the findings its `# error: PCnnn` markers
name (line and code, all of the page's own code), and every ```` ```python good ```` block must
raise nothing, under the default settings and with every rule enabled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptlint.checks import RULES
from promptlint.cli import main
from promptlint.config import Settings
from promptlint.engine import check_source
from promptlint.estimate import Estimator
from promptlint.providers import bundled_profiles
from promptlint.ruledocs import pages_dir
from promptlint.tokens import TokenCounter

REQUIRED_SECTIONS = ("What it finds", "Why it costs money", "Bad", "Good", "How to fix")
# Files in the pages directory that are not rule pages.
NOT_PAGES = frozenset({"README.md"})

_FRONT_MATTER = re.compile(r"\A---\n(?P<body>.*?)\n---\n", re.DOTALL)
_EXAMPLE = re.compile(
    r"^```python (?P<kind>bad|good)[ \t]*\n(?P<code>.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE
)
_FENCE_INFO = re.compile(r"^```(?P<info>\S.*)$", re.MULTILINE)
_MARKER = re.compile(r"#\s*error:\s*(?P<codes>PC\d{3}(?:\s*,\s*PC\d{3})*)\s*$")

RULES_BY_CODE = {rule.code: rule for rule in RULES}


@dataclass(frozen=True)
class Example:
    code: str  # the page's rule code
    kind: str  # "bad" | "good"
    index: int  # 1-based, per page and kind
    source: str

    @property
    def id(self) -> str:
        return f"{self.code}-{self.kind}-{self.index}"


def page_paths() -> list[Path]:
    return sorted(p for p in pages_dir().glob("*.md") if p.name not in NOT_PAGES)


def front_matter(text: str) -> dict[str, str]:
    match = _FRONT_MATTER.match(text)
    assert match is not None, "the page must start with front matter between two '---' lines"
    fields: dict[str, str] = {}
    for line in match.group("body").splitlines():
        key, sep, value = line.partition(":")
        assert sep, f"front matter line without 'key: value': {line!r}"
        fields[key.strip()] = value.strip()
    return fields


def examples_of(path: Path) -> list[Example]:
    text = path.read_text(encoding="utf-8")
    counts = {"bad": 0, "good": 0}
    found: list[Example] = []
    for match in _EXAMPLE.finditer(text):
        kind = match.group("kind")
        counts[kind] += 1
        found.append(Example(path.stem, kind, counts[kind], match.group("code")))
    return found


def markers(source: str) -> set[tuple[int, str]]:
    """The (line, code) pairs that the `# error: PCnnn` comments of an example claim."""
    claimed: set[tuple[int, str]] = set()
    for number, line in enumerate(source.splitlines(), start=1):
        match = _MARKER.search(line)
        if match is not None:
            claimed.update((number, c.strip()) for c in match.group("codes").split(","))
    return claimed


ALL_EXAMPLES = [example for path in page_paths() for example in examples_of(path)]


@pytest.fixture(scope="module")
def estimator() -> Estimator:
    return Estimator(TokenCounter(), bundled_profiles(), dynamic_tokens=64)


def lint(source: str, estimator: Estimator) -> set[tuple[int, str]]:
    result = check_source("example.py", source.encode("utf-8"), Settings(), RULES, estimator)
    return {(f.line, f.code) for f in result.findings}


# -- the set of pages ------------------------------------------------------------------------------


def test_pages_directory_exists() -> None:
    assert pages_dir().is_dir(), f"no rule pages directory at {pages_dir()}"


def test_every_rule_has_a_page() -> None:
    missing = [r.code for r in RULES if not (pages_dir() / f"{r.code}.md").is_file()]
    assert not missing, f"rules without a page in {pages_dir()}: {missing}"


def test_every_page_has_a_rule() -> None:
    orphans = [p.name for p in page_paths() if p.stem not in RULES_BY_CODE]
    assert not orphans, f"pages that belong to no rule in promptlint.checks.RULES: {orphans}"


# -- each page -------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(RULES_BY_CODE))
def test_front_matter_matches_rule(code: str) -> None:
    rule = RULES_BY_CODE[code]
    text = (pages_dir() / f"{code}.md").read_text(encoding="utf-8")
    fields = front_matter(text)
    assert fields == {"code": rule.code, "name": rule.name, "severity": rule.severity.value}


@pytest.mark.parametrize("code", sorted(RULES_BY_CODE))
def test_title_names_rule(code: str) -> None:
    rule = RULES_BY_CODE[code]
    text = (pages_dir() / f"{code}.md").read_text(encoding="utf-8")
    body = _FRONT_MATTER.sub("", text, count=1)
    first_line = body.lstrip("\n").splitlines()[0]
    assert first_line == f"# {rule.code} {rule.name}"


@pytest.mark.parametrize("code", sorted(RULES_BY_CODE))
def test_required_sections_in_order(code: str) -> None:
    text = (pages_dir() / f"{code}.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+?)\s*$", text, re.MULTILINE)
    for section in REQUIRED_SECTIONS:
        assert section in headings, f"{code}: missing section '## {section}'"
    positions = [headings.index(section) for section in REQUIRED_SECTIONS]
    assert positions == sorted(positions), f"{code}: sections out of order: {headings}"


@pytest.mark.parametrize("code", sorted(RULES_BY_CODE))
def test_has_bad_and_good_examples(code: str) -> None:
    kinds = [e.kind for e in examples_of(pages_dir() / f"{code}.md")]
    assert "bad" in kinds, f"{code}: no ```python bad block"
    assert "good" in kinds, f"{code}: no ```python good block"


@pytest.mark.parametrize("code", sorted(RULES_BY_CODE))
def test_python_fences_are_labelled(code: str) -> None:
    """A ```python block that is neither bad nor good would go untested: refuse it."""
    text = (pages_dir() / f"{code}.md").read_text(encoding="utf-8")
    infos = [m.group("info").strip() for m in _FENCE_INFO.finditer(text)]
    labels = {"python bad", "python good"}
    unlabelled = [i for i in infos if i.split()[0] in {"python", "py"} and i not in labels]
    assert not unlabelled, f"{code}: python blocks must be 'python bad' or 'python good'"


# -- the examples ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "example", [e for e in ALL_EXAMPLES if e.kind == "bad"], ids=lambda e: e.id
)
def test_bad_example_raises_exactly_its_markers(example: Example, estimator: Estimator) -> None:
    claimed = markers(example.source)
    assert claimed, f"{example.id}: a bad example needs at least one '# error: {example.code}'"
    foreign = sorted(c for _, c in claimed if c != example.code)
    assert not foreign, f"{example.id}: markers name other codes than {example.code}: {foreign}"
    assert lint(example.source, estimator) == claimed


@pytest.mark.parametrize(
    "example", [e for e in ALL_EXAMPLES if e.kind == "good"], ids=lambda e: e.id
)
def test_good_example_raises_nothing(example: Example, estimator: Estimator) -> None:
    assert not markers(example.source), f"{example.id}: a good example carries error markers"
    assert lint(example.source, estimator) == set()


# -- `promptlint rule` -----------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(RULES_BY_CODE))
def test_rule_command_prints_page_by_code(code: str) -> None:
    result = CliRunner().invoke(main, ["rule", code])
    assert result.exit_code == 0, result.output
    assert result.output == (pages_dir() / f"{code}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("code", sorted(RULES_BY_CODE))
def test_rule_command_prints_page_by_name(code: str) -> None:
    result = CliRunner().invoke(main, ["rule", RULES_BY_CODE[code].name])
    assert result.exit_code == 0, result.output
    assert result.output == (pages_dir() / f"{code}.md").read_text(encoding="utf-8")


def test_rule_all_lists_every_code() -> None:
    result = CliRunner().invoke(main, ["rule", "--all"])
    assert result.exit_code == 0, result.output
    listed = re.findall(r"^(PC\d{3})\b", result.output, re.MULTILINE)
    assert listed == [r.code for r in RULES]


def test_unknown_rule_is_a_usage_error_naming_known_rules() -> None:
    result = CliRunner().invoke(main, ["rule", "PC999"])
    assert result.exit_code == 2
    assert "PC999" in result.output
    for rule in RULES:
        assert rule.code in result.output
