"""The catalog reader (catalog.ctl.read) on catalogs made by Microsoft's tools (formats.md 4, 6.1).

Expected values come from ../shared/oracle/README.md, from sha1sum/sha256sum of the member files
and from `openssl asn1parse` of the oracle catalogs - never from the reader itself.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from catalog.asn1.der import der_octet_string, der_oid, der_sequence, der_tlv
from catalog.asn1.oids import OID_CTL
from catalog.cms.signed_data import SignOptions, check_signer_info, content_info_for, resign
from catalog.ctl.build import CatalogMember, CatalogSpec, MemberKind, build_catalog
from catalog.ctl.read import parse_catalog
from catalog.errors import CatalogInputError
from tests.support.signing import identity


def test_pkcs7_that_is_not_a_ctl_is_refused() -> None:
    # SignedData around id-data instead of szOID_CTL
    id_data = bytes.fromhex("06092a864886f70d010701")
    inner = bytes.fromhex("020101") + b"\x31\x00" + b"\x30" + bytes([len(id_data)]) + id_data
    signed = b"\x30" + bytes([len(inner) + 2]) + inner + b"\x31\x00"
    content = bytes.fromhex("06092a864886f70d010702") + b"\xa0" + bytes([len(signed)]) + signed
    der = b"\x30" + bytes([len(content)]) + content
    with pytest.raises(CatalogInputError, match=r"szOID_CTL"):
        parse_catalog(der, "x.p7")


def test_ctl_wrapped_in_an_octet_string_reads_what_the_signer_digested() -> None:
    """RFC 2315 9.3: for content in an OCTET STRING, messageDigest covers its contents octets."""
    member = CatalogMember(
        "a.txt",
        MemberKind.FLAT,
        sha1=hashlib.sha1(b"a").digest(),
        sha256=hashlib.sha256(b"a").digest(),
    )
    built = build_catalog(
        CatalogSpec(version=2, this_update=datetime(2026, 1, 1, tzinfo=UTC), members=(member,))
    )
    # Hand-built: the same CTL SEQUENCE, but wrapped the PKCS#7 "data" way.
    content_info = der_sequence(der_oid(OID_CTL), der_tlv(0xA0, der_octet_string(built.ctl)))
    unsigned = der_sequence(
        der_oid("1.2.840.113549.1.7.2"),
        der_tlv(
            0xA0,
            der_sequence(
                der_tlv(0x02, b"\x01"), der_tlv(0x31, b""), content_info, der_tlv(0x31, b"")
            ),
        ),
    )
    assert content_info_for(OID_CTL, der_octet_string(built.ctl)) == content_info
    who = identity()
    signed = resign(
        unsigned, "wrapped.cat", who.certificate_der, who.chain_der, who.sign, SignOptions()
    )
    parsed = parse_catalog(signed, "wrapped.cat")
    assert parsed.ctl == built.ctl
    assert parsed.ctl_contents == built.ctl  # the OCTET STRING's contents: the whole SEQUENCE
    assert [m.identifier for m in parsed.members] == [
        m.identifier for m in parse_catalog(built.der).members
    ]
    # The signature's own messageDigest is the oracle: it must verify over ctl_contents.
    checked = check_signer_info(
        parsed.signer_infos[0], parsed.ctl_contents, parsed.certificates, "wrapped.cat"
    )
    assert checked.message_digest == hashlib.sha256(built.ctl).digest()
