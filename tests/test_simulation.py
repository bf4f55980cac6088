"""The estimator checked against a simulated provider cache (DESIGN §5).

For each call site (every call site the extractor finds in `fixtures/`, under its inferred profile
and under a few other automatic profiles, plus synthetic sites that exercise explicit
breakpoints), many requests are rendered with `render_request`, each dynamic value replaced by
generated text, tokenized with the same `TokenCounter`, and fed in order through a block-granular
prefix cache model of the site's profile:

- automatic profile: a request is served from cache for the longest token prefix it shares with
  any earlier request, floored to the profile's minimum and granularity (`profile.eligible`);
- explicit profile (Anthropic): only at breakpoints, i.e. the token offsets of the ends of the
  parts that carry a `cache_control` (and, for the request-level automatic breakpoint, the end of
  the last part): a breakpoint hits when an earlier request wrote that exact prefix there, and
  nothing under the model's minimum is written.

The measured hit share is the mean over requests 2..N (warm cache) of cached tokens / request
tokens; it must agree with `Estimate.cache_eligible_share` within 5 percentage points.

Generated values: every value starts with a 3-digit number drawn without replacement (so two
requests never share the first token of a value, and a digit never merges with the static text
before it: the stable prefix tokenizes the same alone and inside the request), followed by words
that are one token each. Value lengths are 64 +/- up to 48 tokens in antithetic pairs, so over the
warm requests every slot averages exactly `dynamic-tokens` (64), the estimator's size guess.

Where the values' real size differs from `dynamic-tokens`, the share scales with it; a test checks
that setting `dynamic-tokens` to the real mean restores agreement. A spliced conversation history
is the one slot the estimator cannot size at all: it grows every turn and is served from cache as
the previous turn's tail. It is simulated as a real conversation too, where the estimate is a
lower bound and the error is bounded (see `test_history_in_a_conversation_is_bounded`).

Run with `pytest -s tests/test_simulation.py` to see the table of estimated vs measured shares.
"""

from __future__ import annotations

import random
import textwrap
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import only_site
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptlint.config import Settings
from promptlint.estimate import PART_SEPARATOR, Estimate, Estimator, render_request
from promptlint.extract import extract_file
from promptlint.model import CallSite, Slot, Text
from promptlint.providers import Choice, Profile, bundled_profiles
from promptlint.tokens import TokenCounter

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
TOKENS = TokenCounter()
PROFILES = bundled_profiles()
DYNAMIC_TOKENS = 64
REQUESTS = 17  # one cold request, then 16 warm ones (an even number: antithetic length pairs)
TOLERANCE = 0.05  # agreement required between estimated and measured share
SPREAD = 48  # value lengths range over DYNAMIC_TOKENS +/- SPREAD tokens
TURNS = 12  # turns of a simulated conversation, for history slots

# Words that are one token each after a space (checked below), for generated values.
_WORDS = (
    "account answer billing budget cache change check cloud customer data deploy domain error "
    "event file group health issue limit log member memory message network order owner page plan "
    "policy price project query record region report request reset review role route search "
    "server service session setting site status storage support system table team ticket time "
    "token traffic update user value version volume window worker"
)
WORDS = _WORDS.split()
NONCES = tuple(range(100, 1000))  # each one token, and a token of its own after any text


def test_generated_text_is_sized_as_intended() -> None:
    assert all(len(TOKENS.encode(" " + w)) == 1 for w in WORDS)
    assert all(len(TOKENS.encode(str(n))) == 1 for n in NONCES)
    assert len(TOKENS.encode(value(417, 64, random.Random(0)))) == 64


def value(nonce: int, length: int, rng: random.Random) -> str:
    """`length` tokens: a unique number, then one-token words."""
    return " ".join([str(nonce), *rng.choices(WORDS, k=length - 1)])


# -- the cache model -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    tokens: array  # token ids (array('I'): prefixes compare at C speed)
    breakpoints: tuple[int, ...]  # token offsets of explicit breakpoints


def render(site: CallSite, values: dict[Slot, str]) -> Request:
    """The request as the estimator lays it out, with its breakpoint offsets in tokens."""
    text = render_request(site, values)
    ends: list[int] = []
    position = 0
    parts = list(site.cache_parts())
    for index, (template, breakpoint) in enumerate(parts):
        for segment in template.segments:
            position += len(segment.text if isinstance(segment, Text) else values[segment])
        last = index == len(parts) - 1
        if not last:
            position += len(PART_SEPARATOR)  # parts are joined by it
        if breakpoint is not None or (last and site.cache_control is not None):
            ends.append(position)  # the request-level breakpoint goes on the last block
    assert position == len(text)
    offsets = tuple(len(TOKENS.encode(text[:end])) for end in ends)
    return Request(array("I", TOKENS.encode(text)), offsets)


def common_prefix(a: array, b: array) -> int:
    """Length of the longest common prefix of two token arrays (binary search on slices)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


class Cache:
    """A block-granular prefix cache for one profile, warmed by every request it serves."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.seen: list[array] = []  # automatic: every earlier request is in the cache
        self.written: set[bytes] = set()  # explicit: prefixes written at breakpoints

    def serve(self, request: Request) -> int:
        """Tokens of `request` served from cache; then the request is cached itself."""
        if self.profile.explicit:
            return self._explicit(request)
        shared = max((common_prefix(request.tokens, s) for s in self.seen), default=0)
        self.seen.append(request.tokens)
        return self.profile.eligible(shared)

    def _explicit(self, request: Request) -> int:
        keys = {
            offset: request.tokens[:offset].tobytes()
            for offset in request.breakpoints
            if offset >= self.profile.min_tokens and offset > 0
        }
        hit = max((offset for offset, key in keys.items() if key in self.written), default=0)
        self.written.update(keys.values())
        return hit


# -- the call sites --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    site: CallSite
    choice: Choice

    @property
    def seed(self) -> int:
        """A seed of its own: adding a fixture does not change the other sites' requests."""
        return zlib.crc32(self.id.encode())

    def estimate(self, dynamic_tokens: int = DYNAMIC_TOKENS) -> Estimate:
        return Estimator(TOKENS, PROFILES, dynamic_tokens, self.choice).estimate(self.site)

    def profile(self) -> Profile:
        return self.estimate().profile

    @property
    def slots(self) -> tuple[Slot, ...]:
        """The distinct slots in cache order (equal slots share a value, as in the source)."""
        found = [s for template, _ in self.site.cache_parts() for s in template.slots]
        return tuple(dict.fromkeys(found))

    @property
    def has_history(self) -> bool:
        return any(s.history for s in self.slots)


def fixture_sites() -> Iterator[tuple[str, CallSite]]:
    """Every call site in `fixtures/` (whatever they hold today)."""
    for path in sorted(FIXTURES.rglob("*.py")):
        display = path.relative_to(REPO).as_posix()
        model = extract_file(display, path.read_bytes(), Settings())
        for site in model.call_sites:
            yield f"{display}:{site.span.line}", site


# Automatic profiles with small minimums, so that short fixture prompts get non-zero estimates.
OTHER_PROFILES = ("deepseek", "vllm", "kimi", "mimo")

PROSE = random.Random(7)


def prose(n: int) -> str:
    """Static text of about `n` tokens (varied words, so the prompt is not one token repeated)."""
    return " ".join(PROSE.choice(WORDS) for _ in range(n)) + "."


SYNTHETIC = {
    "anthropic system block breakpoint": (
        """
        import anthropic
        client = anthropic.Anthropic()
        def ask(question):
            return client.messages.create(
                model="claude-sonnet-4-5", max_tokens=1024,
                system=[{"type": "text", "text": RULES, "cache_control": {"type": "ephemeral"}}],
                messages=[{"role": "user", "content": question}],
            )
        """,
        {"RULES": prose(1500)},
    ),
    "anthropic breakpoint then static block": (
        """
        import anthropic
        client = anthropic.Anthropic()
        def ask(question):
            return client.messages.create(
                model="claude-opus-5", max_tokens=1024,
                system=[
                    {"type": "text", "text": A, "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": B},
                ],
                messages=[{"role": "user", "content": f"Ticket: {question}"}],
            )
        """,
        {"A": prose(900), "B": prose(400)},
    ),
    "anthropic message block breakpoint": (
        """
        import anthropic
        client = anthropic.Anthropic()
        def ask(question):
            return client.messages.create(
                model="claude-sonnet-4-5", max_tokens=1024, system=RULES,
                messages=[{"role": "user", "content": [
                    {"type": "text", "text": DOC, "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": question},
                ]}],
            )
        """,
        {"RULES": prose(500), "DOC": prose(800)},
    ),
    "anthropic tool breakpoint": (
        """
        import anthropic
        client = anthropic.Anthropic()
        def ask(user, question):
            return client.messages.create(
                model="claude-sonnet-4-5", max_tokens=1024,
                tools=[{"name": "lookup", "description": DOC,
                        "input_schema": {"type": "object", "properties": {}},
                        "cache_control": {"type": "ephemeral"}}],
                system=f"You help {user}.",
                messages=[{"role": "user", "content": question}],
            )
        """,
        {"DOC": prose(1200)},
    ),
    "anthropic breakpoint after a dynamic value": (
        """
        import anthropic
        client = anthropic.Anthropic()
        def ask(name, question):
            return client.messages.create(
                model="claude-sonnet-4-5", max_tokens=1024,
                system=[{"type": "text", "text": f"Hello {name}. " + RULES,
                         "cache_control": {"type": "ephemeral"}}],
                messages=[{"role": "user", "content": question}],
            )
        """,
        {"RULES": prose(1500)},
    ),
    "anthropic request-level breakpoint, static request": (
        """
        import anthropic
        client = anthropic.Anthropic()
        client.messages.create(
            model="claude-sonnet-4-5", max_tokens=1024, system=RULES,
            messages=[{"role": "user", "content": "Summarise the policy."}],
            cache_control={"type": "ephemeral"},
        )
        """,
        {"RULES": prose(1500)},
    ),
    "anthropic request-level breakpoint, dynamic user": (
        """
        import anthropic
        client = anthropic.Anthropic()
        def ask(question):
            return client.messages.create(
                model="claude-sonnet-4-5", max_tokens=1024, system=RULES,
                messages=[{"role": "user", "content": question}],
                cache_control={"type": "ephemeral"},
            )
        """,
        {"RULES": prose(1500)},
    ),
    "anthropic under the 2048 minimum": (
        """
        import anthropic
        client = anthropic.Anthropic()
        def ask(question):
            return client.messages.create(
                model="claude-opus-4-7", max_tokens=1024,
                system=[{"type": "text", "text": RULES, "cache_control": {"type": "ephemeral"}}],
                messages=[{"role": "user", "content": question}],
            )
        """,
        {"RULES": prose(1500)},
    ),
    "openai 2000-token prefix": (
        """
        from openai import OpenAI
        client = OpenAI()
        def ask(question, extra):
            return client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": RULES},
                    {"role": "user", "content": f"{question}\\n\\n{TAIL}\\n{extra}"},
                ],
            )
        """,
        {"RULES": prose(2000), "TAIL": prose(200)},
    ),
    "openai history then final user message": (
        """
        from openai import OpenAI
        client = OpenAI()
        def ask(history, question, name):
            return client.chat.completions.create(
                model="gpt-4.1",
                messages=[
                    {"role": "system", "content": RULES},
                    *history,
                    {"role": "user", "content": f"{question}\\n\\n(Customer: {name}.)"},
                ],
            )
        """,
        {"RULES": prose(1300)},
    ),
    "deepseek endpoint": (
        """
        from openai import OpenAI
        client = OpenAI(base_url="https://api.deepseek.com", api_key="k")
        def ask(question):
            return client.chat.completions.create(
                model="deepseek-chat",
                messages=[
                    {"role": "system", "content": RULES},
                    {"role": "user", "content": question},
                ],
            )
        """,
        {"RULES": prose(700)},
    ),
}


def synthetic_site(body: str, constants: dict[str, str]) -> CallSite:
    head = "".join(f"{name} = {text!r}\n" for name, text in constants.items())
    return only_site(head + textwrap.dedent(body))


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for name, site in fixture_sites():
        cases.append(Case(name, site, Choice()))
        cases.extend(Case(f"{name} [{p}]", site, Choice(provider=p)) for p in OTHER_PROFILES)
    for name, (body, constants) in SYNTHETIC.items():
        site = synthetic_site(body, constants)
        cases.append(Case(name, site, Choice()))
        if name == "openai 2000-token prefix":
            cases.append(Case(f"{name} [gpt-5.6-terra]", site, Choice(model="gpt-5.6-terra")))
    return cases


CASES = all_cases()


# -- the simulation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    case: Case
    profile: str
    estimated: float
    measured: float
    mode: str = "independent"
    upper: float = 1.0  # conversation mode: the most the cache could serve

    @property
    def difference(self) -> float:
        return self.measured - self.estimated


def draw_nonces(rng: random.Random, count: int) -> Iterator[int]:
    assert count <= len(NONCES), f"{count} values: too many slots for unique 3-digit openings"
    return iter(rng.sample(NONCES, count))


def lengths(rng: random.Random, slots: int, mean: int, spread: int) -> list[list[int]]:
    """Per request, per slot: `mean` for the cold request, then antithetic pairs around it."""
    warm: list[list[int]] = []
    for _ in range((REQUESTS - 1) // 2):
        offsets = [rng.randint(-spread, spread) for _ in range(slots)]
        warm.append([mean + d for d in offsets])
        warm.append([mean - d for d in offsets])
    rng.shuffle(warm)
    return [[mean] * slots, *warm]


def simulate_independent(
    case: Case, seed: int, mean: int = DYNAMIC_TOKENS, spread: int = SPREAD
) -> Measurement:
    """Independent requests: every dynamic value (a history too) is fresh, `mean` tokens on
    average, and the estimate assumes `mean` tokens per slot."""
    rng = random.Random(seed)
    slots = case.slots
    nonces = draw_nonces(rng, (REQUESTS + 1) * len(slots))
    estimate = case.estimate(mean)
    cache = Cache(estimate.profile)
    # A value computed at import (a module constant built by code) is the same on every request.
    fixed = {s: value(next(nonces), mean, rng) for s in slots if s.per_process}
    shares = []
    for index, sizes in enumerate(lengths(rng, len(slots), mean, spread)):
        values = {
            slot: fixed.get(slot) or value(next(nonces), size, rng)
            for slot, size in zip(slots, sizes, strict=True)
        }
        request = render(case.site, values)
        cached = cache.serve(request)
        if index > 0:
            shares.append(cached / len(request.tokens))
    return Measurement(
        case, estimate.profile.name, estimate.cache_eligible_share, sum(shares) / len(shares)
    )


def simulate_conversation(case: Case, seed: int) -> Measurement:
    """One conversation of TURNS turns. The history slot holds every earlier turn: the previous
    request's text after the history (its final user message) and the assistant's reply are
    appended to it, so each request extends the previous one. Values before the history keep
    their value for the whole conversation unless volatile; values after it are fresh per turn."""
    rng = random.Random(seed)
    slots = case.slots
    [history] = [s for s in slots if s.history]
    before = set(slots[: slots.index(history)])
    nonces = draw_nonces(rng, TURNS * (len(slots) + 1))
    estimate = case.estimate()
    cache = Cache(estimate.profile)
    fixed = {s: value(next(nonces), DYNAMIC_TOKENS, rng) for s in before if not s.volatile}
    transcript = value(next(nonces), 40, rng)  # the assistant's greeting
    shares, uppers = [], []
    previous: int | None = None
    for _ in range(TURNS):
        values = {
            s: fixed.get(s) or value(next(nonces), rng.randint(16, 112), rng)
            for s in slots
            if s != history
        }
        values[history] = transcript
        request = render(case.site, values)
        cached = cache.serve(request)
        if previous is not None:
            shares.append(cached / len(request.tokens))
            uppers.append(previous / len(request.tokens))
        previous = len(request.tokens)
        # The next turn's history: this request's text after the history value, then a reply.
        tail = text_after(case.site, values, history)
        transcript = transcript + tail + value(next(nonces), rng.randint(40, 200), rng)
    return Measurement(
        case,
        estimate.profile.name,
        estimate.cache_eligible_share,
        sum(shares) / len(shares),
        mode="conversation",
        upper=sum(uppers) / len(uppers),
    )


def text_after(site: CallSite, values: dict[Slot, str], slot: Slot) -> str:
    """The rendered request's text after the (first) value of `slot`."""
    text = render_request(site, values)
    position = 0
    for template, _ in site.cache_parts():
        for segment in template.segments:
            position += len(segment.text if isinstance(segment, Text) else values[segment])
            if segment == slot:
                return text[position:]
        position += len(PART_SEPARATOR)
    raise AssertionError(f"{slot} is not in the request")


def table(rows: list[Measurement]) -> str:
    width = max(len(r.case.id) for r in rows)
    lines = [
        f"{'call site':<{width}}  {'profile':<20} {'mode':<12} estimated  measured   diff",
        "-" * (width + 64),
    ]
    for r in rows:
        lines.append(
            f"{r.case.id:<{width}}  {r.profile:<20} {r.mode:<12} {r.estimated:9.3f} "
            f"{r.measured:9.3f} {r.difference:+6.3f}"
        )
    return "\n".join(lines)


@pytest.fixture(scope="module")
def measurements() -> dict[tuple[str, str], Measurement]:
    rows = [simulate_independent(case, case.seed) for case in CASES]
    rows += [simulate_conversation(case, case.seed + 1) for case in CASES if case.has_history]
    print("\n" + table(rows))
    return {(r.case.id, r.mode): r for r in rows}


def test_fixtures_hold_call_sites() -> None:
    assert any(case.choice == Choice() for case in CASES if case.id.startswith("fixtures/"))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_estimate_agrees_with_the_simulated_cache(
    case: Case, measurements: dict[tuple[str, str], Measurement]
) -> None:
    row = measurements[(case.id, "independent")]
    assert abs(row.difference) <= TOLERANCE, (
        f"{case.id} ({row.profile}): estimated {row.estimated:.3f}, measured {row.measured:.3f}"
    )


SYNTHETIC_CASES = [case for case in CASES if not case.id.startswith("fixtures/")]


@pytest.mark.parametrize("case", SYNTHETIC_CASES, ids=lambda c: c.id)
def test_dynamic_tokens_is_the_knob_for_larger_values(case: Case) -> None:
    """Values of ~400 tokens (retrieved documents, long questions): the estimate agrees again once
    `dynamic-tokens` says so."""
    row = simulate_independent(case, case.seed + 2, mean=400, spread=300)
    assert abs(row.difference) <= TOLERANCE, row
    if case.estimate().cache_eligible_tokens and case.slots:  # and the default guess would not
        assert row.measured < case.estimate().cache_eligible_share


HISTORY_CASES = [case for case in CASES if case.has_history]


@pytest.mark.parametrize("case", HISTORY_CASES, ids=lambda c: c.id)
def test_history_in_a_conversation_is_bounded(
    case: Case, measurements: dict[tuple[str, str], Measurement]
) -> None:
    """The estimator cannot size a spliced conversation history: it counts `dynamic-tokens` for
    it, uncached, whereas in a conversation the history grows every turn and the provider serves
    the previous turn (history included) from cache. So the estimate is a lower bound there: the
    measured share is at least the estimate (within the tolerance), and at most what the previous
    turn could contribute (the new reply and user message are never cached)."""
    row = measurements[(case.id, "conversation")]
    assert row.estimated - TOLERANCE <= row.measured <= row.upper + 1e-9, row


# -- per request: exactly the estimator's eligible tokens (hypothesis) -----------------------------


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    case=st.sampled_from(CASES),
    sizes=st.lists(st.integers(1, 160), min_size=16, max_size=16),
    seed=st.integers(0, 2**16),
)
def test_a_warm_request_is_served_exactly_the_eligible_tokens(
    case: Case, sizes: list[int], seed: int
) -> None:
    """Two requests with values of any length: the second is served from cache exactly
    `cache_eligible_tokens`, whatever the dynamic values' sizes."""
    rng = random.Random(seed)
    slots = case.slots
    nonces = draw_nonces(rng, 2 * len(slots))
    cache = Cache(case.profile())
    served = []
    for turn in range(2):
        values = {
            slot: value(next(nonces), sizes[(i + 8 * turn) % len(sizes)], rng)
            for i, slot in enumerate(slots)
        }
        served.append(cache.serve(render(case.site, values)))
    assert served[1] == case.estimate().cache_eligible_tokens


@pytest.mark.xfail(
    strict=True,
    reason="open bug: with one-token values the simulated DeepSeek cache serves 0 tokens of "
    "this call where the estimate says 64 (found by hypothesis; not yet diagnosed)",
)
def test_one_token_values_on_deepseek_screening_call() -> None:
    case = next(c for c in CASES if c.id == "fixtures/research_desk/reviews.py:95 [deepseek]")
    test_a_warm_request_is_served_exactly_the_eligible_tokens.hypothesis.inner_test(  # type: ignore[attr-defined]
        case=case, sizes=[1] * 16, seed=0
    )
