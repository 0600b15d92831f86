"""Command backend: ``--key exec:PROGRAM [ARGS]`` signs through any external program.

The escape hatch for HSMs and KMSs that have no other backend here (the idea of git's
``gpg.program``). For each signature the program is run once with one line on stdin::

    sha256 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08

(the digest algorithm, a space, the digest in hex; the content itself is never sent) and must
print the RSASSA-PKCS1-v1_5 signature of that digest on stdout, in hex or base64 (whitespace
ignored), then exit 0. It runs without a shell, with a time limit (``--sign-timeout``); on a
non-zero exit or a time-out its stderr is shown. The certificate comes from ``--cert`` (+
``--chain``); every signature is checked against it before it is used.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import shlex
import subprocess
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from catalog.cms.keys import load_certificates, order_chain
from catalog.cms.signer import RemoteSigner, SignerEnvironmentError, SignerInputError

BACKEND = "command"
DEFAULT_TIMEOUT = 60.0
_STDERR_SHOWN = 2000


def parse_command(key: str) -> tuple[str, ...]:
    """``exec:PROGRAM ARGS`` -> argv (POSIX shell quoting, no shell)."""
    text = key[len("exec:") :].strip()
    try:
        argv = tuple(shlex.split(text))
    except ValueError as exc:
        raise SignerInputError(f"{BACKEND}: cannot split {text!r} into arguments: {exc}") from None
    if not argv:
        raise SignerInputError(f"{BACKEND}: exec: names no program; use --key 'exec:PROGRAM ARGS'")
    return argv


def decode_signature(text: bytes, size: int) -> bytes | None:
    """The signature printed as hex or base64; None when it is neither.

    Hex digits are valid base64 too: the form that gives the key's ``size`` wins, else hex.
    (A signature of another size is then refused by the certificate check, as a wrong key.)
    """
    compact = b"".join(text.split())
    if not compact:
        return None
    candidates: list[bytes] = []
    with contextlib.suppress(binascii.Error):
        candidates.append(binascii.unhexlify(compact))
    with contextlib.suppress(binascii.Error):
        candidates.append(base64.b64decode(compact, validate=True))
    sized = [c for c in candidates if len(c) == size]
    chosen = sized or candidates
    return chosen[0] if chosen else None


def _tail(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text[-_STDERR_SHOWN:] if text else "(nothing on stderr)"


@dataclass(frozen=True, slots=True)
class _Command:
    argv: tuple[str, ...]
    size: int
    timeout: float

    def __call__(self, digest: bytes, hash_name: str) -> bytes:
        line = f"{hash_name} {digest.hex().upper()}\n".encode()
        program = self.argv[0]
        try:
            done = subprocess.run(
                self.argv, input=line, capture_output=True, timeout=self.timeout, check=False
            )
        except FileNotFoundError:
            raise SignerEnvironmentError(
                f"{BACKEND}: program {program!r} not found; give its full path in --key exec:..."
            ) from None
        except PermissionError:
            raise SignerEnvironmentError(
                f"{BACKEND}: program {program!r} is not executable; chmod +x it"
            ) from None
        except subprocess.TimeoutExpired as exc:
            raise SignerEnvironmentError(
                f"{BACKEND}: {program!r} did not answer within {self.timeout:g} s (killed); "
                f"its stderr: {_tail(exc.stderr or b'')}; raise --sign-timeout or fix the program"
            ) from None
        if done.returncode != 0:
            raise SignerEnvironmentError(
                f"{BACKEND}: {program!r} failed (exit {done.returncode}); its stderr: "
                f"{_tail(done.stderr)}"
            )
        signature = decode_signature(done.stdout, self.size)
        if signature is None:
            raise SignerEnvironmentError(
                f"{BACKEND}: {program!r} printed no {self.size}-byte signature in hex or base64 "
                f"({len(done.stdout)} bytes on stdout); it must print only the signature"
            )
        return signature


def open_command_signer_for(
    key: str,
    cert_data: bytes,
    cert_source: str,
    chain: tuple[x509.Certificate, ...],
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> RemoteSigner:
    """``open_command_signer`` for a certificate file's bytes (+ its CAs, in any order)."""
    certs = load_certificates(cert_data, cert_source)
    ordered = order_chain(certs[0], (*certs[1:], *chain), cert_source)
    return open_command_signer(key, certs[0], ordered, timeout=timeout)


def open_command_signer(
    key: str,
    certificate: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> RemoteSigner:
    """A signer running ``exec:PROGRAM`` for each digest, for ``certificate``'s key."""
    argv = parse_command(key)
    public_key = certificate.public_key()
    size = (public_key.key_size + 7) // 8 if isinstance(public_key, rsa.RSAPublicKey) else 0
    return RemoteSigner(
        backend=BACKEND,
        source=f"exec:{argv[0]}",
        certificate=certificate,
        chain=chain,
        operation=_Command(argv, size, timeout),
        fix="the program signs with another key than the certificate's; fix --cert or the program",
    )
