"""Catalogs that follow app updates: what changed between two catalogs, and one catalog for many.

``diff_catalogs`` matches the members of two parsed catalogs by their ``File`` name-value attribute
(case-insensitively, as Windows compares file names; members without one are matched by their
identifier) and reports members added, removed and changed (digest, SIP type or attributes), plus
changed catalog-level attributes. Version-2 SHA1 compatibility entries (formats.md 4.3) are not
members of their own: they follow their primary entry.

``merge_catalogs`` takes the union of the TrustedSubjects of several catalogs, byte for byte as
stored, and writes them in one new unsigned catalog (sorted by identifier, content-derived list
identifier: the same inputs in the same order give the same bytes). Rules, documented in the
README:

- every input must have the same catalog version (1 = SHA1, 2 = SHA256): a SHA1 subject list
  under a SHA256 subject algorithm would be invalid, so mixing them is refused;
- a subject present in several inputs with different bytes (same file content, different
  attributes) is taken from the LAST input naming it (the newest catalog wins) and reported;
- catalog attributes are merged by name, the last input's value wins, and differing values are
  reported; other (non name-value) extensions are dropped and reported;
- thisUpdate is the latest of the inputs'; signatures are not carried over (sign the result).

Pure: bytes and records in, records out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.asn1 import (
    TAG_GENERALIZED_TIME,
    TAG_OCTET_STRING,
    TAG_SEQUENCE,
    TAG_UTC_TIME,
    DerError,
    children,
    read_tlv,
)
from catalog.ctl.build import BuiltCatalog, NameValue, build_from_subjects
from catalog.ctl.read import CatalogEntry, ParsedCatalog, display_value, parse_catalog
from catalog.errors import CatalogInputError

SCHEMA_VERSION = 1
FILE_ATTRIBUTE = "File"


@dataclass(frozen=True, slots=True)
class AttributeChange:
    """One name-value attribute that differs; ``None`` on the side where it is absent."""

    name: str
    old: str | None
    new: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "old": self.old, "new": self.new}


@dataclass(frozen=True, slots=True)
class MemberRef:
    """A member as reported: its name (or identifier) and SIP digest."""

    name: str
    digest_algorithm: str | None
    digest: str | None
    """Uppercase hex."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "digest_algorithm": self.digest_algorithm, "digest": self.digest}


@dataclass(frozen=True, slots=True)
class MemberChange:
    """A member present in both catalogs under the same name whose digest or attributes differ."""

    old: MemberRef
    new: MemberRef
    attributes: tuple[AttributeChange, ...]

    @property
    def content_changed(self) -> bool:
        return self.old.digest != self.new.digest

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.new.name,
            "old": self.old.to_dict(),
            "new": self.new.to_dict(),
            "content_changed": self.content_changed,
            "attributes": [a.to_dict() for a in self.attributes],
        }


@dataclass(frozen=True, slots=True)
class CatalogDiff:
    old_version: int
    new_version: int
    added: tuple[MemberRef, ...]
    removed: tuple[MemberRef, ...]
    changed: tuple[MemberChange, ...]
    unchanged: int
    catalog_attributes: tuple[AttributeChange, ...]

    @property
    def identical(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
            or self.catalog_attributes
            or self.old_version != self.new_version
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "added": [m.to_dict() for m in self.added],
            "removed": [m.to_dict() for m in self.removed],
            "changed": [c.to_dict() for c in self.changed],
            "unchanged": self.unchanged,
            "catalog_attributes": [a.to_dict() for a in self.catalog_attributes],
        }


Names = Mapping[bytes, str]
"""Identifier -> file name, for catalogs without ``File`` attributes (Package Inspector's)."""


def _name_of(entry: CatalogEntry, names: Names | None = None) -> str:
    if entry.file_name:
        return entry.file_name
    if names is not None and entry.identifier in names:
        return names[entry.identifier]
    return f"#{entry.identifier_hex}"


def _ref(entry: CatalogEntry, names: Names | None = None) -> MemberRef:
    digest = entry.digest.hex().upper() if entry.digest is not None else None
    return MemberRef(_name_of(entry, names), entry.digest_algorithm, digest)


def _attribute_map(attributes: Sequence[NameValue]) -> dict[str, str]:
    values: dict[str, str] = {}
    for attr in attributes:
        text = display_value(attr)
        values[attr.name] = text if attr.name not in values else f"{values[attr.name]}; {text}"
    return values


def _attribute_changes(
    old: Sequence[NameValue], new: Sequence[NameValue]
) -> tuple[AttributeChange, ...]:
    before, after = _attribute_map(old), _attribute_map(new)
    return tuple(
        AttributeChange(name, before.get(name), after.get(name))
        for name in sorted(before.keys() | after.keys(), key=str.casefold)
        if before.get(name) != after.get(name)
    )


def _member_changes(old: CatalogEntry, new: CatalogEntry) -> tuple[AttributeChange, ...]:
    changes = list(_attribute_changes(old.attributes, new.attributes))
    if old.member_type != new.member_type:
        changes.insert(
            0, AttributeChange("(SIP type)", old.member_type.value, new.member_type.value)
        )
    return tuple(changes)


def _members(parsed: ParsedCatalog, names: Names | None) -> dict[str, list[CatalogEntry]]:
    """Primary entries grouped by case-folded name (compat entries follow their primary)."""
    groups: dict[str, list[CatalogEntry]] = {}
    for entry in parsed.members:
        if entry.compat:
            continue
        groups.setdefault(_name_of(entry, names).casefold(), []).append(entry)
    return groups


def diff_catalogs(
    old: ParsedCatalog,
    new: ParsedCatalog,
    *,
    old_names: Names | None = None,
    new_names: Names | None = None,
) -> CatalogDiff:
    """What changed from ``old`` to ``new``; every list sorted by name, then digest.

    ``old_names``/``new_names`` name members that carry no ``File`` attribute."""
    before, after = _members(old, old_names), _members(new, new_names)
    added: list[MemberRef] = []
    removed: list[MemberRef] = []
    changed: list[MemberChange] = []
    unchanged = 0
    for key in sorted(before.keys() | after.keys()):
        olds, news = before.get(key, []), after.get(key, [])
        if len(olds) == 1 and len(news) == 1:
            a, b = olds[0], news[0]
            attrs = _member_changes(a, b)
            if a.digest != b.digest or a.digest_algorithm != b.digest_algorithm or attrs:
                changed.append(MemberChange(_ref(a, old_names), _ref(b, new_names), attrs))
            else:
                unchanged += 1
            continue
        # Several members share the name (same file in several folders): pair equal digests.
        remaining = list(news)
        for entry in olds:
            twin = next((n for n in remaining if n.digest == entry.digest), None)
            if twin is None:
                removed.append(_ref(entry, old_names))
            else:
                remaining.remove(twin)
                attrs = _member_changes(entry, twin)
                if attrs:
                    changed.append(
                        MemberChange(_ref(entry, old_names), _ref(twin, new_names), attrs)
                    )
                else:
                    unchanged += 1
        added.extend(_ref(n, new_names) for n in remaining)

    def order(ref: MemberRef) -> tuple[str, str]:
        return (ref.name.casefold(), ref.digest or "")

    return CatalogDiff(
        old_version=old.version,
        new_version=new.version,
        added=tuple(sorted(added, key=order)),
        removed=tuple(sorted(removed, key=order)),
        changed=tuple(sorted(changed, key=lambda c: order(c.new))),
        unchanged=unchanged,
        catalog_attributes=_attribute_changes(old.attributes, new.attributes),
    )


def trusted_subjects(ctl: bytes, source: str = "catalog") -> list[tuple[bytes, bytes]]:
    """``(identifier, TrustedSubject DER exactly as stored)`` for every subject of a CTL."""
    try:
        outer = read_tlv(ctl, 0, len(ctl), TAG_SEQUENCE, "CertificateTrustList")
        items = children(ctl, outer)
        times = [i for i, t in enumerate(items) if t.tag in (TAG_UTC_TIME, TAG_GENERALIZED_TIME)]
        if not times:
            raise DerError(outer.start, "CTL without thisUpdate")
        idx = times[0] + 1
        if idx < len(items) and items[idx].tag in (TAG_UTC_TIME, TAG_GENERALIZED_TIME):
            idx += 1
        idx += 1  # subjectAlgorithm
        if idx >= len(items) or items[idx].tag != TAG_SEQUENCE:
            return []
        out: list[tuple[bytes, bytes]] = []
        for subject in children(ctl, items[idx]):
            ident = read_tlv(
                ctl, subject.content_start, subject.end, TAG_OCTET_STRING, "subjectIdentifier"
            )
            out.append((ctl[ident.content_start : ident.end], ctl[subject.start : subject.end]))
        return out
    except DerError as exc:
        raise CatalogInputError(f"{source}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class MergeResult:
    built: BuiltCatalog
    version: int
    member_count: int
    """Primary members (files) in the merged catalog."""
    conflicts: tuple[str, ...]
    """Human-readable notes: subjects and attributes that differed, dropped extensions."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "version": self.version,
            "members": self.member_count,
            "subjects": self.built.subject_count,
            "list_identifier": self.built.list_identifier.hex().upper(),
            "conflicts": list(self.conflicts),
        }


def merge_catalogs(inputs: Sequence[tuple[str, bytes]]) -> MergeResult:
    """Union of ``(name, catalog bytes)`` inputs, in order (later inputs win conflicts)."""
    if not inputs:
        raise CatalogInputError("nothing to merge: name at least one catalog")
    parsed = [(name, parse_catalog(data, name)) for name, data in inputs]
    versions = {p.version for _, p in parsed}
    if len(versions) != 1 or 0 in versions:
        listing = ", ".join(f"{name}: v{p.version}" for name, p in parsed)
        raise CatalogInputError(
            f"cannot merge catalogs of different or unknown versions ({listing}); rebuild them "
            "with the same --sha1/--sha256 choice first"
        )
    version = versions.pop()
    subjects: dict[bytes, bytes] = {}
    names: dict[bytes, str] = {}
    origin: dict[bytes, str] = {}
    conflicts: list[str] = []
    for name, catalog in parsed:
        for entry in catalog.members:
            names.setdefault(entry.identifier, _name_of(entry))
        for ident, encoded in trusted_subjects(catalog.ctl, name):
            previous = subjects.get(ident)
            if previous is not None and previous != encoded:
                conflicts.append(
                    f"{names.get(ident, ident.hex().upper())} ({ident.hex().upper()}): "
                    f"attributes differ between {origin[ident]} and {name}; kept {name}'s"
                )
            subjects[ident] = encoded
            origin[ident] = name
    attributes: dict[str, NameValue] = {}
    attr_origin: dict[str, str] = {}
    for name, catalog in parsed:
        for attr in catalog.attributes:
            prior = attributes.get(attr.name)
            if prior is not None and prior != attr:
                conflicts.append(
                    f"catalog attribute {attr.name}: {display_value(prior)!r} in "
                    f"{attr_origin[attr.name]}, {display_value(attr)!r} in {name}; kept {name}'s"
                )
            attributes[attr.name] = attr
            attr_origin[attr.name] = name
        conflicts.extend(
            f"{name}: extension {oid} is not a name-value attribute: not carried over"
            for oid, _ in catalog.other_extensions
        )
    latest = max(catalog.this_update for _, catalog in parsed)
    built = build_from_subjects(
        version,
        latest,
        subjects,
        tuple(attributes[k] for k in sorted(attributes, key=str.casefold)),
    )
    merged = parse_catalog(built.der, "merged catalog")
    return MergeResult(
        built=built,
        version=version,
        member_count=sum(not e.compat for e in merged.members),
        conflicts=tuple(conflicts),
    )
