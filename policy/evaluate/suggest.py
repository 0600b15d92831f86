"""For a blocked file: the rule at each level that would allow it (Microsoft's rule levels).

Hash (the SIP SHA256: Authenticode for a conformant PE, flat otherwise), FileName (OriginalFilename
and the file's version as MinimumFileVersion), and for a file with a verified signature
FilePublisher, Publisher and PcaCertificate (issuing CA TBS, leaf CN) exactly as
``policy.signers.signer_rule`` writes them, with the ``inspector policy`` command that does.
"""

from __future__ import annotations

import shlex

from policy.evaluate.facts import FileFacts, version_text
from policy.evaluate.verdict import Suggestion


def suggestions(facts: FileFacts, base_policy_id: str, kernel: bool) -> tuple[Suggestion, ...]:
    out: list[Suggestion] = []
    path = shlex.quote(facts.path)
    k = " --kernel" if kernel else ""
    base = f"--base-policy-id {shlex.quote(base_policy_id)}"
    sip = next(
        (d for label, d in facts.hashes if label in ("Authenticode SHA256", "Flat SHA256")), None
    )
    if sip is not None:
        out.append(
            Suggestion(
                "Hash",
                (("Hash", sip.hex().upper()),),
                f"inspector policy hashes --supplemental {base}{k} -o supplemental.xml {path}",
            )
        )
    if facts.original_filename:
        rule = (
            ("FileName", facts.original_filename),
            ("MinimumFileVersion", version_text(facts.file_version or (0, 0, 0, 0))),
        )
        out.append(Suggestion("FileName", rule, "add this Allow rule by hand (no generator yet)"))
    sig = next((s for s in facts.valid_signatures if len(s.chain) > 1), None)
    if sig is not None:
        leaf, pca = sig.chain[0], sig.chain[1]
        signer = shlex.quote(sig.catalog) if sig.catalog else path
        command = f"inspector policy supplemental {base} --signer {signer}{k} -o supplemental.xml"
        root = ("CertRoot TBS", pca.tbs_hash)
        if facts.original_filename:
            out.append(
                Suggestion(
                    "FilePublisher",
                    (
                        root,
                        ("CertPublisher", leaf.subject_cn),
                        ("FileName", facts.original_filename),
                        ("MinimumFileVersion", version_text(facts.file_version or (0, 0, 0, 0))),
                    ),
                    "add a FileAttrib to the Publisher rule below (no generator yet)",
                )
            )
        out.append(
            Suggestion(
                "Publisher",
                (root, ("CertPublisher", leaf.subject_cn)),
                command + " --level Publisher",
            )
        )
        out.append(Suggestion("PcaCertificate", (root,), command + " --level PcaCertificate"))
    return tuple(out)
