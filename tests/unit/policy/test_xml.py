"""SiPolicy XML reader/writer against every policy in the policy oracle (sipolicy.md 2)."""

from __future__ import annotations

import pytest

from policy.errors import PolicyInputError
from policy.xml import read_policy_xml

MINIMAL = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<SiPolicy xmlns="urn:schemas-microsoft-com:sipolicy" PolicyType="Base Policy">'
    b"<VersionEx>1.0.0.0</VersionEx>"
    b"<PlatformID>{2E07F7E4-194C-4D20-B7C9-6F44A6C5A234}</PlatformID>"
    b"<PolicyID>{11111111-1111-1111-1111-111111111111}</PolicyID>"
    b"<BasePolicyID>{11111111-1111-1111-1111-111111111111}</BasePolicyID>"
    b"<Rules />%s</SiPolicy>"
)


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (b"<SiPolicy", "malformed XML at line 1"),
        (MINIMAL.replace(b"<Rules />", b"") % b"", "required element Rules"),
        (MINIMAL % b"<Rules />", "appears twice"),
        (MINIMAL.replace(b"urn:schemas-microsoft-com:sipolicy", b"urn:x") % b"", "namespace"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]>' + MINIMAL % b"", "DOCTYPE"),
        (MINIMAL % b"<FileRules><Permit ID='ID_ALLOW_A'/></FileRules>", "<Permit>"),
        (MINIMAL % b"<Signers><Signer ID='ID_SIGNER_S' Name='x'/></Signers>", "no CertRoot"),
        (
            MINIMAL % b"<Signers><Signer ID='ID_SIGNER_S' Name='x'><CertPublisher Value='p'/>"
            b"<CertRoot Type='TBS' Value='00'/></Signer></Signers>",
            "must come before <CertPublisher>",
        ),
        (
            MINIMAL
            % b"<Signers><Signer ID='ID_SIGNER_S' Name='x'><CertRoot Type='TBS' Value='00'/>"
            b"<CertPublisher Value='p'/><CertPublisher Value='q'/></Signer></Signers>",
            "two <CertPublisher>",
        ),
    ],
)
def test_malformed_documents_are_refused_with_a_specific_message(
    document: bytes, fragment: str
) -> None:
    with pytest.raises(PolicyInputError, match=None) as info:
        read_policy_xml(document, "bad.xml")
    assert fragment in str(info.value)
    assert "bad.xml" in str(info.value)
