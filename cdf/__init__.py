"""MakeCat catalog definition files (formats.md section 5): text in, model out, and back.

Pure: no file system access and no imports from the rest of the project.

- ``cdf.model``: the frozen records (``CatalogDefinition``, ``CdfMember``, ``CdfAttribute``).
- ``cdf.parser.parse``: bytes/str -> ``ParseResult`` (model, warnings, encoding).
- ``cdf.writer.render`` / ``render_bytes``: model -> deterministic CRLF text.
- ``cdf.builder.build_package_definition``: the Package Inspector-style definition for a file list.
- ``cdf.paths.resolve_member_path``: a member path as written -> a host path (pure).
"""

from cdf.builder import build_package_definition
from cdf.errors import CdfError, CdfInputError
from cdf.model import CatalogDefinition, CdfAttribute, CdfMember, CdfWarning, ParseResult
from cdf.parser import parse, parse_attribute_text
from cdf.paths import resolve_member_path, windows_basename
from cdf.writer import render, render_bytes

__all__ = [
    "CatalogDefinition",
    "CdfAttribute",
    "CdfError",
    "CdfInputError",
    "CdfMember",
    "CdfWarning",
    "ParseResult",
    "build_package_definition",
    "parse",
    "parse_attribute_text",
    "render",
    "render_bytes",
    "resolve_member_path",
    "windows_basename",
]
