"""PC302 divergent-shared-prefix: project-wide, over linked call sites in several files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptlint.cli import main

RULES = "\n".join(
    f"- Rule {i}: answer in at most five sentences and cite article {i}." for i in range(30)
)

SITE = """\
from openai import OpenAI
from .policy import RULES

client = OpenAI(base_url="https://api.deepseek.com")


def ask(question):
    return client.chat.completions.create(
        model="deepseek-chat",
        messages=[
            {{"role": "system", "content": {system}}},
            {{"role": "user", "content": question}},
        ],
    )
"""


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "policy.py").write_text(f'RULES = """{RULES}"""\n')
    monkeypatch.chdir(tmp_path)
    return app


def run(*args: str) -> list[tuple[str, int, str]]:
    result = CliRunner().invoke(main, [*args, "--format", "json", "--select", "PC302"])
    return [(f["path"], f["line"], f["code"]) for f in json.loads(result.output)]


def test_different_static_starts_across_modules(project: Path) -> None:
    (project / "billing.py").write_text(SITE.format(system='"You do billing.\\n" + RULES'))
    (project / "shipping.py").write_text(SITE.format(system='"You do shipping.\\n" + RULES'))
    (project / "returns.py").write_text(SITE.format(system='"You do returns.\\n" + RULES'))
    # Reported at every call site but the first in path order.
    assert run("app") == [("app/returns.py", 8, "PC302"), ("app/shipping.py", 8, "PC302")]


def test_shared_block_first_is_quiet(project: Path) -> None:
    (project / "billing.py").write_text(SITE.format(system='RULES + "\\nYou do billing."'))
    (project / "shipping.py").write_text(SITE.format(system='RULES + "\\nYou do shipping."'))
    assert run("app") == []


def test_a_dynamic_start_is_pc101s_business(project: Path) -> None:
    (project / "billing.py").write_text(SITE.format(system='question + "\\n" + RULES'))
    (project / "shipping.py").write_text(SITE.format(system='"You do shipping.\\n" + RULES'))
    assert run("app") == []


def test_short_shared_text_is_quiet(project: Path) -> None:
    (project / "policy.py").write_text('RULES = "Be brief and polite."\n')
    (project / "billing.py").write_text(SITE.format(system='"You do billing.\\n" + RULES'))
    (project / "shipping.py").write_text(SITE.format(system='"You do shipping.\\n" + RULES'))
    assert run("app") == []


def test_each_distinct_pair_of_texts_is_compared_once(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copies of one call site share their prefix and are never compared, and two texts are
    compared once however many sites hold them: many call sites stay cheap. The findings are
    those of comparing every pair."""
    from promptlint.checks import pc302_divergent_shared_prefix as pc302

    calls: list[int] = []
    compare = pc302._shared_block

    def counted(a: list[str], b: list[str], ctx: object) -> object:
        calls.append(1)
        return compare(a, b, ctx)  # type: ignore[arg-type]

    monkeypatch.setattr(pc302, "_shared_block", counted)
    for index in range(20):
        (project / f"billing_{index:02d}.py").write_text(
            SITE.format(system='"You do billing.\\n" + RULES')
        )
        (project / f"shipping_{index:02d}.py").write_text(
            SITE.format(system='"You do shipping.\\n" + RULES')
        )
    found = run("app")
    # The first billing site is the first site; every shipping site differs from it before the
    # shared rules; the other billing sites are copies of the first.
    assert found == [(f"app/shipping_{i:02d}.py", 8, "PC302") for i in range(20)]
    assert len(calls) == 1
