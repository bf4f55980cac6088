"""`promptlint report`: per-call-site token figures and cost, as a table, Markdown or JSON.

Rows are sorted worst first: by the static tokens paid at full price on every call (all static
tokens minus the cache-eligible ones), then by path and line. Costs are per 1,000 calls at the
profile's prices: without caching, and with caching at `hit_rate` (1.0: every call finds the
prefix cached; below it, the missed share is written to the cache at the profile's write price).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from promptlint.estimate import Estimate
from promptlint.model import CallSite

REPORT_VERSION = 1


@dataclass(frozen=True)
class Row:
    path: str
    site: CallSite
    estimate: Estimate


def _cost(tokens: float, price: float | None) -> float:
    return tokens * (price or 0.0) / 1_000_000 * 1000  # per 1,000 calls


def costs(estimate: Estimate, hit_rate: float) -> tuple[float, float] | None:
    """(uncached, cached) cost per 1,000 calls, or None when the profile has no prices."""
    profile = estimate.profile
    if not profile.has_prices:
        return None
    total = estimate.estimated_total_tokens
    eligible = estimate.cache_eligible_tokens
    uncached = _cost(total, profile.input)
    cached = (
        _cost(hit_rate * eligible, profile.cached_input)
        + _cost((1 - hit_rate) * eligible, profile.cache_write)
        + _cost(total - eligible, profile.input)
    )
    return uncached, cached


def worst_first(rows: Sequence[Row]) -> list[Row]:
    def key(row: Row) -> tuple[int, float, str, int]:
        missed = row.estimate.static_tokens - row.estimate.cache_eligible_tokens
        return (-missed, row.estimate.cache_eligible_share, row.path, row.site.span.line)

    return sorted(rows, key=key)


def _money(value: float | None, currency: str) -> str:
    if value is None:
        return "-"
    symbol = {"USD": "$", "CNY": "¥"}.get(currency, currency + " ")
    return f"{symbol}{value:,.2f}"


_HEADERS = (
    "location",
    "api",
    "model",
    "profile",
    "static prefix",
    "est. total",
    "eligible",
    "share",
    "uncached/1k calls",
    "cached/1k calls",
)


def _location(row: Row) -> str:
    cell = f"cell {row.site.span.cell}:" if row.site.span.cell is not None else ""
    return f"{row.path}:{cell}{row.site.span.line}"


def _cells(row: Row, hit_rate: float) -> list[str]:
    e = row.estimate
    money = costs(e, hit_rate)
    return [
        _location(row),
        row.site.api,
        row.site.model or "?",
        e.profile.name,
        f"{e.static_prefix_tokens:,}",
        f"{e.estimated_total_tokens:,}",
        f"{e.cache_eligible_tokens:,}",
        f"{e.cache_eligible_share:.0%}",
        _money(money[0] if money else None, e.profile.currency),
        _money(money[1] if money else None, e.profile.currency),
    ]


def _totals(rows: Sequence[Row], hit_rate: float) -> dict[str, Any]:
    total = sum(r.estimate.estimated_total_tokens for r in rows)
    eligible = sum(r.estimate.cache_eligible_tokens for r in rows)
    by_currency: dict[str, list[float]] = {}
    for row in rows:
        money = costs(row.estimate, hit_rate)
        if money is not None:
            sums = by_currency.setdefault(row.estimate.profile.currency, [0.0, 0.0])
            sums[0] += money[0]
            sums[1] += money[1]
    return {
        "call_sites": len(rows),
        "static_prefix_tokens": sum(r.estimate.static_prefix_tokens for r in rows),
        "estimated_total_tokens": total,
        "cache_eligible_tokens": eligible,
        "cache_eligible_share": round(eligible / total, 4) if total else 0.0,
        "cost_per_1000_calls": {
            currency: {"uncached": round(u, 4), "cached": round(c, 4)}
            for currency, (u, c) in sorted(by_currency.items())
        },
    }


def render_table(rows: Sequence[Row], hit_rate: float, markdown: bool = False) -> str:
    body = [_cells(r, hit_rate) for r in worst_first(rows)]
    totals = _totals(rows, hit_rate)
    money = "; ".join(
        f"{_money(v['uncached'], c)} -> {_money(v['cached'], c)}"
        for c, v in totals["cost_per_1000_calls"].items()
    )
    total_cells = [
        f"total ({totals['call_sites']} call site{'' if totals['call_sites'] == 1 else 's'})",
        "",
        "",
        "",
        f"{totals['static_prefix_tokens']:,}",
        f"{totals['estimated_total_tokens']:,}",
        f"{totals['cache_eligible_tokens']:,}",
        f"{totals['cache_eligible_share']:.0%}",
        money or "-",
        "",
    ]
    if markdown:
        lines = ["| " + " | ".join(_HEADERS) + " |", "|" + "---|" * len(_HEADERS)]
        lines += ["| " + " | ".join(cells) + " |" for cells in [*body, total_cells]]
        return "\n".join(lines) + "\n"
    numeric = set(range(4, 10))
    every = [*body, total_cells]
    widths = [max(len(h), *(len(c[i]) for c in every)) for i, h in enumerate(_HEADERS)]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    note = f"Costs at the profiles' prices; cached at a {hit_rate:.0%} hit rate (--hit-rate)."
    table = [line(_HEADERS), rule, *map(line, body), rule, line(total_cells), "", note]
    return "\n".join(table) + "\n"


def render_json(rows: Sequence[Row], hit_rate: float, encoding: str, provider: str) -> str:
    sites = []
    for row in worst_first(rows):
        e = row.estimate
        money = costs(e, hit_rate)
        sites.append(
            {
                "path": row.path,
                "line": row.site.span.line,
                "column": row.site.span.column,
                "api": row.site.api,
                "model": row.site.model,
                "static_prefix_tokens": e.static_prefix_tokens,
                "estimated_total_tokens": e.estimated_total_tokens,
                "cache_eligible_tokens": e.cache_eligible_tokens,
                "cache_eligible_share": round(e.cache_eligible_share, 4),
                "dynamic_slots": e.dynamic_slots,
                "provider": e.profile.provider,
                "profile": e.profile.name,
                "currency": e.profile.currency,
                "cost_per_1000_calls": (
                    {"uncached": round(money[0], 4), "cached": round(money[1], 4)}
                    if money
                    else None
                ),
            }
        )
        if row.site.span.cell is not None:  # notebooks: the line is within this cell
            sites[-1]["cell"] = row.site.span.cell
    document = {
        "version": REPORT_VERSION,
        "encoding": encoding,
        "provider": provider,
        "call_sites": sites,
        "totals": _totals(rows, hit_rate),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
