"""Tests for promptlint.discovery: which files a run lints, and how they are reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

from promptlint.discovery import SourceFile, discover  # noqa: E402


def touch(root: Path, *rels: str, text: str = "") -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def shown(*, respect_gitignore: bool = True, exclude: tuple[str, ...] = ()) -> list[str]:
    """Display paths found by walking the current directory."""
    found = discover(["."], respect_gitignore=respect_gitignore, exclude=exclude)
    return [source.display for source in found]


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_recurses_and_collects_py_and_ipynb_only(cwd: Path) -> None:
    touch(cwd, "a.py", "pkg/b.py", "pkg/sub/deep/c.py", "nb.ipynb")
    touch(cwd, "stub.pyi", "notes.txt", "x.pyc", "pkg/data.json", "py")
    assert shown() == ["./a.py", "./nb.ipynb", "./pkg/b.py", "./pkg/sub/deep/c.py"]


def test_result_fields(cwd: Path) -> None:
    touch(cwd, "pkg/a.py", "b.txt")
    assert discover(["pkg", "b.txt"]) == [
        SourceFile(Path("b.txt"), "b.txt", True),
        SourceFile(Path("pkg/a.py"), "pkg/a.py", False),
    ]


def test_display_joins_argument_as_given(cwd: Path) -> None:
    touch(cwd, "pkg/a.py", "pkg/sub/b.py")
    assert [s.display for s in discover(["pkg/"])] == ["pkg/a.py", "pkg/sub/b.py"]
    assert [s.display for s in discover(["pkg"])] == ["pkg/a.py", "pkg/sub/b.py"]
    assert [s.display for s in discover(["./pkg/sub"])] == ["./pkg/sub/b.py"]
    absolute = [s.display for s in discover([str(cwd / "pkg")])]
    assert absolute == [f"{cwd}/pkg/a.py", f"{cwd}/pkg/sub/b.py"]


def test_paths_are_readable(cwd: Path) -> None:
    touch(cwd, "pkg/sub/b.py", text="x = 1\n")
    assert [s.path.read_text() for s in discover(["pkg/"])] == ["x = 1\n"]


def test_explicit_file_always_included(cwd: Path) -> None:
    touch(cwd, "notes.txt", "ignored.py", "build/gen.py", "skip/me.py")
    write(cwd / ".gitignore", "ignored.py\n")
    found = discover(["notes.txt", "ignored.py", "build/gen.py", "./skip/me.py"], exclude=["skip/"])
    assert [(s.display, s.explicit) for s in found] == [
        ("./skip/me.py", True),
        ("build/gen.py", True),
        ("ignored.py", True),
        ("notes.txt", True),
    ]


def test_root_gitignore(cwd: Path) -> None:
    touch(cwd, "a.py", "gen_x.py", "pkg/gen_y.py", "pkg/b.py", "top.py", "pkg/top.py")
    write(cwd / ".gitignore", "# generated\ngen_*.py\n/top.py\n")
    assert shown() == ["./a.py", "./pkg/b.py", "./pkg/top.py"]


def test_gitignore_not_respected_when_disabled(cwd: Path) -> None:
    touch(cwd, "a.py", "gen_x.py")
    write(cwd / ".gitignore", "gen_*.py\n")
    assert shown(respect_gitignore=False) == ["./a.py", "./gen_x.py"]


def test_nested_gitignore_is_relative_to_its_directory(cwd: Path) -> None:
    touch(cwd, "local.py", "pkg/local.py", "pkg/sub/local.py", "pkg/mod.py", "other/mod.py")
    # Anchored patterns in pkg/.gitignore refer to pkg/, and nothing outside pkg/ is affected.
    write(cwd / "pkg/.gitignore", "/local.py\n/mod.py\n")
    assert shown() == ["./local.py", "./other/mod.py", "./pkg/sub/local.py"]


def test_negation(cwd: Path) -> None:
    touch(cwd, "a.py", "keep.py", "pkg/b.py", "pkg/keep.py")
    write(cwd / ".gitignore", "*.py\n!keep.py\n")
    assert shown() == ["./keep.py", "./pkg/keep.py"]


def test_nested_negation_overrides_parent(cwd: Path) -> None:
    touch(cwd, "a.py", "pkg/b.py", "pkg/keep.py")
    write(cwd / ".gitignore", "*.py\n")
    write(cwd / "pkg/.gitignore", "!keep.py\n")
    assert shown() == ["./pkg/keep.py"]


def test_directory_pattern_matches_directories_only(cwd: Path) -> None:
    touch(cwd, "out/a.py", "pkg/out/b.py", "pkg/c.py", "pkg/out.py")
    write(cwd / ".gitignore", "out/\n")
    # `out.py` is a file, and `out/` only ignores directories.
    write(cwd / "other/.gitignore", "c.py/\n")
    touch(cwd, "other/c.py")
    assert shown() == ["./other/c.py", "./pkg/c.py", "./pkg/out.py"]


def test_default_skipped_directories(cwd: Path) -> None:
    skipped = [
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        "node_modules",
        "build",
        "dist",
        ".tox",
        ".nox",
        ".eggs",
        "promptlint.egg-info",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".promptlint_cache",
        ".venv",
        "venv",
        "lib/python3.11/site-packages",
    ]
    for name in skipped:
        touch(cwd, f"{name}/x.py", f"pkg/{name}/y.py")
    touch(cwd, "env-for-tests/pyvenv.cfg", "env-for-tests/lib/mod.py", "pkg/m.py", "builder/z.py")
    touch(cwd, "lib/python3.11/os.py")
    assert shown() == ["./builder/z.py", "./lib/python3.11/os.py", "./pkg/m.py"]


def test_skip_rules_do_not_apply_to_roots(cwd: Path) -> None:
    touch(cwd, "lib/site-packages/dep/a.py", "env/pyvenv.cfg", "env/b.py", "build/c.py")
    found = [s.display for s in discover(["lib/site-packages", "env", "build"])]
    assert found == ["build/c.py", "env/b.py", "lib/site-packages/dep/a.py"]


def test_exclude_patterns(cwd: Path) -> None:
    touch(cwd, "pkg/a.py", "pkg/gen/b.py", "pkg/c_test.py", "pkg/sub/d.py", "gen/e.py")
    found = [s.display for s in discover(["pkg"], exclude=["gen/", "*_test.py", "/sub"])]
    assert found == ["pkg/a.py"]
    # Relative to each root argument, so `/sub` only excludes pkg/sub and gen/ is walked as a root.
    found = [s.display for s in discover(["gen", "pkg"], exclude=["/sub", "gen/"])]
    assert found == ["gen/e.py", "pkg/a.py", "pkg/c_test.py"]


def test_sorted_and_deduplicated(cwd: Path) -> None:
    touch(cwd, "b.py", "a/z.py", "a/b.py", "c/a.py")
    first = discover(["c", "b.py", "a"])
    assert [s.display for s in first] == ["a/b.py", "a/z.py", "b.py", "c/a.py"]
    assert discover(["a", "c", "b.py"]) == first
    # The same file reached twice is reported once, under the first display path in order.
    found = [(s.display, s.explicit) for s in discover([".", "a", "a/z.py"])]
    assert found == [
        ("./a/b.py", False),
        ("./a/z.py", True),
        ("./b.py", False),
        ("./c/a.py", False),
    ]


def test_missing_path_raises(cwd: Path) -> None:
    touch(cwd, "a.py")
    with pytest.raises(FileNotFoundError, match=r"No such file or directory: 'nope\.py'"):
        discover(["a.py", "nope.py"])


def test_broken_symlink_argument_raises(cwd: Path) -> None:
    os.symlink(cwd / "missing.py", cwd / "dangling.py")
    with pytest.raises(FileNotFoundError):
        discover(["dangling.py"])


def test_symlinks(cwd: Path) -> None:
    touch(cwd, "pkg/a.py", "elsewhere/real.py")
    os.symlink(cwd / "pkg", cwd / "pkg/loop")  # a cycle: must not hang or recurse
    os.symlink(cwd / "elsewhere", cwd / "pkg/linked_dir")
    os.symlink(cwd / "elsewhere/real.py", cwd / "pkg/linked.py")
    os.symlink(cwd / "missing.py", cwd / "pkg/dangling.py")
    os.symlink("self.py", cwd / "pkg/self.py")
    found = discover(["pkg"])
    assert [s.display for s in found] == ["pkg/a.py", "pkg/linked.py"]
    # The link and its target resolve to one file.
    assert [s.display for s in discover(["elsewhere", "pkg"])] == ["elsewhere/real.py", "pkg/a.py"]


def test_unreadable_directory_is_skipped(cwd: Path) -> None:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root can read any directory")
    touch(cwd, "a.py", "locked/b.py")
    (cwd / "locked").chmod(0)
    try:
        assert shown() == ["./a.py"]
    finally:
        (cwd / "locked").chmod(0o755)


def test_scandir_permission_error_is_skipped(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Runs even as root, where chmod cannot make a directory unreadable.
    touch(cwd, "a.py", "locked/b.py", "locked/deeper/c.py")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if os.path.basename(os.path.normpath(path)) == "locked":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert shown() == ["./a.py"]


def test_ancestor_gitignore_between_git_root_and_dir(cwd: Path) -> None:
    (cwd / "repo/.git").mkdir(parents=True)
    write(cwd / "repo/.gitignore", "gen_*.py\n/proj/src/pkg/top.py\n")
    write(cwd / "repo/proj/.gitignore", "legacy/\n")
    # Above the git root: not part of this repository, so not honoured.
    write(cwd / ".gitignore", "*.py\n")
    touch(
        cwd,
        "repo/proj/src/pkg/a.py",
        "repo/proj/src/pkg/gen_b.py",
        "repo/proj/src/pkg/top.py",
        "repo/proj/src/pkg/legacy/c.py",
        "repo/proj/src/pkg/sub/top.py",
    )
    found = [s.display for s in discover(["repo/proj/src"])]
    assert found == ["repo/proj/src/pkg/a.py", "repo/proj/src/pkg/sub/top.py"]


def test_no_ancestor_gitignore_outside_a_repository(cwd: Path) -> None:
    write(cwd / ".gitignore", "*.py\n")
    touch(cwd, "proj/a.py")
    assert [s.display for s in discover(["proj"])] == ["proj/a.py"]


def test_directory_named_explicitly_is_walked_even_if_ancestor_ignores_it(cwd: Path) -> None:
    (cwd / ".git").mkdir()
    write(cwd / ".gitignore", "generated/\n*.tmp.py\n")
    touch(cwd, "generated/a.py", "generated/b.tmp.py", "src/c.py")
    assert [s.display for s in discover(["generated"])] == ["generated/a.py", "generated/b.tmp.py"]
    assert shown() == ["./src/c.py"]


def test_invalid_gitignore_pattern_does_not_crash(cwd: Path) -> None:
    touch(cwd, "a.py", "b.py")
    write(cwd / ".gitignore", "!\nb.py\n")
    assert shown() == ["./a.py"]


def test_empty_directory(cwd: Path) -> None:
    (cwd / "empty").mkdir()
    assert discover(["empty"]) == []
