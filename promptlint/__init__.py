"""promptlint: a static linter for prompts that defeat LLM prompt caching."""

__version__ = "0.1.0"

__all__ = ["__version__"]
