"""The hasher on the project's own PE fixtures, against independent oracles (formats.md 1-3, 7).

Oracles: osslsigncode 2.9 (``extract-data -ph`` recomputes the Authenticode digest and the page
table; ``extract-signature`` returns the digest and table written at signing time),
``sha1sum``/``sha256sum`` (flat hashes) and the windres inputs in fixtures/src/*.rc (version
strings). Every fixture has SectionAlignment 0x1000, where osslsigncode's page size (it uses
SectionAlignment) equals Windows' 4096 (formats.md 2.1); ``test_fixture_preconditions`` checks it.
The DER that osslsigncode writes is walked with a small TLV reader here, independent of catalog/.
"""

from __future__ import annotations

import functools
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from asn1crypto import core

from catalog.pe.hashing import HashOptions, hash_buffer, hash_file
from catalog.pe.page_hashes import table_bytes
from catalog.records import FileKind, HashAlgorithm
from fixtures.generate import SIGNED
from tests.conftest import FIXTURES, require_tool
from tests.support.catalog_fixtures_vs_osslsigncode import (
    ALL_PES,
    PE_DIR,
    SIGNED_NAMES,
    UNSIGNED,
    digests,
)

ALGS = (HashAlgorithm.SHA1, HashAlgorithm.SHA256)

OID_SPC_INDIRECT_DATA = "1.3.6.1.4.1.311.2.1.4"
OID_SPC_PE_IMAGE_DATA = "1.3.6.1.4.1.311.2.1.15"
OID_PAGE_HASHES = {
    HashAlgorithm.SHA1: "1.3.6.1.4.1.311.2.3.1",
    HashAlgorithm.SHA256: "1.3.6.1.4.1.311.2.3.2",
}
OID_DIGEST = {HashAlgorithm.SHA1: "1.3.14.3.2.26", HashAlgorithm.SHA256: "2.16.840.1.101.3.4.2.1"}

HEADER_ONLY = {"many-sections.exe"}


# --- a tiny DER reader (tag, content) -- enough for SpcIndirectDataContent -------------------


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int
    raw: bytes
    """The whole TLV (tag, length, content)."""
    content: bytes

    def children(self) -> list[Tlv]:
        out: list[Tlv] = []
        pos = 0
        while pos < len(self.content):
            item = read_tlv(self.content, pos)
            out.append(item)
            pos += len(item.raw)
        return out

    def oid(self) -> str:
        assert self.tag == 0x06, f"expected an OID, got tag {self.tag:#x}"
        return str(core.ObjectIdentifier.load(self.raw).dotted)


def read_tlv(buf: bytes, pos: int = 0) -> Tlv:
    tag = buf[pos]
    assert tag & 0x1F != 0x1F, "high tag numbers do not occur in these structures"
    length = buf[pos + 1]
    head = 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(buf[pos + 2 : pos + 2 + count], "big")
        head += count
    end = pos + head + length
    assert end <= len(buf), "DER runs past its buffer"
    return Tlv(tag, buf[pos:end], buf[pos + head : end])


@dataclass(frozen=True, slots=True)
class SpcDigest:
    """What an SpcIndirectDataContent says: digest algorithm OID, digest, page-hash table."""

    digest_oid: str
    digest: bytes
    table_oid: str | None
    table: bytes | None


def parse_spc_from_pkcs7(der: bytes) -> SpcDigest:
    """ContentInfo(SignedData(contentInfo = SpcIndirectDataContent)) -> its fields."""
    content_info = read_tlv(der)
    signed_data = content_info.children()[1].children()[0]
    encap = signed_data.children()[2]
    oid, explicit = encap.children()
    assert oid.oid() == OID_SPC_INDIRECT_DATA
    data, digest_info = explicit.children()[0].children()
    algorithm, digest = digest_info.children()
    data_oid, image_data = data.children()
    assert data_oid.oid() == OID_SPC_PE_IMAGE_DATA
    table_oid = table = None
    parts = image_data.children()
    if len(parts) > 1:
        link = parts[1].children()[0]  # [0] EXPLICIT SpcLink
        if link.tag == 0xA1:  # moniker: SpcSerializedObject with the page-hash table
            _class_id, serialized = link.children()
            attribute = read_tlv(serialized.content).children()[0]  # SET -> SEQUENCE
            type_oid, values = attribute.children()
            table_oid = type_oid.oid()
            table = values.children()[0].content
    return SpcDigest(algorithm.children()[0].oid(), digest.content, table_oid, table)


# --- oracles ----------------------------------------------------------------------------------


@functools.cache
def ossl_extract(name: str, alg: HashAlgorithm, page_hashes: bool = True) -> SpcDigest | None:
    """osslsigncode's own digest (and page table) of a fixture; None when it refuses."""
    exe = require_tool("osslsigncode")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "data.der"
        ph = ["-ph"] if page_hashes else []
        proc = subprocess.run(
            [
                exe,
                "extract-data",
                "-h",
                alg.value,
                *ph,
                "-in",
                str(PE_DIR / name),
                "-out",
                str(out),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not out.is_file():
            return None
        return parse_spc_from_pkcs7(out.read_bytes())


@functools.cache
def embedded_signature(name: str) -> SpcDigest:
    """The SpcIndirectDataContent osslsigncode wrote into a signed fixture when it signed it."""
    exe = require_tool("osslsigncode")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sig.der"
        subprocess.run(
            [exe, "extract-signature", "-in", str(PE_DIR / name), "-out", str(out)],
            capture_output=True,
            check=True,
        )
        return parse_spc_from_pkcs7(out.read_bytes())


def sum_tool(tool: str, path: Path) -> bytes:
    exe = require_tool(tool)
    out = subprocess.run([exe, str(path)], capture_output=True, text=True, check=True).stdout
    return bytes.fromhex(out.split()[0])


def signed_spec(name: str) -> tuple[str, HashAlgorithm]:
    spec = next(s for s in SIGNED if s.name == name)
    return spec.base, HashAlgorithm.parse(spec.digest)


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.value)
@pytest.mark.parametrize("name", ALL_PES)
def test_authenticode_digest_equals_osslsigncode(name: str, alg: HashAlgorithm) -> None:
    oracle = ossl_extract(name, alg, page_hashes=name not in HEADER_ONLY)
    assert oracle is not None, f"osslsigncode could not digest {name}"
    assert oracle.digest_oid == OID_DIGEST[alg]
    result = digests(name)
    assert result.kind is FileKind.PE, result.reason
    assert result.authenticode(alg) == oracle.digest
    assert result.sip_digest(alg) == oracle.digest
    # The pure entry point agrees with the file entry point on the same oracle.
    assert hash_buffer((PE_DIR / name).read_bytes()).authenticode(alg) == oracle.digest


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.value)
@pytest.mark.parametrize("name", [n for n in ALL_PES if n not in HEADER_ONLY])
def test_page_table_equals_osslsigncode(name: str, alg: HashAlgorithm) -> None:
    oracle = ossl_extract(name, alg)
    assert oracle is not None
    assert oracle.table is not None, "osslsigncode wrote no page-hash table"
    assert oracle.table_oid == OID_PAGE_HASHES[alg]  # V1 for SHA1, V2 for SHA256
    table = digests(name).page_table(alg)
    assert table is not None, digests(name).page_hash_note
    assert table.algorithm is alg
    assert table_bytes(table) == oracle.table
    assert table.entries[0][0] == 0
    assert table.first_page == oracle.table[4 : 4 + alg.digest_size]
    assert digests(name).first_page_hash(alg) == table.first_page


@pytest.mark.parametrize("name", sorted(HEADER_ONLY))
def test_headers_over_one_page_get_no_page_hashes(name: str) -> None:
    """formats.md 2.2: no page hashes when SizeOfHeaders > 4096; the image hash is unaffected."""
    data = (PE_DIR / name).read_bytes()
    (e_lfanew,) = struct.unpack_from("<I", data, 0x3C)
    (size_of_headers,) = struct.unpack_from("<I", data, e_lfanew + 24 + 60)
    assert size_of_headers > 4096
    for alg in ALGS:
        assert ossl_extract(name, alg) is None  # osslsigncode refuses page hashes as well
        oracle = ossl_extract(name, alg, page_hashes=False)
        assert oracle is not None
        result = digests(name)
        assert result.authenticode(alg) == oracle.digest
        assert result.page_table(alg) is None
    note = digests(name).page_hash_note
    assert note is not None
    assert "SizeOfHeaders" in note


@pytest.mark.parametrize("name", SIGNED_NAMES)
def test_signing_changes_neither_image_hash_nor_page_hashes(name: str) -> None:
    base, _alg = signed_spec(name)
    signed, unsigned = digests(name), digests(base)
    assert signed.signed
    assert not unsigned.signed
    for alg in ALGS:
        base_oracle = ossl_extract(base, alg)
        signed_oracle = ossl_extract(name, alg)
        assert base_oracle is not None
        assert signed_oracle is not None
        # The oracle agrees with itself across signing, and the hasher agrees with both.
        assert signed_oracle.digest == base_oracle.digest
        assert signed.authenticode(alg) == unsigned.authenticode(alg) == base_oracle.digest
        assert base_oracle.table is not None
        assert signed.first_page_hash(alg) == unsigned.first_page_hash(alg)
        assert signed.first_page_hash(alg) == base_oracle.table[4 : 4 + alg.digest_size]
        table, base_table = signed.page_table(alg), unsigned.page_table(alg)
        assert table is not None
        assert base_table is not None
        assert table_bytes(table) == table_bytes(base_table) == base_oracle.table
    # Flat hashes do change: the signature is in the file.
    assert signed.flat_sha256 != unsigned.flat_sha256


@pytest.mark.parametrize("name", SIGNED_NAMES)
def test_embedded_signature_decoded_as_written(name: str) -> None:
    """The digest and table inside each signature, as osslsigncode wrote them at signing time."""
    _base, alg = signed_spec(name)
    oracle = embedded_signature(name)
    assert oracle.digest_oid == OID_DIGEST[alg]
    assert oracle.table_oid == OID_PAGE_HASHES[alg]
    assert oracle.table is not None
    signature = digests(name).signature
    assert signature is not None, digests(name).signature_note
    assert signature.digest_algorithm == alg.value
    assert signature.digest == oracle.digest
    # ... and what the signature claims is what the file hashes to.
    assert digests(name).authenticode(alg) == oracle.digest
    assert signature.page_hashes is not None
    assert signature.page_hashes.algorithm is alg
    assert table_bytes(signature.page_hashes) == oracle.table


@pytest.mark.parametrize("name", UNSIGNED)
def test_unsigned_fixtures_have_no_signature(name: str) -> None:
    result = digests(name)
    assert not result.signed
    assert result.signature is None
    # osslsigncode agrees that there is nothing to extract.
    exe = require_tool("osslsigncode")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [exe, "extract-signature", "-in", str(PE_DIR / name), "-out", f"{tmp}/sig.der"],
            capture_output=True,
            check=False,
        )
    assert proc.returncode != 0


@pytest.mark.parametrize("name", SIGNED_NAMES)
def test_signed_fixtures_verify_with_the_committed_pki(name: str) -> None:
    """Fixture sanity: the committed signed copies and fixtures/pki/ belong together."""
    exe = require_tool("osslsigncode")
    pki = FIXTURES / "pki"
    proc = subprocess.run(
        [
            exe,
            "verify",
            "-CAfile",
            str(pki / "root-ca.pem"),
            "-TSA-CAfile",
            str(pki / "root-ca.pem"),
            "-ignore-crl",
            "-in",
            str(PE_DIR / name),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", ALL_PES)
def test_flat_hashes_equal_sha_sums(name: str) -> None:
    result = digests(name)
    path = PE_DIR / name
    assert result.flat_sha1 == sum_tool("sha1sum", path)
    assert result.flat_sha256 == sum_tool("sha256sum", path)
    assert result.size == path.stat().st_size


@pytest.mark.parametrize("chunk", [1000, 4096])
def test_chunked_reading_matches_osslsigncode(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bounded-memory path for big files (forced here on small ones, with odd chunk sizes
    that split headers, pages and the certificate table) gives osslsigncode's values too.
    Chunks stay smaller than every fixture: that path is only taken for files over 64 MiB."""
    import catalog.pe.hashing as hashing_module

    monkeypatch.setattr(hashing_module, "SMALL_FILE_LIMIT", 0)
    monkeypatch.setattr(hashing_module, "CHUNK_SIZE", chunk)
    for name in ALL_PES:
        result = hash_file(PE_DIR / name, HashOptions())
        assert result == digests(name), name  # same record as the one-read path ...
        for alg in ALGS:
            oracle = ossl_extract(name, alg, page_hashes=name not in HEADER_ONLY)
            assert oracle is not None
            assert result.authenticode(alg) == oracle.digest, name  # ... and the oracle's digest
            table = result.page_table(alg)
            assert (table_bytes(table) if table else None) == oracle.table, name


# --- the test PKI, as openssl sees the committed files ----------------------------------------

PKI_VERDICTS = {
    "leaf": "OK",
    "leaf-rsa3072": "OK",
    "leaf-rsa4096": "OK",
    "leaf-no-codesign-eku": "OK",
    "leaf-ecdsa-p256": "OK",
    "leaf-rsa1024": "OK",
    "tsa": "OK",
    "leaf-expired": "certificate has expired",
    "leaf-not-yet-valid": "certificate is not yet valid",
}


@pytest.mark.parametrize("stem", sorted(PKI_VERDICTS))
def test_pki_chain_verdicts_by_openssl(stem: str) -> None:
    exe = require_tool("openssl")
    pki = FIXTURES / "pki"
    proc = subprocess.run(
        [
            exe,
            "verify",
            "-CAfile",
            str(pki / "root-ca.pem"),
            "-untrusted",
            str(pki / "issuing-ca.pem"),
            str(pki / f"{stem}.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert PKI_VERDICTS[stem] in proc.stdout + proc.stderr
    assert (proc.returncode == 0) == (PKI_VERDICTS[stem] == "OK")


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("leaf", ("Extended Key Usage:", "Code Signing", "Digital Signature")),
        ("tsa", ("Extended Key Usage: critical", "Time Stamping")),
        ("leaf-no-codesign-eku", ("TLS Web Server Authentication",)),
        ("leaf-ecdsa-p256", ("prime256v1",)),
        ("leaf-rsa1024", ("Public-Key: (1024 bit)",)),
        ("leaf-rsa4096", ("Public-Key: (4096 bit)",)),
        ("root-ca", ("CA:TRUE", "Public-Key: (3072 bit)")),
        ("issuing-ca", ("CA:TRUE, pathlen:0", "Public-Key: (3072 bit)")),
    ],
)
def test_pki_certificate_contents_by_openssl(stem: str, expected: tuple[str, ...]) -> None:
    exe = require_tool("openssl")
    text = subprocess.run(
        [exe, "x509", "-noout", "-text", "-in", str(FIXTURES / "pki" / f"{stem}.pem")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for item in expected:
        assert item in text, f"{stem}: {item!r} missing"
    if stem != "leaf-no-codesign-eku" and stem.startswith("leaf"):
        assert "Not Before: Jan  1 00:00:00 2024 GMT" in text
        assert "Not After : Jan  1 00:00:00 2046 GMT" in text


def test_pki_pfx_and_key_pairs_by_openssl() -> None:
    """leaf.pfx opens with the documented password; each key matches its certificate except the
    deliberately wrong one (openssl compares the public keys)."""
    exe = require_tool("openssl")
    pki = FIXTURES / "pki"
    pfx = subprocess.run(
        [exe, "pkcs12", "-in", str(pki / "leaf.pfx"), "-passin", "pass:inspector-test", "-nokeys"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert pfx.count("BEGIN CERTIFICATE") == 3

    def public_key(*args: str) -> str:
        return subprocess.run(
            [exe, *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    for stem in (*PKI_VERDICTS, "root-ca", "issuing-ca", "leaf-wrong-key"):
        from_cert = public_key("x509", "-noout", "-pubkey", "-in", str(pki / f"{stem}.pem"))
        from_key = public_key("pkey", "-pubout", "-in", str(pki / f"{stem}.key.pem"))
        assert (from_cert == from_key) == (stem != "leaf-wrong-key"), stem
