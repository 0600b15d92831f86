"""WDAC (App Control for Business) policies: SiPolicy model, XML, binary, generators, signing.

sipolicy.md describes the formats; each module names the section it implements. The names below
are the package's public face: callers outside ``policy`` (the ``inspector`` CLI and pipelines)
import these and nothing from the modules behind them.
"""

from policy.binary import (
    DEFAULT_FORMAT,
    SUPPORTED_FORMATS,
    DecompiledPolicy,
    compile_policy,
    decompile_policy,
)
from policy.eku import eku_oid, eku_value, signer_ekus, with_signer_eku
from policy.errors import (
    PolicyEnvironmentError,
    PolicyInputError,
    PolicyValidationError,
    PolicyVerificationError,
)
from policy.generate import (
    BASE_TEMPLATES,
    TEMPLATES,
    FileHashes,
    add_file_rules,
    add_policy_signer,
    add_signer,
    hash_rules,
    merge_policies,
    new_policy,
    set_policy_info,
    set_rule_options,
)
from policy.model import BASE_POLICY, SCENARIO_KERNEL, SCENARIO_USER, Signer, SiPolicy
from policy.options import (
    BY_NAME,
    RULE_OPTIONS,
    UNSIGNED_OPTION,
    RuleOption,
    option_choices,
    resolve_option,
)
from policy.sign import (
    SignedPolicy,
    is_signed,
    preflight_policy_signing,
    preflight_supplemental_signing,
    sign_policy_binary,
    unwrap_signed_policy,
)
from policy.signers import SignerLevel, load_signer_chain, signer_rule, stable_signer_id
from policy.validate import Issue, check_policy, guid_text, validate_policy
from policy.xml import looks_like_xml, read_policy_xml, write_policy_xml

__all__ = [
    "BASE_POLICY",
    "BASE_TEMPLATES",
    "BY_NAME",
    "DEFAULT_FORMAT",
    "RULE_OPTIONS",
    "SCENARIO_KERNEL",
    "SCENARIO_USER",
    "SUPPORTED_FORMATS",
    "TEMPLATES",
    "UNSIGNED_OPTION",
    "DecompiledPolicy",
    "FileHashes",
    "Issue",
    "PolicyEnvironmentError",
    "PolicyInputError",
    "PolicyValidationError",
    "PolicyVerificationError",
    "RuleOption",
    "SiPolicy",
    "SignedPolicy",
    "Signer",
    "SignerLevel",
    "add_file_rules",
    "add_policy_signer",
    "add_signer",
    "check_policy",
    "compile_policy",
    "decompile_policy",
    "eku_oid",
    "eku_value",
    "guid_text",
    "hash_rules",
    "is_signed",
    "load_signer_chain",
    "looks_like_xml",
    "merge_policies",
    "new_policy",
    "option_choices",
    "preflight_policy_signing",
    "preflight_supplemental_signing",
    "read_policy_xml",
    "resolve_option",
    "set_policy_info",
    "set_rule_options",
    "sign_policy_binary",
    "signer_ekus",
    "signer_rule",
    "stable_signer_id",
    "unwrap_signed_policy",
    "validate_policy",
    "with_signer_eku",
    "write_policy_xml",
]
