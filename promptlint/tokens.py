"""Offline token counting with the BPE vocabularies bundled in ``promptlint/data``.

tiktoken normally downloads its rank files on first use. promptlint never touches the
network: the vocabularies ship gzip-compressed inside the package, their decompressed
SHA-256 is verified on every load, and the :class:`tiktoken.Encoding` is built directly
from them (the split patterns and special tokens below are copied verbatim from
``tiktoken_ext/openai_public.py``).

``tiktoken`` is imported lazily, so ``import promptlint.tokens`` stays cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    import tiktoken

# Heavier modules (tiktoken, gzip, hashlib, base64, importlib.resources) are imported
# inside the functions that need them, so importing this module stays cheap.

__all__ = [
    "ENCODINGS",
    "CorruptVocabularyError",
    "TokenCount",
    "TokenCounter",
    "UnknownEncodingError",
    "load_encoding",
]

ENCODINGS: tuple[str, ...] = ("o200k_base", "cl100k_base")


class TokenCount(Protocol):
    """Anything that counts a text's tokens (a `TokenCounter`, or a stand-in in tests)."""

    def count(self, text: str) -> int: ...


# Special tokens, as in tiktoken_ext/openai_public.py.
_ENDOFTEXT = "<|endoftext|>"
_FIM_PREFIX = "<|fim_prefix|>"
_FIM_MIDDLE = "<|fim_middle|>"
_FIM_SUFFIX = "<|fim_suffix|>"
_ENDOFPROMPT = "<|endofprompt|>"

CL100K_PAT_STR = "|".join(
    [
        r"""'(?i:[sdmt]|ll|ve|re)""",
        r"""[^\r\n\p{L}\p{N}]?+\p{L}++""",
        r"""\p{N}{1,3}+""",
        r""" ?[^\s\p{L}\p{N}]++[\r\n]*+""",
        r"""\s++$""",
        r"""\s*[\r\n]""",
        r"""\s+(?!\S)""",
        r"""\s""",
    ]
)

O200K_PAT_STR = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)


class _EncodingSpec(NamedTuple):
    name: str
    filename: str
    sha256: str  # of the *decompressed* rank file
    pat_str: str
    special_tokens: tuple[tuple[str, int], ...]


_SPECS: tuple[_EncodingSpec, ...] = (
    _EncodingSpec(
        name="o200k_base",
        filename="o200k_base.tiktoken.gz",
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        pat_str=O200K_PAT_STR,
        special_tokens=((_ENDOFTEXT, 199999), (_ENDOFPROMPT, 200018)),
    ),
    _EncodingSpec(
        name="cl100k_base",
        filename="cl100k_base.tiktoken.gz",
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        pat_str=CL100K_PAT_STR,
        special_tokens=(
            (_ENDOFTEXT, 100257),
            (_FIM_PREFIX, 100258),
            (_FIM_MIDDLE, 100259),
            (_FIM_SUFFIX, 100260),
            (_ENDOFPROMPT, 100276),
        ),
    ),
)


class UnknownEncodingError(ValueError):
    """Raised for an encoding name promptlint does not bundle."""

    def __init__(self, name: object) -> None:
        self.name = name
        super().__init__(f"unknown encoding {name!r}; valid choices: {', '.join(ENCODINGS)}")


class CorruptVocabularyError(RuntimeError):
    """Raised when a bundled vocabulary file is missing, unreadable or fails its hash check."""


def _spec_for(name: str) -> _EncodingSpec:
    for spec in _SPECS:
        if spec.name == name:
            return spec
    raise UnknownEncodingError(name)


def _read_compressed(spec: _EncodingSpec, data_dir: Path | None) -> tuple[str, bytes]:
    """Return (location for messages, compressed bytes) of ``spec``'s vocabulary file."""
    if data_dir is None:
        from importlib.resources import files

        resource = files("promptlint") / "data" / spec.filename
        location = str(resource)
        try:
            return location, resource.read_bytes()
        except OSError as exc:
            raise _unreadable(location, exc) from exc
    path = data_dir / spec.filename
    try:
        return str(path), path.read_bytes()
    except OSError as exc:
        raise _unreadable(str(path), exc) from exc


def _unreadable(location: str, exc: BaseException) -> CorruptVocabularyError:
    return CorruptVocabularyError(
        f"cannot read vocabulary file {location}: {exc}; "
        "the promptlint installation is incomplete, please reinstall promptlint"
    )


def _load_ranks(spec: _EncodingSpec, data_dir: Path | None) -> dict[bytes, int]:
    import base64
    import binascii
    import gzip
    import hashlib
    import zlib

    location, compressed = _read_compressed(spec, data_dir)
    try:
        raw = gzip.decompress(compressed)
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptVocabularyError(
            f"vocabulary file {location} is not valid gzip data ({exc}); "
            "please reinstall promptlint"
        ) from exc
    actual = hashlib.sha256(raw).hexdigest()
    if actual != spec.sha256:
        raise CorruptVocabularyError(
            f"vocabulary file {location} is corrupted: sha256 of its decompressed contents "
            f"is {actual}, expected {spec.sha256}; please reinstall promptlint"
        )
    ranks: dict[bytes, int] = {}
    b64decode = base64.b64decode
    for line in raw.splitlines():
        if not line:
            continue
        try:
            token, rank = line.split()
            ranks[b64decode(token)] = int(rank)
        except (ValueError, binascii.Error) as exc:  # pragma: no cover - hash-verified
            raise CorruptVocabularyError(
                f"vocabulary file {location} has a malformed line {line[:80]!r}; "
                "please reinstall promptlint"
            ) from exc
    return ranks


@functools.lru_cache(maxsize=4)
def _shared_encoding(name: str, data_dir: Path | None) -> tiktoken.Encoding:
    """One verified encoding per process: it is immutable, and building it takes ~0.4 s (every
    `promptlint` call in one process, such as an editor integration or the tests, reuses it)."""
    return load_encoding(name, data_dir=data_dir)


def load_encoding(name: str, *, data_dir: Path | None = None) -> tiktoken.Encoding:
    """Build the named encoding from the bundled, hash-verified vocabulary. Never uses the network.

    ``data_dir`` overrides the directory holding ``<name>.tiktoken.gz`` (for tests); by
    default the files bundled in ``promptlint/data`` are used.

    Raises :class:`UnknownEncodingError` for a name not in :data:`ENCODINGS` and
    :class:`CorruptVocabularyError` if the vocabulary is missing or fails verification.
    """
    spec = _spec_for(name)
    ranks = _load_ranks(spec, data_dir)

    import tiktoken

    return tiktoken.Encoding(
        spec.name,
        pat_str=spec.pat_str,
        mergeable_ranks=ranks,
        special_tokens=dict(spec.special_tokens),
    )


def vocabulary_id(encoding: str) -> str:
    """The encoding's name and its vocabulary's hash: what cached token counts depend on."""
    spec = _spec_for(encoding)
    return f"{spec.name}:{spec.sha256}"


def text_key(text: str) -> str:
    """A short hash of a text, to remember its count between runs without keeping the text."""
    import hashlib

    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


class TokenCounter:
    """Counts tokens of texts with one encoding; each distinct text is counted once per instance.

    The encoding name is validated immediately; the vocabulary is loaded on the first
    call to :meth:`count` or :meth:`encode`. Text that looks like a special token (e.g.
    ``"<|endoftext|>"``) is tokenized as ordinary text, never rejected.
    """

    def __init__(
        self,
        encoding: str = "o200k_base",
        *,
        data_dir: Path | None = None,
        known: Mapping[str, int] | None = None,
    ) -> None:
        """``known``: counts from earlier runs by :func:`text_key` (see `cache.py`); a run whose
        texts are all known never loads the vocabulary."""
        self.spec = _spec_for(encoding)  # raises UnknownEncodingError early
        self._name = encoding
        self._data_dir = data_dir
        self._encoding: tiktoken.Encoding | None = None
        self._counts: dict[str, int] = {}
        self._known = known or {}
        self.learned: dict[str, int] = {}  # counts not in `known`, by text key

    @property
    def encoding_name(self) -> str:
        return self._name

    def _get_encoding(self) -> tiktoken.Encoding:
        if self._encoding is None:
            self._encoding = _shared_encoding(self._name, self._data_dir)
        return self._encoding

    def count(self, text: str) -> int:
        """Number of tokens in ``text`` (memoized per distinct text)."""
        cached = self._counts.get(text)
        if cached is not None:
            return cached
        key = text_key(text)
        n = self._known.get(key)
        if n is None:
            n = self.learned[key] = len(self._get_encoding().encode_ordinary(text))
        self._counts[text] = n
        return n

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, treating special-token text as ordinary text."""
        tokens: list[int] = self._get_encoding().encode_ordinary(text)
        return tokens

    def __repr__(self) -> str:
        return f"TokenCounter({self._name!r})"
