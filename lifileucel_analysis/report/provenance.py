"""Provenance: where a report's inputs come from and which software computed it.

One computation for the report pages (their *Provenance* and *Parameters of this run*
tables) and for the build's index and ``manifest.json`` (:mod:`..runner.build`), so that a
page and the index it is listed in always name the same dataset, fingerprint and versions.

Rules, chosen so that the same inputs give the same bytes on every machine:

- a path inside the project is shown relative to the project root
  (``lifileucel_analysis/data/demo``); one outside it as its name with the first 12 hex
  digits of its fingerprint (``site_data (outside the project, SHA-256 3f2a...)``), never
  as an absolute path of this machine (:func:`display_path`);
- a dataset is fingerprinted over its table files, name and content, in name order
  (:func:`dataset_fingerprint`);
- Python is given as major.minor (:func:`python_version`): the lock pins packages, not the
  interpreter's patch release;
- what cannot be determined (a package that is not installed, a project outside git) is
  ``unknown``.

Reads files and asks ``git``; imports only the contract (for the table names) and
:mod:`..paths`.
"""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from ..contract.fingerprints import dataset_fingerprint, sha256_file
from ..contract.reading import table_files
from ..paths import CRITERIA_PARAMS, DEMO_DATASET, PROJECT_ROOT

PACKAGE = "lifileucel-eap"
LOCK_FILE = PROJECT_ROOT / "requirements.lock"
"""The pinned environment; its SHA-256 names the environment a build ran in."""
UNKNOWN = "unknown"
"""What a value is shown as when it cannot be determined."""
REPORTED_PACKAGES: tuple[str, ...] = ("pandas", "numpy", "matplotlib", "tableone")
"""Libraries whose versions a report page lists (they shape its tables and figures)."""
BUNDLED_DEMO_LABEL = f"demo (bundled: {DEMO_DATASET.relative_to(PROJECT_ROOT).as_posix()})"
"""How a build without ``--dataset`` names its dataset."""


# --------------------------------------------------------------------------- fingerprints


def dataset_files(path: Path) -> list[Path]:
    """The files a dataset consists of: exactly those the loader reads (:func:`..contract.reading.table_files`)."""
    return table_files(path)


# --------------------------------------------------------------------------- naming paths


def project_relative(path: Path) -> str | None:
    """``path`` relative to the project root (POSIX separators), or ``None`` when outside it."""
    try:
        return Path(path).resolve().relative_to(PROJECT_ROOT.resolve()).as_posix()
    except ValueError:
        return None


def display_path(path: Path) -> str:
    """A path as shown in reports and the index, never an absolute path of this machine.

    Inside the project: relative to the project root (``lifileucel_analysis/data/demo``).
    Elsewhere: the file or folder name with the first 12 hex digits of its
    :func:`dataset_fingerprint` (``site_data (outside the project, SHA-256 3f2a...)``),
    which names the content wherever it is stored, so the same data give the same page
    on every machine and a report sent by e-mail does not reveal the sender's folders.
    """
    resolved = Path(path).resolve()
    inside = project_relative(resolved)
    if inside is not None:
        return inside
    fingerprint = dataset_fingerprint(resolved)[:12] if resolved.exists() else "missing"
    return f"{resolved.name or 'dataset'} (outside the project, SHA-256 {fingerprint})"


def display_given(value: str) -> str:
    """A path parameter as given, with an absolute path cut to its last part.

    ``"../data/x"`` and ``"params/x.yaml"`` (inside the project) are shown as typed;
    ``"/home/ana/sites/x"`` becomes ``".../x (absolute path)"``, and a relative path that
    leads out of the project (``"../../tmp/x"``, found by the inputs' path rule:
    working directory, then project root) ``".../x (outside the project)"``, so the page
    does not show the folders of the machine it was built on.
    """
    text = str(value)
    if not text.strip():
        return text
    path = Path(text).expanduser()
    if path.is_absolute():
        return f".../{path.name} (absolute path)"
    if ".." not in path.parts:  # "site_data", "params/x.yaml": names no folder above where it was typed
        return text
    found = next((c for c in (Path.cwd() / path, PROJECT_ROOT / path) if c.exists()), None)
    if found is not None and project_relative(found) is None:
        return f".../{found.resolve().name} (outside the project)"
    return text


def display_history(path: Path | None) -> str:
    """How pages and the index name a run history: relative to the project, else by file name.

    Unlike a dataset, the history is not fingerprinted: it grows with every run, and the
    runs a page compares are named by their IDs. ``None`` is ``"none"``.
    """
    if path is None:
        return "none"
    inside = project_relative(path)
    return inside if inside is not None else f"{Path(path).name} (outside the project)"


def dataset_label(dataset: Path | None) -> str:
    """Name a dataset without machine-specific paths.

    ``None`` (a build without ``--dataset``) is :data:`BUNDLED_DEMO_LABEL`; any path is
    named by :func:`display_path`, as the report pages name it.
    """
    return BUNDLED_DEMO_LABEL if dataset is None else display_path(dataset)


# --------------------------------------------------------------------------- software


def distribution_version(distribution: str) -> str:
    """Return the installed version of a distribution, or :data:`UNKNOWN`."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return UNKNOWN


def package_version() -> str:
    """Return the installed version of ``lifileucel-eap``, or :data:`UNKNOWN`."""
    return distribution_version(PACKAGE)


def python_version() -> str:
    """The interpreter as ``major.minor`` (the lock pins packages, not the patch release)."""
    return ".".join(platform.python_version_tuple()[:2])


def software_versions() -> list[tuple[str, str]]:
    """``(name, version)`` of this package, Python and :data:`REPORTED_PACKAGES`, in that order."""
    return [(PACKAGE, package_version()), ("python", python_version()),
            *((name, distribution_version(name)) for name in REPORTED_PACKAGES)]


def git_commit(root: Path = PROJECT_ROOT) -> str:
    """Return the commit of ``root`` (``+dirty`` with uncommitted changes), or :data:`UNKNOWN`."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    return commit + ("+dirty" if dirty else "")


# --------------------------------------------------------------------------- a build's inputs


@dataclass(frozen=True)
class Provenance:
    """Where a build's reports come from; shown in the index and in ``manifest.json``.

    Attributes
    ----------
    dataset : str
        :func:`dataset_label` of the dataset.
    dataset_sha256 : str
        :func:`dataset_fingerprint` of the dataset.
    criteria_params_sha256 : str
        SHA-256 of the package defaults (``lifileucel_analysis/data/criteria_defaults.yaml``) (the limits the criteria apply).
    parameter_files : dict of str to str
        SHA-256 of every report parameter file, by path relative to the project.
    package_version, lock_sha256, git_commit, python_version : str
        Version of this package, SHA-256 of ``requirements.lock``, commit of the project
        (``unknown`` outside git), and the interpreter (:func:`python_version`).
    cut_date : str
        The data cut the reports screen at (``YYYY-MM-DD``; ``none``: every row counts).
    history : str
        :func:`display_history` of the run history the build records into and the pages read.
    """

    dataset: str
    dataset_sha256: str
    criteria_params_sha256: str
    parameter_files: dict[str, str] = field(hash=False)
    package_version: str
    lock_sha256: str
    git_commit: str
    python_version: str
    cut_date: str = "none"
    history: str = "none"

    def rows(self) -> list[tuple[str, str]]:
        """Return ``(label, value)`` pairs in reading order."""
        return [
            ("Dataset", self.dataset),
            ("Dataset SHA-256", self.dataset_sha256),
            ("Criteria parameters (package defaults) SHA-256", self.criteria_params_sha256),
            *((f"Report parameters {name} SHA-256", digest) for name, digest in self.parameter_files.items()),
            ("lifileucel-eap version", self.package_version),
            ("requirements.lock SHA-256", self.lock_sha256),
            ("Git commit", self.git_commit),
            ("Python", self.python_version),
            ("Data cut date", self.cut_date if self.cut_date != "none" else "none: every row of the dataset counts"),
            ("Run history", self.history),
        ]


def _sha256_or_missing(path: Path) -> str:
    return sha256_file(path) if path.is_file() else "missing"


def collect_provenance(dataset: Path | None, parameter_files: Iterable[Path], cut_date: str | None = None,
                       history: Path | None = None) -> Provenance:
    """Fingerprint the inputs of a build.

    Parameters
    ----------
    dataset : Path or None
        The screening dataset; ``None`` is the bundled demo cohort.
    parameter_files : iterable of Path
        The report parameter files of the build (``params/program.yaml``,
        ``params/sites/*.yaml``), named relative to the project (or by their file name
        when outside it).
    cut_date : str, optional
        The build's data cut (``YYYY-MM-DD``).
    history : Path, optional
        The build's run history.
    """
    files = {(project_relative(p) or Path(p).name): sha256_file(p) for p in parameter_files}
    return Provenance(
        dataset=dataset_label(dataset),
        dataset_sha256=dataset_fingerprint(dataset or DEMO_DATASET),
        criteria_params_sha256=_sha256_or_missing(CRITERIA_PARAMS),
        parameter_files=files,
        package_version=package_version(),
        lock_sha256=_sha256_or_missing(LOCK_FILE),
        git_commit=git_commit(),
        python_version=python_version(),
        cut_date=cut_date or "none",
        history=display_history(history),
    )
