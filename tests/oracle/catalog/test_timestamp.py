"""RFC 3161 client against a loopback TSA whose tokens are built with asn1crypto, not our code."""

from __future__ import annotations

from pathlib import Path

from asn1crypto import cms, tsp

from catalog.cms.signed_data import OID_CTL, SignOptions, resign
from catalog.cms.timestamp import Rfc3161Timestamper
from tests.support.catalog_timestamp import _config
from tests.support.signing import identity
from tests.support.tsa_server import running_tsa


def test_signed_catalog_carries_token_over_encrypted_digest(oracle_dir: Path) -> None:
    data = (oracle_dir / "makecat" / "unsigned.cat").read_bytes()
    ident = identity()
    with running_tsa(_config()) as url:
        out = resign(
            data,
            "unsigned.cat",
            ident.certificate_der,
            ident.chain_der,
            ident.sign,
            SignOptions(),
            Rfc3161Timestamper(url),
            expected_content_type=OID_CTL,
        )
    (signer,) = cms.ContentInfo.load(out)["content"]["signer_infos"]
    (attr,) = signer["unsigned_attrs"]
    assert attr["type"].dotted == "1.3.6.1.4.1.311.3.3.1"
    token = attr["values"][0]
    tst = tsp.TSTInfo.load(token["content"]["encap_content_info"]["content"].parsed.dump())
    import hashlib

    assert (
        tst["message_imprint"]["hashed_message"].native
        == hashlib.sha256(signer["signature"].native).digest()
    )
