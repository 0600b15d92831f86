"""Open the ``Signer`` that ``--key``/``--cert``/``--pfx``/``--metadata`` name (cms.backends).

The one place that reads the files a backend needs (certificate, chain, metadata) and picks the
backend: a key file (PEM/DER/PFX, unchanged), ``pkcs11:`` token URIs, ``azure-keyvault://`` keys,
``trusted-signing://`` profiles (or ``--metadata``) and ``exec:`` programs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from catalog.cms import (
    KeySigner,
    SignerInputError,
    TokenSource,
    backend_of,
    load_chain,
    open_command_signer_for,
    open_keyvault_signer,
    open_pkcs11_signer,
    open_trusted_signing_signer,
    parse_metadata,
    parse_trusted_signing_uri,
)
from inspector.pipeline.files import read_input
from inspector.pipeline.signing import load_identity

DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class KeyOptions:
    """Where the signing key and its certificate are, as the command line gave them."""

    key: str | None = None
    cert: str | None = None
    pfx: Path | None = None
    chain: Path | None = None
    password: bytes | None = None
    pkcs11_module: str | None = None
    metadata: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    """Seconds one request to a service or one run of an exec: program may take."""


def _cert_file(cert: str | None, backend: str) -> tuple[bytes | None, str]:
    if cert is None or cert.lower().startswith("pkcs11:"):
        return None, "certificate"
    return read_input(Path(cert), "certificate"), cert


def open_signer(
    options: KeyOptions,
    *,
    pin_prompt: Callable[[str], str] | None = None,
    tokens: TokenSource | None = None,
    env: Mapping[str, str] | None = None,
) -> KeySigner:
    """The signer the options name; errors name the backend and the fix."""
    o = options
    backend = backend_of(o.key, metadata=o.metadata is not None)
    if o.cert is not None and o.cert.lower().startswith("pkcs11:") and backend != "pkcs11":
        raise SignerInputError("--cert pkcs11:... needs --key pkcs11:... (same token)")
    if backend == "file":
        return load_identity(
            cert=None if o.cert is None else Path(o.cert),
            key=None if o.key is None else Path(o.key),
            pfx=o.pfx,
            chain=o.chain,
            password=o.password,
        )
    if o.pfx is not None:
        raise SignerInputError(f"--pfx is a key file; it cannot be combined with a {backend} key")
    chain = load_chain(
        None if o.chain is None else read_input(o.chain, "certificate chain"), str(o.chain)
    )
    cert_data, cert_source = _cert_file(o.cert, backend)
    if backend == "pkcs11":
        assert o.key is not None
        return open_pkcs11_signer(
            o.key,
            module=o.pkcs11_module,
            cert_uri=o.cert if cert_data is None else None,
            cert_data=cert_data,
            cert_source=cert_source,
            chain=chain,
            env=env,
            prompt=pin_prompt,
        )
    if backend == "azure-keyvault":
        assert o.key is not None
        return open_keyvault_signer(
            o.key,
            cert_data=cert_data,
            cert_source=cert_source,
            chain=chain,
            tokens=tokens,
            timeout=o.timeout,
        )
    if backend == "trusted-signing":
        if o.metadata is not None:
            if o.key is not None:
                raise SignerInputError("give --metadata or --key trusted-signing://..., not both")
            ref = parse_metadata(read_input(o.metadata, "metadata"), str(o.metadata))
        else:
            assert o.key is not None
            ref = parse_trusted_signing_uri(o.key)
        if cert_data is not None or o.chain is not None:
            raise SignerInputError(
                "trusted-signing: the certificate and its chain come from the service; drop "
                "--cert/--chain"
            )
        return open_trusted_signing_signer(ref, tokens=tokens, timeout=o.timeout)
    assert o.key is not None
    if cert_data is None:
        raise SignerInputError(
            "command: an exec: key needs its certificate: give --cert FILE (+ --chain)"
        )
    return open_command_signer_for(o.key, cert_data, cert_source, chain, timeout=o.timeout)
