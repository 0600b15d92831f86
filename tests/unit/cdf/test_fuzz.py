"""Any text either fails with CdfInputError or parses to a model that renders and round-trips."""

from __future__ import annotations

from hypothesis import event, given, settings
from hypothesis import strategies as st

from cdf.errors import CdfInputError
from cdf.parser import parse
from cdf.writer import render_bytes

_HEADER = [
    "Name=x.cat",
    "ResultDir=..\\out",
    "PublicVersion=0x1",
    "CatalogVersion=2",
    "HashAlgorithms=SHA256",
    "PageHashes=true",
    "EncodingType=0x00010001",
    "CATATTR1=0x10010001:OSAttr:2:6.2",
    "CATATTR2=0x10020001:B:AAE=",
    "Unknown=1",
    "# comment",
    "; comment",
    "",
]
_FILES = [
    "<HASH>a=C:\\a=b.exe",
    "<HASH> b = spaced path ",
    "<HASH>aATTR1=0x11010001:File:a.exe",
    "<HASH>aATTR2=0x10010002:1.2.3:v",
    "<HASH>aALTSIPID={DE351A42-8E59-11D0-8C47-00C04FC295EE}",
    "<HASH>bATTR1=0x10010001:x:y z",
    "<HASH>bATTR1ATTR=not an attribute line",
    "plain=p.txt",
    "plainATTR1=0x10010001:x:y",
    "<HASH>ü=ü.dll",
    "<HASH>xATTR1=no x member",
    "<HASH>c=c",
    "<HASH>cATTR4=0x20010001:n:a:b:c",
    "# comment",
    "",
]
_NOISE = [
    "[CatalogHeader]",
    "[catalogfiles ]",
    "[Other]",
    "[CatalogHeader",
    "CatalogVersion=1",
    "HashAlgorithms=sha1,SHA256",
    "<hash>A=dup",
    "<HASH>aATTR1ATTR1=0x10010001:x:y",
    "aATTR3=0x10010001:x:y",
    "<HASH>c=",
    "novalue",
    "=x",
    "<HASH>bATTR1=0x10020001:File:@@",
    "Name=twice",
]
_NEWLINES = st.sampled_from(["\r\n", "\n", "\r"])


def _lines(pieces: list[str], max_size: int) -> st.SearchStrategy[list[tuple[str, str]]]:
    return st.lists(
        st.tuples(st.sampled_from(pieces), _NEWLINES),
        max_size=max_size,
        unique_by=lambda t: t[0] if t[0].strip() and not t[0].startswith(("#", ";")) else None,
    )


@settings(max_examples=400, deadline=None)
@given(
    _lines(_HEADER, 10),
    _lines(_FILES, 14),
    st.lists(st.tuples(st.integers(0, 30), st.sampled_from(_NOISE)), max_size=1),
)
def test_parse_never_yields_an_unrenderable_model(
    header: list[tuple[str, str]],
    files: list[tuple[str, str]],
    noise: list[tuple[int, str]],
) -> None:
    lines = [("[CatalogHeader]", "\n"), *header, ("[CatalogFiles]", "\r\n"), *files]
    for position, piece in noise:
        lines.insert(min(position, len(lines)), (piece, "\n"))
    text = "".join(piece + newline for piece, newline in lines)
    error: CdfInputError | None = None
    try:
        result = parse(text.encode("utf-8"))
    except CdfInputError as exc:
        error = exc
    if error is not None:
        event(f"rejected: {error.message[:40]}")
        assert error.line is not None
        assert error.column is not None
        assert 1 <= error.line <= len(lines)
        return
    event(f"parsed, {min(len(result.definition.members), 3)}+ member(s)")
    definition = result.definition
    assert definition.problems() == ()
    assert parse(render_bytes(definition)).definition == definition
