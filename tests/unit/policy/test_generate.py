"""Generators against independent values: Microsoft's catalog signer (TBS from formats.md 6.2 and
the oracle README), MakeCat's digests of unsigned.exe (oracle README), sha256sum-equivalent flat
hashes, and the option bits of Microsoft-converted binaries (policy-oracle README)."""

from __future__ import annotations

import pytest

from policy.binary import compile_policy
from policy.errors import PolicyInputError
from policy.generate import new_policy, set_policy_info, set_rule_options
from policy.signers import SignerLevel, load_signer_chain, signer_rule
from tests.conftest import FIXTURES
from tests.support.policy_generate import BASE_ID


def test_ecdsa_signer_is_refused() -> None:
    data = (FIXTURES / "pki" / "leaf-ecdsa-p256-chain.pem").read_bytes()
    chain = load_signer_chain(data, "ecdsa.pem")
    with pytest.raises(PolicyInputError, match="only work with RSA"):
        signer_rule(chain, SignerLevel.PUBLISHER, "ID_SIGNER_S_1")


def test_missing_issuer_is_refused_for_pca_levels() -> None:
    data = (FIXTURES / "pki" / "leaf.pem").read_bytes()
    chain = load_signer_chain(data, "leaf.pem")
    with pytest.raises(PolicyInputError, match="issuing CA"):
        signer_rule(chain, SignerLevel.PCA_CERTIFICATE, "ID_SIGNER_S_1")
    assert signer_rule(chain, SignerLevel.LEAF_CERTIFICATE, "ID_SIGNER_S_1").cert_root.value


def test_supplemental_without_base_is_refused() -> None:
    with pytest.raises(PolicyInputError, match="base-policy-id"):
        new_policy("supplemental", name="app")


def test_audit_template_has_microsofts_option_bits() -> None:
    # The AllowMicrosoft template options in audit mode: the yufan AllowMicrosoft .cip, which
    # ConvertFrom-CIPolicy made from exactly these options, has flags 0x908D0404.
    binary = compile_policy(new_policy("audit", name="x", policy_id=BASE_ID))
    assert int.from_bytes(binary[0x24:0x28], "little") == 0x908D0404
    enforced = compile_policy(new_policy("enforced", name="x", policy_id=BASE_ID))
    assert int.from_bytes(enforced[0x24:0x28], "little") == 0x908C0404


def test_set_rule_options_by_number_and_name() -> None:
    policy = new_policy("enforced", name="x", policy_id=BASE_ID)
    changed = set_rule_options(policy, add=["3", "enabled:managed installer"], remove=["6"])
    assert "Enabled:Audit Mode" in changed.options
    assert "Enabled:Managed Installer" in changed.options
    assert "Enabled:Unsigned System Integrity Policy" not in changed.options
    with pytest.raises(PolicyInputError, match="unknown rule option"):
        set_rule_options(policy, add=["Enabled:Everything"])
    supplemental = new_policy("supplemental", name="s", base_policy_id=BASE_ID)
    with pytest.raises(PolicyInputError, match="supplemental"):
        set_rule_options(supplemental, add=["Enabled:Audit Mode"])


def test_set_policy_info() -> None:
    policy = new_policy("enforced", name="x", policy_id=BASE_ID)
    changed = set_policy_info(
        policy,
        name="Renamed",
        info_id="2026-11-21",
        version="10.0.1.0",
        policy_id="11111111-2222-3333-4444-555555555555",
    )
    assert changed.policy_id == changed.base_policy_id == "{11111111-2222-3333-4444-555555555555}"
    assert changed.version_ex == "10.0.1.0"
    names = {(s.value_name, s.value) for s in changed.settings or ()}
    assert ("Name", "Renamed") in names
    assert ("Id", "2026-11-21") in names
    with pytest.raises(PolicyInputError, match="four"):
        set_policy_info(policy, version="1.2")


def test_unusual_tbs_algorithm_is_refused() -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SHA-224 signer")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
        .sign(key, hashes.SHA224())
    )
    chain = load_signer_chain(cert.public_bytes(serialization.Encoding.PEM), "sha224.pem")
    with pytest.raises(PolicyInputError, match="sha224WithRSAEncryption"):
        signer_rule(chain, SignerLevel.LEAF_CERTIFICATE, "ID_SIGNER_S_1")
