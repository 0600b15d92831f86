"""PKCS#11 backend: sign with a key on a token or HSM (RFC 7512 ``pkcs11:`` URIs, as osslsigncode
and jsign take them). The only module that imports python-pkcs11.

``--key 'pkcs11:token=LABEL;object=LABEL?pin-value=1234'``; ``id=%01`` may name the object by
CKA_ID instead. The module comes from ``--pkcs11-module PATH``, ``INSPECTOR_PKCS11_MODULE`` or the
URI's ``module-path``. The PIN from the URI (``pin-value``, or ``pin-source=file:/path``), else the
``INSPECTOR_PKCS11_PIN`` environment variable, else a prompt (interactive runs only); it is never
put in a message: URIs are shown without their query. The certificate is the ``--cert`` file, or
a certificate object on the token (``--cert pkcs11:...``, or by default the one with the key's
label/id). The token signs with CKM_RSA_PKCS over a DER DigestInfo (RFC 8017 9.2), so the digest
is computed here and the token never sees the content.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import pkcs11
from cryptography import x509
from pkcs11 import exceptions as p11e

from catalog.cms.keys import UnsupportedKeyError, load_certificates, order_chain
from catalog.cms.signer import (
    DIGEST_INFO_PREFIX,
    RemoteSigner,
    SignerEnvironmentError,
    SignerInputError,
)

BACKEND = "pkcs11"
MODULE_ENV = "INSPECTOR_PKCS11_MODULE"
PIN_ENV = "INSPECTOR_PKCS11_PIN"
PinPrompt = Callable[[str], str]

_PATH_ATTRS = frozenset(
    {
        "token",
        "object",
        "id",
        "type",
        "manufacturer",
        "serial",
        "model",
        "library-manufacturer",
        "library-description",
        "library-version",
        "slot-id",
        "slot-manufacturer",
        "slot-description",
    }
)
_QUERY_ATTRS = frozenset({"pin-value", "pin-source", "module-name", "module-path"})


@dataclass(frozen=True, slots=True)
class Pkcs11Uri:
    """The attributes of an RFC 7512 URI, percent-decoded (``id`` stays bytes)."""

    path: tuple[tuple[str, bytes], ...]
    query: tuple[tuple[str, bytes], ...]

    def get(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value is None else value.decode("utf-8", "replace")

    def raw(self, name: str) -> bytes | None:
        for key, value in (*self.path, *self.query):
            if key == name:
                return value
        return None

    @property
    def display(self) -> str:
        """The URI without its query (where the PIN is): safe to print."""
        return "pkcs11:" + ";".join(f"{k}={_show(v)}" for k, v in self.path)


def _show(value: bytes) -> str:
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return "".join(f"%{b:02x}" for b in value)
    return text if text.isprintable() else "".join(f"%{b:02x}" for b in value)


def parse_uri(uri: str) -> Pkcs11Uri:
    """Split ``pkcs11:path?query`` (RFC 7512 2.3); unknown or repeated attributes are refused."""
    if not uri.lower().startswith("pkcs11:"):
        raise SignerInputError(f"{BACKEND}: {uri[:40]!r} is not a pkcs11: URI")
    body = uri[len("pkcs11:") :]
    path_text, _, query_text = body.partition("?")

    def split(text: str, sep: str, allowed: frozenset[str]) -> tuple[tuple[str, bytes], ...]:
        out: list[tuple[str, bytes]] = []
        for part in filter(None, text.split(sep)):
            name, eq, value = part.partition("=")
            name = name.strip().lower()
            if not eq or name not in allowed:
                shown = name if name in _PATH_ATTRS | _QUERY_ATTRS else name[:20]
                raise SignerInputError(
                    f"{BACKEND}: URI attribute {shown!r} is not understood; use e.g. "
                    "pkcs11:token=NAME;object=KEY?pin-source=file:/path/to/pin (RFC 7512)"
                )
            if any(k == name for k, _ in out):
                raise SignerInputError(f"{BACKEND}: URI attribute {name!r} given twice")
            out.append((name, unquote_to_bytes(value)))
        return tuple(out)

    return Pkcs11Uri(split(path_text, ";", _PATH_ATTRS), split(query_text, "&", _QUERY_ATTRS))


def _pin(uri: Pkcs11Uri, env: Mapping[str, str], prompt: PinPrompt | None) -> str:
    value = uri.get("pin-value")
    if value is not None:
        return value
    source = uri.get("pin-source")
    if source is not None:
        path = source[len("file:") :] if source.startswith("file:") else source
        try:
            return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SignerEnvironmentError(
                f"{BACKEND}: cannot read the PIN file named by pin-source ({exc.strerror}); "
                "check the path"
            ) from None
    if env.get(PIN_ENV):
        return env[PIN_ENV]
    if prompt is not None:
        return prompt(f"PIN for {uri.display}")
    raise SignerEnvironmentError(
        f"{BACKEND}: no PIN for {uri.display}; add ?pin-source=file:PATH to the URI, set "
        f"{PIN_ENV}, or run interactively to be prompted"
    )


def _module(uri: Pkcs11Uri, module: str | None, env: Mapping[str, str]) -> str:
    chosen = module or env.get(MODULE_ENV) or uri.get("module-path")
    if not chosen:
        raise SignerInputError(
            f"{BACKEND}: no PKCS#11 module; give --pkcs11-module PATH or set {MODULE_ENV} "
            "(e.g. /usr/lib/softhsm/libsofthsm2.so for SoftHSM2)"
        )
    if not Path(chosen).is_file():
        raise SignerEnvironmentError(
            f"{BACKEND}: PKCS#11 module {chosen} not found; install the token's middleware or "
            "fix --pkcs11-module"
        )
    return chosen


def _token(lib: Any, uri: Pkcs11Uri) -> Any:
    label = uri.get("token")
    serial = uri.raw("serial")
    try:
        tokens = list(lib.get_tokens(token_label=label, token_serial=serial))
    except p11e.PKCS11Error as exc:
        raise SignerEnvironmentError(
            f"{BACKEND}: listing tokens failed ({type(exc).__name__}); is the token plugged in?"
        ) from None
    if not tokens:
        raise SignerEnvironmentError(
            f"{BACKEND}: no token matches {uri.display}; list them with "
            "'pkcs11-tool --module MODULE --list-token-slots' and fix token=..."
        )
    if len(tokens) > 1:
        raise SignerInputError(
            f"{BACKEND}: {len(tokens)} tokens match {uri.display}; add token=LABEL or serial=..."
        )
    return tokens[0]


def _find(session: Any, object_class: Any, uri: Pkcs11Uri, what: str, token: str) -> Any:
    attrs: dict[Any, Any] = {pkcs11.Attribute.CLASS: object_class}
    if uri.get("object") is not None:
        attrs[pkcs11.Attribute.LABEL] = uri.get("object")
    if uri.raw("id") is not None:
        attrs[pkcs11.Attribute.ID] = uri.raw("id")
    found = list(session.get_objects(attrs))
    if len(found) > 1:
        raise SignerInputError(
            f"{BACKEND}: {len(found)} {what} objects match {uri.display} on token {token!r}; "
            "add object=LABEL or id=..."
        )
    return found[0] if found else None


def open_pkcs11_signer(
    key_uri: str,
    *,
    module: str | None = None,
    cert_uri: str | None = None,
    cert_data: bytes | None = None,
    cert_source: str = "certificate",
    chain: tuple[x509.Certificate, ...] = (),
    env: Mapping[str, str] | None = None,
    prompt: PinPrompt | None = None,
) -> RemoteSigner:
    """Log in to the token named by ``key_uri`` and return a signer for its RSA private key."""
    environ = os.environ if env is None else env
    uri = parse_uri(key_uri)
    if uri.get("object") is None and uri.raw("id") is None:
        raise SignerInputError(f"{BACKEND}: {uri.display} names no object; add object=LABEL")
    module_path = _module(uri, module, environ)
    try:
        lib = pkcs11.lib(module_path)
    except (p11e.PKCS11Error, OSError, RuntimeError) as exc:
        raise SignerEnvironmentError(
            f"{BACKEND}: cannot load PKCS#11 module {module_path} ({type(exc).__name__}); check "
            "it is the token's PKCS#11 library for this machine"
        ) from None
    token = _token(lib, uri)
    label = str(token.label).strip()
    pin = _pin(uri, environ, prompt)
    try:
        session = token.open(user_pin=pin)
    except p11e.PinIncorrect:
        raise SignerEnvironmentError(
            f"{BACKEND}: wrong PIN for token {label!r}; check pin-value/pin-source or {PIN_ENV} "
            "(tokens lock after a few wrong PINs)"
        ) from None
    except p11e.PinLocked:
        raise SignerEnvironmentError(
            f"{BACKEND}: the PIN of token {label!r} is locked; unlock it with the SO PIN"
        ) from None
    except (p11e.PinLenRange, p11e.PinInvalid):
        raise SignerEnvironmentError(
            f"{BACKEND}: the PIN for token {label!r} has an invalid length or characters"
        ) from None
    except p11e.PKCS11Error as exc:
        raise SignerEnvironmentError(
            f"{BACKEND}: cannot log in to token {label!r} ({type(exc).__name__})"
        ) from None
    key = _find(session, pkcs11.ObjectClass.PRIVATE_KEY, uri, "private key", label)
    if key is None:
        raise SignerEnvironmentError(
            f"{BACKEND}: token {label!r} has no private key matching {uri.display}; list its "
            "objects with 'pkcs11-tool --module MODULE --login --list-objects' and fix object=..."
        )
    if key.key_type != pkcs11.KeyType.RSA:
        raise UnsupportedKeyError(
            f"{BACKEND}: the key {uri.display} is {key.key_type.name}, not RSA; WDAC signer rules "
            "only work with RSA 2048/3072/4096"
        )
    if cert_data is not None:
        certs = load_certificates(cert_data, cert_source)
        leaf = certs[0]
        extra = (*certs[1:], *chain)
        where = cert_source
    else:
        cert_ref = parse_uri(cert_uri) if cert_uri is not None else uri
        found = _find(session, pkcs11.ObjectClass.CERTIFICATE, cert_ref, "certificate", label)
        if found is None:
            raise SignerEnvironmentError(
                f"{BACKEND}: token {label!r} holds no certificate matching {cert_ref.display}; "
                "give the certificate file with --cert, or import it onto the token "
                "(pkcs11-tool --write-object CERT.der --type cert --label ...)"
            )
        leaf = x509.load_der_x509_certificate(bytes(found[pkcs11.Attribute.VALUE]))
        extra = chain
        where = cert_ref.display
    source = f"{uri.display} via {Path(module_path).name}"

    def operation(digest: bytes, hash_name: str) -> bytes:
        try:
            signature: bytes = key.sign(
                DIGEST_INFO_PREFIX[hash_name] + digest, mechanism=pkcs11.Mechanism.RSA_PKCS
            )
        except p11e.PKCS11Error as exc:
            raise SignerEnvironmentError(
                f"{BACKEND}: token {label!r} refused to sign ({type(exc).__name__}); check the "
                "key allows signing (CKA_SIGN) and the session is still open"
            ) from None
        return signature

    return RemoteSigner(
        backend=BACKEND,
        source=source,
        certificate=leaf,
        chain=order_chain(leaf, extra, where),
        operation=operation,
        fix=f"the certificate ({where}) does not belong to the key; give the matching --cert",
    )
