"""Helpers for the policy supplemental_signers tests that more than one lane uses."""

from __future__ import annotations

import struct
import uuid

from fixtures.pki import PKI_DIR
from policy.generate import new_policy, set_rule_options
from policy.model import Signer, SiPolicy
from policy.signers import SignerLevel, load_signer_chain, signer_rule

BASE_ID = "{6522BE99-DAD1-4D54-A76D-A1EC8CEBD08F}"


def _signer(stem: str, level: SignerLevel, signer_id: str) -> Signer:
    chain = load_signer_chain((PKI_DIR / f"{stem}-chain.pem").read_bytes(), stem)
    return signer_rule(chain, level, signer_id)


def _base() -> SiPolicy:
    return set_rule_options(
        new_policy("enforced", name="base", policy_id=BASE_ID),
        remove=["Enabled:Unsigned System Integrity Policy"],
    )


def _block6(binary: bytes, policy_id: str, base_id: str) -> list[int]:
    """The signer indices of block 6, found by its documented prefix (sipolicy.md 3.3 item 11)."""
    prefix = (
        struct.pack("<I", 6)
        + uuid.UUID(policy_id.strip("{}")).bytes_le
        + uuid.UUID(base_id.strip("{}")).bytes_le
    )
    at = binary.index(prefix, 0x44) + len(prefix)
    (count,) = struct.unpack_from("<I", binary, at)
    indices = list(struct.unpack_from(f"<{count}I", binary, at + 4))
    # Block 7 follows directly.
    assert struct.unpack_from("<I", binary, at + 4 + 4 * count) == (7,)
    return indices
