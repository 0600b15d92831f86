"""What the SiPolicy schema fixes about element and attribute order (cipolicy.xsd, sipolicy.md 2).

Shared by the reader (which checks xs:sequence orders) and the writer (which emits every element
in schema order with the attribute order of Microsoft's serializer).
"""

from __future__ import annotations

from policy.model import NAMESPACE

NS = "{" + NAMESPACE + "}"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"

# File-rule attributes in schema order (the order Microsoft's serializer writes them).
RULE_ATTRS: tuple[tuple[str, str], ...] = (
    ("ID", "id"),
    ("FriendlyName", "friendly_name"),
    ("FileName", "file_name"),
    ("InternalName", "internal_name"),
    ("FileDescription", "file_description"),
    ("ProductName", "product_name"),
    ("PackageFamilyName", "package_family_name"),
    ("PackageVersion", "package_version"),
    ("MinimumFileVersion", "minimum_file_version"),
    ("MaximumFileVersion", "maximum_file_version"),
    ("Hash", "hash"),
    ("AppIDs", "app_ids"),
    ("FilePath", "file_path"),
    ("Type", "rule_type"),
)
RULE_ATTR_NAMES = frozenset(a for a, _ in RULE_ATTRS)
# xs:sequence orders (cipolicy.xsd): Signer, SigningScenario, TestSigners/TestSigningSigners.
SIGNER_ORDER = (
    "CertRoot",
    "CertEKU",
    "CertIssuer",
    "CertPublisher",
    "CertOemID",
    "FileAttribRef",
)
SCENARIO_ORDER = ("ProductSigners", "TestSigners", "TestSigningSigners", "AppIDTags")
GROUP_ORDER = ("AllowedSigners", "DeniedSigners", "FileRulesRef")

# Root children in schema order; the XSD's xs:all allows any order, the writer uses this one.
ROOT_ORDER = (
    "VersionEx",
    "PolicyTypeID",
    "PlatformID",
    "PolicyID",
    "BasePolicyID",
    "Rules",
    "EKUs",
    "FileRules",
    "Signers",
    "SigningScenarios",
    "UpdatePolicySigners",
    "CiSigners",
    "HvciOptions",
    "Settings",
    "Macros",
    "SupplementalPolicySigners",
)
