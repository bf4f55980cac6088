"""`promptlint report` (DESIGN §6): per-call-site token figures as a table, JSON or Markdown, worst
first, with totals and costs; and `promptlint providers`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from promptlint.cli import main
from promptlint.providers import bundled_profiles
from promptlint.tokens import TokenCounter

PROFILES = bundled_profiles()
RULES = " ".join(["policy"] * 1500)  # 1,500 tokens
LONG_RULES = " ".join(["policy"] * 3000)  # 3,000 tokens

BOT = f"""\
from datetime import datetime

from openai import OpenAI

client = OpenAI()
RULES = {RULES!r}


def answer(question):
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {{"role": "system", "content": RULES}},
            {{"role": "user", "content": question}},
        ],
    )


def answer_legacy(question):
    now = datetime.now()
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {{"role": "system", "content": f"Today is {{now}}. " + RULES}},
            {{"role": "user", "content": question}},
        ],
    )
"""

SUMMARY = f"""\
import anthropic

client = anthropic.Anthropic()
RULES = {LONG_RULES!r}


def summarise(document):
    return client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=1024,
        system=RULES,
        messages=[{{"role": "user", "content": document}}],
    )
"""

# Worst first (report/estimates.py): by the static tokens paid at full price on every call (all
# static tokens minus the cache-eligible ones), then by share, path, line.
# summary.py:8   3,001 static tokens, none cached (no breakpoint)
# bot.py:21      "Today is {now}. " + 1,500 tokens of rules: only "Today is " is stable, none cached
# bot.py:10      1,501 static tokens, 1,408 cached: 93 at full price
ORDER = ["app/summary.py:8", "app/bot.py:21", "app/bot.py:10"]

DESIGN_SITE_KEYS = [
    "path",
    "line",
    "column",
    "api",
    "model",
    "static_prefix_tokens",
    "estimated_total_tokens",
    "cache_eligible_tokens",
    "cache_eligible_share",
    "dynamic_slots",
]


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "bot.py").write_text(BOT, encoding="utf-8")
    (tmp_path / "app" / "summary.py").write_text(SUMMARY, encoding="utf-8")
    (tmp_path / "app" / "util.py").write_text("def add(a, b):\n    return a + b\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def report_json(*args: str) -> dict[str, Any]:
    code, out = invoke("report", "app", "--format", "json", *args)
    assert code == 0, out
    document: dict[str, Any] = json.loads(out)
    return document


def test_table_has_header_rows_worst_first_and_totals(project: Path) -> None:
    code, out = invoke("report", "app")
    assert code == 0, out
    lines = out.splitlines()
    header = lines[0].split()
    assert header[:3] == ["location", "api", "model"]
    for title in ("profile", "static prefix", "est. total", "eligible", "share"):
        assert title in lines[0]
    assert set(lines[1]) == {"-", " "}
    rows = lines[2 : 2 + len(ORDER)]
    assert [row.split()[0] for row in rows] == ORDER
    by_location = {row.split()[0]: row.split() for row in rows}
    summary, bot = by_location["app/summary.py:8"], by_location["app/bot.py:10"]
    assert summary[1:4] == ["anthropic.messages", "claude-sonnet-4-5", "anthropic-sonnet-4"]
    assert summary[4] == "3,001" and summary[7] == "0%"
    assert bot[1:8] == [
        "openai.chat",
        "gpt-4o",
        "openai-gpt-4o",
        "1,501",
        "1,565",
        "1,408",
        "90%",
    ]
    assert set(lines[2 + len(ORDER)]) == {"-", " "}
    totals = lines[3 + len(ORDER)]
    assert totals.startswith("total (3 call sites)")
    static_total = 3001 + 1501 + site_at(report_json(), "app/bot.py", 21)["static_prefix_tokens"]
    assert f"{static_total:,}" in totals
    assert "1,408" in totals
    assert "hit rate" in out


def test_json_follows_the_design_contract(project: Path) -> None:
    document = report_json()
    assert set(document) == {"version", "encoding", "provider", "call_sites", "totals"}
    assert (document["version"], document["encoding"], document["provider"]) == (
        1,
        "o200k_base",
        "auto",
    )
    sites = document["call_sites"]
    assert [f"{s['path']}:{s['line']}" for s in sites] == ORDER
    for site in sites:
        assert list(site)[: len(DESIGN_SITE_KEYS)] == DESIGN_SITE_KEYS
        assert 0.0 <= site["cache_eligible_share"] <= 1.0
    summary, legacy, bot = sites
    assert {k: summary[k] for k in DESIGN_SITE_KEYS} == {
        "path": "app/summary.py",
        "line": 8,
        "column": 12,
        "api": "anthropic.messages",
        "model": "claude-sonnet-4-5",
        "static_prefix_tokens": 3001,
        "estimated_total_tokens": 3065,
        "cache_eligible_tokens": 0,
        "cache_eligible_share": 0.0,
        "dynamic_slots": 1,
    }
    assert {k: bot[k] for k in DESIGN_SITE_KEYS[5:]} == {
        "static_prefix_tokens": 1501,
        "estimated_total_tokens": 1565,
        "cache_eligible_tokens": 1408,
        "cache_eligible_share": round(1408 / 1565, 4),
        "dynamic_slots": 1,
    }
    assert legacy["static_prefix_tokens"] == TokenCounter().count("Today is ")
    assert legacy["dynamic_slots"] == 2
    totals = document["totals"]
    assert totals["call_sites"] == 3
    assert totals["static_prefix_tokens"] == sum(s["static_prefix_tokens"] for s in sites)
    assert totals["estimated_total_tokens"] == sum(s["estimated_total_tokens"] for s in sites)
    assert totals["cache_eligible_tokens"] == 1408


def test_json_provider_names_the_override(project: Path) -> None:
    document = report_json("--provider", "deepseek")
    assert document["provider"] == "deepseek"
    assert {s["profile"] for s in document["call_sites"]} == {"deepseek-flash"}
    summary = next(s for s in document["call_sites"] if s["path"] == "app/summary.py")
    assert summary["cache_eligible_tokens"] == 2944  # 3,001 in 64-token units


def test_markdown_table(project: Path) -> None:
    code, out = invoke("report", "app", "--format", "markdown")
    assert code == 0, out
    lines = out.splitlines()
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert cells[0][:3] == ["location", "api", "model"]
    assert lines[1] == "|" + "---|" * len(cells[0])
    assert all(line.startswith("| ") and line.endswith(" |") for line in [lines[0], *lines[2:]])
    assert all(len(row) == len(cells[0]) for row in cells)
    assert [row[0] for row in cells[2:-1]] == ORDER
    assert cells[-1][0] == "total (3 call sites)"


def expected_costs(site: dict[str, Any], hit_rate: float) -> tuple[float, float]:
    """report/estimates.py: per 1,000 calls; hits at the cached price, the missed share of the
    eligible tokens written at the write price, the rest at the input price."""
    profile = PROFILES.named(site["profile"])
    assert profile is not None and profile.has_prices
    assert profile.input is not None and profile.cached_input is not None
    assert profile.cache_write is not None
    total, eligible = site["estimated_total_tokens"], site["cache_eligible_tokens"]
    per_call = 1000 / 1_000_000
    uncached = total * profile.input * per_call
    cached = (
        hit_rate * eligible * profile.cached_input
        + (1 - hit_rate) * eligible * profile.cache_write
        + (total - eligible) * profile.input
    ) * per_call
    return uncached, cached


@pytest.mark.parametrize("hit_rate", [1.0, 0.5, 0.0])
def test_hit_rate_changes_the_cached_cost(project: Path, hit_rate: float) -> None:
    document = report_json("--hit-rate", str(hit_rate))
    for site in document["call_sites"]:
        uncached, cached = expected_costs(site, hit_rate)
        assert site["cost_per_1000_calls"] == {
            "uncached": round(uncached, 4),
            "cached": round(cached, 4),
        }
    bot = site_at(document, "app/bot.py", 10)
    # gpt-4o: 1,408 cached tokens at $1.25/M instead of $2.50/M (writes cost the input price)
    assert bot["cost_per_1000_calls"]["cached"] == pytest.approx(
        (1408 * (hit_rate * 1.25 + (1 - hit_rate) * 2.5) + 157 * 2.5) / 1000, abs=1e-4
    )
    usd = document["totals"]["cost_per_1000_calls"]["USD"]
    assert usd["cached"] == pytest.approx(
        sum(s["cost_per_1000_calls"]["cached"] for s in document["call_sites"]), abs=1e-3
    )


def site_at(document: dict[str, Any], path: str, line: int) -> dict[str, Any]:
    site: dict[str, Any] = next(
        s for s in document["call_sites"] if (s["path"], s["line"]) == (path, line)
    )
    return site


def test_half_hit_rate_costs_more_than_full_hits(project: Path) -> None:
    full = site_at(report_json(), "app/bot.py", 10)["cost_per_1000_calls"]
    half = site_at(report_json("--hit-rate", "0.5"), "app/bot.py", 10)["cost_per_1000_calls"]
    assert full["uncached"] == half["uncached"]
    assert full["cached"] < half["cached"] < full["uncached"]


def test_hit_rate_out_of_range_is_a_usage_error(project: Path) -> None:
    code, out = invoke("report", "app", "--hit-rate", "1.5")
    assert code == 2
    assert "--hit-rate" in out


def test_unknown_provider_exits_2_naming_the_choices(project: Path) -> None:
    code, out = invoke("report", "app", "--provider", "nope")
    assert code == 2
    assert "'nope'" in out
    for provider in PROFILES.providers:
        assert provider in out
    assert "promptlint providers" in out


def test_profile_name_is_a_valid_provider_choice(project: Path) -> None:
    document = report_json("--provider", "anthropic-opus-5")
    assert {s["profile"] for s in document["call_sites"]} == {"anthropic-opus-5"}


def test_report_of_a_project_without_call_sites(tmp_path: Path) -> None:
    (tmp_path / "util.py").write_text("x = 1\n")
    code, out = invoke("report", str(tmp_path), "--format", "json")
    assert code == 0, out
    document = json.loads(out)
    assert document["call_sites"] == []
    assert document["totals"]["call_sites"] == 0
    assert document["totals"]["cache_eligible_share"] == 0.0


def test_providers_lists_every_profile() -> None:
    code, out = invoke("providers")
    assert code == 0
    listed = [line.split()[0] for line in out.splitlines() if line and not line[0].isspace()]
    assert listed == [p.name for p in PROFILES.profiles]
    for profile in PROFILES.profiles:
        assert profile.source in out
    assert "anthropic-opus-4-7\n    provider anthropic" in out
    assert "min 2048 tokens, granularity 1, explicit (max 4)" in out


def test_the_total_of_one_call_site_is_singular(tmp_path: Path) -> None:
    from samples import SUPPORT_BOT

    (tmp_path / "bot.py").write_text(SUPPORT_BOT)
    result = CliRunner().invoke(main, ["report", str(tmp_path / "bot.py"), "--no-cache"])
    assert result.exit_code == 0, result.output
    assert "total (1 call site)" in result.stdout
