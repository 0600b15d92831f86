"""``inspector sign``, ``inspector verify`` and ``inspector catalog tbs`` as a user runs them.

Exit codes (inspector/cli/exit_codes.py): 0 ok, 1 verification failed, 2 usage, 3 bad input.
Bad inputs must leave no output file behind.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixtures.pki import PKI_DIR
from tests.support.inspector_sign_cli import _leaf_args, run


def test_verify_of_a_folder_skips_the_catalog_inside_it(
    tmp_path: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``inspector verify app.cat FOLDER`` where app.cat lives in FOLDER: all members, exit 0."""
    folder = tmp_path / "app"
    folder.mkdir()
    shutil.copy(fixtures_dir / "pe" / "hello64.exe", folder)
    (folder / "run.ps1").write_text("Write-Output 1\n")
    cat = folder / "app.cat"
    code, _, err = run(["catalog", "build", str(folder), "-o", str(cat)], capsys)
    assert code == 0, err
    code, _, err = run(["sign", str(cat), *_leaf_args()], capsys)
    assert code == 0, err
    code, out, err = run(
        ["verify", str(cat), str(folder), "--roots", str(PKI_DIR / "root-ca.pem")], capsys
    )
    assert code == 0, out + err
    assert "not a member" not in out
    assert "hello64.exe" in out
