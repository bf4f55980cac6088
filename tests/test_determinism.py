"""Output is a function of the input alone (DESIGN §9): the same bytes whatever `--jobs` is, with
or without the cache (cold, then warm), and whatever Python's hash seed (set and dict-of-set
order differ between processes), in every format: text, json, sarif, and `report --format json`.

tests/test_cache.py checks `check`/`report --format json` on fixtures/ across jobs and cache.
This module adds a generated project of 500 files (seeded, so the same every time) shaped like
real code: mostly modules without prompts, and call sites that build prompts from f-strings, sets,
`json.dumps`, constants imported from other modules and packages (the link stage), jinja2 and
notebooks, with a few broken files; and runs under three hash seeds in subprocesses.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptlint.cli import main
from promptlint.parallel import MIN_FILES_FOR_POOL

REPO = Path(__file__).resolve().parents[1]
PACKAGES = 10
NOTEBOOKS = 2
# Modules per package besides its __init__.py and prompts.py: with gen/__init__.py and the
# notebooks, 500 files.
MODULES = [48] * 7 + [47] * 3
FILES = 1 + sum(2 + m for m in MODULES) + NOTEBOOKS
PATHS = ("fixtures", "gen")

_WORD_LIST = """
    account answer billing brief cache careful cite claim clear cloud concise context customer
    data deploy detail document draft escalate evidence exact explain fact feature follow guide
    helpful history hosting invoice issue keep language limit list mention never note order plan
    policy polite prefer product question quote reason record refund region reply report request
    review rule safe section service short source step summary support team ticket tone tool
    update usage user verify version warning write
"""
WORDS = tuple(_WORD_LIST.split())


# --- the generated project ---------------------------------------------------------------------


class Writer:
    """Writes the tree under `root`, drawing every choice from one seeded generator."""

    def __init__(self, root: Path, seed: int) -> None:
        self.root = root
        self.rng = random.Random(seed)
        # Long bodies several call sites in different packages open with different lines: PC302.
        self.shared = [self.text(330) for _ in range(3)]

    def text(self, words: int) -> str:
        sentences = []
        while words > 0:
            size = min(words, self.rng.randint(6, 18))
            sentence = " ".join(self.rng.choice(WORDS) for _ in range(size))
            sentences.append(sentence.capitalize() + ".")
            words -= size
        return textwrap.fill(" ".join(sentences), 92)

    def write(self, relative: str, source: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)

    def project(self) -> None:
        self.write("gen/__init__.py", '"""Generated for tests/test_determinism.py."""\n')
        for package in range(PACKAGES):
            self.package(package)
        for index in range(NOTEBOOKS):
            self.notebook(index)
        (self.root / "gen" / "pkg_3" / "legacy_latin1.py").write_bytes(
            b'SYSTEM_PROMPT = "R\xe9sum\xe9 the ticket."\n'  # not UTF-8: PC000
        )

    def package(self, package: int) -> None:
        base = f"gen/pkg_{package}"
        self.write(f"{base}/__init__.py", "")
        rules = [self.text(self.rng.choice((60, 250, 900))) for _ in range(4)]
        constants = "\n\n".join(f'RULES_{i} = """{text}"""' for i, text in enumerate(rules))
        shared = "\n\n".join(f'SHARED_{i} = """{text}"""' for i, text in enumerate(self.shared))
        reminder = f'REMINDER = "{self.text(12)}"'
        self.write(f"{base}/prompts.py", f"{constants}\n\n{shared}\n\n{reminder}\n")
        if package < 3:
            self.jinja(base)
        # Packages 0-2 have a module that loads a jinja2 template, package 3 a latin-1 file.
        for module in range(MODULES[package] - (package <= 3)):
            kind = self.rng.choices(
                ("plain", "openai", "anthropic", "broken"), weights=(90, 6, 3, 1)
            )[0]
            source = getattr(self, kind)(package, module)
            self.write(f"{base}/mod_{module:02d}.py", source)

    def plain(self, package: int, module: int) -> str:
        functions = "\n\n".join(
            f"def step_{i}(values: list[int]) -> list[int]:\n"
            f'    """{self.text(8)}"""\n'
            f"    return [v * {self.rng.randint(2, 9)} for v in values if v > {i}]\n"
            for i in range(self.rng.randint(1, 6))
        )
        return f"from __future__ import annotations\n\n\n{functions}"

    def broken(self, package: int, module: int) -> str:
        return f'SYSTEM_PROMPT = """{self.text(20)}"""\n\ndef answer(:\n    return SYSTEM_PROMPT\n'

    def imported(self, package: int) -> tuple[str, str]:
        """An import of a prompt constant: from this package, or (absolute) from another."""
        name = f"RULES_{self.rng.randrange(4)}"
        other = self.rng.randrange(PACKAGES)
        if other == package or self.rng.random() < 0.5:
            return f"from .prompts import {name}", name
        return f"from gen.pkg_{other}.prompts import {name}", name

    def system(self, package: int, module: int) -> tuple[list[str], str]:
        """Imports and an expression for a system prompt, of one of several shapes."""
        line, name = self.imported(package)
        shape = self.rng.randrange(8)
        if shape == 0:  # PC101, PC102
            return [line, "from datetime import datetime"], (
                f'f"Today is {{datetime.now():%A}}. " + {name}'
            )
        if shape == 1:  # PC201
            tags = ", ".join(repr(w) for w in self.rng.sample(WORDS, 4))
            return [line, f"TAGS = {{{tags}}}"], f'{name} + "Tags: " + ", ".join(TAGS)'
        if shape == 2:  # PC202
            return [line, "import json"], f'{name} + "Profile: " + json.dumps(profile)'
        if shape == 3:
            return [line, "import json"], f"{name} + json.dumps(profile, sort_keys=True)"
        if shape == 4:  # PC302 with the other users of the same shared body
            shared = self.rng.randrange(len(self.shared))
            opening = f"You are assistant {package}-{module}. "
            return [f"from .prompts import SHARED_{shared}"], f'"{opening}" + SHARED_{shared}'
        if shape == 5:  # PC301
            return [line, "from .prompts import REMINDER"], (
                f'{name} + REMINDER + "\\n" + REMINDER'
            )
        return [line], f'{name} + f"\\nThe customer is {{profile}}."'

    def openai(self, package: int, module: int) -> str:
        imports, system = self.system(package, module)
        tools = ""
        if self.rng.random() < 0.15:  # PC103
            imports.append(f"TOOL_NAMES = {{{', '.join(repr(w) for w in WORDS[:5])}}}")
            tools = '\n        tools=[{"type": "function", "name": n} for n in TOOL_NAMES],'
        header = "\n".join(["from openai import OpenAI", *imports])
        model = self.rng.choice(("gpt-4o", "gpt-4o-mini", "gpt-4.1"))
        return f"""{header}

client = OpenAI()


def answer(question: str, profile: dict) -> str:
    response = client.chat.completions.create(
        model="{model}",{tools}
        messages=[
            {{"role": "system", "content": {system}}},
            {{"role": "user", "content": question}},
        ],
    )
    return response.choices[0].message.content
"""

    def anthropic(self, package: int, module: int) -> str:
        line, name = self.imported(package)
        ephemeral = '{"type": "ephemeral"}'
        shape = self.rng.randrange(4)
        if shape == 0:  # PC402 when the rules are long
            system = name
        elif shape == 1:
            system = f'[{{"type": "text", "text": {name}, "cache_control": {ephemeral}}}]'
        elif shape == 2:  # PC405
            system = (
                f'[{{"type": "text", "text": {name}, "cache_control": {ephemeral}}}, '
                f'{{"type": "text", "text": {name}, '
                f'"cache_control": {{"type": "ephemeral", "ttl": "1h"}}}}]'
            )
        else:  # PC101: the user's name first
            system = f'f"Customer: {{user}}. " + {name}'
        return f"""import anthropic
{line}

client = anthropic.Anthropic()


def summarise(user: str, document: str) -> str:
    message = client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=1024,
        system={system},
        messages=[{{"role": "user", "content": f"Summarise:\\n\\n{{document}}"}}],
    )
    return message.content[0].text
"""

    def jinja(self, base: str) -> None:
        self.write(
            f"{base}/templates/memo.j2",
            f"Prepared for {{{{ user }}}} ({{{{ team }}}}).\n\n{self.text(120)}\n",
        )
        self.write(
            f"{base}/memo.py",
            """from pathlib import Path

from jinja2 import Environment, FileSystemLoader
from openai import OpenAI

client = OpenAI()
env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"))


def memo(user: str, team: str, text: str) -> str:
    system = env.get_template("memo.j2").render(user=user, team=team)
    response = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
    )
    return response.choices[0].message.content
""",
        )

    def notebook(self, index: int) -> None:
        cells = [
            "from datetime import datetime\nfrom openai import OpenAI\nclient = OpenAI()",
            f'RULES = """{self.text(200)}"""',
            "reply = client.chat.completions.create(\n"
            '    model="gpt-4o",\n'
            '    messages=[{"role": "system", "content": f"Now: {datetime.now()}. " + RULES},\n'
            '              {"role": "user", "content": "hi"}],\n'
            ")",
        ]
        document = {
            "cells": [
                {"cell_type": "code", "metadata": {}, "outputs": [], "source": c} for c in cells
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        self.write(f"gen/notebooks/explore_{index}.ipynb", json.dumps(document, indent=1))


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fixtures/ and the generated project, side by side."""
    root = tmp_path_factory.mktemp("determinism")
    shutil.copytree(
        REPO / "fixtures", root / "fixtures", ignore=shutil.ignore_patterns("__pycache__")
    )
    Writer(root, seed=20240607).project()
    return root


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def run(*args: str) -> Run:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


CHECK = ("check", *PATHS, "--format", "json")


@pytest.fixture(scope="module")
def reference(tree: Path) -> Run:
    """`check --format json` of both trees without the cache, on one process."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tree)
        return run(*CHECK, "--no-cache", "--jobs", "1")


@pytest.fixture()
def inside(tree: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tree)
    return tree


def test_the_generated_project_is_varied(tree: Path, reference: Run) -> None:
    """Guards the other tests' worth: the tree holds 500 files, enough for a pool, and trips
    most rules (so that their output is part of what is compared)."""
    files = [p for p in (tree / "gen").rglob("*") if p.suffix in (".py", ".ipynb")]
    assert len(files) == FILES == 500 > MIN_FILES_FOR_POOL
    assert reference.code == 1, reference.stderr
    findings = [f for f in json.loads(reference.stdout) if f["path"].startswith("gen/")]
    codes = Counter(f["code"] for f in findings)
    wanted = {"PC000", "PC101", "PC102", "PC103", "PC201", "PC202", "PC301", "PC302", "PC401"}
    assert wanted | {"PC402", "PC405"} <= set(codes), codes
    paths = {f["path"] for f in findings}
    assert {"gen/pkg_0/templates/memo.j2", "gen/notebooks/explore_1.ipynb"} <= paths
    # Constants imported from other packages were resolved: the text after the date is theirs.
    dated = {
        str(p.relative_to(tree))
        for p in files
        if "from gen.pkg_" in (text := p.read_text("latin-1")) and "datetime.now()" in text
    }
    assert dated and dated <= {f["path"] for f in findings if f["code"] == "PC101"}


def _shuffled_listings(monkeypatch: pytest.MonkeyPatch, rng: random.Random) -> None:
    """The file system lists a directory in any order it likes: here, a shuffled one."""
    real_scandir, real_listdir = os.scandir, os.listdir

    class Shuffled:
        """`os.scandir`'s iterator, over a shuffled listing."""

        def __init__(self, path: str | os.PathLike[str] = ".") -> None:
            with real_scandir(path) as listing:
                entries = list(listing)
            rng.shuffle(entries)
            self.entries = iter(entries)

        def __enter__(self) -> Shuffled:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def __iter__(self) -> Shuffled:
            return self

        def __next__(self) -> os.DirEntry[str]:
            return next(self.entries)

        def close(self) -> None:
            return None

    def listdir(path: str | os.PathLike[str] = ".") -> list[str]:
        names = real_listdir(path)
        rng.shuffle(names)
        return names

    monkeypatch.setattr(os, "scandir", Shuffled)
    monkeypatch.setattr(os, "listdir", listdir)


def test_the_same_bytes_on_two_processes_with_a_cold_and_a_warm_cache(
    inside: Path, reference: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = ("--cache-dir", str(tmp_path / "cache"))
    assert run(*CHECK, *cache, "--jobs", "2") == reference  # cold: extracted on a pool
    assert run(*CHECK, *cache, "--jobs", "2") == reference  # warm: nothing extracted
    _shuffled_listings(monkeypatch, random.Random(7))
    assert run(*CHECK, *cache, "--jobs", "1") == reference


# Run in a subprocess under a given hash seed: every format, the first run extracting (cold
# cache), the others from the warm cache. Prints {format: [exit code, stdout, stderr]}.
DRIVER = """
import json, sys
from click.testing import CliRunner
from promptlint.cli import main

jobs, cache, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
formats = {
    "check-json": ["check", "--format", "json"],
    "check-text": ["check", "--format", "text", "--no-color"],
    "check-sarif": ["check", "--format", "sarif"],
    "report-json": ["report", "--format", "json"],
}
out = {}
for name, args in formats.items():
    result = CliRunner().invoke(main, [*args, *paths, "--jobs", jobs, "--cache-dir", cache])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    out[name] = [result.exit_code, result.stdout, result.stderr]
print(json.dumps(out))
"""
SEEDS = {"0": "1", "1": "2", "12345": "2"}  # PYTHONHASHSEED -> --jobs


def _seeded_env(seed: str) -> dict[str, str]:
    dead = "http://127.0.0.1:9"  # no network: proxies at a closed port
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMPTLINT_", "GITHUB_"))}
    return {**env, "PYTHONHASHSEED": seed, "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "NO_PROXY": ""}


def test_the_same_bytes_in_every_format_whatever_the_hash_seed(
    tree: Path, reference: Run, tmp_path: Path
) -> None:
    processes = {
        seed: subprocess.Popen(
            [sys.executable, "-c", DRIVER, jobs, str(tmp_path / f"cache-{seed}"), *PATHS],
            cwd=tree,
            env=_seeded_env(seed),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed, jobs in SEEDS.items()  # at once: they share the machine's cores
    }
    outputs: dict[str, dict[str, Run]] = {}
    for seed, process in processes.items():
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        outputs[seed] = {name: Run(*result) for name, result in json.loads(stdout).items()}
    first = outputs["0"]
    assert first["check-json"] == reference
    assert first["check-text"].code == first["check-sarif"].code == 1
    assert first["report-json"].code == 0
    assert all(r.stderr == "" for r in first.values())
    text = first["check-text"].stdout
    assert text.startswith("fixtures/acme_assist/") and "\ngen/pkg_9/" in text
    findings = json.loads(reference.stdout)
    assert len(json.loads(first["check-sarif"].stdout)["runs"][0]["results"]) == len(findings)
    sites = {(s["path"], s["line"]) for s in json.loads(first["report-json"].stdout)["call_sites"]}
    assert {(f["path"], f["line"]) for f in findings if f["code"] == "PC401"} <= sites
    assert len(sites) > 50
    for seed in SEEDS:
        assert outputs[seed] == first, seed
