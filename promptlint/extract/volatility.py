"""Which values change on every request (volatile) and which have no fixed order (unordered),
judged from what a call refers to through the module's imports."""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from promptlint.extract.values import NO_FACTS, Facts, Opaque, Value

# Calls whose result changes on every request.
VOLATILE_CALLS = frozenset(
    {
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.perf_counter",
        "time.ctime",
        "time.asctime",
        "time.localtime",
        "time.gmtime",
        "time.strftime",
        "uuid.uuid1",
        "uuid.uuid4",
        "os.urandom",
        "os.getpid",
        "pendulum.now",
        "pendulum.today",
        "arrow.now",
        "arrow.utcnow",
    }
)
VOLATILE_MODULES = ("random.", "secrets.")

# Calls and methods whose result has no fixed order.
UNORDERED_CALLS = frozenset(
    {"set", "frozenset", "os.listdir", "os.scandir", "glob.glob", "glob.iglob"}
)
UNORDERED_METHODS = frozenset({"iterdir", "glob", "rglob"})
ORDERING_CALLS = frozenset({"sorted"})
# Calls whose result iterates their argument in its own order (a set stays unordered).
ORDER_KEEPING_CALLS = frozenset({"list", "tuple", "iter", "reversed", "enumerate", "next"})


def is_volatile(qualified: str | None) -> bool:
    if qualified is None:
        return False
    return qualified in VOLATILE_CALLS or qualified.startswith(VOLATILE_MODULES)


def iteration_facts(
    node: cst.BaseExpression, value: Value, qualify: Callable[[cst.BaseExpression], str | None]
) -> Facts:
    """Iterating these yields an order the source does not fix."""
    if isinstance(node, (cst.Set, cst.SetComp)):
        return Facts(unordered=True)
    if isinstance(node, cst.Call):
        qualified = qualify(node.func)
        if qualified in ORDERING_CALLS:
            return NO_FACTS
        if qualified in UNORDERED_CALLS:
            return Facts(unordered=True)
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in UNORDERED_METHODS:
            return Facts(unordered=True)
    return Facts(unordered=isinstance(value, Opaque) and value.facts.unordered)
