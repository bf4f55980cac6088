"""PC900 unused-suppression: an inline suppression comment that matches no finding.

The rule has no hook: whether a suppression was used is known only once every other rule has run,
so `suppress.apply` reports these findings (and only when PC900 is selected).
"""

from __future__ import annotations

from promptlint.checks.base import Rule
from promptlint.model import Severity

RULE = Rule(
    code="PC900",
    name="unused-suppression",
    severity=Severity.INFO,
    summary="A suppression comment that matches no finding, or names an unknown rule.",
)
