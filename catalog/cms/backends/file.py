"""File backend: today's PEM/DER key + certificate, or PFX/PKCS#12, loaded into memory.

The loaders and their checks live in ``catalog.cms.keys`` (unchanged); a ``SigningIdentity`` is
itself a ``signer.Signer``. This module is the backend's entry point beside the others.
"""

from __future__ import annotations

from catalog.cms.keys import SigningIdentity, identity_from_pem, identity_from_pfx
from catalog.errors import CatalogInputError

BACKEND = "file"


def open_file_signer(
    *,
    cert: tuple[bytes, str] | None = None,
    key: tuple[bytes, str] | None = None,
    pfx: tuple[bytes, str] | None = None,
    chain: tuple[bytes, str] | None = None,
    password: bytes | None = None,
) -> SigningIdentity:
    """An in-memory signer from (bytes, source name) pairs: ``cert`` + ``key``, or ``pfx``."""
    chain_data, chain_source = chain if chain is not None else (None, "chain")
    if pfx is not None:
        if cert is not None or key is not None:
            raise CatalogInputError("give either --pfx or --cert with --key, not both")
        return identity_from_pfx(
            pfx[0],
            password=password,
            source=pfx[1],
            chain_pem=chain_data,
            chain_source=chain_source,
        )
    if cert is None or key is None:
        raise CatalogInputError("give --cert and --key (PEM), or --pfx, to sign")
    return identity_from_pem(
        cert[0],
        key[0],
        chain_pem=chain_data,
        password=password,
        cert_source=cert[1],
        key_source=key[1],
        chain_source=chain_source,
    )
