"""`--format json-lines`: one finding object per line, with the keys of `--format json`.

For streaming consumers (`jq -c`, log shippers) that read a line at a time. Besides the newlines
JSON always escapes, U+0085, U+2028 and U+2029 are escaped too, since some line readers (Python's
`str.splitlines`, JavaScript) treat them as line ends.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from promptlint.model import Finding
from promptlint.report.json import finding_dict

_LINE_ENDS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def dumps_line(value: object) -> str:
    """`value` as compact JSON on one line, whatever line-end characters its strings hold."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _LINE_ENDS.items():
        text = text.replace(char, escaped)
    return text


def render(findings: Sequence[Finding]) -> str:
    return "".join(dumps_line(finding_dict(f)) + "\n" for f in findings)
