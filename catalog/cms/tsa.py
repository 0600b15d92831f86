"""RFC 3161 timestamp servers tried in order (``--timestamp URL``, repeatable; formats.md 6.1).

Each server gets a SHA-256 TimeStampReq for the SignerInfo's encryptedDigest; the first reply
that verifies (``timestamp.parse_response``: status, token signature, imprint, nonce, TSA EKU) is
used. A server that is down, silent, refuses or answers with a token that does not verify is
skipped; when all fail, the error lists each server and why, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from catalog.cms.timestamp import Rfc3161Timestamper, Transport, http_transport
from catalog.errors import CatalogEnvironmentError, CatalogVerificationError


class TimestampUnavailableError(CatalogEnvironmentError):
    """No timestamp server gave a valid token."""


@dataclass(frozen=True, slots=True)
class TimestampServers:
    """A ``signed_data.Timestamper`` trying ``urls`` in order."""

    urls: tuple[str, ...]
    transport: Transport = http_transport

    def __call__(self, encrypted_digest: bytes) -> bytes:
        failures: list[str] = []
        for url in self.urls:
            try:
                return Rfc3161Timestamper(url, self.transport)(encrypted_digest)
            except (CatalogEnvironmentError, CatalogVerificationError) as exc:
                failures.append(str(exc))
        raise TimestampUnavailableError(
            "no timestamp server gave a valid RFC 3161 token: "
            + " | ".join(failures or ["no --timestamp URL given"])
            + "; try again later or add another --timestamp URL"
        )


def timestamp_servers(
    urls: Sequence[str], transport: Transport = http_transport
) -> TimestampServers | None:
    """The timestamper for ``urls`` (duplicates dropped, order kept); None when there are none."""
    unique = tuple(dict.fromkeys(u.strip() for u in urls if u.strip()))
    return TimestampServers(unique, transport) if unique else None
