"""Helpers for the policy sign tests that more than one lane uses."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from catalog.cms.keys import SigningIdentity
from policy.generate import add_signer, new_policy, set_rule_options
from policy.model import Ref, SiPolicy
from policy.signers import SignerLevel, load_signer_chain, signer_rule
from tests.support.signing import identity as fixture_identity

POLICY_ID = "{6522BE99-DAD1-4D54-A76D-A1EC8CEBD08F}"


@pytest.fixture(scope="module")
def identity() -> SigningIdentity:
    # The shared fixture PKI: PrintableString names, as Windows requires for signed policies.
    return fixture_identity("leaf")


def _signable(identity: SigningIdentity) -> SiPolicy:
    chain_pem = b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in (identity.certificate, *identity.chain)
    )
    chain = load_signer_chain(chain_pem, "identity")
    signer = signer_rule(chain, SignerLevel.PUBLISHER, "ID_SIGNER_S_UPDATE")
    policy = new_policy("enforced", name="signed", policy_id=POLICY_ID)
    policy = set_rule_options(policy, remove=["Enabled:Unsigned System Integrity Policy"])
    policy = add_signer(policy, signer)
    return policy.with_changes(update_policy_signers=(Ref(signer.id),))
