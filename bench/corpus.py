"""Benchmark corpus: real Windows PE files taken from Windows wheels on PyPI (CONTRIBUTING.md,
Performance).

``python -m bench.corpus [ROOT]`` downloads pinned win_amd64 wheels with ``pip download`` into
``ROOT/wheels`` and extracts every ``*.pyd``, ``*.dll`` and ``*.exe`` member into ``ROOT/files``
(default ROOT: ``bench/corpus``, which git ignores). The versions are pinned so two runs of the
benchmark, on any machine, measure the same bytes. Nothing here is part of the product.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from catalog.pe import (
    IncompleteHeadersError,
    NonConformantPeError,
    NotAPeError,
    parse_pe_layout,
)

DEFAULT_ROOT = Path(__file__).resolve().parent / "corpus"

PACKAGES: tuple[str, ...] = (
    "numpy==2.4.6",
    "scipy==1.17.1",
    "pandas==3.1.1",
    "pillow==13.0.0",
    "cryptography==50.0.2",
    "lxml==6.1.3",
    "matplotlib==3.11.2",
    "pyarrow==26.0.1",
    "onnxruntime==1.31.1",
    "opencv-python-headless==5.0.0.93",
    "pywin32==312",
)
"""About 300 PE files, 390 MB: extension modules, bundled DLLs (OpenBLAS, Arrow, ONNX Runtime,
the Microsoft C++ runtime, which is signed) and one file over 64 MiB (OpenCV's cv2.pyd), so the
hasher's chunked path is measured too."""

PE_SUFFIXES = (".pyd", ".dll", ".exe")


@dataclass(frozen=True, slots=True)
class CorpusSummary:
    """What a corpus holds, classified by header parsing alone."""

    files: int
    total_bytes: int
    pe: int
    """Conformant PE images (Authenticode image hash applies)."""
    nonconformant: int
    flat: int
    signed: int
    largest: int

    def describe(self) -> str:
        return (
            f"{self.files} files, {self.total_bytes / 1e6:.1f} MB (largest "
            f"{self.largest / 1e6:.1f} MB): {self.pe} conformant PE ({self.signed} signed), "
            f"{self.nonconformant} non-conformant PE, {self.flat} not PE"
        )


def download_wheels(wheels: Path, packages: Sequence[str] = PACKAGES) -> list[Path]:
    """``pip download`` the win_amd64 wheels (already present ones are not fetched again)."""
    wheels.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--quiet",
        "--only-binary=:all:",
        "--platform",
        "win_amd64",
        "--python-version",
        "3.11",
        "--no-deps",
        "-d",
        str(wheels),
        *packages,
    ]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"pip download failed ({done.returncode}); PyPI must be reachable:\n{done.stderr}"
        )
    return sorted(wheels.glob("*.whl"))


def extract_pe_members(wheels: Iterable[Path], files: Path) -> list[Path]:
    """Extract the PE members of each wheel into ``files/<wheel name>/<member path>``."""
    extracted: list[Path] = []
    for wheel in wheels:
        target_root = files / wheel.stem
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                member = PurePosixPath(info.filename)
                if info.is_dir() or member.suffix.lower() not in PE_SUFFIXES:
                    continue
                if member.is_absolute() or ".." in member.parts:
                    continue  # never write outside the corpus folder
                target = target_root.joinpath(*member.parts)
                if not (target.is_file() and target.stat().st_size == info.file_size):
                    target.parent.mkdir(parents=True, exist_ok=True)
                    partial = target.with_name(target.name + ".part")
                    with archive.open(info) as source, open(partial, "wb") as sink:
                        while chunk := source.read(1 << 20):
                            sink.write(chunk)
                    partial.replace(target)
                extracted.append(target)
    return sorted(extracted)


def build_corpus(root: Path = DEFAULT_ROOT, packages: Sequence[str] = PACKAGES) -> Path:
    """Download and extract the corpus; return the folder holding the PE files."""
    files = root / "files"
    extract_pe_members(download_wheels(root / "wheels", packages), files)
    return files


def list_files(folder: Path) -> list[Path]:
    """Every regular file under ``folder`` (sorted, links not followed)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def summarize(paths: Iterable[Path]) -> CorpusSummary:
    """Classify each file by its headers (reads at most the headers, not the whole file)."""
    files = total = pe = nonconformant = flat = signed = largest = 0
    for path in paths:
        size = path.stat().st_size
        files += 1
        total += size
        largest = max(largest, size)
        kind = _classify(path, size)
        if kind == "signed":
            pe += 1
            signed += 1
        elif kind == "pe":
            pe += 1
        elif kind == "nonconformant":
            nonconformant += 1
        else:
            flat += 1
    return CorpusSummary(files, total, pe, nonconformant, flat, signed, largest)


def _classify(path: Path, size: int) -> str:
    with open(path, "rb") as stream:
        header = stream.read(1 << 16)
        while True:
            try:
                layout = parse_pe_layout(header, size)
            except NotAPeError:
                return "flat"
            except NonConformantPeError:
                return "nonconformant"
            except IncompleteHeadersError as exc:
                stream.seek(0)
                header = stream.read(exc.needed)
                continue
            return "signed" if layout.signed else "pe"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    root = Path(args[0]) if args else DEFAULT_ROOT
    files = build_corpus(root)
    print(f"corpus {os.fspath(files)}: {summarize(list_files(files)).describe()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
