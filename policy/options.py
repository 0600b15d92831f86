"""Policy rule options: Set-RuleOption numbers, XML ``Option`` strings and binary flag bits.

sipolicy.md section 4. The bit values are not ``1 << number``; they come from the reference readers
and are confirmed by the XML/binary pairs where the table in section 4 says so.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleOption:
    """One rule option: its XML string, Set-RuleOption number (None: unnumbered) and flag bit."""

    name: str
    number: int | None
    bit: int
    supplemental_allowed: bool = False


UNSIGNED_OPTION = "Enabled:Unsigned System Integrity Policy"
"""Rule option 6: every template sets it, and a policy must drop it before it is signed."""

RULE_OPTIONS: tuple[RuleOption, ...] = (
    RuleOption("Enabled:UMCI", 0, 0x00000004),
    RuleOption("Enabled:Boot Menu Protection", 1, 0x00000008),
    RuleOption("Required:WHQL", 2, 0x00000080),
    RuleOption("Enabled:Audit Mode", 3, 0x00010000),
    RuleOption("Disabled:Flight Signing", 4, 0x00020000),
    RuleOption("Enabled:Inherit Default Policy", 5, 0x00040000, supplemental_allowed=True),
    RuleOption(UNSIGNED_OPTION, 6, 0x00080000, True),
    RuleOption("Required:EV Signers", 8, 0x00200000),
    RuleOption("Enabled:Advanced Boot Options Menu", 9, 0x00800000),
    RuleOption("Enabled:Boot Audit On Failure", 10, 0x00400000),
    RuleOption("Disabled:Script Enforcement", 11, 0x01000000),
    RuleOption("Required:Enforce Store Applications", 12, 0x02000000),
    RuleOption("Enabled:Managed Installer", 13, 0x08000000, True),
    RuleOption("Enabled:Intelligent Security Graph Authorization", 14, 0x00000010, True),
    RuleOption("Enabled:Invalidate EAs on Reboot", 15, 0x00000020),
    RuleOption("Enabled:Update Policy No Reboot", 16, 0x10000000),
    RuleOption("Enabled:Allow Supplemental Policies", 17, 0x00000400),
    RuleOption("Disabled:Runtime FilePath Rule Protection", 18, 0x00000800, True),
    RuleOption("Enabled:Dynamic Code Security", 19, 0x00100000),
    RuleOption("Enabled:Revoked Expired As Unsigned", 20, 0x00002000),
    RuleOption("Enabled:Developer Mode Dynamic Code Trust", None, 0x00000100),
    RuleOption("Enabled:Secure Setting Policy", None, 0x04000000),
    RuleOption("Enabled:Conditional Windows Lockdown Policy", None, 0x20000000),
    # In the schema but without a bit: the converter turns it into a secure setting (section 3.3
    # item 7, HotCakeX only, unverified against Microsoft's converter).
    RuleOption("Disabled:Default Windows Certificate Remapping", None, 0),
)

BY_NAME: dict[str, RuleOption] = {o.name: o for o in RULE_OPTIONS}
BY_NUMBER: dict[int, RuleOption] = {o.number: o for o in RULE_OPTIONS if o.number is not None}

# Structural bits of the header's option DWORD (section 3.2): always set, and set for supplementals.
FLAG_ALWAYS = 0x80000000
FLAG_SUPPLEMENTAL = 0x40000000

CERT_REMAPPING_OPTION = "Disabled:Default Windows Certificate Remapping"


def option_bits(names: tuple[str, ...] | list[str]) -> int:
    """OR of the bits of the known option names; unknown names contribute nothing (section 3.7)."""
    bits = 0
    for name in names:
        opt = BY_NAME.get(name)
        if opt is not None:
            bits |= opt.bit
    return bits


def options_from_bits(bits: int) -> tuple[tuple[str, ...], int]:
    """The option names whose bits are set (table order) and the bits no option explains."""
    names: list[str] = []
    left = bits & ~(FLAG_ALWAYS | FLAG_SUPPLEMENTAL)
    for opt in RULE_OPTIONS:
        if opt.bit and bits & opt.bit:
            names.append(opt.name)
            left &= ~opt.bit
    return tuple(names), left


def resolve_option(text: str) -> RuleOption:
    """Find an option by number (``3``), exact name, or case-insensitive name; raise ``KeyError``.

    Set-RuleOption takes numbers; people type names with any case, so both are accepted here, but
    the XML always gets the schema's exact spelling.
    """
    stripped = text.strip()
    if stripped.isdigit():
        return BY_NUMBER[int(stripped)]
    if stripped in BY_NAME:
        return BY_NAME[stripped]
    folded = stripped.casefold()
    for opt in RULE_OPTIONS:
        if opt.name.casefold() == folded or opt.name.split(":", 1)[1].casefold() == folded:
            return opt
    raise KeyError(text)


def option_choices() -> str:
    """Every accepted option value, for messages and help: ``0 Enabled:UMCI, 1 ...``."""
    numbered = [f"{o.number} {o.name}" for o in RULE_OPTIONS if o.number is not None]
    named = [o.name for o in RULE_OPTIONS if o.number is None]
    return ", ".join(numbered) + "; by name only: " + ", ".join(named)
