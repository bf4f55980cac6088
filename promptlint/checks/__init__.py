"""The rule registry: every rule, by code. Codes are assigned here and nowhere else."""

from __future__ import annotations

from promptlint.checks import (
    pc000_parse_error,
    pc101_dynamic_before_static,
    pc102_volatile_in_prompt,
    pc103_dynamic_tools,
    pc201_unordered_iteration,
    pc202_unsorted_json,
    pc301_repeated_text,
    pc302_divergent_shared_prefix,
    pc401_prefix_below_minimum,
    pc402_missing_cache_breakpoint,
    pc403_breakpoint_after_dynamic,
    pc404_too_many_breakpoints,
    pc405_breakpoint_ttl_order,
    pc900_unused_suppression,
)
from promptlint.checks.base import Context, Rule

RULES: tuple[Rule, ...] = (
    pc000_parse_error.RULE,
    pc101_dynamic_before_static.RULE,
    pc102_volatile_in_prompt.RULE,
    pc103_dynamic_tools.RULE,
    pc201_unordered_iteration.RULE,
    pc202_unsorted_json.RULE,
    pc301_repeated_text.RULE,
    pc302_divergent_shared_prefix.RULE,
    pc401_prefix_below_minimum.RULE,
    pc402_missing_cache_breakpoint.RULE,
    pc403_breakpoint_after_dynamic.RULE,
    pc404_too_many_breakpoints.RULE,
    pc405_breakpoint_ttl_order.RULE,
    pc900_unused_suppression.RULE,
)

__all__ = [
    "RULES",
    "Context",
    "Rule",
    "UnknownSelectorError",
    "rule_by_code_or_name",
    "select_rules",
]


def rule_by_code_or_name(key: str) -> Rule | None:
    for rule in RULES:
        if key.upper() == rule.code or key.lower() == rule.name:
            return rule
    return None


class UnknownSelectorError(ValueError):
    pass


def _matches(rule: Rule, selector: str) -> bool:
    return rule.code.startswith(selector.upper()) or rule.name == selector.lower()


def select_rules(select: tuple[str, ...], ignore: tuple[str, ...]) -> tuple[Rule, ...]:
    """Rules chosen by code, code prefix (`PC1`) or name; `ignore` wins over `select`.

    A selector that matches no rule is an error naming the valid choices, never silently empty.
    """
    for selector in (*select, *ignore):
        if selector.upper() != "ALL" and not any(_matches(r, selector) for r in RULES):
            choices = ", ".join(f"{r.code} ({r.name})" for r in RULES)
            raise UnknownSelectorError(
                f"unknown rule selector {selector!r}; use a code, a code prefix such as PC1, "
                f"or a rule name: {choices}"
            )

    def hit(rule: Rule, selectors: tuple[str, ...]) -> bool:
        return any(s.upper() == "ALL" or _matches(rule, s) for s in selectors)

    return tuple(r for r in RULES if hit(r, select) and not hit(r, ignore))
