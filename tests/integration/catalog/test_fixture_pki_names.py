"""Fixture sanity: the test PKI's name string types, read by OpenSSL (sipolicy.md section 6).

Windows rejects signed WDAC policies whose certificate names are UTF8String, so every certificate
in fixtures/pki/ must use PrintableString names, except the one deliberate negative leaf
``leaf-utf8-names`` (fixtures/README.md). The oracle is ``openssl asn1parse``, not our DER code.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import require_tool
from tests.support.catalog_fixture_pki_names import CERTS, PKI

_STRING = re.compile(r"prim:\s+(PRINTABLESTRING|UTF8STRING|IA5STRING|BMPSTRING|T61STRING)\s*:(.*)")


def _name_strings(cert: str) -> list[tuple[str, str]]:
    out = subprocess.run(
        [require_tool("openssl"), "asn1parse", "-in", str(PKI / cert)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [(m[1], m[2]) for m in map(_STRING.search, out.splitlines()) if m]


@pytest.mark.parametrize("cert", CERTS)
def test_name_string_types(cert: str) -> None:
    strings = _name_strings(cert)
    # issuer C, O, CN then subject C, O, CN
    assert len(strings) == 6, strings
    issuer, subject = strings[:3], strings[3:]
    assert {kind for kind, _ in issuer} == {"PRINTABLESTRING"}
    if cert == "leaf-utf8-names.pem":
        assert [kind for kind, _ in subject] == ["PRINTABLESTRING", "UTF8STRING", "UTF8STRING"]
    else:
        assert {kind for kind, _ in subject} == {"PRINTABLESTRING"}
    assert subject[1][1] == "Inspector Test PKI"
