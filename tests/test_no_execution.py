"""promptlint never imports, executes or renders what it lints, and never touches the network.

The project linted here does harm the moment anything runs it: its modules write marker files,
connect to a socket the test listens on, start a subprocess, `exec` code, import modules that do
the same, call `sys.exit()` and `os._exit()`; a jinja2 template runs a shell command when rendered;
a notebook cell writes a file and runs a shell magic; a `conftest.py`, a package `__init__.py`
and a `click.py` that would shadow a dependency do the same. After checking and reporting on it
(in this process, and with the `promptlint` command on a process pool), no marker exists, nobody
connected, and the exit code is the one the findings call for.

This process's network is blocked by tests/conftest.py (`_no_network`, checked at the end).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptlint.cli import main
from promptlint.parallel import MIN_FILES_FOR_POOL

FILLERS = MIN_FILES_FOR_POOL  # modules besides the others: enough for a pool of workers


@dataclass(frozen=True)
class Traps:
    project: Path
    markers: Path  # where executed code leaves its marker files
    listener: socket.socket  # where executed code connects

    def touch(self, name: str) -> str:
        """A statement that, when run, leaves the marker `name`."""
        return f"open({str(self.markers / name)!r}, 'w').close()"

    def sprung(self) -> list[str]:
        """The markers left, and a connection if any was made."""
        found = sorted(p.name for p in self.markers.iterdir())
        try:
            connection, _ = self.listener.accept()
        except BlockingIOError:
            return found
        connection.close()
        return [*found, "<a connection>"]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def _plant(traps: Traps, port: int) -> None:
    root, touch = traps.project, traps.touch
    connect = f"__import__('socket').create_connection(('127.0.0.1', {port}), timeout=2)"
    _write(root / "conftest.py", f"import sys\n{touch('conftest')}\nsys.exit(5)\n")
    _write(root / "setup.py", f"{touch('setup_py')}\n")
    # Shadows the click that promptlint imports, were the working directory on sys.path.
    _write(root / "click.py", f"{touch('shadow_click')}\nraise SystemExit(7)\n")
    _write(
        root / "pkg" / "__init__.py",
        f"import pkg.lazy\n{touch('package_init')}\n{connect}\nraise SystemExit(6)\n",
    )
    _write(root / "pkg" / "lazy.py", f"{touch('lazy')}\n")
    _write(
        root / "pkg" / "sidefx.py",
        f'''\
        import os

        {touch("sidefx")}
        {connect}
        os._exit(8)

        SHARED_RULES = """You are the support agent of Acme Cloud. Answer questions about hosting
        plans, billing and deployments. Be concise and factual, never invent account details, and
        escalate to a human when the customer asks for a refund or threatens to cancel."""
        ''',
    )
    for index in range(FILLERS):
        _write(
            root / "pkg" / "fillers" / f"side_{index:02d}.py",
            f'{touch("filler")}\n{connect}\nSYSTEM_PROMPT = "Answer in English. " * {index + 1}\n',
        )
    _write(
        root / "pkg" / "app.py",
        f"""\
        import importlib
        import json
        import os
        import subprocess
        import sys
        from datetime import datetime

        import pkg.lazy
        from jinja2 import Environment, FileSystemLoader
        from openai import OpenAI

        from . import sidefx
        from .sidefx import SHARED_RULES

        {touch("app")}
        {connect}
        subprocess.run(["touch", {str(traps.markers / "subprocess")!r}])
        exec({touch("exec")!r})
        eval("__import__('pkg.lazy')")
        importlib.import_module("pkg.lazy")
        __import__("pkg.lazy")


        def decorate(function):
            {touch("decorator")}
            return function


        class Settings:
            {touch("class_body")}


        client = OpenAI()
        env = Environment(loader=FileSystemLoader("pkg/templates"))


        @decorate
        def answer(question: str, asked=print({touch("default_argument")})) -> str:
            response = client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {{
                        "role": "system",
                        "content": f"Today is {{datetime.now()}}. " + SHARED_RULES,
                    }},
                    {{"role": "user", "content": question}},
                ],
            )
            return response.choices[0].message.content


        def lookup(profile: dict, question: str) -> str:
            response = client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {{"role": "system", "content": "Customer profile: " + json.dumps(profile)}},
                    {{"role": "user", "content": question}},
                ],
            )
            return response.choices[0].message.content


        def memo(user: str, text: str) -> str:
            system = env.get_template("memo.j2").render(user=user)
            response = client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {{"role": "system", "content": system}},
                    {{"role": "user", "content": text}},
                ],
            )
            return response.choices[0].message.content


        sys.exit(3)
        os._exit(4)
        """,
    )
    shell = f"touch {traps.markers / 'jinja'}"
    _write(
        root / "pkg" / "templates" / "memo.j2",
        f"""\
        {{{{ cycler.__init__.__globals__.os.system({shell!r}) }}}} for {{{{ user }}}}.
        You draft a two-page policy memo from a finished literature review. The memo is for
        officials who will not read the review itself: they want to know what is known, how sure
        the desk is, and what that means for the decision in front of them.
        """,
    )
    cell = f"""{touch("notebook")}\n!touch {traps.markers / "magic"}\n%run pkg/app.py\n"""
    notebook = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": cell, "outputs": []}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / "explore.ipynb").write_text(json.dumps(notebook))


@pytest.fixture()
def traps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Traps]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    traps = Traps(tmp_path / "project", tmp_path / "markers", listener)
    traps.markers.mkdir()
    _plant(traps, listener.getsockname()[1])
    monkeypatch.chdir(traps.project)
    try:
        yield traps
    finally:
        listener.close()


def test_the_traps_are_live(traps: Traps) -> None:
    """Run for real, the planted code does leave its markers and connect (in a subprocess, since
    it ends the process): the test below would see it."""
    done = subprocess.run(
        [sys.executable, "pkg/sidefx.py"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 8, done.stderr
    assert traps.sprung() == ["sidefx", "<a connection>"]


# The findings the project calls for: PC101 and PC102 in pkg/app.py (the static text after the
# date comes from pkg/sidefx.py, read as text), PC202 there too (it has a safe fix), PC101 in the
# template, none in the notebook.
EXPECTED = [
    ("./pkg/app.py", "PC101"),
    ("./pkg/app.py", "PC102"),
    ("./pkg/app.py", "PC202"),
    ("pkg/templates/memo.j2", "PC101"),
]


def _found(stdout: str) -> list[tuple[str, str]]:
    return [(f["path"], f["code"]) for f in json.loads(stdout)]


def test_checking_and_reporting_runs_nothing(traps: Traps) -> None:
    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, list(args))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout

    code, out = invoke("check", ".", "--format", "json", "--jobs", "1", "--no-cache")
    assert (code, _found(out)) == (1, EXPECTED)
    code, out = invoke("check", ".", "--diff", "--jobs", "1", "--no-cache")
    assert code == 1 and "json.dumps(profile, sort_keys=True)}" in out  # re-parsed, never run
    code, out = invoke("report", ".", "--format", "json", "--jobs", "1", "--no-cache")
    assert code == 0
    assert [s["path"] for s in json.loads(out)["call_sites"]] == ["./pkg/app.py"] * 3
    # Files with no prompt, whatever they would do when run: a clean exit.
    clean = ("conftest.py", "setup.py", "click.py", "pkg/__init__.py", "pkg/lazy.py")
    assert invoke("check", *clean, "--no-cache") == (0, "All checks passed! (5 files checked)\n")
    assert traps.sprung() == []
    assert {p.name for p in traps.markers.iterdir()} == set()


def test_the_command_on_a_process_pool_runs_nothing(traps: Traps, tmp_path: Path) -> None:
    """The installed `promptlint` command, from the project's directory (where `click.py` would
    shadow click if the directory were on sys.path), extracting on two processes, twice (cold
    and warm cache), with every proxy pointing at a closed port."""
    command = shutil.which("promptlint", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.skip("the promptlint command is not installed next to this Python")
    dead = "http://127.0.0.1:9"
    env = {
        **os.environ,
        "HTTP_PROXY": dead,
        "HTTPS_PROXY": dead,
        "ALL_PROXY": dead,
        "NO_PROXY": "",
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "empty-tiktoken-cache"),
    }
    args = [command, "check", ".", "--format", "json", "--jobs", "2", "--cache-dir", str(tmp_path)]
    for _ in range(2):
        done = subprocess.run(
            args, cwd=traps.project, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 1, done.stderr
        assert _found(done.stdout) == EXPECTED
        assert done.stderr == ""
    assert traps.sprung() == []


# --- this process's network is blocked (tests/conftest.py) -------------------------------------


@pytest.mark.parametrize(
    "reach",
    [
        lambda: socket.create_connection(("example.com", 80), timeout=1),
        lambda: socket.getaddrinfo("example.com", 443),
        lambda: socket.socket(socket.AF_INET).connect(("93.184.216.34", 80)),
        lambda: socket.socket(socket.AF_INET).connect_ex(("1.1.1.1", 53)),
        lambda: socket.socket(socket.AF_INET6).connect(("2606:4700:4700::1111", 53, 0, 0)),
        lambda: __import__("urllib.request").request.urlopen("https://example.com", timeout=1),
    ],
    ids=["create_connection", "getaddrinfo", "connect", "connect_ex", "connect-ipv6", "urlopen"],
)
def test_a_test_cannot_reach_the_network(reach: object) -> None:
    assert callable(reach)
    with pytest.raises(RuntimeError, match="network access attempted in a test"):
        reach()


def test_a_test_can_still_use_local_sockets() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with socket.create_connection(("localhost", port), timeout=5) as client:
            accepted, _ = server.accept()
            with accepted:
                client.sendall(b"ping")
                assert accepted.recv(4) == b"ping"
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"x")
        assert right.recv(1) == b"x"
