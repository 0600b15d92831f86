"""SiPolicy XML (sipolicy.md section 2, cipolicy.xsd), one job per module.

``parse``: bytes -> element tree, safely (encoding by BOM/declaration, no DTD, bounded size and
depth); ``read``: element tree -> model, checking the document's shape; ``write``: model -> bytes in
ConfigCI's layout; ``style``: the formatting choices a document makes; ``schema``: the element and
attribute orders both directions share. Callers use the names below.
"""

from policy.xml.parse import MAX_DEPTH, MAX_ELEMENTS, MAX_XML_BYTES, looks_like_xml
from policy.xml.read import read_policy_xml
from policy.xml.style import XmlStyle, detect_style
from policy.xml.write import write_policy_xml

__all__ = [
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "MAX_XML_BYTES",
    "XmlStyle",
    "detect_style",
    "looks_like_xml",
    "read_policy_xml",
    "write_policy_xml",
]
