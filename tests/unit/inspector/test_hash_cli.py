"""``inspector hash`` as a user runs it: output, JSON, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inspector.cli import app
from tests.support.inspector_hash_cli import runner
from tests.support.synthetic_pe import SyntheticPe


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "app.exe").write_bytes(bytes(SyntheticPe().build()))
    (tmp_path / "setup.ps1").write_text("Write-Host hi\n")
    return tmp_path


def test_human_output_lists_files_and_summary(tree: Path) -> None:
    result = runner.invoke(app, ["hash", str(tree)])
    assert result.exit_code == 0, result.output
    assert "app.exe" in result.stdout
    assert "setup.ps1" in result.stdout
    assert "authenticode sha256" in result.stdout
    assert "2 files hashed (1 conformant PE, 1 flat)" in result.stdout


def test_failures_are_listed_and_exit_code_is_three(tree: Path) -> None:
    result = runner.invoke(app, ["hash", "--json", str(tree), str(tree / "missing.dll")])
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert len(doc["files"]) == 2
    assert doc["failures"][0]["path"].endswith("missing.dll")
    assert "missing.dll: no such file" in result.stderr


def test_algorithm_option(tree: Path) -> None:
    result = runner.invoke(app, ["hash", "--json", "-a", "sha256", str(tree / "app.exe")])
    assert result.exit_code == 0
    (entry,) = json.loads(result.stdout)["files"]
    assert entry["authenticode_sha1"] is None
    assert entry["authenticode_sha256"] is not None


def test_bad_algorithm_is_a_usage_error(tree: Path) -> None:
    result = runner.invoke(app, ["hash", "-a", "md5", str(tree)])
    assert result.exit_code == 2
    assert "unknown hash algorithm" in result.output


def test_jsonl_gives_one_record_per_line_then_failures(tree: Path) -> None:
    result = runner.invoke(app, ["hash", "--jsonl", str(tree), str(tree / "missing.dll")])
    assert result.exit_code == 3
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(r["path"]).name for r in lines[:2]] == ["app.exe", "setup.ps1"]
    assert lines[2]["failure"]["path"].endswith("missing.dll")
    assert len(lines) == 3


def test_json_stays_one_document_for_many_files(tmp_path: Path) -> None:
    for i in range(40):
        (tmp_path / f"f{i:02d}.txt").write_bytes(b"x" * i)
    result = runner.invoke(app, ["hash", "--json", str(tmp_path), str(tmp_path / "nope")])
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert [Path(f["path"]).name for f in doc["files"]] == [f"f{i:02d}.txt" for i in range(40)]
    assert len(doc["failures"]) == 1


def test_json_and_jsonl_together_are_refused(tree: Path) -> None:
    result = runner.invoke(app, ["hash", "--json", "--jsonl", str(tree)])
    assert result.exit_code == 2


def test_progress_can_be_forced_off_a_terminal(tmp_path: Path) -> None:
    for i in range(8):
        (tmp_path / f"f{i}.txt").write_bytes(b"x" * 1000)
    result = runner.invoke(app, ["hash", "--progress", str(tmp_path)])
    assert result.exit_code == 0
    assert "files" in result.stderr
    assert "8/8" in result.stderr
