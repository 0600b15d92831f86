"""``policy``'s public face: ``inspector`` imports policy only through ``policy/__init__.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import policy

ROOT = Path(__file__).resolve().parents[1]


def _policy_imports(path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "policy" or node.module.startswith("policy."):
                found.append((node.lineno, node.module, tuple(a.name for a in node.names)))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "policy" or alias.name.startswith("policy."):
                    found.append((node.lineno, alias.name, ()))
    return found


def test_every_public_name_exists() -> None:
    assert sorted(policy.__all__) == sorted(set(policy.__all__))
    missing = [n for n in policy.__all__ if not hasattr(policy, n)]
    assert missing == []


def test_the_policy_pipeline_and_cli_import_only_the_face() -> None:
    # The two inspector modules that are policy's callers; others are held to it as they move.
    wrong = []
    for rel in ("inspector/pipeline/policies.py", "inspector/cli/commands_policy.py"):
        for line, module, names in _policy_imports(ROOT / rel):
            if module != "policy":
                wrong.append(f"{rel}:{line}: imports {module}")
            wrong += [f"{rel}:{line}: {n} is not in policy.__all__" for n in names
                      if n not in policy.__all__]  # fmt: skip
    assert wrong == []
