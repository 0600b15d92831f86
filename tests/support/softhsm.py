"""A real PKCS#11 token for tests: SoftHSM2 in a temporary SOFTHSM2_CONF folder.

Tokens are created with ``softhsm2-util``, keys imported with ``softhsm2-util --import`` and
certificates written with ``pkcs11-tool`` (opensc); the key file is deleted afterwards, so a
signature can only come from the token.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.pki import Identity
from tests.conftest import require_tool

MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)
PIN = "246810"
SO_PIN = "13579135"


def softhsm_module() -> str:
    require_tool("softhsm2-util")
    for candidate in MODULE_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    pytest.skip("libsofthsm2.so not found (scripts/system-deps.sh installs softhsm2)")


@dataclass(frozen=True)
class SoftHsm:
    folder: Path
    module: str

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SOFTHSM2_CONF": str(self.folder / "softhsm2.conf")}

    def run(self, *argv: str) -> None:
        done = subprocess.run(
            argv, env=self.env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def add_token(self, label: str) -> None:
        self.run(
            "softhsm2-util", "--init-token", "--free", "--label", label,
            "--pin", PIN, "--so-pin", SO_PIN,
        )  # fmt: skip

    def import_key(self, token: str, identity: Identity, label: str, key_id: str) -> None:
        """Import the private key from a temporary PEM file, then delete the file."""
        key_file = self.folder / f"{label}.key.pem"
        key_file.write_bytes(identity.key_pem())
        try:
            self.run(
                "softhsm2-util", "--import", str(key_file), "--token", token,
                "--label", label, "--id", key_id, "--pin", PIN,
            )  # fmt: skip
        finally:
            key_file.unlink()

    def import_cert(self, token: str, identity: Identity, label: str, key_id: str) -> None:
        cert_file = self.folder / f"{label}.der"
        cert_file.write_bytes(identity.cert_der())
        self.run(
            require_tool("pkcs11-tool"), "--module", self.module, "--token-label", token,
            "--login", "--pin", PIN, "--write-object", str(cert_file), "--type", "cert",
            "--label", label, "--id", key_id,
        )  # fmt: skip

    def generate_ec_key(self, token: str, label: str, key_id: str) -> None:
        """An ECDSA P-256 key pair made on the token (WDAC refuses ECDSA signers)."""
        self.run(
            require_tool("pkcs11-tool"), "--module", self.module, "--token-label", token,
            "--login", "--pin", PIN, "--keypairgen", "--key-type", "EC:prime256v1",
            "--label", label, "--id", key_id,
        )  # fmt: skip


def make_softhsm(folder: Path) -> SoftHsm:
    module = softhsm_module()
    tokens = folder / "tokens"
    tokens.mkdir(parents=True)
    (folder / "softhsm2.conf").write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    return SoftHsm(folder, module)
