"""cdf.writer: exact text for a small model, oracle render+reparse, parse(render(x)) == x."""

from __future__ import annotations

import base64
import codecs

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdf.errors import CdfInputError
from cdf.model import CatalogDefinition, CdfAttribute, CdfMember
from cdf.parser import parse
from cdf.writer import render, render_bytes

FLAT = "{DE351A42-8E59-11D0-8C47-00C04FC295EE}"

GOLDEN_MODEL = CatalogDefinition(
    name="golden.cat",
    result_dir="out",
    public_version=1,
    catalog_version=2,
    hash_algorithms=("SHA256",),
    page_hashes=True,
    encoding_type=0x00010001,
    attributes=(CdfAttribute(1, 0x10010001, "OSAttr", "2:6.2"),),
    members=(
        CdfMember(
            "C:\\App\\app.exe",
            "C:\\App\\app.exe",
            attributes=(CdfAttribute(1, 0x11010001, "File", "app.exe"),),
        ),
        CdfMember("script", "..\\files\\s.ps1", alt_sip_id=FLAT),
        CdfMember("plain", "p.txt", hashed=False),
    ),
)

# Hand-written: the layout promised in cdf/writer.py's docstring, CRLF everywhere, final newline.
GOLDEN_TEXT = (
    b"[CatalogHeader]\r\n"
    b"Name=golden.cat\r\n"
    b"ResultDir=out\r\n"
    b"PublicVersion=1\r\n"
    b"CatalogVersion=2\r\n"
    b"HashAlgorithms=SHA256\r\n"
    b"PageHashes=true\r\n"
    b"EncodingType=0x00010001\r\n"
    b"CATATTR1=0x10010001:OSAttr:2:6.2\r\n"
    b"\r\n"
    b"[CatalogFiles]\r\n"
    b"<HASH>C:\\App\\app.exe=C:\\App\\app.exe\r\n"
    b"<HASH>C:\\App\\app.exeATTR1=0x11010001:File:app.exe\r\n"
    b"<HASH>script=..\\files\\s.ps1\r\n"
    b"<HASH>scriptALTSIPID={DE351A42-8E59-11D0-8C47-00C04FC295EE}\r\n"
    b"plain=p.txt\r\n"
)


def test_golden_text() -> None:
    assert render_bytes(GOLDEN_MODEL) == GOLDEN_TEXT
    assert render(GOLDEN_MODEL) == GOLDEN_TEXT.decode("ascii")


def test_golden_minimal() -> None:
    assert render_bytes(CatalogDefinition()) == b"[CatalogHeader]\r\n\r\n[CatalogFiles]\r\n"
    v1 = CatalogDefinition(catalog_version=1, page_hashes=False, encoding_type=0)
    assert render_bytes(v1) == (
        b"[CatalogHeader]\r\nCatalogVersion=1\r\nPageHashes=false\r\n"
        b"EncodingType=0x00000000\r\n\r\n[CatalogFiles]\r\n"
    )


def test_non_ascii_is_utf8_without_bom() -> None:
    model = CatalogDefinition(members=(CdfMember("ü", "C:\\ü.exe"),))
    data = render_bytes(model)
    assert not data.startswith(codecs.BOM_UTF8)
    assert b"<HASH>\xc3\xbc=C:\\\xc3\xbc.exe\r\n" in data


def test_render_refuses_problems() -> None:
    with pytest.raises(CdfInputError, match="contains '='"):
        render(CatalogDefinition(members=(CdfMember("a=b", "x"),)))


# ---- generated models -------------------------------------------------------------------------

_CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00")
_TEXT = st.text(_CHARS, min_size=1, max_size=12).map(lambda s: s.strip(" \t")).filter(bool)
_TAG = _TEXT.filter(lambda s: "=" not in s)
_VALUE = st.text(_CHARS, max_size=12).map(lambda s: s.rstrip(" \t"))
_OID = st.lists(st.integers(0, 2**40), min_size=1, max_size=6).map(
    lambda xs: "1." + ".".join(str(x) for x in xs)
)


@st.composite
def _attributes(draw: st.DrawFn) -> tuple[CdfAttribute, ...]:
    numbers = draw(st.lists(st.integers(1, 10_000), unique=True, max_size=3))
    out = []
    for number in numbers:
        auth = draw(st.sampled_from([0, 0x10000000, 0x20000000]))
        keep = draw(st.sampled_from([0, 0x01000000]))
        is_b64 = draw(st.booleans())
        is_oid = draw(st.booleans())
        flags = auth | keep | (0x00020000 if is_b64 else 0x00010000) | (2 if is_oid else 1)
        name = draw(_OID if is_oid else _TAG.filter(lambda s: ":" not in s))
        raw = draw(st.binary(max_size=16))
        value = base64.b64encode(raw).decode() if is_b64 else draw(_VALUE)
        out.append(CdfAttribute(number, flags, name, value))
    return tuple(out)


@st.composite
def _members(draw: st.DrawFn) -> tuple[CdfMember, ...]:
    out = []
    for tag in draw(st.lists(_TAG, max_size=5)):
        hashed = draw(st.booleans())
        out.append(
            CdfMember(
                tag=tag,
                path=draw(_TEXT),
                hashed=hashed,
                alt_sip_id=draw(st.none() | st.just(FLAT) | st.just(FLAT.lower())),
                attributes=draw(_attributes()),
            )
        )
    return tuple(out)


_VERSIONS = st.sampled_from(
    [
        (None, ()),
        (None, ("SHA1",)),
        (1, ()),
        (1, ("SHA1",)),
        (1, ("SHA256", "SHA1")),
        (2, ("SHA256",)),
        (2, ("SHA1", "SHA256")),
    ]
)


@st.composite
def definitions(draw: st.DrawFn) -> CatalogDefinition:
    version, algorithms = draw(_VERSIONS)
    u32 = st.none() | st.integers(0, 0xFFFFFFFF)
    return CatalogDefinition(
        name=draw(st.none() | _TEXT),
        result_dir=draw(st.none() | _TEXT),
        public_version=draw(u32),
        catalog_version=version,
        hash_algorithms=algorithms,
        page_hashes=draw(st.none() | st.booleans()),
        encoding_type=draw(u32),
        attributes=draw(_attributes()),
        members=draw(_members()),
    )


VALID = definitions().filter(lambda d: not d.problems())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(VALID)
def test_parse_render_round_trip(definition: CatalogDefinition) -> None:
    data = render_bytes(definition)
    assert data.endswith(b"\r\n")
    assert render_bytes(definition) == data  # deterministic
    assert parse(data).definition == definition
    utf16 = codecs.BOM_UTF16_LE + render(definition).encode("utf-16-le")
    assert parse(utf16).definition == definition


@settings(max_examples=100, deadline=None)
@given(definitions())
def test_render_either_refuses_or_round_trips(definition: CatalogDefinition) -> None:
    if definition.problems():
        with pytest.raises(CdfInputError):
            render(definition)
    else:
        assert parse(render(definition)).definition == definition
