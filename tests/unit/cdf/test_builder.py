"""cdf.builder: the Package Inspector-style definition (formats.md 5.2) and its tag rule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdf.builder import build_package_definition, derive_tags
from cdf.errors import CdfInputError
from cdf.model import CdfAttribute, fold
from cdf.parser import parse
from cdf.writer import render_bytes

FLAT = "{DE351A42-8E59-11D0-8C47-00C04FC295EE}"


def test_default_shape_exact_text() -> None:
    definition = build_package_definition(
        [r"C:\App\b.dll", r"C:\App\a.exe", r"C:\App\b.dll"], page_hashes=False
    )
    # Hand-written: formats.md 5.2's recommended shape, paths sorted and de-duplicated.
    assert render_bytes(definition) == (
        b"[CatalogHeader]\r\n"
        b"Name=InspectedPackage.cat\r\n"
        b"PublicVersion=1\r\n"
        b"CatalogVersion=2\r\n"
        b"HashAlgorithms=SHA256\r\n"
        b"PageHashes=false\r\n"
        b"CATATTR1=0x10010001:OSAttr:2:6.2\r\n"
        b"\r\n"
        b"[CatalogFiles]\r\n"
        b"<HASH>C:\\App\\a.exe=C:\\App\\a.exe\r\n"
        b"<HASH>C:\\App\\b.dll=C:\\App\\b.dll\r\n"
    )


def test_all_options_exact_text() -> None:
    definition = build_package_definition(
        [r"C:\Program Files\App\app.exe", r"C:\Program Files\App\readme.txt"],
        name="App.cat",
        result_dir=r"C:\out",
        page_hashes=True,
        encoding_type=0x00010001,
        catalog_attributes=["0x10010001:OSAttr:2:10.0", "0x10010001:Vendor:Contoso"],
        file_attributes=True,
        alt_sip_ids={r"C:\Program Files\App\readme.txt": FLAT},
    )
    assert render_bytes(definition) == (
        b"[CatalogHeader]\r\n"
        b"Name=App.cat\r\n"
        b"ResultDir=C:\\out\r\n"
        b"PublicVersion=1\r\n"
        b"CatalogVersion=2\r\n"
        b"HashAlgorithms=SHA256\r\n"
        b"PageHashes=true\r\n"
        b"EncodingType=0x00010001\r\n"
        b"CATATTR1=0x10010001:OSAttr:2:10.0\r\n"
        b"CATATTR2=0x10010001:Vendor:Contoso\r\n"
        b"\r\n"
        b"[CatalogFiles]\r\n"
        b"<HASH>C:\\Program Files\\App\\app.exe=C:\\Program Files\\App\\app.exe\r\n"
        b"<HASH>C:\\Program Files\\App\\app.exeATTR1=0x11010001:File:app.exe\r\n"
        b"<HASH>C:\\Program Files\\App\\readme.txt=C:\\Program Files\\App\\readme.txt\r\n"
        b"<HASH>C:\\Program Files\\App\\readme.txtALTSIPID="
        b"{DE351A42-8E59-11D0-8C47-00C04FC295EE}\r\n"
        b"<HASH>C:\\Program Files\\App\\readme.txtATTR1=0x11010001:File:readme.txt\r\n"
    )
    assert parse(render_bytes(definition)).warnings == ()


def test_version_1() -> None:
    data = render_bytes(build_package_definition(["a.exe"], catalog_version=1))
    assert b"\r\nCatalogVersion=1\r\nHashAlgorithms=SHA1\r\n" in data
    with pytest.raises(CdfInputError, match="version 3"):
        build_package_definition(["a.exe"], catalog_version=3)


def test_tag_rule_for_equals_and_collisions() -> None:
    paths = [r"C:\a=b.exe", r"C:\a_b.exe", r"C:\x", r"C:\xATTR1", r"C:\y=ALTSIPID", r"C:\Y"]
    assert derive_tags(paths) == (
        r"C:\a_b.exe~2",  # '=' -> '_' collides with the real C:\a_b.exe, which keeps its name
        r"C:\a_b.exe",
        r"C:\x",
        r"C:\xATTR1~2",  # would read as ATTR1 of C:\x
        r"C:\y_ALTSIPID",
        r"C:\Y",
    )
    # the reverse order of arrival gives the plain path priority the same way
    assert derive_tags([r"C:\xATTR1", r"C:\x"]) == (r"C:\xATTR1", r"C:\x~2")
    assert derive_tags([r"C:\A", r"C:\a"]) == (r"C:\A", r"C:\a~2")


def test_paths_with_equals_round_trip() -> None:
    definition = build_package_definition(
        [r"C:\a=b.exe", r"C:\a_b.exe", r"D:\k=v=w\f.dll"], file_attributes=True
    )
    members = parse(render_bytes(definition)).definition.members
    assert [(m.tag, m.path) for m in members] == [
        (r"C:\a_b.exe~2", r"C:\a=b.exe"),
        (r"C:\a_b.exe", r"C:\a_b.exe"),
        (r"D:\k_v_w\f.dll", r"D:\k=v=w\f.dll"),
    ]
    assert members[0].attributes == (CdfAttribute(1, 0x11010001, "File", "a=b.exe"),)


def test_non_ascii_paths() -> None:
    definition = build_package_definition(["C:\\Prögrämme\\日本\\app.exe"], file_attributes=True)
    data = render_bytes(definition)
    assert "<HASH>C:\\Prögrämme\\日本\\app.exe=C:\\Prögrämme\\日本\\app.exe\r\n".encode() in data
    assert parse(data).definition == definition


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"paths": [" C:\\a.exe"]}, "surrounding blanks"),
        ({"paths": ["C:\\a\nb.exe"]}, "line break"),
        ({"paths": [""]}, "empty"),
        ({"paths": ["a"], "alt_sip_ids": {"b": FLAT}}, "not in the list"),
        ({"paths": ["a"], "alt_sip_ids": {"a": "flat"}}, "braced GUID"),
        ({"paths": ["a"], "catalog_attributes": ["OSAttr=2:6.2"]}, "two ':' needed"),
        ({"paths": ["a"], "catalog_attributes": ["0x10040001:OSAttr:2"]}, "undocumented"),
    ],
)
def test_bad_input(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(CdfInputError, match=fragment):
        build_package_definition(**kwargs)  # type: ignore[arg-type]


_PATH_CHARS = st.sampled_from([*"aAbB=\\/ \t:.Ü", "ATTR1", "ALTSIPID", "attr2", "~2"])
_PATHS = st.lists(
    st.lists(_PATH_CHARS, min_size=1, max_size=8)
    .map("".join)
    .map(lambda s: s.strip(" \t"))
    .filter(bool),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(_PATHS, st.booleans())
def test_any_paths_round_trip(paths: list[str], file_attributes: bool) -> None:
    definition = build_package_definition(paths, file_attributes=file_attributes)
    members = definition.members
    assert [m.path for m in members] == sorted(set(paths))
    assert len({fold(m.tag) for m in members}) == len(members)
    assert all("=" not in m.tag for m in members)
    assert parse(render_bytes(definition)).definition == definition
