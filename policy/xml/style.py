"""Formatting of a policy XML that does not change the policy (sipolicy.md 2.1).

ConfigCI's XmlSerializer layout is the default; ``detect_style`` reads a document's own choices
(newlines, UTF-8 BOM, namespace declarations, New-CIPolicy's section comments) so that rewriting it
changes as little as possible. A UTF-16 document is inspected after decoding; it is written back
as UTF-8, the encoding Microsoft's tools write.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from policy.errors import PolicyInputError
from policy.xml.parse import decode_xml


@dataclass(frozen=True, slots=True)
class XmlStyle:
    """Formatting choices that do not change the policy.

    The default is ConfigCI's layout (XmlSerializer): CRLF, no BOM, the xsi/xsd namespace
    declarations on the root. ``section_comments`` adds New-CIPolicy's ``<!--EKUS-->``-style
    comments.
    """

    newline: str = "\r\n"
    bom: bool = False
    serializer_namespaces: bool = True
    section_comments: bool = False


def detect_style(data: bytes) -> XmlStyle:
    """The formatting a document uses, so that rewriting it changes as little as possible."""
    try:
        text = decode_xml(data, "policy")
    except PolicyInputError:
        text = data.decode("utf-8", "replace")
    head = text[:2048]
    return XmlStyle(
        newline="\r\n" if "\r\n" in head else "\n",
        bom=data.startswith(codecs.BOM_UTF8),
        serializer_namespaces="xmlns:xsi=" in head,
        section_comments="<!--EKUS-->" in text,
    )
