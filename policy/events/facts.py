"""An event as the evaluator's ``FileFacts``: what the device logged about the file (pure).

The event carries the Authenticode hashes and version fields Windows computed, and each signature
as its publisher and issuing CA (names and TBS hashes) - a two-certificate chain as far as signer
rules look. The device verified those signatures before logging them, so they are taken as valid;
the facts say so in a note. Nothing is read from disk: a file an installer already deleted can
still be evaluated.
"""

from __future__ import annotations

from policy.evaluate import CertFacts, FileFacts, SignatureFacts
from policy.evaluate.facts import SUBSYSTEM_NATIVE, parse_version
from policy.events.normalize import APPLOCKER_IDS, SCENARIO_KERNEL
from policy.events.records import CiEvent

NOTE = "signatures as the device verified and logged them (correlated signature events)"


def facts_from_event(event: CiEvent) -> FileFacts:
    hashes: list[tuple[str, bytes]] = []
    for label, digest in (
        ("Authenticode SHA1", event.sha1),
        ("Authenticode SHA256", event.sha256),
        ("Flat SHA1", event.flat_sha1),
        ("Flat SHA256", event.flat_sha256),
    ):
        if digest is not None:
            hashes.append((label, digest))
    signatures = tuple(
        SignatureFacts(
            source="embedded",
            valid=True,
            chain=(
                CertFacts(
                    subject_cn=s.publisher_name or "",
                    issuer_cn=s.issuer_name or "",
                    tbs_hash=s.publisher_tbs.hex().upper() if s.publisher_tbs else "",
                ),
                CertFacts(
                    subject_cn=s.issuer_name or "",
                    issuer_cn="",
                    tbs_hash=s.issuer_tbs.hex().upper() if s.issuer_tbs else "",
                ),
            ),
        )
        for s in sorted(event.signers, key=lambda s: s.index)
    )
    return FileFacts(
        path=event.path,
        name=event.file_name,
        hashes=tuple(hashes),
        kind="flat" if event.event_id in APPLOCKER_IDS else "pe",
        subsystem=SUBSYSTEM_NATIVE if event.scenario == SCENARIO_KERNEL else None,
        original_filename=event.original_file_name,
        internal_name=event.internal_name,
        file_description=event.file_description,
        product_name=event.product_name,
        file_version=parse_version(event.file_version),
        signatures=signatures,
        notes=(NOTE,) if signatures else (),
    )
