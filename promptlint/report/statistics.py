"""`--statistics`: how many findings of each rule, most frequent first (like ruff's).

Text: one line per code, `count  code  name`, the counts right-aligned. JSON: a list of
{"code", "name", "count"} objects. Ties in count are ordered by code.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from promptlint.model import Finding
from promptlint.report.json_lines import dumps_line


@dataclass(frozen=True)
class Count:
    code: str
    name: str
    count: int

    def as_dict(self) -> dict[str, str | int]:
        return {"code": self.code, "name": self.name, "count": self.count}


def counts(findings: Sequence[Finding]) -> list[Count]:
    names = {f.code: f.name for f in findings}
    tally = Counter(f.code for f in findings)
    ordered = sorted(tally.items(), key=lambda item: (-item[1], item[0]))
    return [Count(code, names[code], n) for code, n in ordered]


def render_text(findings: Sequence[Finding]) -> str:
    rows = counts(findings)
    if not rows:
        return ""
    width = max(len(str(r.count)) for r in rows)
    code_width = max(len(r.code) for r in rows)
    return "".join(f"{r.count:>{width}}  {r.code:<{code_width}}  {r.name}\n" for r in rows)


def render_json(findings: Sequence[Finding]) -> str:
    return json.dumps([r.as_dict() for r in counts(findings)], indent=2) + "\n"


def render_json_lines(findings: Sequence[Finding]) -> str:
    return "".join(dumps_line(r.as_dict()) + "\n" for r in counts(findings))
