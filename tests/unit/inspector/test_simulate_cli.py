"""``inspector policy simulate`` as a command: options, exit codes, output forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture
def base(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "base.xml"
    code, _, err = run_cli(
        capsys, "policy", "new", "-o", str(out), "--template", "enforced", "--name", "CLI base"
    )
    assert code == 0, err
    return out


def test_blocked_file_exits_1_and_json_has_every_field(
    base: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exe = fixtures_dir / "pe" / "hello64.exe"
    code, out, _ = run_cli(capsys, "policy", "simulate", "--json", "-p", str(base), str(exe))
    assert code == 1
    (record,) = json.loads(out)["files"]
    assert {
        "path",
        "verdict",
        "enforced",
        "scenario",
        "decided_by",
        "signature",
        "nearest",
        "would_allow",
        "depends_on",
    } <= set(record)
    assert record["verdict"] == "blocked"
    assert record["scenario"] == 12
    assert [w["level"] for w in record["would_allow"]] == ["Hash"]


def test_kernel_user_and_unreadable_inputs(
    base: Path, fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exe = str(fixtures_dir / "pe" / "hello64.exe")
    code, out, _ = run_cli(capsys, "policy", "simulate", "--json", "--kernel", "-p", str(base), exe)
    assert json.loads(out)["files"][0]["scenario"] == 131
    code, _, _ = run_cli(capsys, "policy", "simulate", "--kernel", "--user", "-p", str(base), exe)
    assert code == 2
    missing = tmp_path / "missing.exe"
    code, out, _ = run_cli(capsys, "policy", "simulate", "-p", str(base), exe, str(missing))
    assert code == 3
    assert "error" in out
    assert "unreadable" in out


def test_a_supplemental_without_its_base_is_refused(
    tmp_path: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    supp = tmp_path / "supp.xml"
    code, _, err = run_cli(
        capsys,
        "policy",
        "hashes",
        str(fixtures_dir / "pe" / "hello64.exe"),
        "-o",
        str(supp),
        "--supplemental",
        "--base-policy-id",
        "{12345678-1234-1234-1234-123456789012}",
    )
    assert code == 0, err
    code, _, err = run_cli(capsys, "policy", "simulate", "-p", str(supp), str(supp))
    assert code == 3
    assert "no base policy" in err
