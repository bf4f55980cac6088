"""PC302 divergent-shared-prefix (project-wide): two call sites share a static block of >= 256
tokens but differ before it, so each caches its own copy and neither can reuse the other's prefix.
Putting the shared block first (and the site-specific text after it) lets them share one entry.

Call sites are compared line by line on their static text in cache order (dynamic values as
markers). Only static starts count as different: a dynamic value before the block is PC101's
finding. Reported at every call site of a group but the first, ordered by path then line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from difflib import SequenceMatcher

from promptlint.checks.base import Context, Rule
from promptlint.model import CallSite, FileModel, Finding, Severity, Slot

_DYNAMIC = "\x00"  # stands for a dynamic value in the compared text


def _lines(site: CallSite) -> list[str]:
    pieces = []
    for template, _ in site.cache_parts():
        pieces.append(
            "".join(_DYNAMIC if isinstance(s, Slot) else s.text for s in template.segments)
        )
    return "\n".join(pieces).split("\n")


def _shared_block(a: list[str], b: list[str], ctx: Context) -> tuple[int, int, int] | None:
    """The longest run of identical lines in both (start in a, start in b, tokens), if it is
    long enough and preceded by different content."""
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    minimum = ctx.settings.min_shared_tokens
    best: tuple[int, int, int] | None = None
    for block in matcher.get_matching_blocks():
        if not block.size:
            continue
        run = a[block.a : block.a + block.size]
        # Only the static part of the run counts: up to the first line with a dynamic value.
        static = next((i for i, line in enumerate(run) if _DYNAMIC in line), len(run))
        text = "\n".join(run[:static])
        if len(text) < minimum:  # a token is at least one character
            continue
        tokens = ctx.tokens.count(text)
        if tokens >= minimum and (best is None or tokens > best[2]):
            best = (block.a, block.b, tokens)
    if best is None or a[: best[0]] == b[: best[1]]:
        return None  # nothing shared, or the same prefix: they share the cached entry
    if any(_DYNAMIC in line for line in (*a[: best[0]], *b[: best[1]])):
        return None  # a dynamic value before the block: PC101's finding, not this one
    return best


def check_project(models: Sequence[FileModel], ctx: Context) -> Iterator[Finding]:
    sites = sorted(
        ((m.path, s) for m in models for s in m.call_sites),
        key=lambda pair: (pair[0], pair[1].span.line, pair[1].span.column),
    )
    # Sites with the same lines share their prefix (never a finding between them), and sites
    # with no line in common share no block: each distinct pair of texts is compared once, and
    # only when they have a line in common.
    groups: dict[tuple[str, ...], int] = {}
    texts: list[list[str]] = []
    group_of: list[int] = []
    for _, site in sites:
        lines = _lines(site)
        key = tuple(lines)
        if key not in groups:
            groups[key] = len(texts)
            texts.append(lines)
        group_of.append(groups[key])
    static_lines = [{line for line in lines if line and _DYNAMIC not in line} for lines in texts]
    compared: dict[tuple[int, int], tuple[int, int, int] | None] = {}

    def shared_by(first: int, second: int) -> tuple[int, int, int] | None:
        key = (first, second)
        if key not in compared:
            disjoint = static_lines[first].isdisjoint(static_lines[second])
            compared[key] = None if disjoint else _shared_block(texts[first], texts[second], ctx)
        return compared[key]

    for j in range(len(sites)):
        # Reported with the first site before it that shares a block with it.
        for i in range(j):
            if group_of[i] == group_of[j]:
                continue
            shared = shared_by(group_of[i], group_of[j])
            if shared is None:
                continue
            path, site = sites[j]
            first_path, first = sites[i]
            yield Finding(
                path=path,
                line=site.span.line,
                column=site.span.column,
                code=RULE.code,
                end_line=site.span.end_line,
                end_column=site.span.end_column,
                name=RULE.name,
                severity=RULE.severity,
                message=(
                    f"this call shares a {shared[2]}-token static block with "
                    f"{first_path}:{first.span.line} but differs before it, so each caches its "
                    "own copy; put the shared block first and the call-specific text after it"
                ),
                cell=site.span.cell,
            )
            break


RULE = Rule(
    code="PC302",
    name="divergent-shared-prefix",
    severity=Severity.INFO,
    summary="Two call sites share a long static block but differ before it.",
    check_project=check_project,
)
