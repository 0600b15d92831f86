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
    "evtx": ("policy/events/evtx_log.py",),
    "Evtx": (),
    "typer": ("inspector/cli/",),
    "rich": ("inspector/cli/",),
    "click": ("inspector/cli/",),
    "lief": (),
    "dask": ("catalog/fleet/dask.py",),
    "distributed": ("catalog/fleet/dask.py",),
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
