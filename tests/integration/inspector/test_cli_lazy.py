"""The command line loads only the command module it runs (inspector/cli/application.py).

``MODULES`` says which module provides which top-level word. A word missing from it, or a module
missing from a word, would make that command (or one of its sub-commands) vanish when run on its
own, while the full application - what every other test drives - still had it. So each word's help
is checked in a fresh interpreter against the full application's, and ``inspector hash`` is
checked not to import what it does not use (the reason for the laziness: start-up time).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from inspector.cli import app, hashes_many
from inspector.cli.application import MODULES, command_word

PROJECT = Path(__file__).resolve().parents[3]


def _python(code: str, *args: str, seed: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    if seed is not None:
        env["PYTHONHASHSEED"] = seed
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT,
        env=env,
        timeout=120,
    )


# argv[0] names the program in usage lines, as the ``inspector`` console script does.
LAZY = "import sys; sys.argv[0] = 'inspector'; from inspector.cli import main; main(sys.argv[1:])"
FULL = (
    "import sys; sys.argv[0] = 'inspector'; import inspector.cli as c; c.full_app(); "
    "c.main(sys.argv[1:])"
)

WORDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_the_table_names_every_top_level_word_and_no_other() -> None:
    table = {word for words in MODULES.values() for word in words}
    assert table == set(WORDS)


@pytest.mark.parametrize("word", WORDS)
def test_each_word_alone_has_the_full_applications_help(word: str) -> None:
    lazy, full = _python(LAZY, word, "--help"), _python(FULL, word, "--help")
    assert lazy.returncode == full.returncode == 0, (lazy.stderr, full.stderr)
    assert lazy.stdout == full.stdout
    assert f"Usage: inspector {word} " in lazy.stdout


def test_sub_commands_of_shared_groups_work_alone() -> None:
    # ``policy from-events`` comes from commands_events, ``catalog tbs`` from commands_sign.
    for args in (["policy", "from-events", "--help"], ["catalog", "tbs", "--help"]):
        lazy, full = _python(LAZY, *args), _python(FULL, *args)
        assert lazy.returncode == 0, lazy.stderr
        assert lazy.stdout == full.stdout


def test_case_and_root_options_do_not_hide_the_word() -> None:
    assert command_word(["--debug", "STOP", "C:"]) == "stop"
    assert command_word(["--version"]) is None
    assert command_word(["--", "hash"]) is None
    result = _python(LAZY, "Hash", "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: inspector hash" in result.stdout


def test_root_help_and_an_unknown_word_load_everything() -> None:
    full = _python(FULL, "--help")
    lazy = _python(LAZY, "--help")
    assert lazy.stdout == full.stdout
    for word in WORDS:
        assert word in lazy.stdout
    unknown = _python(LAZY, "hsah")
    assert unknown.returncode == 2
    assert "No such command" in unknown.stderr


def test_hash_imports_neither_the_other_commands_nor_policy_nor_cryptography(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.txt").write_bytes(b"text\n")
    code = (
        "import sys, json\n"
        "from inspector.cli import main\n"
        "try:\n"
        "    main(['hash', '--json', sys.argv[1]])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}), file=sys.stderr)\n"
    )
    result = _python(code, str(tmp_path))
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), result.stderr
    flat = json.loads(result.stdout)["files"][0]["flat_sha256"]
    assert flat == hashlib.sha256(b"text\n").hexdigest().upper()
    loaded = set(report["modules"])
    commands = {m for m in loaded if m.startswith("inspector.cli.commands_")}
    assert commands == {"inspector.cli.commands_hash"}
    assert not {m for m in loaded if m.split(".")[0] in ("policy", "cryptography")}


def test_help_is_the_same_whatever_the_hash_seed() -> None:
    # click lists the help option's spellings in set order; ours keeps HELP_OPTIONS' order.
    texts = set()
    for seed in ("0", "4"):  # the old set order differed between these two seeds
        result = _python(LAZY, "events", "--help", seed=seed)
        assert result.returncode == 0, result.stderr
        texts.add(result.stdout)
    assert len(texts) == 1
    assert "-h,-?" in texts.pop().replace(" ", "")


def test_only_commands_that_hash_many_files_start_the_worker_fork_server() -> None:
    assert hashes_many(["--debug", "Hash", "-a", "sha1", "dir"])
    assert hashes_many(["stop", "C:", "-Name", "app.cat"])
    assert hashes_many(["catalog", "build", "app.cdf"])
    assert hashes_many(["verify", "app.cat", "dir"])
    assert not hashes_many(["catalog", "show", "app.cat"])
    assert not hashes_many(["policy", "compile", "p.xml"])
    assert not hashes_many(["--help"])
    assert not hashes_many([])
