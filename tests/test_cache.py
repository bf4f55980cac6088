"""The extraction cache (`cache.py`): output never depends on it, a warm run does no extraction
and loads no vocabulary, a changed file is the only one re-extracted, a broken or foreign cache
file is ignored and rebuilt (never unpickled), and concurrent runs leave a valid cache."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import promptlint.cache
from promptlint import parallel, tokens
from promptlint.cache import Cache, TokenMemo, cache_key
from promptlint.cli import main
from promptlint.config import Settings
from promptlint.extract import pipeline
from promptlint.model import FileModel
from promptlint.providers import bundled_data_bytes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

PROMPTS = "fixtures/acme_assist/prompts.py"  # imported by nothing; PC101 + PC102 on time.time()
BOT = "fixtures/acme_assist/support_bot.py"
LATIN1 = "fixtures/acme_assist/latin1_notes.py"  # PC000: not UTF-8
DESK = "fixtures/research_desk"
DESK_PROMPTS = "fixtures/research_desk/prompts.py"  # imported by three modules of the desk
CHAINS = "fixtures/research_desk/chains.py"  # one of them
# A few files, one of which reads a module outside the run for its exports: quick to extract.
SMALL = (BOT, PROMPTS, CHAINS)
COPIES = 48  # 19 files in fixtures/ + 48 copies > parallel.MIN_FILES_FOR_POOL


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str


def run(*args: str) -> Run:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout)


def check(*paths: str, cache: str | None = "cache") -> Run:
    """`check --format json --jobs 1` of `paths`, with `--cache-dir cache` or `--no-cache`."""
    caching = ("--no-cache",) if cache is None else ("--cache-dir", cache)
    return run("check", *paths, "--format", "json", "--jobs", "1", *caching)


def extraction_cache(directory: str | Path = "cache") -> Cache:
    """The cache `check` and `report` use with default settings."""
    return Cache(Path(directory), cache_key(Settings(), bundled_data_bytes()))


def token_memo(directory: str | Path = "cache") -> TokenMemo:
    return TokenMemo(Path(directory), tokens.vocabulary_id(Settings().encoding))


def spy_on_extraction(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The display paths extracted in this process from now on (`+exports` for a module read
    for the templates it exports)."""
    calls: list[str] = []
    real = pipeline.extract_file

    def counting(display: str, data: bytes, *args: Any, **kwargs: Any) -> FileModel:
        calls.append(display + ("+exports" if kwargs.get("exports") else ""))
        return real(display, data, *args, **kwargs)

    monkeypatch.setattr(pipeline, "extract_file", counting)
    return calls


def extracted(calls: list[str]) -> set[str]:
    """The files behind `calls`: a module of the run whose exports were pruned is also read
    whole for them (`+exports`), which is the same file extracted twice."""
    return {call.removesuffix("+exports") for call in calls}


def forbidden(what: str) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{what} on a warm run")

    return fail


def copy_fixtures(root: Path) -> None:
    shutil.copytree(FIXTURES, root / "fixtures", ignore=shutil.ignore_patterns("__pycache__"))


@pytest.fixture()
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of fixtures/ in the working directory (reported paths are relative to it)."""
    root = tmp_path / "work"
    root.mkdir()
    copy_fixtures(root)
    monkeypatch.chdir(root)
    return root


# --- 1. Determinism ------------------------------------------------------------------------------


@pytest.fixture()
def big_tree(tree: Path) -> Path:
    """fixtures/ plus copies of a module under other names: enough files for `--jobs 2` to
    extract on a process pool. The module is one that is reported (PC000, not UTF-8) yet cheap
    to extract; copies of one with call sites would make PC302 compare every pair of them."""
    source = (tree / LATIN1).read_bytes()
    (tree / "copies").mkdir()
    for index in range(COPIES):
        (tree / "copies" / f"notes_{index:02d}.py").write_bytes(source)
    return tree


@pytest.fixture()
def pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of workers of every process pool `parallel.extract_all` starts."""
    started: list[int] = []

    class Counted(ProcessPoolExecutor):
        def __init__(self, max_workers: int | None = None, **kwargs: Any) -> None:
            started.append(max_workers or 0)
            super().__init__(max_workers, **kwargs)

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", Counted)
    return started


@pytest.mark.parametrize(("command", "exit_code"), [("check", 1), ("report", 0)])
def test_output_is_byte_identical_with_or_without_cache_on_one_or_two_processes(
    big_tree: Path,
    pools: list[int],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    exit_code: int,
) -> None:
    args = (command, "fixtures", "copies", "--format", "json")
    calls = spy_on_extraction(monkeypatch)  # this process's only: not the pool's workers
    runs: dict[str, Run] = {}
    pools_used: dict[str, list[int]] = {}
    extractions: dict[str, int] = {}
    for name, options in {
        "no cache, 1 job": ("--no-cache", "--jobs", "1"),
        "no cache, 2 jobs": ("--no-cache", "--jobs", "2"),
        "cold cache, 2 jobs": ("--cache-dir", "cache", "--jobs", "2"),
        "warm cache, 2 jobs": ("--cache-dir", "cache", "--jobs", "2"),
    }.items():
        before, extracted_before = len(pools), len(calls)
        runs[name] = run(*args, *options)
        pools_used[name] = pools[before:]
        extractions[name] = len(calls) - extracted_before
    # A pool of two really ran where there was extraction to share out, and only there.
    assert pools_used == {
        "no cache, 1 job": [],
        "no cache, 2 jobs": [2],
        "cold cache, 2 jobs": [2],
        "warm cache, 2 jobs": [],
    }
    assert extractions["no cache, 1 job"] >= 19 + COPIES
    assert extractions["warm cache, 2 jobs"] == 0
    reference = runs["no cache, 1 job"]
    assert reference.code == exit_code
    for name, result in runs.items():
        assert result == reference, name
    assert BOT in reference.stdout
    if command == "check":
        # Identical bytes under other names: each copy is reported under its own path (the
        # cache is keyed by path, not by content alone).
        shown = {finding["path"] for finding in json.loads(reference.stdout)}
        assert {f"copies/notes_{index:02d}.py" for index in range(COPIES)} <= shown


# --- 2. A warm run extracts nothing and loads no vocabulary --------------------------------------


@pytest.mark.parametrize(
    "paths", [("fixtures",), (CHAINS,)], ids=["whole-tree", "imports-outside-the-run"]
)
def test_warm_run_neither_extracts_nor_loads_the_vocabulary(
    tree: Path, monkeypatch: pytest.MonkeyPatch, paths: tuple[str, ...]
) -> None:
    cold_check = check(*paths)
    cold_report = run("report", *paths, "--format", "json", "--jobs", "1", "--cache-dir", "cache")
    assert cold_check.code == 1
    if paths == ("fixtures",):
        assert len(json.loads(cold_check.stdout)) == 27
    else:  # the module read for its exports is cached under a key of its own
        assert DESK_PROMPTS + "\0exports" in extraction_cache().load()

    monkeypatch.setattr(pipeline, "extract_file", forbidden("extraction"))
    monkeypatch.setattr(tokens, "_shared_encoding", forbidden("vocabulary loaded"))
    # The patches bite: without the cache, extraction fails (exit 2) and counting a new text
    # reaches for the vocabulary.
    assert check(*paths, cache=None).code == 2
    with pytest.raises(AssertionError, match="vocabulary"):
        tokens.TokenCounter().count("a text no run has counted")

    assert check(*paths) == cold_check  # exit code 1, not 2: nothing was extracted
    warm_report = run("report", *paths, "--format", "json", "--jobs", "1", "--cache-dir", "cache")
    assert warm_report == cold_report


def test_a_failed_extraction_is_not_cached(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = pipeline.extract_file

    def failing_on_prompts(display: str, *args: Any, **kwargs: Any) -> FileModel:
        if display == PROMPTS:
            raise RuntimeError("extractor bug")
        return real(display, *args, **kwargs)

    monkeypatch.setattr(pipeline, "extract_file", failing_on_prompts)
    broken = check(*SMALL)
    assert broken.code == 2
    assert "RuntimeError: extractor bug" in broken.stdout
    assert PROMPTS not in extraction_cache().load()

    monkeypatch.setattr(pipeline, "extract_file", real)
    calls = spy_on_extraction(monkeypatch)
    fixed = check(*SMALL)
    assert calls == [PROMPTS]  # the others came from the cache
    assert fixed == check(*SMALL, cache=None)
    assert fixed.code == 1


# --- 3. A change re-extracts only the changed file -----------------------------------------------


def _grow_desk_prompts(tree: Path) -> None:
    """Lengthen a shared prompt: the importers' findings change (token counts) while their own
    bytes do not."""
    target = tree / DESK_PROMPTS
    text = target.read_text()
    assert text.count("in Copenhagen.") == 1
    target.write_text(text.replace("in Copenhagen.", "in Copenhagen, the capital of Denmark."))


def test_changing_one_file_re_extracts_only_that_file(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cold = check(DESK)
    calls = spy_on_extraction(monkeypatch)
    target = tree / DESK_PROMPTS
    original = target.read_bytes()
    # A new mtime with the same bytes is not a change: the cache compares contents.
    os.utime(target, (1, 1))
    assert check(DESK) == cold
    assert calls == []

    _grow_desk_prompts(tree)
    changed = check(DESK)
    assert extracted(calls) == {DESK_PROMPTS}
    assert changed != cold
    assert changed == check(DESK, cache=None)
    # The importers' findings moved with the module they import, from their cached models.
    old, new = json.loads(cold.stdout), json.loads(changed.stdout)
    assert {f["path"] for f in old if f not in new} >= {"fixtures/research_desk/chains.py"}

    calls.clear()
    assert check(DESK) == changed  # the new result was saved
    assert calls == []
    target.write_bytes(original)
    assert check(DESK) == cold
    assert extracted(calls) == {DESK_PROMPTS}


def test_a_changed_module_outside_the_run_is_read_again(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cold = check(CHAINS)
    calls = spy_on_extraction(monkeypatch)
    _grow_desk_prompts(tree)
    changed = check(CHAINS)
    assert calls == [DESK_PROMPTS + "+exports"]
    assert changed != cold
    assert changed == check(CHAINS, cache=None)


def test_prompt_files_are_read_afresh_on_a_warm_run(tree: Path) -> None:
    cold = check(DESK)
    template = tree / DESK / "templates/briefing_memo.j2"
    assert f'"path": "{DESK}/templates/briefing_memo.j2"' in cold.stdout
    template.write_text("{# moved down #}\n" + template.read_text())
    changed = check(DESK)
    assert changed != cold
    assert changed == check(DESK, cache=None)


# --- 4. A corrupt cache is ignored and rebuilt ---------------------------------------------------


def _replace_first_type(data: bytes, key: str) -> bytes:
    tag = b'"t":"FileModel"'
    assert tag in data
    return data.replace(tag, b'"t":"os.system"', 1)


def _wrong_shape(files: object) -> Callable[[bytes, str], bytes]:
    def corrupt(data: bytes, key: str) -> bytes:
        return json.dumps({"format": promptlint.cache.FORMAT, "key": key, "files": files}).encode()

    return corrupt


def _from_another_format(data: bytes, key: str) -> bytes:
    raw = json.loads(data)
    raw["format"] = promptlint.cache.FORMAT + 1
    return json.dumps(raw).encode()


CORRUPTIONS: dict[str, Callable[[bytes, str], bytes]] = {
    "garbage-bytes": lambda data, key: b"\x00\xff\xfe garbage \x80\x04\x95",
    "empty": lambda data, key: b"",
    "truncated": lambda data, key: data[: len(data) // 2],
    "json-list": lambda data, key: b"[1, 2, 3]",
    "json-string": lambda data, key: b'"files"',
    "files-not-a-mapping": _wrong_shape([PROMPTS]),
    "entry-not-a-pair": _wrong_shape({PROMPTS: 5}),
    "model-not-a-model": _wrong_shape({PROMPTS: ["0" * 64, "FileModel"]}),
    "model-of-another-type": _wrong_shape({PROMPTS: ["0" * 64, {"t": "Span", "f": [1, 1, 1, 1]}]}),
    "model-with-missing-fields": _wrong_shape({PROMPTS: ["0" * 64, {"t": "FileModel", "f": []}]}),
    "unknown-type-tag": _replace_first_type,
    "another-format": _from_another_format,
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupt_cache_is_ignored_and_rebuilt(
    tree: Path, corrupt: Callable[[bytes, str], bytes]
) -> None:
    cold = check(*SMALL)
    cache = extraction_cache()
    saved = cache.load()
    assert set(saved) == {*SMALL, DESK_PROMPTS + "\0exports"}
    cache.path.write_bytes(corrupt(cache.path.read_bytes(), cache.key))
    assert cache.load() == {}  # not ours: ignored

    assert check(*SMALL) == cold
    assert cold.code == 1
    assert cache.load() == saved  # rebuilt


def test_an_entry_with_nonsense_fields_is_not_trusted(tree: Path) -> None:
    cold = check(*SMALL)
    cache = extraction_cache()
    raw = json.loads(cache.path.read_bytes())
    sha = raw["files"][BOT][0]
    raw["files"][BOT] = [sha, {"t": "FileModel", "f": [BOT, [5], [], None]}]
    cache.path.write_text(json.dumps(raw))
    assert check(*SMALL) == cold


def _deeply_nested_json(data: bytes, key: str) -> bytes:
    return b"[" * 100_000 + b"]" * 100_000


def _deeply_nested_model(data: bytes, key: str) -> bytes:
    """Nesting json.loads accepts (600 < the recursion limit) but `_decode`, at two frames a
    level, does not."""
    raw = json.loads(data)
    raw["files"][BOT][1]["f"][1] = json.loads("[" * 600 + "]" * 600)
    return json.dumps(raw).encode()


@pytest.mark.parametrize(
    ("file", "corrupt"),
    [
        ("extraction", _deeply_nested_json),
        ("extraction", _deeply_nested_model),
        ("token counts", _deeply_nested_json),
    ],
    ids=["extraction-json", "extraction-model", "token-counts-json"],
)
def test_deeply_nested_cache_is_ignored(
    tree: Path, file: str, corrupt: Callable[[bytes, str], bytes]
) -> None:
    cold = check(*SMALL)
    key = extraction_cache().key
    path = extraction_cache().path if file == "extraction" else token_memo().path
    path.write_bytes(corrupt(path.read_bytes(), key))
    assert check(*SMALL) == cold


def test_a_cache_path_taken_by_a_directory_does_not_fail_the_run(tree: Path) -> None:
    cold = check(*SMALL)
    for path in (extraction_cache().path, token_memo().path):
        path.unlink()
        path.mkdir()
    for _ in range(2):
        assert check(*SMALL) == cold


TOKEN_CORRUPTIONS: dict[str, bytes] = {
    "garbage-bytes": b"\x00\xff garbage",
    "truncated": b'{"abc": 1',
    "json-list": b"[1]",
    "count-not-an-int": b'{"abc": "1"}',
    "count-a-bool": b'{"abc": true}',
}


@pytest.mark.parametrize("content", TOKEN_CORRUPTIONS.values(), ids=TOKEN_CORRUPTIONS.keys())
def test_corrupt_token_counts_are_ignored_and_rebuilt(tree: Path, content: bytes) -> None:
    cold = check(*SMALL)
    memo = token_memo()
    counts = memo.load()
    assert counts
    memo.path.write_bytes(content)
    assert memo.load() == {}
    assert check(*SMALL) == cold
    assert memo.load() == counts


# --- 5. The cache key ----------------------------------------------------------------------------


def test_cache_key_covers_version_settings_and_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    profiles = bundled_data_bytes()
    key = cache_key(Settings(), profiles)
    assert cache_key(Settings(), bytes(profiles)) == key  # equal inputs, equal keys
    assert cache_key(Settings(min_static_tokens=32), profiles) == key  # the default, spelt out
    others = {
        cache_key(Settings(min_static_tokens=33), profiles),
        cache_key(Settings(prompt_names=("*PROMPT*",)), profiles),
        cache_key(Settings(), profiles + b"\n"),
        cache_key(Settings(), profiles.replace(b"0", b"1", 1)),
    }
    assert len(others) == 4 and key not in others

    monkeypatch.setattr(promptlint.cache, "__version__", "999.0.0")
    upgraded = cache_key(Settings(), profiles)
    assert upgraded != key and upgraded not in others
    assert cache_key(Settings(), profiles) == upgraded


def test_a_cache_of_another_version_is_not_read(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cold = check(*SMALL)
    monkeypatch.setattr(promptlint.cache, "__version__", "999.0.0")
    calls = spy_on_extraction(monkeypatch)
    assert check(*SMALL) == cold
    assert sorted(calls) == sorted([*SMALL, DESK_PROMPTS + "+exports"])
    assert len(list(Path("cache").glob("extract-*.json"))) == 2  # one per key


# --- 6. Concurrent runs -------------------------------------------------------------------------


def test_two_concurrent_runs_leave_a_valid_cache(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = [sys.executable, "-m", "promptlint", "check", "fixtures", "--format", "json"]
    command += ["--cache-dir", "shared"]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tree)
        for _ in range(2)
    ]
    expected = check("fixtures", cache=None)  # meanwhile
    results = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 1, err.decode()
        assert out.decode() == expected.stdout

    cache = extraction_cache("shared")
    raw = json.loads(cache.path.read_bytes())
    assert raw["key"] == cache.key
    assert not list(Path("shared").glob(".tmp-*"))  # no temporary file left behind
    calls = spy_on_extraction(monkeypatch)
    assert check("fixtures", cache="shared") == expected
    assert calls == []  # the cache either run left is complete


# --- 7. The cache directory ----------------------------------------------------------------------


def test_cache_directory_is_marked_for_git_and_backups(tree: Path) -> None:
    check(*SMALL)
    assert "*" in (tree / "cache" / ".gitignore").read_text().splitlines()
    tag = (tree / "cache" / "CACHEDIR.TAG").read_text()
    assert tag.startswith("Signature: 8a477f597d28d172789f06886806bc55\n")


def test_default_cache_directory_comes_from_the_environment(tree: Path) -> None:
    # conftest.py points PROMPTLINT_CACHE_DIR at this test's own directory.
    directory = Path(os.environ["PROMPTLINT_CACHE_DIR"])
    assert not directory.exists()
    run("check", *SMALL, "--jobs", "1")
    assert extraction_cache(directory).load()
    assert not (tree / ".promptlint_cache").exists()


def test_no_cache_creates_no_cache_directory(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMPTLINT_CACHE_DIR")
    assert run("check", *SMALL, "--no-cache", "--jobs", "1").code == 1
    assert run("report", *SMALL, "--no-cache", "--jobs", "1").code == 0
    assert run("check", *SMALL, "--no-cache", "--cache-dir", "explicit").code == 1
    assert not (tree / ".promptlint_cache").exists()
    assert not (tree / "explicit").exists()
    assert sorted(p.name for p in tree.iterdir()) == ["fixtures"]


def test_stdin_creates_no_cache_directory(tree: Path) -> None:
    source = (tree / PROMPTS).read_bytes()
    result = CliRunner().invoke(
        main, ["check", "--stdin-filename", "x.py", "--cache-dir", "cache"], input=source
    )
    assert result.exit_code == 1
    assert not (tree / "cache").exists()


def test_a_cache_directory_that_cannot_be_created_does_not_fail_the_run(tree: Path) -> None:
    expected = check(*SMALL, cache=None)
    (tree / "blocker").write_text("a regular file\n")
    for _ in range(2):  # nothing saved, nothing read: the same again
        assert check(*SMALL, cache="blocker/cache") == expected
        assert run("report", *SMALL, "--cache-dir", "blocker/cache").code == 0
    assert (tree / "blocker").read_text() == "a regular file\n"


# --- 8. JSON, never pickle -----------------------------------------------------------------------


def test_cache_files_are_json(tree: Path) -> None:
    check(*SMALL)
    names = sorted(p.name for p in (tree / "cache").iterdir())
    cache, memo = extraction_cache(), token_memo()
    assert names == sorted([".gitignore", "CACHEDIR.TAG", cache.path.name, memo.path.name])
    for path in (cache.path, memo.path):
        data = path.read_bytes()
        assert not data.startswith(b"\x80")  # the pickle protocol 2+ opcode
        json.loads(data)
    raw = json.loads(cache.path.read_bytes())
    assert raw["format"] == promptlint.cache.FORMAT and raw["key"] == cache.key
    assert set(raw["files"]) == {*SMALL, DESK_PROMPTS + "\0exports"}
    assert all(isinstance(v, int) for v in json.loads(memo.path.read_bytes()).values())


class _Touch:
    """Unpickling this creates `path`: the proof that something unpickled it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.path), "w"))


@pytest.fixture()
def pickle_bomb(tmp_path: Path) -> Iterator[tuple[bytes, Path]]:
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(_Touch(marker))
    pickle.loads(payload).close()  # the payload is live
    assert marker.exists()
    marker.unlink()
    yield payload, marker
    assert not marker.exists()


def test_a_pickle_in_the_cache_is_never_unpickled(
    tree: Path, pickle_bomb: tuple[bytes, Path]
) -> None:
    payload, marker = pickle_bomb
    cold = check(*SMALL)
    cache, memo = extraction_cache(), token_memo()
    cache.path.write_bytes(payload)
    memo.path.write_bytes(payload)
    assert check(*SMALL) == cold
    assert not marker.exists()
    assert cache.load() and memo.load()
