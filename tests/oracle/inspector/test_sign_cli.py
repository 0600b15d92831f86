"""``inspector sign``, ``inspector verify`` and ``inspector catalog tbs`` as a user runs them.

Exit codes (inspector/cli/exit_codes.py): 0 ok, 1 verification failed, 2 usage, 3 bad input.
Bad inputs must leave no output file behind.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from fixtures.pki import PFX_PASSWORD, PKI_DIR
from tests.support.inspector_sign_cli import _leaf_args, run
from tests.support.signing import pki
from tests.support.tsa_server import GEN_TIME, TsaConfig, running_tsa

THIRD_PARTY_CA_2012_TBS = "CEC1AFD0E310C55C1DCC601AB8E172917706AA32FB5EAF826813547FDF02DD46"


@pytest.fixture
def work(tmp_path: Path, oracle_dir: Path) -> Path:
    shutil.copy(oracle_dir / "makecat" / "unsigned.cat", tmp_path / "app.cat")
    shutil.copy(oracle_dir / "makecat" / "unsigned.exe", tmp_path / "unsigned.exe")
    shutil.copy(oracle_dir / "makecat" / "unsigned.mof", tmp_path / "unsigned.mof")
    return tmp_path


def test_sign_in_place_then_verify_members(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = work / "app.cat"
    before = cat.read_bytes()
    code, out, err = run(["sign", str(cat), *_leaf_args()], capsys)
    assert code == 0, err
    assert "Inspector Test Code Signing" in out
    assert "(14 subjects," in out  # oracle README: MakeCat's unsigned.cat has 14 trusted subjects
    assert cat.read_bytes() != before
    assert sorted(p.name for p in work.iterdir()) == ["app.cat", "unsigned.exe", "unsigned.mof"]
    code, out, err = run(
        [
            "verify",
            str(cat),
            str(work / "unsigned.exe"),
            str(work / "unsigned.mof"),
            "--roots",
            str(PKI_DIR / "root-ca.pem"),
            "--json",
        ],
        capsys,
    )
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["ok"] is True
    assert doc["signature"]["trust"] == "trusted"
    statuses = {Path(m["path"]).name: (m["status"], m["page_hashes"]) for m in doc["members"]}
    assert statuses == {
        "unsigned.exe": ("member", "checked"),
        "unsigned.mof": ("member", "absent"),
    }


def test_verify_folder_reports_changed_file(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    signed = work / "signed.cat"
    code, _, err = run(["sign", str(work / "app.cat"), *_leaf_args(), "-o", str(signed)], capsys)
    assert code == 0, err
    members = work / "files"
    members.mkdir()
    exe = bytearray((work / "unsigned.exe").read_bytes())
    exe[0x700] ^= 1
    (members / "unsigned.exe").write_bytes(bytes(exe))
    code, out, _ = run(
        ["verify", str(signed), str(members), "--roots", str(PKI_DIR / "root-ca.pem")], capsys
    )
    assert code == 1
    assert "hash mismatch" in out
    assert "FAILED" in out


def test_pfx_with_password_env(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out_cat = work / "out.cat"
    monkeypatch.setenv("PFX_PW", PFX_PASSWORD)
    code, out, err = run(
        [
            "sign",
            str(work / "app.cat"),
            "--pfx",
            str(PKI_DIR / "leaf.pfx"),
            "--password-env",
            "PFX_PW",
            "-o",
            str(out_cat),
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    assert json.loads(out)["output"] == str(out_cat)
    monkeypatch.setenv("PFX_PW", "wrong")
    out2 = work / "out2.cat"
    code, _, err = run(
        [
            "sign",
            str(work / "app.cat"),
            "--pfx",
            str(PKI_DIR / "leaf.pfx"),
            "--password-env",
            "PFX_PW",
            "-o",
            str(out2),
        ],
        capsys,
    )
    assert code == 3
    assert "wrong PFX password" in err
    assert not out2.exists()
    code, _, err = run(
        [
            "sign",
            str(work / "app.cat"),
            "--pfx",
            str(PKI_DIR / "leaf.pfx"),
            "--password-env",
            "UNSET_VARIABLE_FOR_TEST",
            "-o",
            str(out2),
        ],
        capsys,
    )
    assert code == 2
    assert not out2.exists()


@pytest.mark.parametrize(
    ("stem", "needle"),
    [
        ("leaf-expired", "expired"),
        ("leaf-not-yet-valid", "not yet valid"),
        ("leaf-no-codesign-eku", "Code Signing"),
        ("leaf-ecdsa-p256", "ECDSA"),
        ("leaf-rsa1024", "1024"),
        ("leaf-wrong-key", "matches none"),
    ],
)
def test_bad_identities_exit_3_without_output(
    work: Path, capsys: pytest.CaptureFixture[str], stem: str, needle: str
) -> None:
    target = work / "never.cat"
    code, _, err = run(
        ["sign", str(work / "app.cat"), *_leaf_args(stem), "-o", str(target)], capsys
    )
    assert code == 3, err
    assert needle in err
    assert not target.exists()


def test_encrypted_key_without_password_is_explained(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = work / "enc.key.pem"
    key.write_bytes(
        pki().leaf.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
    )
    code, _, err = run(
        ["sign", str(work / "app.cat"), "--cert", str(PKI_DIR / "leaf.pem"), "--key", str(key)],
        capsys,
    )
    assert code == 3
    assert "--password-env" in err


def test_truncated_and_non_catalog_inputs(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut = work / "cut.cat"
    cut.write_bytes((work / "app.cat").read_bytes()[:500])
    before = cut.read_bytes()
    code, _, err = run(["sign", str(cut), *_leaf_args()], capsys)
    assert code == 3
    assert "cut.cat" in err
    assert cut.read_bytes() == before
    assert sorted(p.name for p in work.iterdir()) == [
        "app.cat",
        "cut.cat",
        "unsigned.exe",
        "unsigned.mof",
    ]
    code, _, err = run(["verify", str(work / "unsigned.mof")], capsys)
    assert code == 3
    assert "unsigned.mof" in err
    code, _, err = run(["verify", str(cut)], capsys)
    assert code == 3
    assert "cut.cat" in err
    code, _, err = run(["verify", str(work / "app.cat")], capsys)
    assert code == 1  # a catalog, but unsigned


def test_sign_with_timestamp_url(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tsa = pki().tsa
    config = TsaConfig(tsa.cert, tsa.key, chain=tsa.chain[:1])  # type: ignore[arg-type]
    with running_tsa(config) as url:
        code, _, err = run(
            ["sign", str(work / "app.cat"), *_leaf_args(), "--timestamp-url", url], capsys
        )
    assert code == 0, err
    assert len(config.requests) == 1
    code, out, err = run(
        ["verify", str(work / "app.cat"), "--roots", str(PKI_DIR / "root-ca.pem"), "--json"],
        capsys,
    )
    assert code == 0, out + err
    signature = json.loads(out)["signature"]
    assert signature["time_source"] == "timestamp"
    assert signature["timestamp"] == GEN_TIME.isoformat()


def test_verify_oem89_untrusted_root(oracle_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = oracle_dir / "microsoft" / "oem89.cat"
    code, out, _ = run(
        ["verify", str(cat), str(oracle_dir / "microsoft" / "amdacpbtscoext.inf"), "--json"],
        capsys,
    )
    assert code == 1
    doc = json.loads(out)
    assert doc["signature"]["trust"] == "untrusted root"
    assert doc["signature"]["message_digest"] == (
        "3AA308129066A5A09A4A1869DCD98B2CCC8C93DD7FC0FC5A6BD1685D8752722C"
    )
    assert doc["members"][0]["status"] == "member"


def test_catalog_tbs(oracle_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["catalog", "tbs", str(oracle_dir / "microsoft" / "oem89.cat"), "--json"], capsys
    )
    assert code == 0
    values = {c["tbs_hash"] for c in json.loads(out)["certificates"]}
    assert THIRD_PARTY_CA_2012_TBS in values
    code, out, _ = run(["catalog", "tbs", str(PKI_DIR / "root-ca.pem")], capsys)
    assert code == 0
    assert "Inspector Test Root CA" in out
    assert "sha256WithRSAEncryption" in out
