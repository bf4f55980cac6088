"""`.pre-commit-hooks.yaml` with the real pre-commit: the hook fails on a faulty prompt, passes a
clean one, needs no network once installed, and leaves nothing untracked in the user's repository.

pre-commit installs the hook from a git repository. The repository used here is a snapshot of
this checkout's working tree (tracked and untracked, not ignored files) committed in a temporary
directory, so uncommitted work is what gets tested. (`pre-commit try-repo` on the checkout would
leave out untracked files, and builds a new environment on every call in a private store; a
config naming the snapshot at its commit, as users name a tag, reuses one environment.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from samples import DATED_BOT as FAULTY

REPO = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT = 900  # building the hook's virtualenv pip-installs promptlint and its deps
RUN_TIMEOUT = 120

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")

CLEAN = FAULTY.replace('f"Today is {datetime.datetime.now()}. You answer', '"You answer')


def _git_env() -> dict[str, str]:
    """git untouched by the user's own configuration (signing, hooks, templates)."""
    return {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "promptlint tests",
        "GIT_AUTHOR_EMAIL": "tests@example.invalid",
        "GIT_COMMITTER_NAME": "promptlint tests",
        "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    }


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=_git_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=RUN_TIMEOUT,
    )
    return done.stdout


def _snapshot(target: Path) -> str:
    """Commit this checkout's working tree into a new repository at `target`; its commit id."""
    listed = _git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is left out
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    _git(target, "init", "-q")
    _git(target, "add", "-A")
    _git(target, "commit", "-q", "-m", "snapshot")
    return _git(target, "rev-parse", "HEAD").strip()


def _pre_commit(
    project: Path, env: Mapping[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=project,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )


def _write(project: Path, text: str) -> None:
    (project / "app.py").write_text(text, encoding="utf-8")
    _git(project, "add", "app.py")


def test_the_hook_fails_on_a_faulty_prompt_and_passes_a_clean_one(tmp_path: Path) -> None:
    hook_repo, project = tmp_path / "hook-repo", tmp_path / "project"
    hook_repo.mkdir()
    project.mkdir()
    rev = _snapshot(hook_repo)
    _git(project, "init", "-q")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_repo}\n    rev: {rev}\n    hooks:\n      - id: promptlint\n",
        encoding="utf-8",
    )
    _git(project, "add", ".pre-commit-config.yaml")
    env = {**_git_env(), "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    env.pop("PROMPTLINT_CACHE_DIR", None)  # the hook keeps its cache where users get it

    installed = _pre_commit(project, env, "install-hooks")
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # From here on, any network access fails: the vocabularies ship inside the package.
    offline = {
        **env,
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "ALL_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "empty-tiktoken-cache"),
    }
    _write(project, FAULTY)
    faulty = _pre_commit(project, offline, "run", "--all-files")
    assert faulty.returncode == 1, faulty.stdout + faulty.stderr
    assert "promptlint" in faulty.stdout and "Failed" in faulty.stdout
    assert "app.py:14:" in faulty.stdout and "PC102" in faulty.stdout

    _write(project, CLEAN)
    clean = _pre_commit(project, offline, "run", "--all-files")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout

    # The hook's cache ignores itself: the user's repository shows nothing new.
    assert (project / ".promptlint_cache").is_dir()
    assert _git(project, "status", "--porcelain", "--untracked-files=all") == (
        "A  .pre-commit-config.yaml\nA  app.py\n"
    )
