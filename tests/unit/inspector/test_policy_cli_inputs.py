"""``inspector policy`` with the inputs issue 11 found broken (items 11, 12, 13, 16).

UTF-16 policy XML works in every command that loads a policy; hostile XML is bad input (exit 3);
bad option values are usage errors (exit 2) listing the valid values; README's signed-policy recipe
(``--update-signer ca-chain.pem`` ... ``policy sign --chain``) works and its pre-flight error names
what is missing. Expected TBS values come from cryptography + hashlib, signatures from OpenSSL.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from fixtures.pki import PKI_DIR
from inspector.cli import app
from tests.support.inspector_policy_cli_inputs import BASE_ID, invoke, message, runner, tbs_sha256


def utf16(path: Path, out: Path, codec: str = "utf-16-le") -> Path:
    """``path`` re-saved as Windows PowerShell 5.1 does (UTF-16 with a BOM)."""
    text = path.read_bytes().decode("utf-8-sig").replace('encoding="utf-8"', 'encoding="utf-16"')
    bom = codecs.BOM_UTF16_LE if codec == "utf-16-le" else codecs.BOM_UTF16_BE
    out.write_bytes(bom + text.encode(codec))
    return out


# -- item 13: UTF-16 is XML in every command ----------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_policy_xml_works_in_every_command(
    base_xml: Path, tmp_path: Path, codec: str
) -> None:
    wide = utf16(base_xml, tmp_path / "wide.xml", codec)
    code, result = invoke(["policy", "show", str(wide), "--json"])
    assert code == 0, message(result)
    shown = json.loads(result.stdout)
    assert (shown["source_format"], shown["policy_id"]) == ("xml", BASE_ID)
    assert invoke(["policy", "validate", str(wide)])[0] == 0

    # compile: the same bytes as from the UTF-8 original.
    narrow_cip, wide_cip = tmp_path / "narrow.cip", tmp_path / "wide.cip"
    assert invoke(["policy", "compile", str(base_xml), "-o", str(narrow_cip)])[0] == 0
    code, result = invoke(["policy", "compile", str(wide), "-o", str(wide_cip)])
    assert code == 0, message(result)
    assert wide_cip.read_bytes() == narrow_cip.read_bytes()

    merged = tmp_path / "merged.xml"
    code, result = invoke(["policy", "merge", str(wide), str(wide), "-o", str(merged)])
    assert code == 0, message(result)
    code, result = invoke(["policy", "set", str(wide), "-o", str(tmp_path / "set.xml"),
                           "--option", "3"])  # fmt: skip
    assert code == 0, message(result)
    code, result = invoke(["policy", "decompile", str(wide), "-o", str(tmp_path / "d.xml")])
    assert code == 3
    assert "already XML" in message(result)
    key = ["--cert", str(PKI_DIR / "leaf.pem"), "--key", str(PKI_DIR / "leaf.key.pem")]
    code, result = invoke(["policy", "sign", str(wide), *key, "-o", str(tmp_path / "s.cip")])
    assert code == 3
    assert "this is XML; compile it first" in message(result)


# -- item 11: hostile XML is bad input ----------------------------------------------------------


def test_deeply_nested_xml_exits_3_naming_file_and_line(base_xml: Path, tmp_path: Path) -> None:
    text = base_xml.read_text(encoding="utf-8")
    deep = tmp_path / "deep.xml"
    deep.write_text(text.replace("</SiPolicy>", "<X>" * 50_000 + "</X>" * 50_000 + "</SiPolicy>"))
    line = text[: text.index("</SiPolicy>")].count("\n") + 1
    for command in (["show"], ["validate"], ["compile", "-o", str(tmp_path / "d.cip")]):
        code, result = invoke(["policy", command[0], str(deep), *command[1:]])
        assert code == 3, message(result)
        assert f"{deep}: line {line}: elements nest deeper than" in message(result)


# -- item 12: bad option values are usage errors listing the valid values ------------------------


@pytest.mark.parametrize(
    ("extra", "listed"),
    [
        (["--template", "strict"], ["audit", "enforced"]),
        (["--option", "99"], ["0 Enabled:UMCI", "20 Enabled:Revoked Expired As Unsigned"]),
        (["--option", "7"], ["3 Enabled:Audit Mode"]),
        (["--remove-option", "Enabled:Nope"], ["6 Enabled:Unsigned System Integrity Policy"]),
        (["--policy-id", "{1234}"], ["{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}"]),
    ],
)
def test_policy_new_bad_values_exit_2_listing_valid_values(
    tmp_path: Path, extra: list[str], listed: list[str]
) -> None:
    out = tmp_path / "new.xml"
    code, result = invoke(["policy", "new", "-o", str(out), "--name", "N", *extra])
    assert code == 2, message(result)
    text = " ".join(message(result).replace("│", " ").split())
    for value in listed:
        assert value in text
    assert not out.exists()


def test_template_help_and_error_list_the_same_values(tmp_path: Path) -> None:
    help_text = " ".join(runner.invoke(app, ["policy", "new", "--help"]).output.split())
    assert "audit or enforced." in help_text
    code, result = invoke(["policy", "new", "-o", str(tmp_path / "x.xml"), "--name", "N",
                           "--template", "supplemental"])  # fmt: skip
    assert code == 2
    assert "use audit or enforced" in " ".join(message(result).replace("│", " ").split())


@pytest.mark.parametrize(
    "args",
    [
        ["policy", "supplemental", "--base-policy-id", "not-a-guid", "--signer", "x.pem",
         "-o", "s.xml"],
        ["policy", "hashes", "x.exe", "-o", "h.xml", "--supplemental", "--base-policy-id", "zz"],
        ["policy", "set", "p.xml", "--base-policy-id", "{0000}"],
        ["policy", "set", "p.xml", "--option", "99"],
        ["policy", "set", "p.xml", "--update-signer-level", "Root"],
        ["policy", "supplemental", "--base-policy-id", BASE_ID, "--signer", "x.pem",
         "--level", "Root", "-o", "s.xml"],
        ["policy", "compile", "p.xml", "--format", "9"],
    ],
)  # fmt: skip
def test_bad_values_in_other_policy_commands_exit_2(args: list[str]) -> None:
    code, result = invoke(args)
    assert code == 2, message(result)
    assert "Invalid value" in message(result)


def test_a_policy_trusting_another_ca_names_the_values_that_would_match(
    base_xml: Path, tmp_path: Path
) -> None:
    # The policy trusts the root (what the old recipe wrote); signing with the leaf + its issuing
    # CA only: the message lists the leaf's and the issuing CA's TBS values.
    assert invoke(["policy", "set", str(base_xml), "--remove-option", "6", "--update-signer",
                   str(PKI_DIR / "root-ca.pem")])[0] == 0  # fmt: skip
    cip = tmp_path / "base.cip"
    assert invoke(["policy", "compile", str(base_xml), "-o", str(cip)])[0] == 0
    key = ["--cert", str(PKI_DIR / "leaf.pem"), "--key", str(PKI_DIR / "leaf.key.pem")]
    chain = ["--chain", str(PKI_DIR / "issuing-ca.pem")]
    code, result = invoke(["policy", "sign", str(cip), *key, *chain, "-o", str(tmp_path / "s.cip")])
    assert code == 3
    text = message(result)
    for name in ("root-ca.pem", "leaf.pem", "issuing-ca.pem"):
        assert tbs_sha256(name) in text
