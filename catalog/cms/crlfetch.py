"""Fetch CRLs from certificates' distribution points over HTTP(S) (RFC 5280 4.2.1.13): the only
network code of revocation checking (``inspector verify --online``); the rules are pure, in
``catalog.cms.revocation``.

The URLs come from certificates, so an attacker chooses them: only http:// and https:// are
opened (the opener has no file, ftp or data handler at all), redirects stay on http(s) and are
few, every fetch has a deadline, and a body over the size cap is refused without being read whole
(a Content-Length over the cap is refused before reading). A failure is a reason (unreachable,
HTTP status, timed out, too big), never an exception: the caller reports it per certificate.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO

from catalog.cms.revocation import ONLINE_SCHEMES, Fetched

_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Bounds on what certificate-chosen URLs may cost."""

    timeout: float = 10.0
    """Seconds per URL: each network wait, and the body is abandoned once this has passed (so at
    most about twice this in all)."""
    max_bytes: int = 20 * 1024 * 1024
    """A larger CRL is refused (20 MiB: big public CAs' CRLs are a few MiB)."""
    max_urls: int = 16
    """URLs fetched per verification; more are reported as not fetched."""
    max_redirects: int = 3
    parallel: int = 4


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow at most ``max_redirections`` redirects, and only to http(s)."""

    max_redirections = 3
    max_repeats = 3

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not newurl.lower().startswith(ONLINE_SCHEMES):
            raise urllib.error.HTTPError(
                req.full_url, code, f"redirect to a non-http(s) URL {newurl!r} refused", headers, fp
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _redirects(limit: int) -> _Redirects:
    handler = _Redirects()
    # per instance: urllib reads these through self
    vars(handler).update(max_redirections=limit, max_repeats=min(limit, _Redirects.max_repeats))
    return handler


def _opener(limits: FetchLimits) -> urllib.request.OpenerDirector:
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),  # the environment's http(s)_proxy, as admins expect
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        _redirects(limits.max_redirects),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def fetch_crl(url: str, limits: FetchLimits = FetchLimits()) -> Fetched:
    """GET one CRL URL within ``limits``: the body, or why there is none."""
    if not url.lower().startswith(ONLINE_SCHEMES):
        return Fetched(url, failure="skipped: only http and https URLs are fetched")
    deadline = time.monotonic() + limits.timeout
    request = urllib.request.Request(  # noqa: S310 - scheme checked above, opener is http(s) only
        url, headers={"Accept": "application/pkix-crl, */*", "User-Agent": "inspector-crl/1"}
    )
    try:
        with _opener(limits).open(request, timeout=limits.timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > limits.max_bytes:
                return Fetched(url, failure=_too_big(limits, f"Content-Length {declared}"))
            body = bytearray()
            # read1: what one receive gives, so a server dripping bytes meets the deadline
            while chunk := response.read1(_CHUNK):
                body += chunk
                if len(body) > limits.max_bytes:
                    return Fetched(url, failure=_too_big(limits, "the body"))
                if time.monotonic() > deadline:
                    return Fetched(url, failure=f"timed out after {limits.timeout:g} s")
            return Fetched(url, body=bytes(body))
    except urllib.error.HTTPError as exc:
        return Fetched(url, failure=f"HTTP {exc.code} {exc.reason}".rstrip())
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            return Fetched(url, failure=f"timed out after {limits.timeout:g} s")
        return Fetched(url, failure=f"unreachable ({exc.reason})")
    except TimeoutError:
        return Fetched(url, failure=f"timed out after {limits.timeout:g} s")
    except (http.client.HTTPException, OSError) as exc:
        return Fetched(url, failure=f"network error ({type(exc).__name__}: {exc})")
    except ValueError as exc:
        return Fetched(url, failure=f"not a usable URL ({exc})")


def _too_big(limits: FetchLimits, what: str) -> str:
    return f"refused: {what} is over the {limits.max_bytes:,}-byte limit"


def fetch_crls(urls: Sequence[str], limits: FetchLimits = FetchLimits()) -> list[Fetched]:
    """Fetch each URL (a few at a time), in the order given."""
    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(limits.parallel, len(urls)))) as pool:
        return list(pool.map(lambda u: fetch_crl(u, limits), urls))
