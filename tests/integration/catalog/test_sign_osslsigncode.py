"""Proof against osslsigncode 2.9 (formats.md 7): it accepts what we sign, we accept what it signs.

osslsigncode is an independent implementation of catalog signing and of catalog membership
(including page hashes); each test states the exit status it must give.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from catalog.cms.keys import SigningIdentity
from catalog.cms.signed_data import OID_CTL, SignOptions, resign
from catalog.cms.timestamp import Rfc3161Timestamper
from catalog.ctl.build import CatalogMember, CatalogSpec, MemberKind, NameValue, build_catalog
from catalog.ctl.read import parse_catalog
from catalog.ctl.verify import MemberStatus, TrustStatus, check_members, verify_signature
from catalog.errors import CatalogVerificationError
from catalog.pe.hashing import HashOptions, hash_file
from catalog.records import FileKind, HashAlgorithm
from fixtures.pki import PKI_DIR
from tests.conftest import require_tool
from tests.support.signing import identity, pki, root_der
from tests.support.tsa_server import TsaConfig, running_tsa

ROOT_PEM = PKI_DIR / "root-ca.pem"


def _ossl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    tool = require_tool("osslsigncode")
    return subprocess.run(
        [tool, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def _verify_cat(cat: Path) -> subprocess.CompletedProcess[str]:
    return _ossl("verify", "-CAfile", ROOT_PEM, "-TSA-CAfile", ROOT_PEM, "-ignore-crl", "-in", cat)


def _verify_member(cat: Path, member: Path) -> subprocess.CompletedProcess[str]:
    return _ossl("verify", "-CAfile", ROOT_PEM, "-ignore-crl", "-catalog", cat, "-in", member)


def _sign(data: bytes, ident: SigningIdentity, **kw: object) -> bytes:
    return resign(
        data,
        "t.cat",
        ident.certificate_der,
        ident.chain_der,
        ident.sign,
        SignOptions(program_name="inspector test"),
        kw.get("timestamper"),  # type: ignore[arg-type]
        expected_content_type=OID_CTL,
    )


@pytest.fixture
def makecat(oracle_dir: Path) -> Path:
    return oracle_dir / "makecat"


@pytest.mark.parametrize("stem", ["leaf", "leaf-rsa3072", "leaf-rsa4096"])
def test_osslsigncode_accepts_our_signature_and_members(
    makecat: Path, tmp_path: Path, stem: str
) -> None:
    cat = tmp_path / "signed.cat"
    cat.write_bytes(_sign((makecat / "unsigned.cat").read_bytes(), identity(stem)))
    done = _verify_cat(cat)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signature verification: ok" in done.stdout
    member = _verify_member(cat, makecat / "unsigned.exe")
    assert member.returncode == 0, member.stdout + member.stderr
    assert "Calculated page hash" in member.stdout
    assert "MISMATCH" not in member.stdout


def test_flipped_bytes_fail_both_verifiers(makecat: Path, tmp_path: Path) -> None:
    signed = _sign((makecat / "unsigned.cat").read_bytes(), identity())
    cat = tmp_path / "signed.cat"
    cat.write_bytes(signed)
    exe = bytearray((makecat / "unsigned.exe").read_bytes())
    exe[0x700] ^= 0x01
    member = tmp_path / "unsigned.exe"
    member.write_bytes(bytes(exe))
    assert _verify_member(cat, member).returncode != 0
    (verdict,) = check_members(
        parse_catalog(signed, "t.cat"), [hash_file(member, HashOptions(metadata=False))]
    )
    assert verdict.status is MemberStatus.HASH_MISMATCH

    parsed = parse_catalog(signed, "t.cat")
    offset = signed.index(parsed.ctl) + len(parsed.ctl) // 2
    broken = signed[:offset] + bytes((signed[offset] ^ 0x01,)) + signed[offset + 1 :]
    bad_cat = tmp_path / "tampered.cat"
    bad_cat.write_bytes(broken)
    assert _verify_cat(bad_cat).returncode != 0
    with pytest.raises(CatalogVerificationError):
        verify_signature(parse_catalog(broken, "tampered.cat"), "tampered.cat", [root_der()])


def test_we_accept_osslsigncode_signatures(makecat: Path, tmp_path: Path) -> None:
    out = tmp_path / "ossl.cat"
    done = _ossl(
        "sign",
        "-certs",
        PKI_DIR / "leaf-chain.pem",
        "-key",
        PKI_DIR / "leaf.key.pem",
        "-h",
        "sha256",
        "-n",
        "osslsigncode test",
        "-in",
        makecat / "unsigned.cat",
        "-out",
        out,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    verdict = verify_signature(
        parse_catalog(out.read_bytes(), "ossl.cat"), "ossl.cat", [root_der()]
    )
    assert verdict.trust is TrustStatus.TRUSTED, verdict.problems
    assert verdict.time_source == "signingTime"  # osslsigncode always adds signingTime


def _builder_catalog(makecat: Path) -> bytes:
    members = []
    for name in ("unsigned.exe", "unsigned.mof", "unsigned.ps1"):
        d = hash_file(makecat / name, HashOptions(metadata=False, signature=False))
        members.append(
            CatalogMember(
                name=name,
                kind=MemberKind.PE if d.kind is FileKind.PE else MemberKind.FLAT,
                sha1=d.sip_digest(HashAlgorithm.SHA1),
                sha256=d.sip_digest(HashAlgorithm.SHA256),
                page_table_sha1=d.page_table_sha1,
                page_table_sha256=d.page_table_sha256,
                attributes=(NameValue.text("File", name),),
            )
        )
    spec = CatalogSpec(2, dt.datetime(2025, 6, 1, tzinfo=dt.UTC), tuple(members))
    return build_catalog(spec).der


def test_builder_catalog_signed_by_us_and_by_osslsigncode(makecat: Path, tmp_path: Path) -> None:
    unsigned = tmp_path / "built.cat"
    unsigned.write_bytes(_builder_catalog(makecat))
    ours = tmp_path / "ours.cat"
    ours.write_bytes(_sign(unsigned.read_bytes(), identity()))
    assert _verify_cat(ours).returncode == 0
    for name in ("unsigned.exe", "unsigned.mof", "unsigned.ps1"):
        done = _verify_member(ours, makecat / name)
        assert done.returncode == 0, name + done.stdout + done.stderr
    theirs = tmp_path / "theirs.cat"
    done = _ossl(
        "sign",
        "-certs",
        PKI_DIR / "leaf-chain.pem",
        "-key",
        PKI_DIR / "leaf.key.pem",
        "-h",
        "sha256",
        "-in",
        unsigned,
        "-out",
        theirs,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    parsed = parse_catalog(theirs.read_bytes(), "theirs.cat")
    assert verify_signature(parsed, "theirs.cat", [root_der()]).ok
    assert _verify_member(theirs, makecat / "unsigned.exe").returncode == 0


def test_timestamped_signature_accepted(makecat: Path, tmp_path: Path) -> None:
    tsa = pki().tsa
    config = TsaConfig(tsa.cert, tsa.key, chain=tsa.chain[:1])  # type: ignore[arg-type]
    with running_tsa(config) as url:
        signed = _sign(
            (makecat / "unsigned.cat").read_bytes(), identity(), timestamper=Rfc3161Timestamper(url)
        )
    cat = tmp_path / "ts.cat"
    cat.write_bytes(signed)
    done = _verify_cat(cat)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Timestamp Server Signature verification: ok" in done.stdout
    verdict = verify_signature(parse_catalog(signed, "ts.cat"), "ts.cat", [root_der()])
    assert verdict.ok, verdict.problems
    assert verdict.time_source == "timestamp"
