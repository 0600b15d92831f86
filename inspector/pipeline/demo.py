"""``inspector demo``: a recorded install, catalogued, signed, verified, then WDAC policies.

Records a scripted install of the repository's fixture PEs (a plug-in DLL extracted to a temp
folder, loaded and deleted before the end; an app and its DLL; a script; a README), writes the
.cdf, .cat and report through ``stop``, signs and verifies the catalog, then writes, compiles,
signs and re-reads WDAC policies trusting its signer. Every step goes through the same pipelines
as the commands, so the demo shows what the commands do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.cms import SigningIdentity
from inspector.pipeline import policies
from inspector.pipeline.outputs import OutputOptions
from inspector.pipeline.signing import load_identity, sign_catalog, tbs_report, verify_catalog
from inspector.pipeline.simulate import demo_check
from inspector.pipeline.trace import TraceOutputs, start, stop
from policy.options import UNSIGNED_OPTION
from policy.signers import SignerLevel
from tracer import STATE_ENV, TracerInputError

DEMO_INSTALLER = """
import os, shutil, subprocess, sys, time
pe, root, evidence = sys.argv[1], sys.argv[2], sys.argv[3]
app = os.path.join(root, "Program Files", "DemoApp")
os.makedirs(os.path.join(app, "scripts"))
shutil.copy(os.path.join(pe, "hello64.exe"), os.path.join(app, "demoapp.exe"))
shutil.copy(os.path.join(pe, "version64.dll"), os.path.join(app, "democore.dll"))
with open(os.path.join(app, "scripts", "setup.ps1"), "w") as f:
    f.write("Write-Host 'DemoApp installed'\\n")
with open(os.path.join(app, "README.txt"), "w") as f:
    f.write("not a binary: listed, not catalogued\\n")
# An installer plug-in extracted to a temp folder, loaded, then deleted before the end.
tmp = os.path.join(root, "Temp", "ns4F2A.tmp")
os.makedirs(tmp)
helper = os.path.join(tmp, "nshelper.dll")
shutil.copy(os.path.join(pe, "version32.dll"), helper)
shutil.copy(helper, evidence)
LOAD = (
    "import mmap,sys,time\\nf=open(sys.argv[1],'rb')\\n"
    "m=mmap.mmap(f.fileno(),0,access=mmap.ACCESS_READ)\\ntime.sleep(1.2)"
)
subprocess.run([sys.executable, "-c", LOAD, helper], check=True)
os.unlink(helper)
os.rmdir(tmp)
# First run of the app: it maps its DLL.
subprocess.run([sys.executable, "-c", LOAD, os.path.join(app, "democore.dll")], check=True)
"""


DEMO_DIR = "demo-out"
"""Default work folder of ``inspector demo``, under the current directory (kept for inspection)."""
DEMO_MARKER = ".inspector-demo"
"""Marks a folder the demo made: only such a folder is emptied when the demo runs again."""
DEMO_BASE_POLICY_ID = "{5E0D3A1C-7B2F-4C9E-A6D1-0DE30BA5E001}"
"""PolicyID of the demo's base policy (fixed, so reruns give the same policy files)."""


@dataclass(frozen=True, slots=True)
class DemoStep:
    """One WDAC policy step of the demo: what it wrote and whether its check passed."""

    name: str
    output: str
    ok: bool
    verdict: str
    """One line: what the step produced, or which check failed."""


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What ``inspector demo`` did, for rendering."""

    workdir: str
    root: str
    outputs: TraceOutputs
    signed_catalog: str
    verify: Any
    """``inspector.pipeline.signing.VerifyReport`` of the signed catalog and the demo's files."""
    helper_copy: str
    policy_steps: tuple[DemoStep, ...] = ()
    """Supplemental and base policy: XML, compiled .cip, signed .cip, each re-read and checked."""


def _demo_workdir(workdir: str | None) -> Path:
    """The demo's folder, emptied when an earlier demo made it; any other non-empty folder is
    refused (the demo deletes what it finds there on the next run)."""
    work = Path(workdir) if workdir else Path.cwd() / DEMO_DIR
    if work.exists() and not work.is_dir():
        raise TracerInputError(f"{work}: not a folder; give --dir a folder for the demo's files")
    if work.is_dir() and any(work.iterdir()):
        if not (work / DEMO_MARKER).is_file():
            raise TracerInputError(
                f"{work}: the folder is not empty and was not made by the demo; give --dir a "
                "new or empty folder"
            )
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    (work / DEMO_MARKER).write_bytes(b"made by inspector demo; emptied when the demo runs again\n")
    return work.resolve()


def _demo_policies(
    out: Path, signed_catalog: Path, identity: SigningIdentity, issuing_ca: Path
) -> list[DemoStep]:
    """WDAC policies for the demo's signed catalog through the ``inspector policy`` pipelines:

    ``policy supplemental --base-policy-id DEMO --signer DemoApp.signed.cat --level Publisher``,
    ``policy new --template audit --policy-id DEMO --remove-option 6`` with ``policy set
    --update-signer DemoApp.signed.cat --update-signer-level Publisher --supplemental-signer
    DemoApp.signed.cat --supplemental-signer-level Publisher`` (the supplemental gets the same
    UpdatePolicySigner: signing refuses a policy nobody could update), ``policy compile``,
    ``policy sign`` (``--base DemoBase.xml`` for the supplemental), then ``policy show`` on each
    signed file, whose signer rules must name the issuing CA's TBS value as ``inspector catalog
    tbs`` computes it.
    """
    publisher = SignerLevel.PUBLISHER
    steps: list[DemoStep] = []
    supp_xml, base_xml = out / "DemoApp-supplemental.xml", out / "DemoBase.xml"
    supp = policies.supplemental_for_signer(
        signed_catalog, supp_xml, base_policy_id=DEMO_BASE_POLICY_ID, level=publisher,
        name="DemoApp supplemental",
    )  # fmt: skip
    policies.edit_policy(
        supp_xml, None, remove_options=[UNSIGNED_OPTION], update_signer=signed_catalog,
        update_signer_level=publisher,
    )  # fmt: skip
    (rule,) = supp.policy.signers or ()
    steps.append(
        DemoStep(
            "supplemental policy", str(supp_xml), True,
            f"supplements {DEMO_BASE_POLICY_ID}; trusts {rule.cert_publisher!r} issued by "
            f"{rule.name!r} (Publisher), same signer may update it",
        )
    )  # fmt: skip
    policies.new_base_policy(
        base_xml, template="audit", name="DemoApp demo base", policy_id=DEMO_BASE_POLICY_ID,
        remove_options=[UNSIGNED_OPTION],
    )  # fmt: skip
    # The same signer signs the supplemental, so the base must list it as a
    # SupplementalPolicySigner: Windows refuses a signed supplemental whose signer it lacks.
    base = policies.edit_policy(
        base_xml, None, update_signer=signed_catalog, update_signer_level=publisher,
        supplemental_signer=signed_catalog, supplemental_signer_level=publisher,
    )  # fmt: skip
    steps.append(
        DemoStep(
            "base policy", str(base_xml), True,
            f"audit-mode base {base.policy.policy_id}, allows supplementals; UpdatePolicySigner "
            "and SupplementalPolicySigner are the demo catalog's signer",
        )
    )  # fmt: skip
    expected_tbs = tbs_report(issuing_ca)[0].tbs_hash
    for label, xml, policy_id in (
        ("supplemental", supp_xml, supp.policy.policy_id),
        ("base", base_xml, DEMO_BASE_POLICY_ID),
    ):
        compiled = policies.compile_file(xml, str(out / "{PolicyID}.cip"))
        steps.append(
            DemoStep(
                f"compiled {label}", str(compiled.output), True,
                f"{compiled.size} bytes, binary format {compiled.format_version}",
            )
        )  # fmt: skip
        signed = out / "signed" / compiled.output.name
        signed.parent.mkdir(exist_ok=True)
        # The supplemental is signed with the base's pre-flight: its signer must be listed there.
        policies.sign_policy_file(
            compiled.output, signed, identity, base=base_xml if label == "supplemental" else None
        )
        steps.append(
            _check_signed_policy(
                f"signed {label}",
                signed,
                compiled.output.read_bytes(),
                policy_id,
                expected_tbs,
                is_base=label == "base",
            )
        )
    return steps


def _check_signed_policy(
    name: str,
    path: Path,
    unsigned: bytes,
    policy_id: str | None,
    expected_tbs: str,
    *,
    is_base: bool = False,
) -> DemoStep:
    """``policy show`` on a signed .cip: signature, embedded policy and signer TBS values."""
    report = policies.show_policy(path)
    sig = report.loaded.signature
    p = report.loaded.policy
    roots = {s.cert_root.value.upper() for s in p.signers or ()}
    problems = [
        why
        for bad, why in (
            (sig is None or not sig.verified, "signature does not verify"),
            (sig is not None and sig.signed_data_version != 1, "SignedData version is not 1"),
            (sig is not None and sig.policy != unsigned, "embedded policy differs from the .cip"),
            (p.policy_id != policy_id, f"PolicyID {p.policy_id} is not {policy_id}"),
            (not p.update_policy_signers, "no UpdatePolicySigner"),
            (is_base and not p.supplemental_policy_signers, "no SupplementalPolicySigner"),
            (roots != {expected_tbs}, f"signer TBS {sorted(roots)} is not the issuing CA's"),
        )
        if bad
    ]
    if problems:
        return DemoStep(name, str(path), False, "; ".join(problems))
    return DemoStep(
        name, str(path), True,
        f"signature ok (SignedData v1), re-read: signer rules {len(p.signers or ())}, "
        f"CertRoot TBS {expected_tbs[:16]}... = issuing CA's",
    )  # fmt: skip


def run_demo(workdir: str | None = None) -> DemoResult:
    """Record a scripted install of the repository's fixture PEs, write, sign and verify the
    catalog, then write, compile, sign and re-read WDAC policies trusting its signer.

    ``workdir`` (default ``./demo-out``) is kept for inspection; a later run empties it."""
    # Copies of the fixture PEs and test PKI, shipped in the wheel (inspector/demo_files).
    pe = pki = Path(__file__).resolve().parents[1] / "demo_files"
    if not (pe / "hello64.exe").is_file() or not (pki / "leaf.pem").is_file():
        raise TracerInputError(
            f"the demo's files are missing from {pe}; reinstall inspector (or run scripts/demo)"
        )
    work = _demo_workdir(workdir)
    root, out, evidence = work / "C", work / "out", work / "evidence"
    for d in (root / "Installers", out, evidence):
        d.mkdir(parents=True, exist_ok=True)
    os.environ[STATE_ENV] = str(work / "state")
    installer = root / "Installers" / "DemoSetup.exe"
    installer.write_bytes((pe / "hello32.exe").read_bytes())
    start(str(root), str(installer))
    helper_copy = evidence / "nshelper.dll"
    subprocess.run(
        [sys.executable, "-c", DEMO_INSTALLER, str(pe), str(root), str(helper_copy)], check=True
    )
    outputs = stop(
        str(root),
        OutputOptions(
            name=str(out / "DemoApp.cat"), cdf_path=str(out / "DemoApp.cdf"), page_hashes=True
        ),
    )
    identity = load_identity(
        cert=pki / "leaf.pem", key=pki / "leaf.key.pem", chain=pki / "issuing-ca.pem"
    )
    signed = out / "DemoApp.signed.cat"
    sign_catalog(out / "DemoApp.cat", identity, output=signed)
    app = root / "Program Files" / "DemoApp"
    report = verify_catalog(
        signed,
        [installer, app / "demoapp.exe", app / "democore.dll", app / "scripts" / "setup.ps1",
         helper_copy],
        roots=[pki / "root-ca.pem"],
    )  # fmt: skip
    steps = _demo_policies(out, signed, identity, pki / "issuing-ca.pem")
    for name, ok, line in demo_check(
        [app / "demoapp.exe", app / "democore.dll"],
        out / "DemoBase.xml", out / "DemoApp-supplemental.xml", signed,
    ):  # fmt: skip
        steps.append(DemoStep(name, str(out), ok, line))
    return DemoResult(
        str(work), str(root), outputs, str(signed), report, str(helper_copy), tuple(steps)
    )
