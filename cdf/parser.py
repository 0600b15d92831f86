"""Parse MakeCat catalog definition text (bytes or str) into a CatalogDefinition (formats.md 5.1).

Text encoding: a byte-order mark decides (UTF-8, UTF-16 LE, UTF-16 BE); without one the bytes must
be UTF-8 (plain ASCII is the common case; Microsoft's WinAppCli writes UTF-8 without a BOM). Lines
end with CRLF, LF or a lone CR; blanks (spaces, tabs) around keys, values and section names are
ignored, as Windows profile files do (MSD-MAKECAT writes ``CatalogVersion = [|1|2]``).

Syntax: ``[Section]`` headers, ``key=value`` lines (the first ``=`` splits, so paths may hold ``=``
but tags cannot), ``#`` comment lines (OSS-SAMPLE). Section names, header keys, the ``<HASH>``
prefix and member tags compare without case.

``{tag}ATTRn=`` and ``{tag}ALTSIPID=`` share the key space with member tags: a line is an
attribute/ALTSIPID line when its key is another key of the section plus that suffix; otherwise it is
a member. Lines may come in any order; members keep the order of their own lines.

Errors (``CdfInputError``, naming line and column) - MakeCat rejects these or would silently do
something else than the author meant:
  no ``[CatalogHeader]``; unknown or repeated section; key outside a section; line without ``=``;
  empty key or tag; repeated header key; bad number (versions, EncodingType, flags);
  CatalogVersion not 1/2; CatalogVersion/HashAlgorithms mismatch; unknown hash algorithm;
  PageHashes not true/false; attribute value not ``{type}:{name}:{value}``; bad or contradictory
  type flags; name flagged OID but not an OID; bad base64; repeated member tag, ATTR number or
  ALTSIPID; ALTSIPID not a braced GUID; an ATTR/ALTSIPID line whose member has the other
  ``<HASH>`` spelling or is itself an ATTR line; empty member path; text that is not valid UTF-8
  or contains NUL.
Warnings (returned in ``ParseResult.warnings``, never printed):
  unknown header key (ignored); ``;`` comment lines (not documented for MakeCat, use ``#``);
  member without ``<HASH>`` (its tag, not its hash, identifies it: useless for WDAC); a path
  listed twice (compared without case, ``/`` as ``\\``);
  non-consecutive ATTR/CATATTR numbers; no ``[CatalogFiles]`` section or no members; no ``Name``;
  no newline after the last line (MSD-MAKECAT requires one).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from cdf.errors import CdfInputError
from cdf.model import (
    HASH_PREFIX,
    KNOWN_HASH_ALGORITHMS,
    CatalogDefinition,
    CdfAttribute,
    CdfMember,
    CdfWarning,
    ParseResult,
    flags_problem,
    fold,
    hash_algorithm_problem,
    is_guid,
    is_hash_prefix,
    is_oid,
    parse_int,
)

__all__ = ["decode", "parse", "parse_attribute_text", "parse_text"]

_BLANK = " \t"
_LINE_RE = re.compile(r"\r\n|\r|\n")
_BAD_CHAR_RE = re.compile("[\x00\ud800-\udfff]")
_ATTR_KEY_RE = re.compile(r"ATTR([0-9]+)\Z", re.ASCII | re.IGNORECASE)
_CATATTR_RE = re.compile(r"CATATTR([0-9]*)\Z", re.ASCII | re.IGNORECASE)
_ALTSIPID_RE = re.compile(r"ALTSIPID\Z", re.ASCII | re.IGNORECASE)
_HEADER = "catalogheader"
_FILES = "catalogfiles"
_HEADER_KEYS = {
    "name": "Name",
    "resultdir": "ResultDir",
    "publicversion": "PublicVersion",
    "catalogversion": "CatalogVersion",
    "hashalgorithms": "HashAlgorithms",
    "pagehashes": "PageHashes",
    "encodingtype": "EncodingType",
}


def _ascii_lower(text: str) -> str:
    """Lower-case for ASCII keywords only, so that e.g. a Kelvin sign never matches ``k``."""
    return text.lower() if text.isascii() else text


def decode(data: bytes, source: str = "<cdf>") -> tuple[str, str]:
    """Bytes -> (text, encoding name), by byte-order mark; UTF-8 without one."""
    if data.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8-sig", data[3:]
    elif data.startswith(codecs.BOM_UTF16_LE):
        encoding, body = "utf-16-le", data[2:]
    elif data.startswith(codecs.BOM_UTF16_BE):
        encoding, body = "utf-16-be", data[2:]
    else:
        encoding, body = "utf-8", data
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        return body.decode(codec), encoding
    except UnicodeDecodeError as exc:
        good = body[: exc.start].decode(codec, "replace")
        line = good.count("\n") + 1
        column = len(good) - (good.rfind("\n") + 1) + 1
        bad = body[exc.start : exc.end].hex(" ")
        hint = (
            "save the file as UTF-8 (or UTF-16 with a byte-order mark)"
            if codec == "utf-8"
            else "the file is cut short or not really UTF-16"
        )
        raise CdfInputError(
            f"not valid {codec.upper()} text (bytes {bad} at offset "
            f"{len(data) - len(body) + exc.start}): {hint}",
            source=source,
            line=line,
            column=column,
        ) from None


@dataclass(slots=True)
class _Line:
    number: int
    raw: str
    key: str
    value: str
    key_col: int
    value_col: int


@dataclass(slots=True)
class _Entry:
    line: _Line
    hashed: bool
    tag: str
    kind: str = "member"  # member | attr | altsipid
    owner: int = -1
    number: int = 0


@dataclass(slots=True)
class _Header:
    name: str | None = None
    result_dir: str | None = None
    public_version: int | None = None
    catalog_version: int | None = None
    hash_algorithms: tuple[str, ...] = ()
    page_hashes: bool | None = None
    encoding_type: int | None = None
    attributes: tuple[CdfAttribute, ...] = ()


@dataclass(slots=True)
class _State:
    source: str
    warnings: list[CdfWarning] = field(default_factory=list)
    semicolon_warned: bool = False

    def error(self, message: str, line: int | None, column: int | None = None) -> CdfInputError:
        return CdfInputError(message, source=self.source, line=line, column=column)

    def warn(self, message: str, line: int, column: int = 1) -> None:
        self.warnings.append(CdfWarning(line, column, message))


def parse(data: bytes | str, *, source: str = "<cdf>") -> ParseResult:
    """Parse a whole .cdf. ``source`` names the file in messages. Raises ``CdfInputError``."""
    if isinstance(data, bytes):
        text, encoding = decode(data, source)
    else:
        text, encoding = data, "str"
        if text.startswith("\ufeff"):
            text = text[1:]
    return parse_text(text, source=source, encoding=encoding)


def parse_text(text: str, *, source: str = "<cdf>", encoding: str = "str") -> ParseResult:
    state = _State(source)
    bad = _BAD_CHAR_RE.search(text)
    if bad is not None:
        before = text[: bad.start()]
        raise state.error(
            "the text contains NUL characters: is it UTF-16 without a byte-order mark? "
            "Save it as UTF-8 or as UTF-16 with a BOM"
            if bad.group() == "\0"
            else "the text contains a lone UTF-16 surrogate: it is not valid Unicode",
            before.count("\n") + 1,
            len(before) - (before.rfind("\n") + 1) + 1,
        )
    if not text.strip():
        raise state.error("the file is empty: a .cdf needs a [CatalogHeader] section", 1, 1)
    raw_lines = _LINE_RE.split(text)
    ends_with_newline = raw_lines[-1] == ""
    if ends_with_newline:
        raw_lines.pop()

    sections: dict[str, int] = {}
    header: list[_Line] = []
    files: list[_Line] = []
    current: list[_Line] | None = None
    last_content = 0
    for index, raw in enumerate(raw_lines):
        number = index + 1
        stripped = raw.strip(_BLANK)
        if not stripped:
            continue
        lead = len(raw) - len(raw.lstrip(_BLANK))
        first = stripped[0]
        if first == "#":
            continue
        if first == ";":
            if not state.semicolon_warned:
                state.warn(
                    "';' comment lines are not documented for MakeCat: start comments with '#'",
                    number,
                    lead + 1,
                )
                state.semicolon_warned = True
            continue
        last_content = number
        if first == "[":
            name = _section(state, stripped, number, lead, sections)
            current = header if name == _HEADER else files
            continue
        eq = raw.find("=")
        if eq < 0:
            if current is None:
                raise state.error(
                    f"{stripped!r} is outside any section and has no '=': start the file with "
                    "[CatalogHeader]",
                    number,
                    lead + 1,
                )
            raise state.error(
                f"missing '=' in {stripped!r}: write key=value (a member is <HASH>tag=path)",
                number,
                len(raw.rstrip(_BLANK)) + 1,
            )
        key = raw[:eq].strip(_BLANK)
        if current is None:
            raise state.error(
                f"key {key!r} is outside any section: put [CatalogHeader] or [CatalogFiles] "
                "above it",
                number,
                lead + 1,
            )
        if not key:
            raise state.error("empty key before '=': write key=value", number, eq + 1)
        value_part = raw[eq + 1 :]
        value = value_part.strip(_BLANK)
        value_col = eq + 2 + (len(value_part) - len(value_part.lstrip(_BLANK)))
        current.append(_Line(number, raw, key, value, lead + 1, value_col))

    if _HEADER not in sections:
        raise state.error(
            "no [CatalogHeader] section: MakeCat needs one (Name, CatalogVersion, ...)", 1, 1
        )
    definition_header = _parse_header(state, header, sections[_HEADER])
    if _FILES not in sections:
        state.warn(
            "no [CatalogFiles] section: the catalog will have no members", sections[_HEADER], 1
        )
    members = _parse_files(state, files)
    if _FILES in sections and not members:
        state.warn("[CatalogFiles] lists no members", sections[_FILES], 1)
    if not ends_with_newline and last_content == len(raw_lines):
        state.warn(
            "the last line has no newline at its end, which MakeCat requires: add one",
            len(raw_lines),
            len(raw_lines[-1]) + 1,
        )
    h = definition_header
    definition = CatalogDefinition(
        name=h.name,
        result_dir=h.result_dir,
        public_version=h.public_version,
        catalog_version=h.catalog_version,
        hash_algorithms=h.hash_algorithms,
        page_hashes=h.page_hashes,
        encoding_type=h.encoding_type,
        attributes=h.attributes,
        members=members,
    )
    return ParseResult(definition, tuple(state.warnings), encoding)


def _section(state: _State, stripped: str, number: int, lead: int, sections: dict[str, int]) -> str:
    if not stripped.endswith("]"):
        raise state.error(
            f"section header {stripped!r} is not closed: write [CatalogHeader] or [CatalogFiles]",
            number,
            lead + len(stripped) + 1,
        )
    name = stripped[1:-1].strip(_BLANK)
    key = _ascii_lower(name)
    if key not in (_HEADER, _FILES):
        raise state.error(
            f"unknown section [{name}]: MakeCat reads only [CatalogHeader] and [CatalogFiles]",
            number,
            lead + 2,
        )
    if key in sections:
        raise state.error(
            f"section [{name}] appears again (first at line {sections[key]}): merge the two",
            number,
            lead + 1,
        )
    sections[key] = number
    return key


def _number(state: _State, line: _Line, what: str) -> int:
    try:
        return parse_int(line.value)
    except ValueError:
        raise state.error(
            f"{what}={line.value!r} is not a number: write decimal or 0x hexadecimal",
            line.number,
            line.value_col,
        ) from None


def _parse_header(state: _State, lines: list[_Line], section_line: int) -> _Header:
    seen: dict[str, int] = {}
    out = _Header()
    attributes: list[CdfAttribute] = []
    attribute_lines: dict[int, int] = {}
    version_line: _Line | None = None
    algorithms_line: _Line | None = None
    for line in lines:
        lowered = _ascii_lower(line.key)
        match = _CATATTR_RE.match(line.key)
        if match is not None:
            if not match.group(1):
                raise state.error(
                    f"{line.key} needs a number: CATATTR1, CATATTR2, ...", line.number, line.key_col
                )
            n = int(match.group(1))
            if n < 1:
                raise state.error(
                    f"{line.key}: attribute numbers start at 1", line.number, line.key_col
                )
            if n in attribute_lines:
                raise state.error(
                    f"CATATTR{n} is defined twice (first at line {attribute_lines[n]}): "
                    "renumber one of them",
                    line.number,
                    line.key_col,
                )
            attribute_lines[n] = line.number
            attributes.append(_attribute(state, line, n))
            continue
        canonical = _HEADER_KEYS.get(lowered)
        if canonical is None:
            state.warn(
                f"unknown [CatalogHeader] key {line.key!r} is ignored (known: "
                f"{', '.join(_HEADER_KEYS.values())}, CATATTRn)",
                line.number,
                line.key_col,
            )
            continue
        if lowered in seen:
            raise state.error(
                f"{canonical} is set twice (first at line {seen[lowered]}): keep one",
                line.number,
                line.key_col,
            )
        seen[lowered] = line.number
        if not line.value:
            continue  # an empty value means "use the default" (MSD-MAKECAT: [|1], [|SHA1|SHA256])
        if lowered == "name":
            out.name = line.value
        elif lowered == "resultdir":
            out.result_dir = line.value
        elif lowered == "publicversion":
            out.public_version = _u32(state, line, canonical)
        elif lowered == "encodingtype":
            out.encoding_type = _u32(state, line, canonical)
        elif lowered == "catalogversion":
            version = _number(state, line, canonical)
            if version not in (1, 2):
                raise state.error(
                    f"CatalogVersion={line.value} is not supported: use 1 (SHA1) or 2 (SHA256)",
                    line.number,
                    line.value_col,
                )
            out.catalog_version = version
            version_line = line
        elif lowered == "hashalgorithms":
            out.hash_algorithms = _algorithms(state, line)
            algorithms_line = line
        elif lowered == "pagehashes":
            flag = _ascii_lower(line.value)
            if flag not in ("true", "false"):
                raise state.error(
                    f"PageHashes={line.value!r}: write true or false", line.number, line.value_col
                )
            out.page_hashes = flag == "true"
    problem = hash_algorithm_problem(out.catalog_version, out.hash_algorithms)
    if problem:
        at = algorithms_line or version_line
        raise state.error(
            problem,
            at.number if at else section_line,
            at.value_col if at else 1,
        )
    if out.name is None:
        state.warn(
            "no Name in [CatalogHeader]: MakeCat names the catalog after the .cdf file",
            section_line,
            1,
        )
    _warn_gaps(state, [(a.number, attribute_lines[a.number]) for a in attributes], "CATATTR")
    out.attributes = tuple(attributes)
    return out


def _u32(state: _State, line: _Line, what: str) -> int:
    value = _number(state, line, what)
    if value > 0xFFFFFFFF:
        raise state.error(
            f"{what}={line.value} does not fit in 32 bits", line.number, line.value_col
        )
    return value


def _algorithms(state: _State, line: _Line) -> tuple[str, ...]:
    names: list[str] = []
    offset = 0
    for part in line.value.split(","):
        name = part.strip(_BLANK)
        column = line.value_col + offset + (len(part) - len(part.lstrip(_BLANK)))
        offset += len(part) + 1
        upper = name.upper() if name.isascii() else name
        if upper not in KNOWN_HASH_ALGORITHMS:
            raise state.error(
                f"HashAlgorithms has unknown algorithm {name!r}: use SHA1 or SHA256",
                line.number,
                column,
            )
        if upper in names:
            raise state.error(f"HashAlgorithms lists {upper} twice", line.number, column)
        names.append(upper)
    return tuple(names)


def _warn_gaps(state: _State, numbered: list[tuple[int, int]], label: str) -> None:
    if len(numbered) < 2 and (not numbered or numbered[0][0] == 1):
        return  # the common cases: no attribute, or ATTR1 alone
    numbers = sorted(n for n, _ in numbered)
    if numbers and numbers != list(range(1, len(numbers) + 1)):
        line = min(line for _, line in numbered)
        state.warn(
            f"{label} numbers {numbers} are not 1, 2, 3, ...: tools that stop at the first "
            "missing number would drop some attributes; renumber them",
            line,
            1,
        )


def parse_attribute_text(
    text: str, number: int = 1, *, source: str = "<attribute>"
) -> CdfAttribute:
    """Parse ``{type}:{name-or-oid}:{value}`` given on its own (e.g. a ``--ca1`` option)."""
    line = _Line(1, text, f"CATATTR{number}", text.strip(_BLANK), 1, 1)
    return _attribute(_State(source), line, number)


def _attribute(state: _State, line: _Line, number: int) -> CdfAttribute:
    value = line.value
    first = value.find(":")
    second = value.find(":", first + 1) if first >= 0 else -1
    if second < 0:
        raise state.error(
            f"{line.key}={value!r}: an attribute is {{type}}:{{name}}:{{value}}, e.g. "
            "0x10010001:OSAttr:2:6.2 (two ':' needed)",
            line.number,
            line.value_col + len(value),
        )
    flags_text = value[:first]
    name = value[first + 1 : second].strip(_BLANK)
    content = value[second + 1 :]
    try:
        flags = parse_int(flags_text)
    except ValueError:
        raise state.error(
            f"{line.key}: type flags {flags_text!r} are not a number: write them like 0x10010001",
            line.number,
            line.value_col,
        ) from None
    problem = flags_problem(flags)
    if problem:
        raise state.error(f"{line.key}: {problem}", line.number, line.value_col)
    name_col = line.value_col + first + 1
    if not name:
        raise state.error(
            f"{line.key}: the attribute name is empty: write {{type}}:{{name}}:{{value}}",
            line.number,
            name_col,
        )
    if flags & 0x2 and not is_oid(name):
        raise state.error(
            f"{line.key}: name {name!r} is flagged as an OID (0x00000002) but is not one: write "
            "a dotted OID or flag the name as text (0x00000001)",
            line.number,
            name_col,
        )
    attribute = CdfAttribute(number, flags, name, content)
    if attribute.is_base64:
        try:
            attribute.stored_value()
        except CdfInputError as exc:
            raise state.error(
                f"{line.key}: {exc.message}", line.number, line.value_col + second + 1
            ) from None
    return attribute


def _parse_files(state: _State, lines: list[_Line]) -> tuple[CdfMember, ...]:
    entries: list[_Entry] = []
    by_tag: dict[str, int] = {}
    for line in lines:
        hashed = is_hash_prefix(line.key)
        # blanks between <HASH> and the tag are not part of the tag
        tag = line.key[len(HASH_PREFIX) :].lstrip(_BLANK) if hashed else line.key
        if not tag:
            raise state.error(
                f"{line.key!r} has no tag: write <HASH>tag=path", line.number, line.key_col
            )
        folded = fold(tag)
        if folded in by_tag:
            first = entries[by_tag[folded]]
            raise state.error(
                f"{line.key!r} repeats {first.line.key!r} from line {first.line.number} (tags "
                "compare without case): give each member its own tag and each ATTR its own number",
                line.number,
                line.key_col,
            )
        by_tag[folded] = len(entries)
        entries.append(_Entry(line, hashed, tag))

    # classify: a key is an ATTRn/ALTSIPID line when its stem is another key of the section
    for entry in entries:
        tag = entry.tag
        kind, number, stem_len = "member", 0, -1
        alt = _ALTSIPID_RE.search(tag)
        if alt is not None and alt.start() > 0:
            kind, stem_len = "altsipid", alt.start()
        else:
            match = _ATTR_KEY_RE.search(tag)
            if match is not None and match.start() > 0:
                kind, number, stem_len = "attr", int(match.group(1)), match.start()
        if kind == "member":
            continue
        owner_index = by_tag.get(fold(tag[:stem_len]))
        if owner_index is None:
            continue
        entry.kind, entry.number, entry.owner = kind, number, owner_index

    member_index: dict[int, int] = {}
    alt_sip: dict[int, str] = {}
    attrs: dict[int, list[tuple[CdfAttribute, int]]] = {}
    for index, entry in enumerate(entries):
        line = entry.line
        if entry.kind == "member":
            if not line.value:
                raise state.error(
                    f"member {line.key!r} has no path: write {line.key}=<file path>",
                    line.number,
                    line.value_col,
                )
            if not entry.hashed:
                state.warn(
                    f"member {line.key!r} has no <HASH> prefix: its tag, not the file's hash, "
                    "identifies it, which Windows cannot match a file against; write "
                    f"<HASH>{line.key}",
                    line.number,
                    line.key_col,
                )
            member_index[index] = len(member_index)
            continue
        owner = entries[entry.owner]
        if owner.kind != "member":
            raise state.error(
                f"{line.key!r} reads as an ATTR/ALTSIPID line of {owner.line.key!r} (line "
                f"{owner.line.number}), which is itself an ATTR/ALTSIPID line: rename the member",
                line.number,
                line.key_col,
            )
        if owner.hashed != entry.hashed:
            spelled = HASH_PREFIX + entry.tag if owner.hashed else entry.tag
            raise state.error(
                f"{line.key!r} belongs to member {owner.line.key!r} (line {owner.line.number}) "
                f"but is spelled differently: write {spelled}",
                line.number,
                line.key_col,
            )
        if entry.kind == "altsipid":
            if not is_guid(line.value):
                raise state.error(
                    f"{line.key}={line.value!r} is not a braced GUID such as "
                    "{DE351A42-8E59-11D0-8C47-00C04FC295EE} (the flat SIP)",
                    line.number,
                    line.value_col,
                )
            alt_sip[entry.owner] = line.value
        else:
            if entry.number < 1:
                raise state.error(
                    f"{line.key}: attribute numbers start at 1", line.number, line.key_col
                )
            found = attrs.setdefault(entry.owner, [])
            for earlier, earlier_line in found:
                if earlier.number == entry.number:
                    raise state.error(
                        f"{line.key!r}: ATTR{entry.number} of {owner.line.key!r} is defined twice "
                        f"(first at line {earlier_line}): renumber one of them",
                        line.number,
                        line.key_col,
                    )
            found.append((_attribute(state, line, entry.number), line.number))

    members: list[CdfMember] = []
    paths_seen: dict[str, int] = {}
    for index in member_index:
        line = entries[index].line
        same = fold(line.value.replace("/", "\\"))
        if same in paths_seen:
            # identical files hash identically: the catalog can hold them only once (4.3)
            state.warn(
                f"path {line.value!r} is listed again (first at line {paths_seen[same]}): the "
                "catalog holds each file once; drop one of the lines",
                line.number,
                line.value_col,
            )
        else:
            paths_seen[same] = line.number
    for index in member_index:
        entry = entries[index]
        own = attrs.get(index, [])
        _warn_gaps(state, [(a.number, n) for a, n in own], f"{entry.line.key} ATTR")
        members.append(
            CdfMember(
                tag=entry.tag,
                path=entry.line.value,
                hashed=entry.hashed,
                alt_sip_id=alt_sip.get(index),
                attributes=tuple(a for a, _ in own),
                line=entry.line.number,
            )
        )
    return tuple(members)
