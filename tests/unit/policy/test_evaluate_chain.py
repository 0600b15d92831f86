"""Signer chains as the evaluator builds them: every link verified, roots from the root program.

A forged intermediate that copies the name and key identifier of Microsoft's 2010 root as its
issuer must not count as chaining to Wellknown root 06: only the real root's key (from Microsoft's
root program list) can make that link. The forgery is made here with cryptography.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from policy.evaluate.engine import evaluate
from policy.evaluate.gather import gather_facts, verified_chain
from policy.evaluate.index import index_policy, policy_set
from policy.evaluate.roots import microsoft_roots
from policy.evaluate.wellknown import WELLKNOWN_ROOTS, chain_root_value
from policy.model import (
    BASE_POLICY,
    CertRoot,
    Signer,
    SignerGroup,
    SignerRef,
    SigningScenario,
    SiPolicy,
)

ROOT_2010 = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Redmond"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Microsoft Corporation"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Microsoft Root Certificate Authority 2010"),
    ]
)


def _cert(
    subject: str, issuer: x509.Name, key: rsa.RSAPrivateKey, signer: rsa.RSAPrivateKey, aki: bytes
) -> bytes:
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.AuthorityKeyIdentifier(aki, None, None), critical=False)
        .sign(signer, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.DER)


def test_the_root_program_list_holds_the_wellknown_roots_it_claims() -> None:
    held = {
        x509.load_der_x509_certificate(d)
        .subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0]
        .value
        for d in microsoft_roots()
    }
    assert held == {r.root_cn for r in WELLKNOWN_ROOTS if r.in_store}


def test_a_forged_microsoft_issuer_does_not_reach_wellknown_06() -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    aki_2010 = bytes.fromhex("D5F656CB8FE8A25C6268D13D94905BD7CE9A18C4")
    pca = _cert("Microsoft Windows Production PCA 2011", ROOT_2010, forger, forger, aki_2010)
    pca_name = x509.load_der_x509_certificate(pca).subject
    leaf = _cert("Microsoft Windows", pca_name, leaf_key, forger, b"\x01" * 20)
    chain, problem = verified_chain(leaf, [pca], microsoft_roots())
    assert problem is None
    assert [c.subject_cn for c in chain] == [
        "Microsoft Windows",
        "Microsoft Windows Production PCA 2011",
    ]
    assert chain_root_value(chain) == 0x01


def test_sign_time_after_uses_the_verified_timestamp(fixtures_dir: Path) -> None:
    # fixtures/generate.py timestamps this copy at 2025-01-01T01:00:00Z (osslsigncode -TSA-time).
    path = fixtures_dir / "pe" / "version64-signed-sha256-ts.dll"
    facts = gather_facts(path.read_bytes(), str(path))
    (sig,) = facts.signatures
    issuing = sig.chain[1].tbs_hash

    def verdict(after: str) -> str:
        signer = Signer("ID_SIGNER_S_T", "CA", CertRoot("TBS", issuing), sign_time_after=after)
        group = SignerGroup(allowed=(SignerRef("ID_SIGNER_S_T"),))
        policy = SiPolicy(
            version_ex="1.0.0.0",
            policy_type=BASE_POLICY,
            policy_id="{44444444-4444-4444-4444-444444444444}",
            base_policy_id="{44444444-4444-4444-4444-444444444444}",
            options=("Enabled:UMCI",),
            signers=(signer,),
            signing_scenarios=(SigningScenario("ID_SIGNINGSCENARIO_W", 12, product_signers=group),),
        )
        return evaluate(policy_set([index_policy(policy, "p")]), facts).verdict

    assert verdict("2025-01-01T00:30:00") == "allowed"
    assert verdict("2025-01-01T01:30:00") == "blocked"
