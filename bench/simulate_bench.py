"""Evaluation cost next to hashing cost: ``policy simulate`` over many files and many rules.

``python -m bench.simulate_bench [--files 10000] [--rules 2000] [--workers 2]`` writes ``--files``
distinct PEs (copies of the fixture PEs, each with a unique overlay, so every hash differs) into a
temp folder, builds a base policy with ``--rules`` rules (hash allow/deny rules, FileName rules with
versions, TBS signers; a few of them match some files) and times, on the same files:

- ``read+hash``: read each file and run the hasher (``catalog.pe.hashing.hash_buffer``) only;
- ``facts``: ``policy.evaluate.gather.gather_facts`` (hashing, version resource, signatures);
- ``evaluate``: ``policy.evaluate.engine.evaluate`` over the prepared facts (indexed rules);
- ``evaluate-linear``: the same verdicts with every rule tried in turn (what an unindexed
  evaluator does), on a 1/10 sample, scaled.

The point (issue 14): with rules indexed by hash, TBS and file name, evaluation costs a few
dictionary look-ups per file, so the total is dominated by hashing. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from catalog.pe.hashing import HashOptions, hash_buffer
from policy.evaluate.engine import evaluate
from policy.evaluate.gather import gather_facts
from policy.evaluate.index import index_policy, policy_set
from policy.evaluate.match import match_file_rule
from policy.model import (
    BASE_POLICY,
    CertRoot,
    FileRule,
    FileRuleKind,
    Ref,
    Signer,
    SignerGroup,
    SignerRef,
    SigningScenario,
    SiPolicy,
)

FIXTURE_PES = ("hello64.exe", "version64.dll", "hello32.exe", "version32.dll")


def write_files(folder: Path, count: int) -> list[Path]:
    pe_dir = Path(__file__).resolve().parents[1] / "fixtures" / "pe"
    sources = [(pe_dir / n).read_bytes() for n in FIXTURE_PES]
    paths = []
    for i in range(count):
        path = folder / f"f{i:05d}{'.dll' if i % 2 else '.exe'}"
        path.write_bytes(sources[i % len(sources)] + i.to_bytes(8, "little"))
        paths.append(path)
    return paths


def make_policy(rule_count: int, sample_hashes: Sequence[bytes], seed: int = 7) -> SiPolicy:
    rnd = random.Random(seed)
    rules: list[FileRule] = []
    signers: list[Signer] = []
    for i in range(rule_count):
        kind = i % 10
        if kind < 5:
            digest = (
                sample_hashes[(i // 50) % len(sample_hashes)] if i % 50 == 0 else rnd.randbytes(32)
            )
            rules.append(FileRule(FileRuleKind.ALLOW, f"ID_ALLOW_A_{i}", hash=digest.hex().upper()))
        elif kind < 7:
            rules.append(
                FileRule(FileRuleKind.DENY, f"ID_DENY_D_{i}", hash=rnd.randbytes(32).hex())
            )
        elif kind < 9:
            rules.append(
                FileRule(
                    FileRuleKind.ALLOW,
                    f"ID_ALLOW_A_{i}",
                    file_name=f"tool{i}.exe",
                    minimum_file_version="1.0.0.0",
                )
            )
        else:
            signers.append(
                Signer(
                    f"ID_SIGNER_S_{i}", f"CA {i}", CertRoot("TBS", rnd.randbytes(32).hex().upper())
                )
            )
    group = SignerGroup(
        allowed=tuple(SignerRef(s.id) for s in signers) or None,
        file_rules_ref=tuple(Ref(r.id) for r in rules),
    )
    return SiPolicy(
        version_ex="1.0.0.0",
        policy_type=BASE_POLICY,
        policy_id="{0B0B0B0B-0000-4000-8000-000000000001}",
        base_policy_id="{0B0B0B0B-0000-4000-8000-000000000001}",
        options=("Enabled:UMCI",),
        file_rules=tuple(rules),
        signers=tuple(signers),
        signing_scenarios=(
            SigningScenario("ID_SIGNINGSCENARIO_WINDOWS", 12, product_signers=group),
        ),
    )


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def run(files: int, rules: int, workers: int = 2) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="simulate-bench-") as tmp:
        paths = write_files(Path(tmp), files)
        opts = HashOptions(flat=False)
        with ThreadPoolExecutor(workers) as pool:
            t_hash, digests = _timed(
                lambda: list(pool.map(lambda p: hash_buffer(p.read_bytes(), str(p), opts), paths))
            )
            t_facts, facts = _timed(
                lambda: list(pool.map(lambda p: gather_facts(p.read_bytes(), str(p)), paths))
            )
    sample = [
        d.authenticode_sha256 for d in digests[:: max(1, files // 20)] if d.authenticode_sha256
    ]
    policy = make_policy(rules, sample)
    t_index, pset = _timed(lambda: policy_set([index_policy(policy, "bench")]))
    t_eval, verdicts = _timed(lambda: [evaluate(pset, f) for f in facts])
    every = list(policy.file_rules or ())
    subset = facts[::10] or facts
    t_linear, _ = _timed(lambda: [[match_file_rule(r, f, False) for r in every] for f in subset])
    t_linear *= len(facts) / len(subset)
    allowed = sum(1 for v in verdicts if v.allowed)
    return {
        "files": files,
        "rules": rules,
        "workers": workers,
        "seconds": {
            "read+hash": round(t_hash, 3),
            "facts": round(t_facts, 3),
            "index": round(t_index, 4),
            "evaluate": round(t_eval, 3),
            "evaluate-linear (estimated)": round(t_linear, 3),
        },
        "evaluate/facts": round(t_eval / t_facts, 3) if t_facts else None,
        "allowed": allowed,
        "blocked": len(verdicts) - allowed,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    report = run(args.files, args.rules, args.workers)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
