"""Tests for promptlint.tokens: offline, hash-verified token counting."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

from promptlint.tokens import (  # noqa: E402
    ENCODINGS,
    CorruptVocabularyError,
    TokenCounter,
    UnknownEncodingError,
    load_encoding,
)

# Expected counts were verified once against tiktoken's own o200k_base()/cl100k_base()
# constructors (fed the bundled rank files, tokens compared id by id), and agree with
# published values (e.g. OpenAI cookbook: "tiktoken is great!" -> 6, "お誕生日おめでとう"
# -> 9 in cl100k_base / 8 in o200k_base).
KNOWN_COUNTS: list[tuple[str, int, int]] = [
    # (text, o200k_base, cl100k_base)
    ("", 0, 0),
    ("hello world", 2, 2),
    ("tiktoken is great!", 6, 6),
    ("antidisestablishmentarianism", 6, 6),
    ("2 + 2 = 4", 7, 7),
    ("お誕生日おめでとう", 8, 9),
    ("Grüße aus Köln — naïve café 🎉👩\u200d💻", 16, 20),
    ("Привет, мир! 你好，世界。", 10, 15),  # noqa: RUF001
    ("    \n\n\t\t  x  \n   \r\n  ", 6, 6),
    (" " * 100, 2, 2),
    ("a" * 50, 7, 7),
    ("def f(x):\n    return x * 2\n", 11, 11),
    # Special-token text inside a prompt is ordinary text: never raises, never id 199999.
    ("<|endoftext|>", 7, 7),
]


@pytest.fixture(scope="module")
def counters() -> dict[str, TokenCounter]:
    """One loaded counter per bundled encoding, shared by the whole module."""
    result = {name: TokenCounter(name) for name in ENCODINGS}
    for counter in result.values():
        counter.count("warm up")  # load the vocabulary once, here
    return result


@pytest.mark.parametrize(("text", "o200k", "cl100k"), KNOWN_COUNTS)
def test_known_counts(
    counters: dict[str, TokenCounter], text: str, o200k: int, cl100k: int
) -> None:
    assert counters["o200k_base"].count(text) == o200k
    assert counters["cl100k_base"].count(text) == cl100k
    # encode agrees with count
    assert len(counters["o200k_base"].encode(text)) == o200k
    assert len(counters["cl100k_base"].encode(text)) == cl100k


def test_encodings_differ(counters: dict[str, TokenCounter]) -> None:
    text = "お誕生日おめでとう"
    assert counters["o200k_base"].count(text) != counters["cl100k_base"].count(text)
    assert counters["o200k_base"].encode("hello world") != counters["cl100k_base"].encode(
        "hello world"
    )


def test_encode_returns_ints_and_ignores_special_tokens(
    counters: dict[str, TokenCounter],
) -> None:
    ids = counters["o200k_base"].encode("before <|endoftext|> after <|endofprompt|>")
    assert all(isinstance(i, int) for i in ids)
    assert 199999 not in ids and 200018 not in ids
    ids = counters["cl100k_base"].encode("<|fim_prefix|><|endoftext|>")
    assert not {100257, 100258} & set(ids)


def test_default_encoding_and_name() -> None:
    assert TokenCounter().encoding_name == "o200k_base"
    assert TokenCounter("cl100k_base").encoding_name == "cl100k_base"
    assert ENCODINGS == ("o200k_base", "cl100k_base")


@pytest.mark.parametrize("bad", ["gpt2", "O200K_BASE", "", "o200k_harmony"])
def test_unknown_encoding(bad: str) -> None:
    with pytest.raises(UnknownEncodingError) as info:
        TokenCounter(bad)
    message = str(info.value)
    assert repr(bad) in message
    for name in ENCODINGS:
        assert name in message
    assert isinstance(info.value, ValueError)
    with pytest.raises(UnknownEncodingError):
        load_encoding(bad)


def _write_gz(directory: Path, name: str, payload: bytes) -> Path:
    path = directory / f"{name}.tiktoken.gz"
    path.write_bytes(gzip.compress(payload))
    return path


@pytest.mark.parametrize("name", ENCODINGS)
def test_tampered_vocabulary_is_rejected(tmp_path: Path, name: str) -> None:
    payload = b"IQ== 0\nIg== 1\n"  # valid format, wrong contents
    path = _write_gz(tmp_path, name, payload)
    actual = hashlib.sha256(payload).hexdigest()

    counter = TokenCounter(name, data_dir=tmp_path)  # lazy: constructing does not load
    with pytest.raises(CorruptVocabularyError) as info:
        counter.count("hello")
    message = str(info.value)
    assert str(path) in message
    assert actual in message
    expected = {
        "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    }[name]
    assert expected in message
    assert "reinstall" in message

    with pytest.raises(CorruptVocabularyError):
        load_encoding(name, data_dir=tmp_path)


def test_one_flipped_byte_is_rejected(tmp_path: Path) -> None:
    raw = gzip.decompress((REPO_ROOT / "promptlint/data/cl100k_base.tiktoken.gz").read_bytes())
    tampered = bytearray(raw)
    tampered[1000] ^= 0x01
    _write_gz(tmp_path, "cl100k_base", bytes(tampered))
    with pytest.raises(CorruptVocabularyError, match="corrupted"):
        load_encoding("cl100k_base", data_dir=tmp_path)


def test_not_gzip_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "o200k_base.tiktoken.gz").write_bytes(b"this is not gzip")
    with pytest.raises(CorruptVocabularyError, match="reinstall"):
        load_encoding("o200k_base", data_dir=tmp_path)


def test_missing_vocabulary_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CorruptVocabularyError, match="reinstall"):
        TokenCounter("o200k_base", data_dir=tmp_path).count("x")


def test_memoization_calls_encoder_once(
    counters: dict[str, TokenCounter], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tiktoken

    calls: list[str] = []
    original = tiktoken.Encoding.encode_ordinary

    def spy(self: Any, text: str) -> Any:
        calls.append(text)
        return original(self, text)

    monkeypatch.setattr(tiktoken.Encoding, "encode_ordinary", spy)
    counter = counters["o200k_base"]
    text = "a text used only by the memoization test, ünïcödé included"
    first = counter.count(text)
    second = counter.count(text)
    assert first == second > 0
    assert calls == [text]

    counter.count(text + "!")  # a distinct text is encoded
    assert calls == [text, text + "!"]

    # Memoization is per instance, not global.
    other = counters["cl100k_base"]
    other.count(text)
    assert calls == [text, text + "!", text]


def test_constants_match_tiktoken_ext(monkeypatch: pytest.MonkeyPatch) -> None:
    """The copied pattern strings, special tokens and hashes equal tiktoken's own.

    tiktoken_ext's constructors would download the rank files, so their loader is
    replaced by a stub that only records the expected hash.
    """
    import tiktoken_ext.openai_public as openai_public  # type: ignore[import-untyped]

    from promptlint import tokens

    seen: list[str | None] = []

    def fake_load(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        seen.append(expected_hash)
        return {b"a": 0}

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", fake_load)
    for spec in tokens._SPECS:
        reference = getattr(openai_public, spec.name)()
        assert reference["pat_str"] == spec.pat_str
        assert reference["special_tokens"] == dict(spec.special_tokens)
        assert seen[-1] == spec.sha256
    assert [s.name for s in tokens._SPECS] == list(ENCODINGS)


def _subprocess_env(cache_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    env["DATA_GYM_CACHE_DIR"] = str(cache_dir)
    return env


def test_import_is_cheap() -> None:
    """``import promptlint.tokens`` does not import tiktoken."""
    script = "import sys, promptlint.tokens; assert 'tiktoken' not in sys.modules, 'eager'"
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


NO_NETWORK_SCRIPT = textwrap.dedent(
    """
    import json, socket, sys

    class NetworkBlocked(RuntimeError):
        pass

    def blocked(*args, **kwargs):
        raise NetworkBlocked(f"network access attempted: {args!r}")

    socket.socket.connect = blocked
    socket.socket.connect_ex = blocked
    socket.create_connection = blocked
    socket.getaddrinfo = blocked

    try:
        socket.getaddrinfo("openaipublic.blob.core.windows.net", 443)
    except NetworkBlocked:
        pass
    else:
        sys.exit("socket block not effective")

    from promptlint.tokens import ENCODINGS, TokenCounter

    texts = json.loads(sys.argv[1])
    out = {}
    for name in ENCODINGS:
        counter = TokenCounter(name)
        out[name] = [counter.count(t) for t in texts]
    print(json.dumps(out))
    """
)


def test_no_network(tmp_path: Path) -> None:
    cache_dir = tmp_path / "tiktoken-cache"
    cache_dir.mkdir()
    texts = [text for text, _, _ in KNOWN_COUNTS]
    proc = subprocess.run(
        [sys.executable, "-c", NO_NETWORK_SCRIPT, json.dumps(texts)],
        cwd=tmp_path,
        env=_subprocess_env(cache_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result == {
        "o200k_base": [o200k for _, o200k, _ in KNOWN_COUNTS],
        "cl100k_base": [cl100k for _, _, cl100k in KNOWN_COUNTS],
    }
    assert list(cache_dir.iterdir()) == []  # nothing downloaded or cached
