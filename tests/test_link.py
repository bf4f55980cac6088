"""The link stage: templates imported from other modules of the project count as if inline."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptlint.cli import main
from promptlint.link import module_name

RULES = " ".join(f"Rule {i}: answer politely and cite the knowledge base." for i in range(120))

PROMPTS = """\
from datetime import datetime

from .base import BASE_RULES

SYSTEM_PROMPT = "You are Acme's assistant. " + BASE_RULES


def build_system(user):
    return f"Hello {user}. " + BASE_RULES


def stamped():
    return f"Now: {datetime.now()}. " + BASE_RULES
"""

BOT = """\
from openai import OpenAI

from app import prompts as p
from app.prompts import build_system
from .prompts import SYSTEM_PROMPT

client = OpenAI()


def good(q):
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": q}],
    )


def personal(q, user):
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": build_system(user)},
            {"role": "user", "content": q},
        ],
    )


def stamped(q):
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "system", "content": p.stamped()}, {"role": "user", "content": q}],
    )
"""

INLINE = f'''\
from openai import OpenAI

client = OpenAI()
SYSTEM_PROMPT = "You are Acme's assistant. " + "{RULES}"


def good(q):
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[{{"role": "system", "content": SYSTEM_PROMPT}}, {{"role": "user", "content": q}}],
    )
'''


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "base.py").write_text(f'BASE_RULES = "{RULES}"\n')
    (app / "prompts.py").write_text(PROMPTS)
    (app / "bot.py").write_text(BOT)
    (tmp_path / "inline.py").write_text(INLINE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_module_names(project: Path) -> None:
    assert module_name(project / "app" / "bot.py") == ("app.bot", project)
    assert module_name(project / "app" / "__init__.py") == ("app", project)
    assert module_name(project / "inline.py") == ("inline", project)


def test_findings_inside_imported_templates_point_where_the_text_is_written(project: Path) -> None:
    code, out = run("app", "--format", "json")
    assert code == 1
    got = [(f["path"], f["line"], f["code"]) for f in json.loads(out)]
    # build_system's {user} and stamped's datetime.now(), both in prompts.py; SYSTEM_PROMPT
    # (a module constant built from base.py) is clean, and is not linted again on its own.
    assert got == [
        ("app/prompts.py", 9, "PC101"),
        ("app/prompts.py", 13, "PC101"),
        ("app/prompts.py", 13, "PC102"),
    ]


def test_report_counts_imported_templates_as_if_inline(project: Path) -> None:
    _, linked = run("report", "app/bot.py", "--format", "json")
    _, inline = run("report", "inline.py", "--format", "json")
    good = next(s for s in json.loads(linked)["call_sites"] if s["line"] == 11)
    (reference,) = json.loads(inline)["call_sites"]
    keys = ["static_prefix_tokens", "estimated_total_tokens", "cache_eligible_tokens"]
    assert [good[k] for k in keys] == [reference[k] for k in keys]
    assert good["cache_eligible_tokens"] > 1024


def test_explicit_file_reads_its_imports_but_reports_only_itself(project: Path) -> None:
    """pre-commit passes changed files: imports are followed (bot.py's prompts come from
    prompts.py and base.py), but findings located in unchanged files are not reported."""
    assert run("app/bot.py") == (0, "All checks passed! (1 file checked)\n")
    _, report = run("report", "app/bot.py", "--format", "json")
    shares = {s["line"]: s["cache_eligible_share"] for s in json.loads(report)["call_sites"]}
    assert shares[11] > 0.9 and shares[18] == 0.0 and shares[28] == 0.0


def test_unresolvable_imports_stay_dynamic(project: Path) -> None:
    (project / "app" / "other.py").write_text(
        "from openai import OpenAI\nfrom somewhere_else import RULES\nfrom .missing import X\n"
        "client = OpenAI()\n"
        "def ask(q):\n"
        "    return client.chat.completions.create(model='gpt-4o', messages=["
        "{'role': 'system', 'content': RULES + X}, {'role': 'user', 'content': q}])\n"
    )
    _, out = run("report", "app/other.py", "--format", "json")
    (site,) = json.loads(out)["call_sites"]
    assert (site["static_prefix_tokens"], site["dynamic_slots"]) == (0, 2)  # RULES + X, q


def test_import_cycles_terminate(project: Path) -> None:
    (project / "app" / "a.py").write_text("from .b import B\nA_PROMPT = B + ' tail'\n")
    (project / "app" / "b.py").write_text("from .a import A_PROMPT\nB = A_PROMPT + ' more'\n")
    code, _ = run("app/a.py", "app/b.py")
    assert code in (0, 1)


def test_relative_paths_in_subdirectories(project: Path) -> None:
    os.chdir(project / "app")
    code, out = run("bot.py", "prompts.py", "--format", "concise")
    assert code == 1
    assert out.splitlines()[0].startswith("prompts.py:9:")
