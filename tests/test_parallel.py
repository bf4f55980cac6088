"""Extraction on several processes gives the same models, in the same order, as on one."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from promptlint.cli import main
from promptlint.config import Settings
from promptlint.discovery import discover
from promptlint.parallel import extract_all

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_pool_and_single_process_give_identical_models() -> None:
    files = discover([str(FIXTURES)])
    assert len(files) > 10
    serial = extract_all(files, Settings(), jobs=1)
    pooled = extract_all(files, Settings(), jobs=2, min_files=0)
    assert pooled == serial
    assert [m.path for _, m in pooled] == [f.display for f in files]
    # Each model comes with the hash of the bytes it was made from (the cache's key).
    assert all(sha is not None and len(sha) == 64 for sha, _ in pooled)


def test_jobs_option_gives_byte_identical_output(tmp_path: Path) -> None:
    # Enough files for the pool to be used: copies of the sample app under different names.
    source = (FIXTURES / "acme_assist" / "support_bot.py").read_text()
    for index in range(70):
        (tmp_path / f"bot_{index:02d}.py").write_text(source)
    outputs = {
        jobs: CliRunner().invoke(main, [str(tmp_path), "--format", "json", "--jobs", jobs]).output
        for jobs in ("1", "2")
    }
    assert outputs["1"] == outputs["2"]
    assert outputs["1"].count('"PC101"') == 70
