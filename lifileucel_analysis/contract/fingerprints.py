"""Fingerprints of files and datasets: SHA-256 of what the loader reads, the same wherever it is stored.

Here, below the report wing, so that :func:`.buckets.partition_dataset` can record the
fingerprint of the dataset it partitions (a run recorded from the buckets then names the
source it came from; ``docs/history.md``), and the report's provenance computes the same
value (:mod:`lifileucel_analysis.report.provenance` re-exports both functions).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .reading import table_files

__all__ = ["dataset_fingerprint", "sha256_file"]


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes (read in blocks: a file may be large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_fingerprint(path: Path) -> str:
    """SHA-256 over the dataset's files (name and content, in name order), hex.

    The files are exactly those the loader reads (:func:`.reading.table_files`). The same
    files give the same fingerprint wherever they are stored; any changed byte changes it.
    A single file's fingerprint is not its plain ``sha256sum`` (the name is hashed too), so
    that renaming a table is noticed. Files other than the tables (a README next to them)
    do not count.
    """
    digest = hashlib.sha256()
    for file in table_files(path):
        digest.update(file.name.encode("utf-8") + b"\0")
        digest.update(sha256_file(file).encode("ascii") + b"\n")
    return digest.hexdigest()
