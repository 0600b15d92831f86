"""The catalog definition model: what a MakeCat .cdf says, as frozen records (formats.md 5.1, 4.3).

The model keeps values as written where the catalog needs the exact text (paths, tags, attribute
names and values) and as numbers where MakeCat reads numbers (flags, versions, encoding type).
``None`` in a header field means "the key is absent"; the ``effective_*`` properties give the value
MakeCat uses then (MSD-MAKECAT, MSD-CDFOPEN defaults).

The model is permissive on construction so that callers can build and then check it:
``CatalogDefinition.problems()`` lists everything that would make the text ambiguous or that
MakeCat rejects; the writer refuses to render a definition with problems and the parser never
produces one.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from cdf.errors import CdfInputError

# Attribute type flags (MSD-MAKECAT; formats.md 5.1).
FLAG_AUTHENTICATED = 0x10000000
FLAG_UNAUTHENTICATED = 0x20000000
FLAG_NO_SHA1_REPLICATE = 0x01000000
"""CDF-only: keep the attribute out of the SHA1 compatibility entries of a v2 catalog."""
FLAG_DATA_TEXT = 0x00010000
FLAG_DATA_BASE64 = 0x00020000
FLAG_NAME_TEXT = 0x00000001
FLAG_NAME_OID = 0x00000002
KNOWN_FLAGS = (
    FLAG_AUTHENTICATED
    | FLAG_UNAUTHENTICATED
    | FLAG_NO_SHA1_REPLICATE
    | FLAG_DATA_TEXT
    | FLAG_DATA_BASE64
    | FLAG_NAME_TEXT
    | FLAG_NAME_OID
)

DEFAULT_ENCODING_TYPE = 0x00010001
"""PKCS_7_ASN_ENCODING | X509_ASN_ENCODING, CryptCATCDFOpen's default (MSD-CDFOPEN)."""

HASH_PREFIX = "<HASH>"
"""Member tags with this prefix (any case) are identified by the file's hash (MSD-MAKECAT)."""

SHA1 = "SHA1"
SHA256 = "SHA256"
KNOWN_HASH_ALGORITHMS = (SHA1, SHA256)

FLAT_SIP_GUID = "{DE351A42-8E59-11D0-8C47-00C04FC295EE}"
"""ALTSIPID that forces the flat (whole-file) hash (formats.md 4.3, 5.2)."""

_GUID_RE = re.compile(
    r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}\Z"
)
_OID_RE = re.compile(r"(?:0|1|2)(?:\.(?:0|[1-9][0-9]*))+\Z")
SUFFIX_RE = re.compile(r"(?:ATTR[0-9]+|ALTSIPID)\Z", re.ASCII | re.IGNORECASE)
"""The ATTRn / ALTSIPID ending that makes a key a member's attribute or SIP line."""
_HEX_RE = re.compile(r"0[xX][0-9a-fA-F]+")
_DEC_RE = re.compile(r"[0-9]+", re.ASCII)
_UNWRITABLE_RE = re.compile("[\r\n\x00\ud800-\udfff]")
_BLANK = " \t"


def fold(text: str) -> str:
    """The key comparison MakeCat-style profile lookups use: case-insensitive.

    Section names, header keys, ``<HASH>`` and member tags compare without case, like Windows
    profile (INI) keys; unverified for non-ASCII tags, where Unicode case folding is our choice.
    """
    return text.casefold()


def parse_int(text: str) -> int:
    """A CDF number: ``0x`` hexadecimal or decimal, surrounding blanks ignored; ``ValueError``."""
    t = text.strip(_BLANK)
    if _HEX_RE.fullmatch(t):
        return int(t[2:], 16)
    if _DEC_RE.fullmatch(t):
        return int(t, 10)
    raise ValueError(f"{text!r} is not a decimal or 0x hexadecimal number")


def is_guid(text: str) -> bool:
    """True for a braced GUID such as ``{DE351A42-8E59-11D0-8C47-00C04FC295EE}`` (any case)."""
    return _GUID_RE.match(text) is not None


def is_oid(text: str) -> bool:
    """True for a dotted-decimal object identifier such as ``1.3.6.1.4.1.311.12.2.1``."""
    return _OID_RE.match(text) is not None


def has_line_break(text: str) -> bool:
    """True if ``text`` cannot sit inside one .cdf line: CR, LF, NUL or a lone surrogate."""
    return _UNWRITABLE_RE.search(text) is not None


def is_hash_prefix(text: str) -> bool:
    """True if ``text`` starts with ``<HASH>`` in any (ASCII) case: ``<hash>``, ``<Hash>``."""
    head = text[: len(HASH_PREFIX)]
    return head.isascii() and head.upper() == HASH_PREFIX


def hash_algorithm_problem(catalog_version: int | None, hash_algorithms: tuple[str, ...]) -> str:
    """Why this CatalogVersion/HashAlgorithms pair is rejected by MakeCat, or ``""`` if fine.

    MSD-MAKECAT: version absent or 1 -> HashAlgorithms empty or containing SHA1; version 2 ->
    HashAlgorithms must contain SHA256. Any other version makes MakeCat fail.
    """
    for alg in hash_algorithms:
        if alg not in KNOWN_HASH_ALGORITHMS:
            return f"HashAlgorithms has unknown algorithm {alg!r}: use SHA1 or SHA256"
    if catalog_version not in (None, 1, 2):
        return f"CatalogVersion={catalog_version} is not supported: use 1 (SHA1) or 2 (SHA256)"
    if catalog_version == 2 and SHA256 not in hash_algorithms:
        return "CatalogVersion=2 requires HashAlgorithms=SHA256: add it or set CatalogVersion=1"
    if catalog_version in (None, 1) and hash_algorithms and SHA1 not in hash_algorithms:
        return (
            f"HashAlgorithms={','.join(hash_algorithms)} needs CatalogVersion=2 "
            "(a version 1 catalog is SHA1 only): set CatalogVersion=2 or HashAlgorithms=SHA1"
        )
    return ""


def flags_problem(flags: int) -> str:
    """Why these attribute type flags cannot be honoured, or ``""`` if fine (MSD-MAKECAT)."""
    if not 0 <= flags <= 0xFFFFFFFF:
        return f"type flags 0x{flags:X} do not fit in 32 bits"
    unknown = flags & ~KNOWN_FLAGS
    if unknown:
        return (
            f"type flags 0x{flags:08X} have undocumented bits 0x{unknown:08X}: use 0x10000000 "
            "(authenticated), 0x00010000 (text) or 0x00020000 (base64), 0x00000001 (text name)"
        )
    if flags & FLAG_AUTHENTICATED and flags & FLAG_UNAUTHENTICATED:
        return f"type flags 0x{flags:08X} say both authenticated and unauthenticated: pick one"
    data = flags & (FLAG_DATA_TEXT | FLAG_DATA_BASE64)
    if data == 0:
        return (
            f"type flags 0x{flags:08X} say neither text (0x00010000) nor base64 (0x00020000): "
            "set exactly one"
        )
    if data == FLAG_DATA_TEXT | FLAG_DATA_BASE64:
        return f"type flags 0x{flags:08X} say both text and base64: set exactly one"
    name = flags & (FLAG_NAME_TEXT | FLAG_NAME_OID)
    if name == 0:
        return (
            f"type flags 0x{flags:08X} say neither text name (0x00000001) nor OID name "
            "(0x00000002): set exactly one"
        )
    if name == FLAG_NAME_TEXT | FLAG_NAME_OID:
        return f"type flags 0x{flags:08X} say both text name and OID name: set exactly one"
    return ""


@dataclass(frozen=True, slots=True)
class CdfAttribute:
    """One ``CATATTRn=`` or ``{tag}ATTRn=`` line: ``{type flags}:{name or OID}:{value}``.

    ``number`` is the ``n`` of the key as written; ``value`` is everything after the second colon,
    exactly as written (values may contain colons: ``2:6.0``).
    """

    number: int
    flags: int
    name: str
    value: str

    @property
    def authenticated(self) -> bool:
        return bool(self.flags & FLAG_AUTHENTICATED)

    @property
    def unauthenticated(self) -> bool:
        return bool(self.flags & FLAG_UNAUTHENTICATED)

    @property
    def no_sha1_replicate(self) -> bool:
        """0x01000000: not copied into the SHA1 compatibility entries of a v2 catalog."""
        return bool(self.flags & FLAG_NO_SHA1_REPLICATE)

    @property
    def is_text(self) -> bool:
        return bool(self.flags & FLAG_DATA_TEXT)

    @property
    def is_base64(self) -> bool:
        return bool(self.flags & FLAG_DATA_BASE64)

    @property
    def name_is_text(self) -> bool:
        return bool(self.flags & FLAG_NAME_TEXT)

    @property
    def name_is_oid(self) -> bool:
        return bool(self.flags & FLAG_NAME_OID)

    @property
    def stored_flags(self) -> int:
        """The flags the catalog stores: the CDF flags with the CDF-only 0x01000000 cleared.

        formats.md 4.3, VERIFIED on OSS-SAMPLE: CDF ``0x11010001`` is stored as ``0x10010001``.
        """
        return self.flags & ~FLAG_NO_SHA1_REPLICATE

    def stored_value(self) -> bytes:
        """The OCTET STRING the catalog stores for this value (formats.md 4.3).

        Text (0x00010000): UTF-16LE plus a 2-byte NUL terminator. Base64 (0x00020000): the
        decoded bytes, no terminator. Raises ``CdfInputError`` for anything else.
        """
        if self.is_text and not self.is_base64:
            return (self.value + "\0").encode("utf-16-le", "surrogatepass")
        if self.is_base64 and not self.is_text:
            return decode_base64(self.value)
        raise CdfInputError(
            f"attribute {self.name!r}: {flags_problem(self.flags) or 'flags give no data type'}"
        )

    def text(self) -> str:
        """``{flags}:{name}:{value}`` as the CDF writes it (flags as 8 hex digits)."""
        return f"0x{self.flags:08X}:{self.name}:{self.value}"

    def problems(self) -> tuple[str, ...]:
        """Everything that makes this attribute unusable or unrenderable (empty when fine)."""
        found: list[str] = []
        if self.number < 1:
            found.append(f"attribute number {self.number} is not positive: number from 1")
        problem = flags_problem(self.flags)
        if problem:
            found.append(problem)
        if not self.name:
            found.append("attribute name is empty: write {type}:{name}:{value}")
        elif ":" in self.name:
            found.append(f"attribute name {self.name!r} contains ':' (it separates the fields)")
        elif self.name != self.name.strip(_BLANK) or has_line_break(self.name):
            found.append(f"attribute name {self.name!r} has surrounding blanks or a line break")
        elif self.name_is_oid and not is_oid(self.name):
            found.append(
                f"attribute name {self.name!r} is flagged as an OID (0x00000002) but is not a "
                "dotted OID such as 1.3.6.1.4.1.311.12.2.1"
            )
        if has_line_break(self.value) or self.value != self.value.rstrip(_BLANK):
            found.append(
                f"attribute {self.name!r} value has a line break or trailing blanks, which a "
                "line-based .cdf cannot keep"
            )
        elif self.is_base64 and not self.is_text:
            try:
                decode_base64(self.value)
            except CdfInputError as exc:
                found.append(str(exc))
        return tuple(found)


def decode_base64(text: str) -> bytes:
    """Strict standard base64 (padding required); ``CdfInputError`` saying what is wrong."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise CdfInputError(
            f"value {text!r} is flagged base64 (0x00020000) but is not valid base64 ({exc}): "
            "fix the value or flag it as text (0x00010000)"
        ) from None


@dataclass(frozen=True, slots=True)
class CdfMember:
    """One ``[CatalogFiles]`` entry: ``{tag}={path}`` plus its ALTSIPID and ATTRn lines.

    ``hashed`` is the ``<HASH>`` prefix (the member is identified by the file's hash; without it
    the tag itself is the identifier, which WDAC catalogs should not use). ``path`` is kept as
    written: relative to the .cdf's folder or absolute, Windows separators
    (``cdf.paths.resolve_member_path`` maps it to a host path).
    """

    tag: str
    path: str
    hashed: bool = True
    alt_sip_id: str | None = None
    attributes: tuple[CdfAttribute, ...] = ()
    line: int | None = field(default=None, compare=False, repr=False)
    """1-based line of ``{tag}={path}`` when parsed (for messages); not part of equality."""

    @property
    def key(self) -> str:
        """The key as rendered: ``<HASH>`` + tag, or the bare tag."""
        return HASH_PREFIX + self.tag if self.hashed else self.tag

    def line_tags(self) -> tuple[str, ...]:
        """The tags of this member's lines as rendered: its own, ALTSIPID, then each ATTRn."""
        tags = [self.tag]
        if self.alt_sip_id is not None:
            tags.append(f"{self.tag}ALTSIPID")
        tags.extend(f"{self.tag}ATTR{a.number}" for a in self.attributes)
        return tuple(tags)

    def problems(self) -> tuple[str, ...]:
        where = f"member {self.key!r}"
        found: list[str] = []
        found.extend(tag_problems(self.tag, hashed=self.hashed))
        if not self.path:
            found.append(f"{where} has an empty path: write {self.key}=<file path>")
        elif self.path != self.path.strip(_BLANK) or has_line_break(self.path):
            found.append(f"{where} path {self.path!r} has surrounding blanks or a line break")
        if self.alt_sip_id is not None and not is_guid(self.alt_sip_id):
            found.append(
                f"{where} ALTSIPID {self.alt_sip_id!r} is not a braced GUID such as {FLAT_SIP_GUID}"
            )
        found.extend(f"{where}: {p}" for p in _attribute_set_problems(self.attributes))
        return tuple(found)


def tag_problems(tag: str, *, hashed: bool) -> tuple[str, ...]:
    """Why ``tag`` cannot be written as a member key (empty when it can)."""
    found: list[str] = []
    if not tag:
        found.append("a member tag is empty: write <HASH>{tag}={path}")
        return tuple(found)
    if "=" in tag:
        found.append(f"tag {tag!r} contains '=', which ends the key: use another tag")
    if tag != tag.strip(_BLANK) or has_line_break(tag):
        found.append(f"tag {tag!r} has surrounding blanks or a line break")
    if not hashed:
        if tag[0] in "#;[":
            found.append(f"tag {tag!r} starts with {tag[0]!r} and would read as a comment/section")
        if is_hash_prefix(tag):
            found.append(f"tag {tag!r} starts with <HASH> but the member is not hashed")
    return tuple(found)


def _attribute_set_problems(attributes: tuple[CdfAttribute, ...]) -> list[str]:
    found: list[str] = []
    seen: set[int] = set()
    for attribute in attributes:
        if attribute.number in seen:
            found.append(f"attribute number {attribute.number} is used twice")
        seen.add(attribute.number)
        found.extend(attribute.problems())
    return found


@dataclass(frozen=True, slots=True)
class CatalogDefinition:
    """A whole .cdf: the ``[CatalogHeader]`` values and the ``[CatalogFiles]`` members in order."""

    name: str | None = None
    result_dir: str | None = None
    public_version: int | None = None
    catalog_version: int | None = None
    hash_algorithms: tuple[str, ...] = ()
    """Upper-case algorithm names as listed (``("SHA256",)``); empty when the key is absent."""
    page_hashes: bool | None = None
    encoding_type: int | None = None
    attributes: tuple[CdfAttribute, ...] = ()
    """``CATATTRn`` catalog attributes in file order (the catalog keeps this order, 4.3)."""
    members: tuple[CdfMember, ...] = ()

    @property
    def effective_catalog_version(self) -> int:
        """1 when absent (MSD-MAKECAT)."""
        return 1 if self.catalog_version is None else self.catalog_version

    @property
    def digest_algorithm(self) -> str:
        """``"SHA256"`` for a version 2 catalog, ``"SHA1"`` for version 1 (formats.md 4.2)."""
        return SHA256 if self.effective_catalog_version == 2 else SHA1

    @property
    def effective_page_hashes(self) -> bool:
        return bool(self.page_hashes)

    @property
    def effective_encoding_type(self) -> int:
        return DEFAULT_ENCODING_TYPE if self.encoding_type is None else self.encoding_type

    def problems(self) -> tuple[str, ...]:
        """Everything MakeCat would reject or that cannot be rendered unambiguously."""
        found: list[str] = []
        for label, value in (("Name", self.name), ("ResultDir", self.result_dir)):
            if value is not None and (
                not value or value != value.strip(_BLANK) or has_line_break(value)
            ):
                found.append(f"{label} {value!r} is empty, has surrounding blanks or a line break")
        for label, number in (
            ("PublicVersion", self.public_version),
            ("EncodingType", self.encoding_type),
        ):
            if number is not None and not 0 <= number <= 0xFFFFFFFF:
                found.append(f"{label}={number} does not fit in 32 bits")
        problem = hash_algorithm_problem(self.catalog_version, self.hash_algorithms)
        if problem:
            found.append(problem)
        if len(set(self.hash_algorithms)) != len(self.hash_algorithms):
            found.append(f"HashAlgorithms lists an algorithm twice: {self.hash_algorithms}")
        found.extend(f"catalog attribute: {p}" for p in _attribute_set_problems(self.attributes))
        seen: dict[str, str] = {}
        for member in self.members:
            found.extend(member.problems())
            key = fold(member.tag)
            if key in seen:
                found.append(
                    f"member tag {member.tag!r} is used twice (tags compare without case): "
                    "give each file its own tag"
                )
            seen[key] = member.tag
        # every key the text will hold, so that no member line reads as another's ATTR line
        keys = dict(seen)
        for member in self.members:
            for tag in member.line_tags()[1:]:
                keys.setdefault(fold(tag), member.tag)
        for member in self.members:
            owner = ambiguous_owner(member.tag, keys)
            if owner is not None:
                found.append(
                    f"member tag {member.tag!r} reads as an ATTR/ALTSIPID line of member "
                    f"{owner!r}: rename it"
                )
        return tuple(found)

    def check(self) -> None:
        """Raise ``CdfInputError`` listing every problem, if any."""
        found = self.problems()
        if found:
            raise CdfInputError("invalid catalog definition: " + "; ".join(found))


def ambiguous_owner(tag: str, folded_tags: dict[str, str]) -> str | None:
    """The tag ``tag`` would be read as an ATTRn/ALTSIPID line of, if any.

    ``{tag}ATTR1=`` and ``{tag}ALTSIPID=`` share the key space with member tags, so a member
    tagged ``xATTR1`` next to a member tagged ``x`` is ambiguous. ``folded_tags`` holds the
    ``fold()`` of every key's tag, mapped to the owning member's tag as written.
    """
    match = SUFFIX_RE.search(tag)
    if match is None or match.start() == 0:
        return None
    stem = tag[: match.start()]
    if fold(stem) not in folded_tags:
        return None
    return folded_tags[fold(stem)]


@dataclass(frozen=True, slots=True)
class CdfWarning:
    """Something the parser accepted but the user should look at (line/column are 1-based)."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What ``cdf.parser.parse`` returns: the model, warnings, and the text encoding it found."""

    definition: CatalogDefinition
    warnings: tuple[CdfWarning, ...] = ()
    encoding: str = "utf-8"
