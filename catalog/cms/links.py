"""One link of a certificate chain: was ``child`` signed with ``parent``'s key?

Checked with the public key directly rather than cryptography's ``verify_directly_issued_by``:
OpenSSL 3 refuses SHA-1 certificate signatures there, and Microsoft's older PCAs (2006-2011),
which still sign files Windows accepts, are SHA-1 signed. Names are the caller's business.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa


def signature_verifies(child_der: bytes, parent_der: bytes) -> bool:
    """``child``'s signature verifies with ``parent``'s public key (RSA PKCS#1 v1.5 or ECDSA)."""
    try:
        child = x509.load_der_x509_certificate(child_der)
        key = x509.load_der_x509_certificate(parent_der).public_key()
        algorithm = child.signature_hash_algorithm
        if algorithm is None:
            return False
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(child.signature, child.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(child.signature, child.tbs_certificate_bytes, ec.ECDSA(algorithm))
        else:
            return False
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True
