"""Signing backends behind the ``catalog.cms.signer.Signer`` seam, chosen by the ``--key`` value.

``pkcs11:...`` (RFC 7512) -> ``pkcs11``; ``azure-keyvault://...`` and ``trusted-signing://...``
(or a Trusted Signing ``metadata.json``) -> ``azure``; ``exec:PROGRAM`` -> ``command``; anything
else is a key file (``file``, today's PEM/PFX). Each backend lives in its own module and imports
its third-party client only there.
"""

from __future__ import annotations

PKCS11_PREFIX = "pkcs11:"
KEYVAULT_PREFIX = "azure-keyvault://"
TRUSTED_SIGNING_PREFIX = "trusted-signing://"
COMMAND_PREFIX = "exec:"


def backend_of(key: str | None, *, metadata: bool = False) -> str:
    """The backend a ``--key`` value (or ``--metadata``) selects."""
    if metadata:
        return "trusted-signing"
    if key is None:
        return "file"
    lowered = key.lower()
    if lowered.startswith(PKCS11_PREFIX):
        return "pkcs11"
    if lowered.startswith(KEYVAULT_PREFIX):
        return "azure-keyvault"
    if lowered.startswith(TRUSTED_SIGNING_PREFIX):
        return "trusted-signing"
    if lowered.startswith(COMMAND_PREFIX):
        return "command"
    return "file"
