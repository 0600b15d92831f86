"""Catalog verification (formats.md 6.1, 4.3): Microsoft's oem89.cat, our own signatures, tampering.

Expected digests are the published oracle values (../shared/oracle/README.md); tampered inputs are
made here by flipping bytes, so the expected outcome is known without running the verifier.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from asn1crypto import cms

from catalog.cms.keys import SigningIdentity
from catalog.cms.signed_data import (
    OID_CTL,
    SignOptions,
    build_signed_data,
    parse_signed_data,
    resign,
)
from catalog.ctl.read import parse_catalog
from catalog.ctl.verify import MemberStatus, TrustStatus, check_members, verify_signature
from catalog.errors import CatalogVerificationError
from catalog.pe.hashing import HashOptions, hash_file
from catalog.records import FileDigests, FileFailure, FileKind, PageHashTable
from tests.support.signing import NOW, identity, root_der

OEM89_MESSAGE_DIGEST = "3AA308129066A5A09A4A1869DCD98B2CCC8C93DD7FC0FC5A6BD1685D8752722C"
UNSIGNED_EXE_SHA256 = "2D2C7B382C8163A419B9FF214A7B651C33F9EA43335907F11377290C5158A7A4"
UNSIGNED_EXE_SHA1 = "802FC5BA67A9B06DEC18A0D5A380A8A5954B5EF0"
INF_SHA1 = "B1E795B69B4C2A901A8BC8E8B36E988C6C05D836"


def _signed(data: bytes, ident: SigningIdentity, **opts: object) -> bytes:
    return resign(
        data,
        "t.cat",
        ident.certificate_der,
        ident.chain_der,
        ident.sign,
        SignOptions(**opts),  # type: ignore[arg-type]
        expected_content_type=OID_CTL,
    )


@pytest.fixture
def makecat(oracle_dir: Path) -> Path:
    return oracle_dir / "makecat"


@pytest.fixture
def signed_cat(makecat: Path) -> bytes:
    return _signed((makecat / "unsigned.cat").read_bytes(), identity(), signing_time=NOW)


def test_oem89_signature_reproduced_and_root_reported_untrusted(oracle_dir: Path) -> None:
    data = (oracle_dir / "microsoft" / "oem89.cat").read_bytes()
    verdict = verify_signature(parse_catalog(data, "oem89.cat"), "oem89.cat", roots=[root_der()])
    assert verdict.message_digest == OEM89_MESSAGE_DIGEST
    assert verdict.content_type == "1.3.6.1.4.1.311.10.1"
    assert "Microsoft Windows Hardware Compatibility Publisher" in verdict.signer_subject
    assert any("Third Party Component CA 2012" in s for s in verdict.chain)
    assert verdict.trust is TrustStatus.UNTRUSTED_ROOT
    assert not verdict.ok
    assert "Microsoft Root Certificate Authority 2010" in verdict.problems[0]
    # Its RFC 3161 timestamp (unsigned attribute 3.3.1) is checked and used as the time.
    assert verdict.time_source == "timestamp"
    assert verdict.timestamp_authority is not None
    assert "Microsoft Time-Stamp Service" in verdict.timestamp_authority


def test_our_signature_is_trusted_with_the_root(signed_cat: bytes) -> None:
    parsed = parse_catalog(signed_cat, "t.cat")
    verdict = verify_signature(parsed, "t.cat", roots=[root_der()])
    assert verdict.ok, verdict.problems
    assert verdict.trust is TrustStatus.TRUSTED
    assert verdict.time_source == "signingTime"
    assert verdict.chain[-1] == "CN=Inspector Test Root CA,O=Inspector Test PKI,C=XX"
    untrusted = verify_signature(parsed, "t.cat")
    assert untrusted.trust is TrustStatus.UNTRUSTED_ROOT
    assert "no --roots given" in untrusted.problems[0]


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes((data[offset] ^ 0x01,)) + data[offset + 1 :]


def test_flipped_content_byte_fails(signed_cat: bytes) -> None:
    parts = parse_signed_data(signed_cat, "t.cat")
    offset = signed_cat.index(parts.content) + len(parts.content) // 2
    tampered = _flip(signed_cat, offset)
    with pytest.raises(CatalogVerificationError, match="messageDigest mismatch"):
        verify_signature(parse_catalog(tampered, "t.cat"), "t.cat", roots=[root_der()])


def test_flipped_signature_byte_fails(signed_cat: bytes) -> None:
    (signer,) = cms.ContentInfo.load(signed_cat)["content"]["signer_infos"]
    signature = signer["signature"].native
    offset = signed_cat.index(signature) + 10
    tampered = _flip(signed_cat, offset)
    with pytest.raises(CatalogVerificationError, match="does not verify"):
        verify_signature(parse_catalog(tampered, "t.cat"), "t.cat", roots=[root_der()])


def test_unsigned_catalog(makecat: Path) -> None:
    parsed = parse_catalog((makecat / "unsigned.cat").read_bytes(), "unsigned.cat")
    with pytest.raises(CatalogVerificationError, match="not signed"):
        verify_signature(parsed, "unsigned.cat")


def test_wrong_signed_content_type(makecat: Path) -> None:
    parts = parse_signed_data((makecat / "unsigned.cat").read_bytes(), "u.cat")
    ident = identity()
    data = build_signed_data(
        parts.content_info,
        "1.3.6.1.4.1.311.79.1",
        parts.content_octets,
        ident.certificate_der,
        ident.chain_der,
        ident.sign,
    )
    with pytest.raises(CatalogVerificationError, match=r"contentType is 1\.3\.6\.1\.4\.1\.311\.79"):
        verify_signature(parse_catalog(data, "x.cat"), "x.cat", roots=[root_der()])


@pytest.mark.parametrize(
    ("stem", "needle"),
    [("leaf-expired", "expired"), ("leaf-no-codesign-eku", "codeSigning")],
)
def test_bad_certificates_make_an_invalid_verdict(makecat: Path, stem: str, needle: str) -> None:
    # Signed without the pre-flight checks, as another tool might.
    data = _signed((makecat / "unsigned.cat").read_bytes(), identity(stem), signing_time=NOW)
    verdict = verify_signature(parse_catalog(data, "x.cat"), "x.cat", roots=[root_der()])
    assert verdict.trust is TrustStatus.INVALID
    assert any(needle in p for p in verdict.problems)


# --- membership ----------------------------------------------------------------------------------


def _exe_digests(makecat: Path) -> FileDigests:
    return hash_file(makecat / "unsigned.exe", HashOptions(metadata=False, signature=False))


def test_members_by_hasher_and_oracle_values(makecat: Path, signed_cat: bytes) -> None:
    parsed = parse_catalog(signed_cat, "t.cat")
    real = _exe_digests(makecat)
    sha1_only = FileDigests(
        "copy/unsigned.exe", 1, FileKind.PE, authenticode_sha1=bytes.fromhex(UNSIGNED_EXE_SHA1)
    )
    failure = FileFailure("gone.exe", "gone.exe: vanished", "environment")
    verdicts = check_members(parsed, [real, sha1_only, failure])
    assert verdicts[0].status is MemberStatus.MEMBER
    assert verdicts[0].identifier == UNSIGNED_EXE_SHA256
    assert verdicts[0].identifier_kind == "sha256"
    assert verdicts[0].page_hashes == "checked"
    assert verdicts[1].status is MemberStatus.MEMBER
    assert verdicts[1].identifier == UNSIGNED_EXE_SHA1
    assert verdicts[1].identifier_kind == "sha1 (compatibility entry)"
    assert verdicts[2].status is MemberStatus.ERROR


def test_changed_file_renamed_file_and_bad_page_table(
    makecat: Path, signed_cat: bytes, tmp_path: Path
) -> None:
    parsed = parse_catalog(signed_cat, "t.cat")
    data = bytearray((makecat / "unsigned.exe").read_bytes())
    data[0x700] ^= 0xFF  # inside the first section, hashed by Authenticode
    changed = tmp_path / "unsigned.exe"
    changed.write_bytes(bytes(data))
    renamed = tmp_path / "other.exe"
    renamed.write_bytes(bytes(data))
    options = HashOptions(metadata=False, signature=False)
    real = _exe_digests(makecat)
    assert real.page_table_sha256 is not None
    entries = list(real.page_table_sha256.entries)
    entries[1] = (entries[1][0], bytes(32))
    bad_pages = dataclasses.replace(
        real,
        page_table_sha256=PageHashTable.from_entries(
            real.page_table_sha256.algorithm, tuple(entries)
        ),
    )
    verdicts = check_members(
        parsed, [hash_file(changed, options), hash_file(renamed, options), bad_pages]
    )
    assert verdicts[0].status is MemberStatus.HASH_MISMATCH
    assert "unsigned.exe" in verdicts[0].detail
    assert verdicts[1].status is MemberStatus.NOT_MEMBER
    assert verdicts[2].status is MemberStatus.PAGE_HASH_MISMATCH


def test_v1_member_by_text_tag(oracle_dir: Path) -> None:
    parsed = parse_catalog((oracle_dir / "microsoft" / "oem89.cat").read_bytes(), "oem89.cat")
    inf = FileDigests("amdacpbtscoext.inf", 2422, FileKind.FLAT, flat_sha1=bytes.fromhex(INF_SHA1))
    (verdict,) = check_members(parsed, [inf])
    assert verdict.status is MemberStatus.MEMBER
    assert verdict.identifier == INF_SHA1
    assert verdict.identifier_kind == "sha1 (v1 tag)"
