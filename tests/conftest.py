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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The folder says the lane: tests/unit, tests/oracle, tests/integration get that marker."""
    tests_root = Path(__file__).resolve().parent
    for item in items:
        rel = item.path.resolve().relative_to(tests_root).parts
        lane = rel[0] if rel and rel[0] in LANES else None
        if lane is not None:
            item.add_marker(getattr(pytest.mark, lane))
