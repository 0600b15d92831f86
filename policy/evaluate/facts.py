"""What the evaluator knows about one file: the facts Windows' code integrity looks at.

The evaluator's input (sipolicy.md 2.2 for what each rule compares): the file's SIP hashes
(Authenticode SHA1/SHA256 of a conformant PE, the flat hash otherwise) and first-page hashes, the
version resource (OriginalFilename, InternalName, FileDescription, ProductName and the binary
FileVersion), the PE subsystem (kernel or user mode), and every signature that survived
verification, as the chain of certificates (leaf first) with each one's TBS value, common names
and EKUs. Signatures that failed verification are kept too (``valid=False`` with the reason) so a
verdict can say why a signer rule did not apply, but no rule ever trusts them.

These records are built by ``policy.evaluate.gather`` (which reads nothing itself) or by tests and
benchmarks directly: the core never touches files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

Version = tuple[int, int, int, int]

SUBSYSTEM_NATIVE = 1
"""IMAGE_SUBSYSTEM_NATIVE: kernel-mode drivers (.sys); evaluated in the kernel scenario (131)."""

EKU_WHQL = "1.3.6.1.4.1.311.10.3.5"
"""Windows Hardware Driver Verification: what ``Required:WHQL`` demands of a driver's signer."""


def parse_version(text: str | None) -> Version | None:
    """``1.2.3.4`` (fewer parts are padded with zeros) as four 16-bit numbers; None if unreadable.

    Version-resource strings often carry more than the numbers (``10.0.19041.1 (WinBuild...)``):
    only the leading dotted numbers count.
    """
    if not text:
        return None
    head = text.strip().split()[0] if text.strip() else ""
    parts = head.replace(",", ".").split(".")
    numbers: list[int] = []
    for part in parts[:4]:
        if not part.isdigit():
            break
        numbers.append(min(int(part), 0xFFFF))
    if not numbers:
        return None
    while len(numbers) < 4:
        numbers.append(0)
    return (numbers[0], numbers[1], numbers[2], numbers[3])


def version_text(version: Version | None) -> str:
    return "none" if version is None else ".".join(str(v) for v in version)


@dataclass(frozen=True, slots=True)
class CertFacts:
    """One certificate of a signer chain, as signer rules see it."""

    subject_cn: str
    issuer_cn: str
    tbs_hash: str
    """Uppercase hex TBS digest with the certificate's own signature hash (formats.md 6.2);
    empty when it cannot be computed (unsupported signature algorithm)."""
    ekus: tuple[str, ...] = ()
    """Dotted EKU OIDs (only the leaf's matter to CertEKU)."""
    key_id: str | None = None
    """Subject key identifier (uppercase hex)."""
    authority_key_id: str | None = None
    self_signed: bool = False
    subject_attributes: tuple[str, ...] = ()
    """Organization / organizational-unit values of the subject (CertOemID candidates)."""


@dataclass(frozen=True, slots=True)
class SignatureFacts:
    """One signature of a file: its own (embedded) or a catalog's that lists the file."""

    source: str
    """``embedded`` or ``catalog``."""
    valid: bool
    """Digest, signature and every chain link verified; only then may signer rules use it."""
    chain: tuple[CertFacts, ...] = ()
    """Leaf first, then its issuers as far as the embedded certificates reach."""
    problem: str | None = None
    """Why the signature is not valid (a broken signature makes the file unsigned)."""
    catalog: str | None = None
    """The catalog's path, for catalog signatures."""
    member: str | None = None
    """The catalog member identifier that matched the file (uppercase hex or v1 text)."""
    signing_time: dt.datetime | None = None

    @property
    def leaf(self) -> CertFacts | None:
        return self.chain[0] if self.chain else None


@dataclass(frozen=True, slots=True)
class FileFacts:
    """Everything about one file that a WDAC rule can compare."""

    path: str
    name: str
    """The file name from the path (what FilePath rules and the report show)."""
    hashes: tuple[tuple[str, bytes], ...] = ()
    """``(label, digest)``: "Authenticode SHA256", "Page SHA1", "Flat SHA256", ... Hash rules match
    any of them; the label says which one did."""
    kind: str = "pe"
    """``pe``, ``pe-nonconformant`` or ``flat`` (catalog.records.FileKind values)."""
    subsystem: int | None = None
    original_filename: str | None = None
    internal_name: str | None = None
    file_description: str | None = None
    product_name: str | None = None
    package_family_name: str | None = None
    file_version: Version | None = None
    signatures: tuple[SignatureFacts, ...] = ()
    notes: tuple[str, ...] = ()
    """What could not be established (unreadable version resource, ...)."""

    @property
    def is_kernel(self) -> bool:
        return self.subsystem == SUBSYSTEM_NATIVE

    @property
    def valid_signatures(self) -> tuple[SignatureFacts, ...]:
        return tuple(s for s in self.signatures if s.valid and s.chain)

    def hash_label(self, digest: bytes) -> str | None:
        for label, value in self.hashes:
            if value == digest:
                return label
        return None

    def attribute(self, name: str) -> str | None:
        """The file's value for a SpecificFileNameLevel attribute of a rule."""
        return {
            "FileName": self.original_filename,
            "InternalName": self.internal_name,
            "FileDescription": self.file_description,
            "ProductName": self.product_name,
            "PackageFamilyName": self.package_family_name,
        }.get(name)
