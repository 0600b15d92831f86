"""Build the catalog definition a Package Inspector-style tool emits for a list of files (5.1, 5.2).

Shape (formats.md 5.2, after Microsoft's WinAppCli generator, the closest Microsoft-authored CI
catalog CDF; Package Inspector's own output is an open question)::

    [CatalogHeader]
    Name=InspectedPackage.cat            (PI's default output name, MSD-PI)
    ResultDir=...                        (only when given)
    PublicVersion=1
    CatalogVersion=2
    HashAlgorithms=SHA256
    PageHashes=true|false
    EncodingType=0x00010001              (only when given: PI's -en)
    CATATTR1=0x10010001:OSAttr:2:6.2     (or the user's -ca1 / -ca2)

    [CatalogFiles]
    <HASH>C:\\App\\app.exe=C:\\App\\app.exe
    <HASH>C:\\App\\app.exeALTSIPID={...}  (only for files given an ALTSIPID)
    <HASH>C:\\App\\app.exeATTR1=0x11010001:File:app.exe   (only with file_attributes=True)

Deterministic: paths are de-duplicated and sorted by code point, so the same set of files always
gives the same text.

Tag rule (a tag cannot contain ``=``, formats.md 5.1): the tag is the path itself with every ``=``
replaced by ``_``. Paths without ``=`` choose first (in sorted order), then the others. If a tag is
already taken (tags compare without case), or if it would read as an ATTRn/ALTSIPID line of another
tag (``x`` and ``xATTR1``) or make another tag read so, ``~2``, ``~3``, ... is appended until it is
unique. The tag is only a label inside the .cdf: a ``<HASH>``
member is identified in the catalog by the file's hash, so the choice never changes the catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from cdf.errors import CdfInputError
from cdf.model import (
    FLAG_AUTHENTICATED,
    FLAG_DATA_TEXT,
    FLAG_NAME_TEXT,
    FLAG_NO_SHA1_REPLICATE,
    SHA1,
    SHA256,
    SUFFIX_RE,
    CatalogDefinition,
    CdfAttribute,
    CdfMember,
    ambiguous_owner,
    fold,
    has_line_break,
    is_guid,
)
from cdf.parser import parse_attribute_text
from cdf.paths import windows_basename

__all__ = [
    "DEFAULT_CATALOG_NAME",
    "DEFAULT_OS_ATTRIBUTE",
    "FILE_ATTRIBUTE_FLAGS",
    "build_package_definition",
    "derive_tags",
]

DEFAULT_CATALOG_NAME = "InspectedPackage.cat"
DEFAULT_OS_ATTRIBUTE = CdfAttribute(
    1, FLAG_AUTHENTICATED | FLAG_DATA_TEXT | FLAG_NAME_TEXT, "OSAttr", "2:6.2"
)
"""``CATATTR1=0x10010001:OSAttr:2:6.2``, what WinAppCli writes (formats.md 5.2)."""
FILE_ATTRIBUTE_FLAGS = FLAG_AUTHENTICATED | FLAG_NO_SHA1_REPLICATE | FLAG_DATA_TEXT | FLAG_NAME_TEXT
"""0x11010001, the flags of OSS-SAMPLE's ``File`` attributes."""


def derive_tags(paths: Sequence[str]) -> tuple[str, ...]:
    """One safe, unique tag per path, in the order given (see the module docstring's rule).

    Each tag also reserves the keys of the lines the builder may add for it (``{tag}ATTR1``,
    ``{tag}ALTSIPID``), so no other tag can collide with them or read as their ATTR line.
    """
    keys: dict[str, str] = {}  # folded tags assigned and the line keys they reserve -> tag
    stems: set[str] = set()  # folded stems of assigned tags that end in ATTRn/ALTSIPID
    out: list[str] = [""] * len(paths)
    # paths without '=' choose first, so that they keep themselves as tag
    for index in sorted(range(len(paths)), key=lambda i: ("=" in paths[i], i)):
        base = paths[index].replace("=", "_")
        candidate, counter = base, 1
        while _conflicts(candidate, keys, stems):
            counter += 1
            candidate = f"{base}~{counter}"
        keys.update(
            (fold(k), candidate) for k in (candidate, candidate + "ATTR1", candidate + "ALTSIPID")
        )
        match = SUFFIX_RE.search(candidate)
        if match is not None and match.start() > 0:
            stems.add(fold(candidate[: match.start()]))
        out[index] = candidate
    return tuple(out)


def _conflicts(tag: str, keys: dict[str, str], stems: set[str]) -> bool:
    for key in (tag, tag + "ATTR1", tag + "ALTSIPID"):
        folded = fold(key)
        if folded in keys or folded in stems:
            return True
    return ambiguous_owner(tag, keys) is not None


def unwritable_path_reason(path: str) -> str | None:
    """Why ``path`` cannot be a member line of a .cdf, or None when it can.

    A .cdf line cannot hold an empty name, surrounding blanks, CR, LF, NUL or a lone surrogate
    (an undecodable POSIX name); MakeCat could not express such a file.
    """
    if not path:
        return "is empty: a .cdf line cannot hold it"
    if path != path.strip(" \t"):
        return "has surrounding blanks, which a .cdf line drops"
    if has_line_break(path):
        if any("\ud800" <= c <= "\udfff" for c in path):
            return "has bytes that are not UTF-8, which a .cdf cannot hold"
        return "has a line break (CR/LF) or NUL, which a .cdf line cannot hold"
    return None


def build_package_definition(
    paths: Iterable[str],
    *,
    name: str = DEFAULT_CATALOG_NAME,
    result_dir: str | None = None,
    page_hashes: bool = True,
    encoding_type: int | None = None,
    catalog_attributes: Sequence[str] = (),
    file_attributes: bool = False,
    alt_sip_ids: Mapping[str, str] | None = None,
    catalog_version: int = 2,
) -> CatalogDefinition:
    """The CatalogVersion=2/SHA256 definition listing every path once, sorted.

    ``paths`` are written as given (normally full Windows paths, ``C:\\App\\app.exe``).
    ``catalog_attributes`` are ``{type}:{name}:{value}`` texts (PI's ``-ca1``/``-ca2``), numbered
    CATATTR1, CATATTR2, ... in order; without any, ``CATATTR1=0x10010001:OSAttr:2:6.2`` is used.
    ``file_attributes`` adds ``ATTR1=0x11010001:File:<basename>`` to each member.
    ``alt_sip_ids`` maps a path to the SIP GUID forced with ALTSIPID (e.g. the flat SIP).
    ``catalog_version=1`` gives a SHA1 catalog (``HashAlgorithms=SHA1``) for pre-Windows 8 readers.
    Raises ``CdfInputError`` naming the offending path or attribute.
    """
    if catalog_version not in (1, 2):
        raise CdfInputError(f"catalog version {catalog_version} is not supported: use 1 or 2")
    ordered = sorted(set(paths))
    for path in ordered:
        why = unwritable_path_reason(path)
        if why is not None:
            raise CdfInputError(f"path {path!r}: {why}")
    sips = dict(alt_sip_ids or {})
    unknown = sorted(set(sips) - set(ordered))
    if unknown:
        raise CdfInputError(f"ALTSIPID given for paths not in the list: {unknown}")
    for path, guid in sips.items():
        if not is_guid(guid):
            raise CdfInputError(
                f"ALTSIPID {guid!r} for {path!r} is not a braced GUID such as "
                "{DE351A42-8E59-11D0-8C47-00C04FC295EE}"
            )
    if catalog_attributes:
        attributes = tuple(
            parse_attribute_text(text, number, source=f"catalog attribute {number}")
            for number, text in enumerate(catalog_attributes, start=1)
        )
    else:
        attributes = (DEFAULT_OS_ATTRIBUTE,)
    members = []
    for path, tag in zip(ordered, derive_tags(ordered), strict=True):
        extra: tuple[CdfAttribute, ...] = ()
        if file_attributes:
            # Win32 drops trailing blanks of names; a .cdf line could not keep them either
            base = windows_basename(path).rstrip(" \t")
            extra = (CdfAttribute(1, FILE_ATTRIBUTE_FLAGS, "File", base),)
        members.append(
            CdfMember(tag=tag, path=path, hashed=True, alt_sip_id=sips.get(path), attributes=extra)
        )
    definition = CatalogDefinition(
        name=name,
        result_dir=result_dir,
        public_version=1,
        catalog_version=catalog_version,
        hash_algorithms=(SHA256,) if catalog_version == 2 else (SHA1,),
        page_hashes=page_hashes,
        encoding_type=encoding_type,
        attributes=attributes,
        members=tuple(members),
    )
    definition.check()
    return definition
