"""Tracing pipeline: start/stop/status/scan composed with the hasher and the catalog writer.

The tracer never imports the hasher or the catalog builder (architecture.md); this module hands
the recorder a hashing callable (so temporary binaries are hashed at close time) and turns a
``FileManifest`` into Package Inspector's outputs (tracer.md 1.1 and 6, formats.md 5.2): the file
list (``-out list``), the CDF and the catalog (``-out cdf|cat``, default both), and always a JSON
report with every file, why it is included, which sources saw it, its hashes and warnings.
Every output is written to a temp file and renamed.

Also the recorder's entry point: ``python -m inspector.pipeline.tracing SESSION_DIR``.
"""

# Plain str paths: they come from the CLI and the manifest as given.
# ruff: noqa: PTH100, PTH109, PTH117, PTH118, PTH120, PTH122

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalog import FileDigests, FileFailure, file_digests_from_dict
from catalog.cms import SigningIdentity
from catalog.ctl import CatalogMember as CtlMember
from catalog.ctl import CatalogSpec, build_catalog
from catalog.pe import HashOptions, HashProgress, hash_file
from cdf.builder import build_package_definition
from cdf.writer import render_bytes
from inspector.pipeline.catalogs import catalog_attributes, catalog_member, catalog_time
from inspector.pipeline.files import write_atomically
from inspector.pipeline.fleet import FleetOptions, hash_stream
from policy.options import UNSIGNED_OPTION
from tracer import (
    FileManifest,
    HashCallable,
    Hashes,
    SessionInfo,
    SessionOptions,
    SessionStatus,
    TracerInputError,
    discard_session,
    dumps_json,
    list_sessions,
    run_recorder,
    scan_tree,
    start_session,
    stop_session,
)

DEFAULT_NAME = "InspectedPackage"
"""Package Inspector's default output name (formats.md 5.2)."""
DEFAULT_ENCODING = "0x00010001"
OUT_KINDS = ("cat", "cdf", "list")

HASH_OPTIONS = HashOptions(metadata=False)
"""Every digest a catalog or policy may need; version resources are not worth the time here."""


def _digests_json(digests: FileDigests) -> Hashes:
    """The hasher's digests as JSON for the journal and the report, without the path."""
    data = dict(digests.to_dict())
    data.pop("path", None)
    return data


def close_hasher() -> HashCallable:
    """The callable the recorder hashes with: the hasher's digests as JSON, minus the path.

    It may be handed ``/proc/self/fd/N`` of a file already unlinked (fanotify), so the path in
    the digests record means nothing and is dropped.
    """
    return lambda path: _digests_json(hash_file(path, HASH_OPTIONS))


def recorder_argv() -> list[str]:
    return [sys.executable, "-m", "inspector.pipeline.tracing"]


def normalise_root_arg(root: str) -> str:
    """Accept Package Inspector's drive form (``C:``) as the drive's root directory."""
    if re.fullmatch(r"[A-Za-z]:", root):
        return root + os.sep
    return root


# -- start / status ---------------------------------------------------------------------------
def start(
    root: str,
    installer: str | None = None,
    options: SessionOptions = SessionOptions(),  # noqa: B008 - frozen record
) -> SessionInfo:
    return start_session(
        normalise_root_arg(root),
        installer=installer,
        options=options,
        recorder_argv=recorder_argv(),
    )


def status() -> list[SessionStatus]:
    return list_sessions()


# -- outputs ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OutputOptions:
    """Package Inspector's stop/scan options (tracer.md 1.1)."""

    out: str | None = None
    """``cat``, ``cdf`` or ``list``; None writes both the catalog and the CDF."""
    name: str | None = None
    cdf_path: str | None = None
    resdir: str | None = None
    page_hashes: bool = False
    encoding: str = DEFAULT_ENCODING
    ca1: str | None = None
    ca2: str | None = None
    list_path: str | None = None
    report_path: str | None = None
    fleet: FleetOptions | None = None

    def __post_init__(self) -> None:
        if self.out is not None and self.out.lower() not in OUT_KINDS:
            raise TracerInputError(f"-out {self.out!r}: use cat, cdf or list")


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """Where each requested output goes (absolute paths)."""

    cat: str | None
    cdf: str | None
    listing: str | None
    report: str


def plan_outputs(opts: OutputOptions, cwd: str | None = None) -> OutputPlan:
    """Resolve Package Inspector's naming rules to paths (defaults ``InspectedPackage.*``)."""
    base = os.path.abspath(opts.resdir or cwd or os.getcwd())

    def place(p: str | None, default_ext: str) -> str:
        if p is None:
            return os.path.join(base, DEFAULT_NAME + default_ext)
        if os.path.isabs(p):
            return p
        # A bare -Name goes into -resdir, as MakeCat's Name/ResultDir pair does.
        return os.path.join(base, p) if os.path.dirname(p) == "" else os.path.abspath(p)

    out = None if opts.out is None else opts.out.lower()
    cat = cdf = listing = None
    if out is None:
        cat = place(opts.name, ".cat")
        cdf = place(opts.cdf_path, ".cdf") if opts.cdf_path else os.path.splitext(cat)[0] + ".cdf"
    elif out == "cat":
        cat = place(opts.name, ".cat")
        cdf = place(opts.cdf_path, ".cdf") if opts.cdf_path else None
    elif out == "cdf":
        cdf = place(opts.cdf_path, ".cdf")
    else:
        listing = place(opts.list_path, ".txt")
    primary = cat or cdf or listing
    assert primary is not None
    report = opts.report_path or os.path.splitext(primary)[0] + ".report.json"
    return OutputPlan(cat, cdf, listing, os.path.abspath(report))


@dataclass(frozen=True, slots=True)
class CatalogMember:
    """One file handed to the catalog step: path, and digests when the file is gone."""

    path: str
    exists: bool
    hashes: Hashes | None


@dataclass(frozen=True, slots=True)
class TraceOutputs:
    """What ``stop``/``scan`` produced."""

    manifest: FileManifest
    plan: OutputPlan
    written: tuple[str, ...]
    hashes_at_stop: Mapping[str, Hashes] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    recovered: bool = False

    @property
    def catalogable(self) -> int:
        return sum(1 for e in self.manifest.entries if e.catalogable)


def _ctl_member(name: str, d: Hashes, page_hashes: bool) -> tuple[CtlMember | None, list[str]]:
    """A catalog member from the hasher's digests kept as JSON (at stop, or captured at close)."""
    try:
        digests = file_digests_from_dict({**d, "path": name})
    except (KeyError, TypeError, ValueError) as exc:
        return None, [f"{name}: unreadable digests ({exc}); left out of the catalog"]
    member, notes = catalog_member(name, digests, version=2, page_hashes=page_hashes)
    if member.sha1 is None or member.sha256 is None:
        return None, [f"{name}: no usable digests; left out of the catalog"]
    return member, [f"{name}: {note}" for note in notes]


def build_catalog_outputs(
    members: Sequence[CatalogMember],
    plan: OutputPlan,
    opts: OutputOptions,
    *,
    fallback_time_ns: int = 0,
) -> tuple[list[str], list[str]]:
    """Write the .cdf (files that exist; MakeCat hashes them itself) and the .cat (those plus
    the files gone before stop, from their hashes at close - Package Inspector's temporary
    installer files). Returns (written paths, warnings)."""
    try:
        encoding = int(opts.encoding, 0)
    except ValueError as exc:
        raise TracerInputError(f"-en {opts.encoding!r} is not a number (e.g. 0x00010001)") from exc
    existing = sorted(m.path for m in members if m.exists)
    gone = [m for m in members if not m.exists]
    name = plan.cat or os.path.splitext(plan.cdf or DEFAULT_NAME)[0] + ".cat"
    definition = build_package_definition(
        existing,
        name=name,
        page_hashes=opts.page_hashes,
        encoding_type=encoding,
        catalog_attributes=[a for a in (opts.ca1, opts.ca2) if a],
    )
    written: list[str] = []
    warnings: list[str] = []
    if plan.cat is not None:
        ctl: list[CtlMember] = []
        newest = 0
        for m in members:
            if m.hashes is None:
                warnings.append(f"{m.path}: no usable digests; left out of the catalog")
                continue
            member, notes = _ctl_member(m.path, m.hashes, opts.page_hashes)
            warnings.extend(notes)
            if member is None:
                continue
            ctl.append(member)
            if m.exists:
                with contextlib.suppress(OSError):
                    newest = max(newest, Path(m.path).stat().st_mtime_ns)
        when = catalog_time(
            None, newest, datetime.fromtimestamp(fallback_time_ns // 1_000_000_000, UTC)
        )
        built = build_catalog(
            CatalogSpec(
                version=2,
                this_update=when.replace(microsecond=0),
                members=tuple(ctl),
                attributes=catalog_attributes(definition.attributes),
            )
        )
        write_atomically(Path(plan.cat), built.der)
        written.append(plan.cat)
    if plan.cdf is not None:
        write_atomically(Path(plan.cdf), render_bytes(definition))
        written.append(plan.cdf)
        if gone:
            warnings.append(
                f"{len(gone)} files gone before stop are in the catalog (hashes at close) but "
                "not in the .cdf: MakeCat can only hash files that exist"
            )
    return written, warnings


def _hash_survivors(
    manifest: FileManifest, fleet: FleetOptions | None, progress: HashProgress | None = None
) -> tuple[dict[str, Hashes], list[str]]:
    """Hash every catalogable file that exists at stop (all cores, one read per file)."""
    paths = [e.path for e in manifest.entries if e.exists_at_stop and e.catalogable]
    hashes: dict[str, Hashes] = {}
    warnings: list[str] = []
    results = hash_stream(paths, HASH_OPTIONS, progress=progress, fleet=fleet)
    for p, result in zip(paths, results, strict=True):
        if isinstance(result, FileFailure):
            warnings.append(f"{p}: could not hash at stop: {result.error}")
        else:
            hashes[p] = _digests_json(result)
    return hashes, warnings


def _report(
    manifest: FileManifest,
    plan: OutputPlan,
    hashes_at_stop: Mapping[str, Hashes],
    warnings: Sequence[str],
    recovered: bool,
) -> dict[str, Any]:
    data = manifest.to_dict()
    data["recovered"] = recovered
    data["outputs"] = {"cat": plan.cat, "cdf": plan.cdf, "list": plan.listing}
    data["warnings"] = [*data["warnings"], *warnings]
    for entry in data["entries"]:
        h = hashes_at_stop.get(entry["path"])
        entry["hashes_at_stop"] = None if h is None else _without_tables(h)
        entry["hashes_at_close"] = [_without_tables(c) for c in entry["hashes_at_close"] or ()]
        closes = entry["hashes_at_close"]
        if h is not None and closes and dict(closes[-1]) != dict(h):
            entry["warnings"].append(
                "content changed after the last hash at close; the catalog uses the hash at stop"
            )
    return data


def _without_tables(hashes: Mapping[str, Any]) -> dict[str, Any]:
    """The report keeps first-page hashes only: whole page tables are most of its size."""
    return {k: v for k, v in hashes.items() if not k.startswith("page_table_")}


def write_outputs(
    manifest: FileManifest,
    opts: OutputOptions,
    *,
    recovered: bool = False,
    progress: HashProgress | None = None,
) -> TraceOutputs:
    """File list, catalog and CDF, then the JSON report (which names them all)."""
    plan = plan_outputs(opts)
    hashes, warnings = _hash_survivors(manifest, opts.fleet, progress)
    written: list[str] = []
    if plan.listing is not None:
        text = "".join(f"{e.path}\n" for e in manifest.entries)
        write_atomically(Path(plan.listing), text.encode("utf-8", "surrogateescape"))
        written.append(plan.listing)
    if plan.cat is not None or plan.cdf is not None:
        members = [
            CatalogMember(
                e.path,
                e.exists_at_stop,
                hashes.get(e.path)
                if e.exists_at_stop
                else (e.hashes_at_close[-1] if e.hashes_at_close else None),
            )
            for e in manifest.entries
            if e.catalogable
        ]
        cat_written, cat_warnings = build_catalog_outputs(
            members, plan, opts, fallback_time_ns=manifest.stopped_ns
        )
        written.extend(cat_written)
        warnings.extend(cat_warnings)
    report = _report(manifest, plan, hashes, warnings, recovered)
    write_atomically(Path(plan.report), (dumps_json(report) + "\n").encode("ascii"))
    written.append(plan.report)
    return TraceOutputs(manifest, plan, tuple(written), hashes, tuple(warnings), recovered)


# -- stop / scan ------------------------------------------------------------------------------
def stop(root: str, opts: OutputOptions, progress: HashProgress | None = None) -> TraceOutputs:
    """Stop (or recover) the session on ``root`` and write its outputs.

    The session is discarded only after every output is in place, so a failed write can be
    retried with the same command.
    """
    result = stop_session(normalise_root_arg(root), keep=True)
    outputs = write_outputs(result.manifest, opts, recovered=result.recovered, progress=progress)
    discard_session(result.info)
    return outputs


def scan(
    path: str,
    opts: OutputOptions,
    options: SessionOptions = SessionOptions(),  # noqa: B008 - frozen record
    progress: HashProgress | None = None,
) -> TraceOutputs:
    manifest = scan_tree(normalise_root_arg(path), options)
    return write_outputs(manifest, opts, progress=progress)


def main(argv: Sequence[str] | None = None) -> int:
    """Recorder entry point with the hasher attached (spawned by ``start``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m inspector.pipeline.tracing SESSION_DIR", file=sys.stderr)
        return 2
    return run_recorder(args[0], close_hasher())


if __name__ == "__main__":
    sys.exit(main())


# -- demo -------------------------------------------------------------------------------------
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
    import shutil

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
    from inspector.pipeline import policies
    from inspector.pipeline.signing import tbs_report
    from policy.signers import SignerLevel

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
    from inspector.pipeline import policies

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
    from inspector.pipeline.signing import (
        load_identity,
        sign_catalog,
        verify_catalog,
    )
    from tracer import STATE_ENV

    repo = Path(__file__).resolve().parents[2]
    pe, pki = repo / "fixtures" / "pe", repo / "fixtures" / "pki"
    if not (pe / "hello64.exe").is_file() or not (pki / "leaf.pem").is_file():
        raise TracerInputError(
            f"the demo installs the repository's fixture PEs ({pe}); run it from a checkout "
            "(scripts/demo)"
        )
    import subprocess

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
    from inspector.pipeline.simulate import demo_check

    for name, ok, line in demo_check(
        [app / "demoapp.exe", app / "democore.dll"],
        out / "DemoBase.xml", out / "DemoApp-supplemental.xml", signed,
    ):  # fmt: skip
        steps.append(DemoStep(name, str(out), ok, line))
    return DemoResult(
        str(work), str(root), outputs, str(signed), report, str(helper_copy), tuple(steps)
    )
