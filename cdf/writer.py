"""Render a ``CatalogDefinition`` as MakeCat catalog definition text (formats.md 5.1).

Deterministic: the same model always gives the same text. Layout::

    [CatalogHeader]
    Name=...                 (each header key only when set, in this order:)
    ResultDir=...            Name, ResultDir, PublicVersion, CatalogVersion, HashAlgorithms,
    ...                      PageHashes, EncodingType, CATATTRn (model order)
    <blank line>
    [CatalogFiles]
    <HASH>tag=path           (per member, in model order: the member line,
    <HASH>tagALTSIPID={...}   its ALTSIPID, then its ATTRn lines)
    <HASH>tagATTR1=0x...:name:value

Lines end with CRLF like the Windows tools' files, the last one too (MSD-MAKECAT: "the last entry
must always have an explicit newline"). Bytes are UTF-8 without a BOM (what Microsoft's WinAppCli
feeds MakeCat), which is plain ASCII whenever the model is; non-ASCII paths are UNVERIFIED with
MakeCat (formats.md 5.1). Numbers: versions in decimal, EncodingType and type flags as 0x + 8 hex
digits. Comments are not part of the model and are not written.
"""

from __future__ import annotations

from cdf.model import CatalogDefinition

__all__ = ["CRLF", "render", "render_bytes"]

CRLF = "\r\n"


def render(definition: CatalogDefinition) -> str:
    """The .cdf text. Raises ``CdfInputError`` if the model has problems (see ``problems()``)."""
    definition.check()
    lines = ["[CatalogHeader]"]
    if definition.name is not None:
        lines.append(f"Name={definition.name}")
    if definition.result_dir is not None:
        lines.append(f"ResultDir={definition.result_dir}")
    if definition.public_version is not None:
        lines.append(f"PublicVersion={definition.public_version}")
    if definition.catalog_version is not None:
        lines.append(f"CatalogVersion={definition.catalog_version}")
    if definition.hash_algorithms:
        lines.append(f"HashAlgorithms={','.join(definition.hash_algorithms)}")
    if definition.page_hashes is not None:
        lines.append(f"PageHashes={'true' if definition.page_hashes else 'false'}")
    if definition.encoding_type is not None:
        lines.append(f"EncodingType=0x{definition.encoding_type:08X}")
    lines.extend(f"CATATTR{a.number}={a.text()}" for a in definition.attributes)
    lines.append("")
    lines.append("[CatalogFiles]")
    for member in definition.members:
        key = member.key
        lines.append(f"{key}={member.path}")
        if member.alt_sip_id is not None:
            lines.append(f"{key}ALTSIPID={member.alt_sip_id}")
        lines.extend(f"{key}ATTR{a.number}={a.text()}" for a in member.attributes)
    lines.append("")
    return CRLF.join(lines)


def render_bytes(definition: CatalogDefinition) -> bytes:
    """``render`` encoded as UTF-8 without a byte-order mark (ASCII when the model is ASCII)."""
    return render(definition).encode("utf-8")
