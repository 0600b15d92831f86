"""The import rules of CONTRIBUTING.md, enforced on the source text."""

from __future__ import annotations

import ast
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
# third-party module -> the only files (relative paths, or folder prefixes) allowed to import it
QUARANTINE: dict[str, tuple[str, ...]] = {
    "pefile": ("catalog/pe/metadata.py",),
    "signify": ("catalog/asn1/schemas.py",),
    "watchdog": ("tracer/sources/watch.py",),
    "psutil": ("tracer/sources/processes.py",),
    "typer": ("inspector/cli/",),
    "rich": ("inspector/cli/",),
    "click": ("inspector/cli/",),
    "lief": (),
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


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
