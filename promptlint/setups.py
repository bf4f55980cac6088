"""Each file's setup for a run (settings, rules, estimator), shared between files that agree.

Files are resolved to their settings by a `config.Resolver`. Equal settings get one `Setup`; files
that agree on provider, model, encoding and dynamic-tokens share one `Estimator` (and its memo of
estimates); every encoding has one `TokenCounter`, seeded from and saved to the token memo of the
cache directory, so a warm run whose prompts did not change loads no vocabulary.
"""

from __future__ import annotations

from pathlib import Path

from promptlint.cache import TokenMemo
from promptlint.checks import select_rules
from promptlint.config import Resolver, Settings
from promptlint.engine import Setup
from promptlint.estimate import Estimator
from promptlint.providers import Choice, Profiles
from promptlint.tokens import TokenCounter, vocabulary_id


class Setups:
    def __init__(
        self, resolver: Resolver, profiles: Profiles, memo_directory: Path | None = None
    ) -> None:
        """`memo_directory`: where token counts are kept between runs (None: not kept)."""
        self._resolver = resolver
        self._profiles = profiles
        self._memo_directory = memo_directory
        self._setups: dict[Settings, Setup] = {}
        # The resolver hands out one object per distinct settings: found by identity first
        # (hashing a Settings for every file costs more), the object kept alive beside its setup.
        self._by_id: dict[int, tuple[Settings, Setup]] = {}
        self._estimators: dict[tuple[str | None, str | None, str, int], Estimator] = {}
        self._counters: dict[str, tuple[TokenCounter, dict[str, int]]] = {}

    def root(self) -> Setup:
        """The run's own setup: its `--config` file's, or that of the config nearest to the
        current directory (project-wide rules, the report's header)."""
        return self.for_settings(self._resolver.root().settings)

    def for_path(self, path: Path) -> Setup:
        return self.for_settings(self._resolver.settings_for(path))

    def for_settings(self, settings: Settings) -> Setup:
        known = self._by_id.get(id(settings))
        if known is not None and known[0] is settings:
            return known[1]
        setup = self._setups.get(settings)
        if setup is None:
            rules = select_rules(settings.select, settings.ignore)
            setup = self._setups[settings] = Setup(settings, rules, self._estimator(settings))
        self._by_id[id(settings)] = (settings, setup)
        return setup

    def _estimator(self, settings: Settings) -> Estimator:
        key = (settings.provider, settings.model, settings.encoding, settings.dynamic_tokens)
        estimator = self._estimators.get(key)
        if estimator is None:
            choice = Choice(settings.provider, settings.model)
            counter = self._counter(settings.encoding)
            estimator = Estimator(counter, self._profiles, settings.dynamic_tokens, choice)
            self._estimators[key] = estimator
        return estimator

    def _counter(self, encoding: str) -> TokenCounter:
        known = self._counters.get(encoding)
        if known is None:
            counts = self._memo(encoding).load() if self._memo_directory is not None else {}
            known = self._counters[encoding] = (TokenCounter(encoding, known=counts), counts)
        return known[0]

    def _memo(self, encoding: str) -> TokenMemo:
        assert self._memo_directory is not None
        return TokenMemo(self._memo_directory, vocabulary_id(encoding))

    def save_counts(self) -> None:
        """Write the token counts learned this run to the memo of their encoding."""
        if self._memo_directory is None:
            return
        for encoding, (counter, counts) in self._counters.items():
            if counter.learned:
                self._memo(encoding).save({**counts, **counter.learned})
