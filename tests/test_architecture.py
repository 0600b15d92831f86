"""The import rules of CONTRIBUTING.md, enforced on the source text."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("tracer", "catalog", "cdf", "policy", "inspector")
ALLOWED_INTERNAL: dict[str, set[str]] = {
    "tracer": {"tracer"},
    "cdf": {"cdf"},
    "catalog": {"catalog", "cdf"},
    "policy": {"policy", "catalog", "cdf"},
    "inspector": {"inspector", "tracer", "cdf", "catalog", "policy"},
}
# third-party module -> the only files (relative paths, or folder prefixes ending in /) allowed to
# import it: its homes. A home is one module or one sub-package folder; at most two per library.
# tests/ is not a home: tests use these libraries as independent oracles.
QUARANTINE: dict[str, tuple[str, ...]] = {
    "pefile": ("catalog/pe/metadata.py",),
    # One ASN.1 story (CONTRIBUTING.md, "Which toolkit does what"): asn1crypto reads certificates
    # and PKCS#7 in catalog/asn1/ only; cryptography does keys, signatures and chain validation in
    # catalog/cms/ (and makes the test PKI); signify is a benchmark peer only.
    "asn1crypto": ("catalog/asn1/",),
    "cryptography": ("catalog/cms/", "fixtures/pki.py"),
    "signify": ("bench/",),
    "certvalidator": (),
    "oscrypto": (),
    "watchdog": ("tracer/sources/watch.py",),
    "psutil": ("tracer/sources/processes.py",),
    "evtx": ("policy/events/evtx_log.py", "bench/"),
    "Evtx": ("bench/",),
    "typer": ("inspector/cli/",),
    "rich": ("inspector/cli/",),
    "click": ("inspector/cli/",),
    "lief": ("bench/",),
    "pkcs11": ("catalog/cms/backends/pkcs11.py",),
    "azure": ("catalog/cms/backends/azure.py",),
    "dask": ("catalog/fleet/dask.py",),
    "distributed": ("catalog/fleet/dask.py",),
}
MAX_HOMES = 2
HOME_SCAN = (*("tracer", "catalog", "cdf", "policy", "inspector"), "bench", "fixtures")

# Inside catalog: which sub-packages each may import (errors.py and records.py are shared by all).
CATALOG_SUBPACKAGES = ("pe", "asn1", "cms", "ctl", "fleet")
CATALOG_INTERNAL: dict[str, set[str]] = {
    "asn1": set(),
    "pe": {"asn1"},
    "cms": {"asn1"},
    "ctl": {"pe", "cms", "asn1"},
    "fleet": {"pe"},
}
CATALOG_SHARED = {"catalog", "catalog.errors", "catalog.records"}
"""Top-level catalog modules any part of catalog, and any caller, may import."""
CATALOG_FACES = {"catalog", *(f"catalog.{s}" for s in CATALOG_SUBPACKAGES)}


def _imports(path: Path) -> list[str]:
    return [module for module, _names in _import_froms(path)]


def _import_froms(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(module, names imported from it) for every absolute import (names empty for ``import``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, tuple(alias.name for alias in node.names)))
    return found


def _sources() -> list[tuple[str, Path]]:
    return [(pkg, p) for pkg in OURS for p in sorted((ROOT / pkg).rglob("*.py"))]


@pytest.mark.parametrize(("package", "path"), _sources(), ids=lambda v: str(v))
def test_import_rules(package: str, path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    for name in _imports(path):
        top = name.split(".")[0]
        if top in OURS:
            assert top in ALLOWED_INTERNAL[package], f"{rel} imports {name}: {package} may not"
        if top in QUARANTINE:
            allowed = QUARANTINE[top]
            assert any(rel == a or (a.endswith("/") and rel.startswith(a)) for a in allowed), (
                f"{rel} imports {name}; only {allowed or 'bench/'} may"
            )
        assert not name.startswith("signify.authenticode"), (
            f"{rel} imports {name}: it dies at import time on OpenSSL >= 3.0.10 (oscrypto)"
        )


def test_no_other_distribution_claims_our_packages() -> None:
    """Our top-level names are generic; fail loudly if another installed distribution owns one."""
    owners = importlib.metadata.packages_distributions()
    for name in OURS:
        others = [d for d in owners.get(name, []) if d != "wdac-package-inspector"]
        assert not others, f"top-level package {name!r} is also installed by {others}"


@pytest.mark.parametrize(
    "path",
    sorted(p for folder in ("bench", "fixtures") for p in (ROOT / folder).rglob("*.py")),
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_bench_and_fixtures_never_import_inspector(path: Path) -> None:
    """Benchmarks and fixture generators use the libraries (catalog, cdf, tracer, policy)."""
    bad = [n for n in _imports(path) if n.split(".")[0] == "inspector"]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: use the library it wraps"


def _home_of(rel: str) -> str:
    """The home a file belongs to: its sub-package folder inside catalog/, inspector/cli/ and
    bench/ as folders, otherwise the module itself."""
    parts = rel.split("/")
    if parts[0] == "catalog" and len(parts) > 2:
        return f"catalog/{parts[1]}/"
    if parts[:2] == ["inspector", "cli"]:
        return "inspector/cli/"
    if parts[0] == "bench":
        return "bench/"
    return rel


def test_each_third_party_library_has_at_most_two_homes() -> None:
    homes: dict[str, set[str]] = {}
    for top in HOME_SCAN:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for name in _imports(path):
                lib = name.split(".")[0]
                if lib not in QUARANTINE:
                    continue
                allowed = QUARANTINE[lib]
                assert any(rel == a or (a.endswith("/") and rel.startswith(a)) for a in allowed), (
                    f"{rel} imports {name}; its homes are {allowed or 'none (never imported)'}"
                )
                homes.setdefault(lib, set()).add(_home_of(rel))
    for lib, where in homes.items():
        assert len(where) <= MAX_HOMES, f"{lib} is imported from {sorted(where)}: two homes at most"


def _catalog_sources() -> list[tuple[str, Path]]:
    return [
        (sub, p)
        for sub in CATALOG_SUBPACKAGES
        for p in sorted((ROOT / "catalog" / sub).rglob("*.py"))
    ]


@pytest.mark.parametrize(("sub", "path"), _catalog_sources(), ids=lambda v: str(v))
def test_catalog_subpackage_layering(sub: str, path: Path) -> None:
    """pe -> asn1, cms -> asn1, ctl -> pe, cms, asn1; another sub-package only through its face."""
    rel = path.relative_to(ROOT).as_posix()
    for module, _names in _import_froms(path):
        parts = module.split(".")
        if parts[0] != "catalog" or module in CATALOG_SHARED:
            continue
        other = parts[1]
        if other == sub:
            continue
        assert other in CATALOG_INTERNAL[sub], f"{rel} imports {module}: catalog.{sub} may not"
        assert module in CATALOG_FACES, (
            f"{rel} imports {module}: use the face catalog.{other} (its __init__ __all__)"
        )


def _face_callers() -> list[Path]:
    return [p for top in ("policy", "inspector") for p in sorted((ROOT / top).rglob("*.py"))]


@pytest.mark.parametrize("path", _face_callers(), ids=lambda v: str(v))
def test_callers_use_catalog_faces_only(path: Path) -> None:
    """policy/ and inspector/ (CLI and pipeline) import catalog only through its package faces,
    and only names the face lists in ``__all__``."""
    rel = path.relative_to(ROOT).as_posix()
    for module, names in _import_froms(path):
        if module.split(".")[0] != "catalog":
            continue
        assert module in CATALOG_FACES, f"{rel} imports {module}: import from its package face"
        exported = set(importlib.import_module(module).__all__)
        hidden = [n for n in names if n not in exported]
        assert not hidden, f"{rel} imports {hidden} from {module}, which its __all__ does not list"


@pytest.mark.parametrize("face", sorted(CATALOG_FACES))
def test_faces_export_what_they_list(face: str) -> None:
    module = importlib.import_module(face)
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{face}.__all__ lists {missing}, which it does not define"


def _top_level_imports_of(path: Path, package: str) -> list[str]:
    return [n for n in _imports(path) if n == package or n.startswith(package + ".")]


@pytest.mark.parametrize(
    "path", sorted((ROOT / "inspector").rglob("*.py")), ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_inspector_uses_only_the_tracer_face(path: Path) -> None:
    """``inspector`` imports ``from tracer import ...`` (its ``__all__``), not its modules."""
    deep = [n for n in _top_level_imports_of(path, "tracer") if n != "tracer"]
    assert not deep, f"{path.relative_to(ROOT)} imports {deep}; import from tracer's face instead"


def test_tracer_face_is_declared_and_complete() -> None:
    import tracer

    assert tracer.__all__, "tracer/__init__.py must name its public face in __all__"
    for name in tracer.__all__:
        assert hasattr(tracer, name), f"tracer.__all__ names {name!r}, which tracer lacks"


@pytest.mark.parametrize(
    "path", sorted((ROOT / "tracer").rglob("*.py")), ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_tracer_modules_are_small_and_say_their_job(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") < 650, f"{path.relative_to(ROOT)}: over 650 lines, split it by job"
    doc = ast.get_docstring(ast.parse(text))
    assert doc, f"{path.relative_to(ROOT)}: start with a docstring naming its job and spec section"
    if path.name != "__init__.py":
        assert "tracer.md" in doc, f"{path.relative_to(ROOT)}: docstring names no tracer.md section"


MAX_MODULE_LINES = 650


def test_every_product_module_is_under_650_lines() -> None:
    """CONTRIBUTING.md: no product module over 650 lines; split a longer one by job."""
    too_long = [
        f"{path.relative_to(ROOT).as_posix()}: {lines} lines"
        for _pkg, path in _sources()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) >= MAX_MODULE_LINES
    ]
    assert not too_long, f"over {MAX_MODULE_LINES} lines, split by job: {too_long}"
