"""Per-file extraction results kept between runs, so an unchanged file is not parsed again.

One JSON file per run configuration in the cache directory (`.promptlint_cache/` by default),
named by a key over everything that can change what extraction returns: promptlint's version, the
settings, the bundled provider profiles, the Python and libcst versions (pruning reads the code
with the running Python's `ast`). It maps each file's display path to the SHA-256 of the bytes
extraction read and the model it returned; an entry is used only when the file's bytes hash the
same again.

Safe by construction: JSON is read into the model's own dataclasses only (never unpickled, so a
cache directory shipped inside a repository cannot run code); a cache that cannot be read or does
not decode is ignored and rebuilt; writes go to a temporary file renamed over the old one, so two
runs at once leave one complete file, whichever wins, and every entry in it is still checked
against the file's bytes.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
import tempfile
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptlint import __version__, model
from promptlint.config import Settings

FORMAT = 1  # bump when the file layout or the model's shape changes
MAX_ENTRIES = 200_000  # a bound on the file's size: the oldest entries go first

_MODEL_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        model.Span,
        model.Replacement,
        model.Literal,
        model.Text,
        model.Slot,
        model.Template,
        model.CacheControl,
        model.Block,
        model.Message,
        model.CallSite,
        model.NamedTemplate,
        model.ParseError,
        model.Suppression,
        model.FileModel,
    )
}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cache_key(settings: Settings, profiles: bytes) -> str:
    """Everything besides a file's bytes that decides what its extraction returns."""
    parts = [
        f"format={FORMAT}",
        f"promptlint={__version__}",
        f"python={sys.version_info[0]}.{sys.version_info[1]}",
        f"libcst={_version_of('libcst')}",
        f"settings={settings!r}",
        f"code={_code_digest()}",
    ]
    return digest("\n".join(parts).encode() + b"\n" + profiles)[:32]


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """A hash of promptlint's own source: an edited checkout (an editable install keeps its
    version number) must not be served what the previous code extracted. ~60 small files."""
    package = Path(__file__).resolve().parent
    hasher = hashlib.sha256()
    for source in sorted(package.rglob("*.py")):
        hasher.update(source.relative_to(package).as_posix().encode() + b"\0")
        hasher.update(source.read_bytes())
    return hasher.hexdigest()[:16]


@dataclass(frozen=True)
class Entry:
    digest: str  # of the bytes extraction read
    model: model.FileModel


@dataclass(frozen=True)
class Cache:
    directory: Path
    key: str

    @property
    def path(self) -> Path:
        return self.directory / f"extract-{self.key}.json"

    def load(self) -> dict[str, Entry]:
        """The entries of the last run with this key; empty when there are none or the file is
        unreadable, truncated or not ours (it is then rebuilt by the next save)."""
        try:
            raw = json.loads(self.path.read_bytes())
            if raw.get("format") != FORMAT or raw.get("key") != self.key:
                return {}
            entries = {
                path: Entry(sha, _decode(data, model.FileModel))
                for path, (sha, data) in raw["files"].items()
                if isinstance(path, str) and isinstance(sha, str)
            }
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return {}
        return entries

    def save(self, entries: Mapping[str, Entry]) -> None:
        kept = list(entries.items())[-MAX_ENTRIES:]
        payload = {
            "format": FORMAT,
            "key": self.key,
            "files": {path: [e.digest, _encode(e.model)] for path, e in kept},
        }
        _write_atomically(self.directory, self.path, payload)


@dataclass(frozen=True)
class TokenMemo:
    """Token counts by text key (`tokens.text_key`) for one vocabulary, kept between runs: a
    warm run whose prompts did not change does not load the vocabulary at all (~0.5 s)."""

    directory: Path
    vocabulary: str  # the vocabulary's name and hash: another vocabulary, another file

    @property
    def path(self) -> Path:
        return self.directory / f"tokens-{digest(self.vocabulary.encode())[:32]}.json"

    def load(self) -> dict[str, int]:
        try:
            raw = json.loads(self.path.read_bytes())
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(raw, dict) or not all(
            isinstance(k, str) and type(v) is int for k, v in raw.items()
        ):
            return {}
        return raw

    def save(self, counts: Mapping[str, int]) -> None:
        _write_atomically(self.directory, self.path, dict(list(counts.items())[-MAX_ENTRIES:]))


def _write_atomically(directory: Path, path: Path, payload: object) -> None:
    """Write JSON through a temporary file renamed over `path`: a reader sees the old file or
    the new one, never half of one. A cache that cannot be written is skipped: it only costs the
    next run time."""
    try:
        if not directory.is_dir():
            # Marked only when promptlint creates it: `--cache-dir .` must not get a `*` ignore.
            directory.mkdir(parents=True)
            _mark_directory(directory)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(payload, out, separators=(",", ":"))
            os.chmod(temporary, 0o666 & ~_umask())  # as a plain write would (mkstemp: 0600)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _version_of(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


def _mark_directory(directory: Path) -> None:
    """Keep the cache out of git and out of backups, as other tools' caches do."""
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Created by promptlint\n*\n", encoding="utf-8")
    tag = directory / "CACHEDIR.TAG"
    if not tag.exists():
        tag.write_text(
            "Signature: 8a477f597d28d172789f06886806bc55\n"
            "# This file is a cache directory tag created by promptlint.\n",
            encoding="utf-8",
        )


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "t": type(value).__name__,
            "f": [_encode(getattr(value, f.name)) for f in dataclasses.fields(value)],
        }
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any, expected: Any) -> Any:
    """`value` as the annotated type `expected` of the model; TypeError (or KeyError) if it is
    anything else (a hand-edited or foreign file), so that a bad entry never reaches the rules."""
    return _decoder(expected)(value)


@functools.cache
def _decoder(expected: Any) -> Callable[[Any], Any]:
    """A decoder for one annotated type, built once: a warm run decodes ~100k values."""
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        options = [o for o in typing.get_args(expected) if o is not type(None)]
        optional = len(options) < len(typing.get_args(expected))
        if len(options) == 1:
            inner = _decoder(options[0])
            return lambda v: None if v is None and optional else inner(v)
        by_tag = {o.__name__: _decoder(o) for o in options}  # model classes: one per tag

        def one_of(v: Any) -> Any:
            if v is None and optional:
                return None
            if type(v) is not dict:
                raise TypeError("expected a tagged object")
            return by_tag[v["t"]](v)

        return one_of
    if origin is tuple:
        item = _decoder(typing.get_args(expected)[0])

        def sequence(v: Any) -> Any:
            if type(v) is not list:
                raise TypeError("expected a list")
            return tuple(map(item, v))

        return sequence
    if expected in _MODEL_TYPES.values():
        return _object_decoder(expected)
    if expected in (str, int, bool):

        def primitive(v: Any) -> Any:
            if type(v) is not expected:
                raise TypeError(f"expected {expected.__name__}")
            return v

        return primitive
    raise TypeError(f"no decoder for {expected}")


def _object_decoder(cls: type[Any]) -> Callable[[Any], Any]:
    name = cls.__name__
    hints = _field_types(name)
    fields = [_decoder(hints[f.name]) for f in dataclasses.fields(cls)]
    count = len(fields)

    def decode(v: Any) -> Any:
        if type(v) is not dict or v.get("t") != name:
            raise TypeError(f"expected a {name}")
        values = v["f"]
        if type(values) is not list or len(values) != count:
            raise TypeError(f"wrong fields for {name}")
        return cls(*[d(x) for d, x in zip(fields, values, strict=True)])

    return decode


@functools.cache
def _field_types(name: str) -> dict[str, Any]:
    return typing.get_type_hints(_MODEL_TYPES[name], vars(model))
