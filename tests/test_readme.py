"""The README stays true to the code: its rule table lists exactly the registered rules, every
option of `check` and `report` is documented in it, and the docs/ pages it links (and the links
between those pages) lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from promptlint.checks import RULES
from promptlint.cli import check, report

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = REPO / "docs"

# A relative Markdown link: [text](target) or [text](target#anchor); not http(s), mailto or
# bare anchors, which the second group would leave empty.
_LINK = re.compile(r"\]\((?!https?:|mailto:)([^)#\s]*)(?:#([^)\s]*))?\)")
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def test_rule_table_matches_the_registry() -> None:
    rows = re.findall(r"^\| (PC\d{3}) \| ([a-z-]+) \| (error|warning|info) \|", README.read_text(),
                      re.MULTILINE)
    assert rows == [(r.code, r.name, r.severity.value) for r in RULES]


def _documented_options(text: str) -> set[str]:
    """Every `-x` / `--long-option` written inside inline code or a code block."""
    code = [m.group(0) for m in _FENCE.finditer(text)]
    code += re.findall(r"`([^`\n]+)`", _FENCE.sub("", text))
    return {opt for span in code for opt in re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", span)}


@pytest.mark.parametrize("command", [check, report], ids=lambda c: c.name)
def test_every_option_is_in_the_readme(command: click.Command) -> None:
    options = [p for p in command.params if isinstance(p, click.Option)]
    assert len(options) > 5  # the commands' options, not an empty list that proves nothing
    wanted = {opt for p in options for opt in (*p.opts, *p.secondary_opts)}
    missing = sorted(wanted - _documented_options(README.read_text()))
    assert missing == [], f"options of `promptlint {command.name}` not in README.md: {missing}"


def _anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file (outside code blocks): lower
    case, punctuation dropped, spaces as hyphens; a repeated heading gets `-1`, `-2`, ..."""
    anchors: set[str] = set()
    counts: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} +(.+?) *$", _FENCE.sub("", path.read_text()), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def _broken_links(page: Path) -> list[str]:
    """The relative links of `page` whose file does not exist, or whose anchor no heading has."""
    broken = []
    for target, anchor in _LINK.findall(_FENCE.sub("", page.read_text())):
        dest = (page.parent / target).resolve() if target else page
        if not dest.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}#{anchor} (no such heading)")
    return broken


def test_the_docs_the_readme_links_exist() -> None:
    linked = set(re.findall(r"\]\((docs/[^)#\s]+\.md)", README.read_text()))
    assert {p.relative_to(REPO).as_posix() for p in DOCS.glob("*.md")} <= linked, (
        "a page in docs/ that the README does not link"
    )
    assert sorted(t for t in linked if not (REPO / t).is_file()) == []


@pytest.mark.parametrize(
    "page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: p.relative_to(REPO).as_posix()
)
def test_relative_links_and_anchors_resolve(page: Path) -> None:
    assert _broken_links(page) == []


def test_the_link_check_finds_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Title\n\n## Sub part: `x`\n")
    page = tmp_path / "b.md"
    page.write_text(
        "[ok](a.md) [ok](a.md#sub-part-x) [ok](#here) [web](https://example.com/x.md)\n"
        "[bad](missing.md) [bad](a.md#nowhere)\n\n## Here\n\n```\n[in code](ignored.md)\n```\n"
    )
    assert _broken_links(page) == ["missing.md (no such file)", "a.md#nowhere (no such heading)"]
