"""Shared fixtures: where the oracle and the project's fixtures are, and tool availability."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = PROJECT_ROOT / "fixtures"
ORACLE = PROJECT_ROOT.parent / "shared" / "oracle"
POLICY_ORACLE = PROJECT_ROOT.parent / "shared" / "policy-oracle"


def require_tool(name: str) -> str:
    """Return the tool's path, or skip the calling test with a reason naming the package."""
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (scripts/system-deps.sh installs it as root)")
    return found


@pytest.fixture
def oracle_dir() -> Path:
    """../shared/oracle, or skip: Microsoft-made ground truth kept outside the repository."""
    if not ORACLE.is_dir():
        pytest.skip(f"oracle folder {ORACLE} is absent (it sits beside the checkout in CI)")
    return ORACLE


@pytest.fixture
def policy_oracle_dir() -> Path:
    if not POLICY_ORACLE.is_dir():
        pytest.skip(f"policy oracle folder {POLICY_ORACLE} is absent")
    return POLICY_ORACLE


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``inspector`` in-process as the console script would: (exit code, stdout, stderr)."""
    from inspector.cli import main

    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    out, err = capsys.readouterr()
    return code, out, err


LANES = ("unit", "oracle", "integration")
ORACLE_FIXTURES = ("oracle_dir", "policy_oracle_dir")


def _lane_error(item: pytest.Item, lane: str) -> str | None:
    """Why ``item`` does not belong in ``lane``'s folder, or None when it does."""
    explicit = {m.name for m in item.iter_markers() if m.name in LANES}
    if lane == "unit":
        used = [f for f in ORACLE_FIXTURES if f in getattr(item, "fixturenames", ())]
        if used:
            return f"uses {used[0]} (Microsoft files in ../shared): move it to tests/oracle/"
        if explicit:
            wrong = sorted(explicit)[0]
            return f"is marked {wrong}: move it to tests/{wrong}/ and drop the marker"
    elif lane == "oracle" and "integration" in explicit:
        return "is marked integration: move it to tests/integration/ and drop the marker"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The folder says the lane: tests/unit, tests/oracle, tests/integration get that marker.

    A test whose fixtures or explicit markers say another lane fails collection, naming the test
    and the folder it belongs in (CONTRIBUTING.md, "Tests").
    """
    tests_root = Path(__file__).resolve().parent
    errors: list[str] = []
    for item in items:
        rel = item.path.resolve().relative_to(tests_root).parts
        lane = rel[0] if rel and rel[0] in LANES else None
        if lane is None:
            continue
        why = _lane_error(item, lane)
        if why is not None:
            errors.append(f"{item.nodeid} is in tests/{lane}/ but {why}")
        item.add_marker(getattr(pytest.mark, lane))
    if errors:
        raise pytest.UsageError("tests in the wrong lane:\n  " + "\n  ".join(errors))
