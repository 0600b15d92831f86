"""The state directory refuses folders other users own or may write to (issue 11, item 4).

As ssh does for ``~/.ssh``: a pre-created state directory or ``sessions`` folder that is group- or
world-writable, owned by someone else, or a link is refused with a message naming the folder and
the fix; one that others may only read is tightened to 0700. The modes and owners checked here are
set by the test itself with chmod/chown and read back with os.stat.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from tracer.errors import TracerEnvironmentError
from tracer.state import STATE_ENV, state_root

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX owners and modes")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "state"
    monkeypatch.setenv(STATE_ENV, str(d))
    return d


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_fresh_state_directory_is_private(state: Path) -> None:
    assert state_root() == str(state)
    assert _mode(state) == 0o700
    assert _mode(state / "sessions") == 0o700


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702, 0o1777], ids=oct)
def test_writable_sessions_folder_is_refused(state: Path, mode: int) -> None:
    (state / "sessions").mkdir(parents=True)
    state.chmod(0o700)
    (state / "sessions").chmod(mode)
    with pytest.raises(TracerEnvironmentError) as err:
        state_root()
    msg = str(err.value)
    assert str(state / "sessions") in msg
    assert "writable by other users" in msg
    assert f"chmod 700 {state / 'sessions'}" in msg
    assert _mode(state / "sessions") == mode, "refused, not silently changed"


def test_writable_state_directory_is_refused(state: Path) -> None:
    state.mkdir()
    state.chmod(0o777)
    with pytest.raises(TracerEnvironmentError, match="writable by other users") as err:
        state_root()
    assert f"chmod 700 {state}" in str(err.value)
    assert not (state / "sessions").exists()


def test_readable_folders_are_tightened(state: Path) -> None:
    (state / "sessions").mkdir(parents=True)
    state.chmod(0o755)
    (state / "sessions").chmod(0o755)
    state_root()
    assert _mode(state) == 0o700
    assert _mode(state / "sessions") == 0o700


def test_sessions_folder_that_is_a_link_is_refused(state: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    state.mkdir(mode=0o700)
    (state / "sessions").symlink_to(elsewhere)
    with pytest.raises(TracerEnvironmentError, match="not a directory") as err:
        state_root()
    assert str(state / "sessions") in str(err.value)


@pytest.mark.skipif(not IS_ROOT, reason="needs root to hand a folder to another uid")
def test_sessions_folder_of_another_user_is_refused(state: Path) -> None:
    (state / "sessions").mkdir(parents=True, mode=0o700)
    state.chmod(0o700)
    os.chown(state / "sessions", 65534, 65534)
    with pytest.raises(TracerEnvironmentError, match="belongs to uid 65534") as err:
        state_root()
    assert f"rm -r '{state / 'sessions'}'" in str(err.value)
