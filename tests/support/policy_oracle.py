"""Where the policy oracle's files are, and which features each XML/binary pair exercises.

The feature lists are read off the oracle README and the pair XML (sipolicy.md 1.1); they document
what byte identity of each pair proves.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pair:
    xml: str
    binary: str
    features: tuple[str, ...]
    sha256_16: str
    """First 16 hex digits of the binary's SHA-256, as the oracle README lists them."""
    options: int
    counts: tuple[int, int, int, int]
    """EKUs, file rules, signers, scenarios (oracle README table)."""


PAIRS: tuple[Pair, ...] = (
    Pair(
        "hbkmon-allowall-v7/WDAC_AllowAll_Audit.xml",
        "hbkmon-allowall-v7/SIPolicy.p7b",
        ("v7", "tie-swap of two identical rules", "misspelled option dropped", "settings sort"),
        "4be9d063d6d5c38c",
        0x91890004,
        (0, 2, 0, 2),
    ),
    Pair(
        "ms-vdbl-2025-09/SiPolicy_Enforced.xml",
        "ms-vdbl-2025-09/SiPolicy_Enforced.p7b",
        ("v8", "legacy PolicyTypeID", "1869 rules", "Deny hash", "FileAttrib+versions", "TBS"),
        "584ec0b3ffc83f36",
        0x91880000,
        (0, 1869, 217, 2),
    ),
    Pair(
        "ms-vdbl-2025-09/SiPolicy_Audit.xml",
        "ms-vdbl-2025-09/SiPolicy_Audit.p7b",
        ("v8", "legacy PolicyTypeID", "audit bit", "DeniedSigners", "FileAttribRef"),
        "06a9919d5f4ce250",
        0x91890000,
        (0, 1869, 217, 2),
    ),
    Pair(
        "ms-vdbl-2025-09/SiPolicy_Enforced_Server2016.xml",
        "ms-vdbl-2025-09/SiPolicy_Enforced_Server2016.p7b",
        ("v8", "legacy PolicyTypeID", "Server 2016 options"),
        "cdc9d5b7f4199906",
        0x80880000,
        (0, 1869, 217, 2),
    ),
    Pair(
        "ms-vdbl-2025-09/SiPolicy_Audit_Server2016.xml",
        "ms-vdbl-2025-09/SiPolicy_Audit_Server2016.p7b",
        ("v8", "legacy PolicyTypeID", "Server 2016 options", "audit bit"),
        "e7991179d3888496",
        0x80890000,
        (0, 1869, 217, 2),
    ),
    Pair(
        "ms-vdbl-2026-05/DriverPolicy_Enforced.xml",
        "ms-vdbl-2026-05/{c017f6d6-2021-4204-aa68-f5065969b65e}_Enforced.cip",
        ("v8", "PolicyID/BasePolicyID after Settings", "FileAttrib without maximum", "ties"),
        "fdb9d95a4e1829d0",
        0x80880000,
        (0, 1875, 218, 2),
    ),
    Pair(
        "yufan-2025-02/AllowMicrosoft2025-02-21.xml",
        "yufan-2025-02/{022DB725-D9EE-49FC-9700-BB92F02C02C6}.cip",
        ("v8", "Wellknown roots", "EKU + CertEKU", "CiSigners", "Boolean setting"),
        "532a391e4162f1a5",
        0x908D0404,
        (1, 1, 18, 2),
    ),
    Pair(
        "yufan-2025-02/Enforcement_2025-02-21_1.xml",
        "yufan-2025-02/{6522BE99-DAD1-4D54-A76D-A1EC8CEBD08F}.cip",
        ("v8", "Wellknown roots", "enforced twin"),
        "a0bc458225a62760",
        0x908C0404,
        (1, 1, 18, 2),
    ),
    Pair(
        "yufan-base-vm-test-v14/Audit/Base_vm_test_V14_Audit.xml",
        "yufan-base-vm-test-v14/Audit/{127edbfa-6baa-4968-a660-8ccc98aeea44}.cip",
        (
            "v8",
            "FilePath rules",
            "InternalName/FileDescription/ProductName",
            "SHA384 TBS",
            "lower-case hex",
            "managed installer option",
            "ties",
        ),
        "fd635674bcc92026",
        0x98C90404,
        (1, 1310, 145, 2),
    ),
    Pair(
        "yufan-base-vm-test-v14/Enforce/Base_vm_test_V14_Enforce.xml",
        "yufan-base-vm-test-v14/Enforce/{127edbfa-6baa-4968-a660-8ccc98aeea44}.cip",
        ("v8", "FilePath rules", "hash rules", "Wellknown + TBS"),
        "8ccdda5bf348ec3e",
        0x98C80404,
        (1, 36, 41, 2),
    ),
    Pair(
        "yufan-base-vm-test-v16/Audit/Base_vm_test_V16_Audit.xml",
        "yufan-base-vm-test-v16/Audit/{127edbfa-6baa-4968-a660-8ccc98aeea44}.cip",
        ("v8", "Revoked Expired As Unsigned bit", "ties"),
        "048e57477ed48aa2",
        0x98C92404,
        (1, 1310, 145, 2),
    ),
    Pair(
        "yufan-base-vm-test-v16/Enforce/Base_vm_test_V16_Enforce.xml",
        "yufan-base-vm-test-v16/Enforce/{127edbfa-6baa-4968-a660-8ccc98aeea44}.cip",
        ("v8", "Revoked Expired As Unsigned bit"),
        "1342bd86c4db6028",
        0x98C82404,
        (1, 36, 41, 2),
    ),
)

BINARIES_WITHOUT_XML = (
    "binaries-without-xml/krueger_SiPolicy_v7.p7b",
    "binaries-without-xml/hbkmon_SiPolicy_b3b713d_v7.p7b",
)

# XML documents already in ConfigCI's serializer layout: rewriting them must give the same bytes.
CANONICAL_LAYOUT = (
    "pairs/wdac-toolkit-test-bin-v7/WDACPolicy.xml",
    "pairs/yufan-2025-02/AllowMicrosoft2025-02-21.xml",
    "pairs/yufan-2025-02/Enforcement_2025-02-21_1.xml",
    "pairs/yufan-base-vm-test-v14/Audit/Base_vm_test_V14_Audit.xml",
    "pairs/yufan-base-vm-test-v14/Enforce/Base_vm_test_V14_Enforce.xml",
    "pairs/yufan-base-vm-test-v16/Audit/Base_vm_test_V16_Audit.xml",
    "pairs/yufan-base-vm-test-v16/Enforce/Base_vm_test_V16_Enforce.xml",
)

# The two oracle XML files the README says are schema-invalid, with the defect it names.
KNOWN_INVALID = {
    "pairs/hbkmon-allowall-v7/WDAC_AllowAll_Audit.xml": ("Option", "Boot Audit on Failure"),
    "pairs/wdac-toolkit-test-bin-v7/WDACPolicy.xml": ("PolicyID", "must look like"),
}
