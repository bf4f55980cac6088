"""Where fixes would edit the source, read off libcst nodes while extraction still has them: the
model keeps only spans and text (`Replacement`, `Literal`), and rules build their fixes from those.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from promptlint.extract.values import FString, Pending

SORT_KEYS = "sort_keys=True"
_FALSE_VALUES = {"False", "None", "0"}


def last_arg_value(call: cst.Call) -> cst.BaseExpression | None:
    """The value of a call's last argument, after which `, name=value` can be inserted (a trailing
    comma then stays after it); None when there is none, or the call unpacks `*a` or `**kw` (they
    may already hold the keyword)."""
    if not call.args or any(arg.star for arg in call.args):
        return None
    return call.args[-1].value


def sort_keys_target(call: cst.Call) -> tuple[cst.BaseExpression, str, bool] | None:
    """How to make `json.dumps(...)` sort its keys: (node, content, replace): replace a false
    `sort_keys=` value with `True`, or insert `, sort_keys=True` after the last argument. None when
    `sort_keys` is given as an expression (the author chose it) or the call unpacks arguments."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "sort_keys":
            value = arg.value
            if _code(value) in _FALSE_VALUES:
                return value, "True", True
            return None
    last = last_arg_value(call)
    return (last, ", " + SORT_KEYS, False) if last is not None else None


def _code(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Integer):
        return node.value
    return None


def fstring_chunks(
    module: cst.Module, fstring: FString, pendings: Sequence[Pending]
) -> tuple[tuple[str, ...], tuple[int, ...]] | None:
    """The f-string's body as chunks (text at even indexes, fields at odd ones) and the chunk each
    pending slot comes from; None when a slot is not one of its fields."""
    chunks: list[str] = []
    chunk_of_part: dict[int, int] = {}
    for index, part in enumerate(fstring.node.parts):
        if isinstance(part, cst.FormattedStringText):
            if len(chunks) % 2 == 1:
                chunks[-1] += part.value
            else:
                chunks.append(part.value)
        else:
            if len(chunks) % 2 == 0:
                chunks.append("")
            chunk_of_part[index] = len(chunks)
            chunks.append(module.code_for_node(part))
    if len(chunks) % 2 == 0:
        chunks.append("")
    slot_chunks = []
    for pending in pendings:
        field = fstring.field_of.get(id(pending))
        if field is None or field not in chunk_of_part:
            return None
        slot_chunks.append(chunk_of_part[field])
    return tuple(chunks), tuple(slot_chunks)
