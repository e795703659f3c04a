"""Report parameter files: which notebook runs with which values, checked before any run.

The report build reads ``params/program.yaml`` and one file per site,
``params/sites/<site_id>.yaml``. Every file has the same shape: each top-level key names a
notebook of ``notebooks/`` (without ``.ipynb``) and maps to the values of that notebook's
``parameters`` cell; a name left out keeps the notebook's default, and an empty entry
(``program_overview: {}``) runs the notebook on its defaults::

    # params/sites/mskcc.yaml
    eligibility_report:
      site: mskcc
    site_summary:
      site: mskcc

Each entry becomes one report, written to ``<notebook>/<name>.html`` where ``<name>`` is
the ``site`` value (``all`` when the notebook has no ``site`` parameter).

Rules (every break is collected, then all are raised at once, before any notebook runs):

- a key must be a parameter the notebook declares (:func:`papermill.inspect_notebook`),
  and its value must have the declared type;
- ``site`` must be one of the six site codes of :data:`~.schema.SITE_IDS`; ``all`` only
  for a notebook whose own default is ``all`` (it declares that it covers every site);
- in ``params/sites/<site_id>.yaml`` the file name must be a site code and every notebook
  with a ``site`` parameter must set it to that code, so a file cannot build another
  site's report by accident;
- ``dataset``, ``cut_date`` and ``history`` are set by the build (``--dataset``,
  ``--cut-date``, ``--history``), never by a file;
- path values (``criteria_params``, ``compare_with``) are relative to the project root and
  must name an existing file inside it: no absolute paths (``/``, ``~``, drive letters,
  UNC), no ``..``, no backslashes, no symbolic link that leads outside; the file must load
  as a criteria file;
- two entries may not produce the same report;
- every site has a file.

Site codes and output names come only from :data:`~.schema.SITE_IDS` and ``all``, so no
parameter value can make the build write outside its output folder.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from ..contract.messages import counted
from ..contract.schema import ALL_SITES, SITE_IDS
from ..contract.parameter_files import quoted, read_yaml_mapping
from ..engine.parameters import ParamsError, load_params
from ..report.criteria_compare import CRITERIA_SUBDIR, criteria_versions
from ..paths import NOTEBOOKS_DIR, PARAMS_DIR, PROJECT_ROOT

PROGRAM_FILE_NAME = "program.yaml"
SITES_SUBDIR = "sites"
SITE_PARAMETER = "site"
BUILD_SET_PARAMETERS: frozenset[str] = frozenset({"dataset", "cut_date", "history"})
"""Parameters the build fills in itself (``--dataset``, ``--cut-date``, ``--history``); a parameter file
may not set them: every page of a build screens the same data at the same cut."""
CRITERIA_PARAMETER = "criteria_params"
COMPARE_PARAMETER = "compare_with"
"""The criteria impact notebook's second criteria file (a criteria version or what-if YAML)."""
PATH_PARAMETERS: frozenset[str] = frozenset({CRITERIA_PARAMETER, COMPARE_PARAMETER})
"""Parameters whose value is a file path relative to the project root."""

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
}


class ReportParamsError(ParamsError):
    """One or more report parameter files cannot be used (exit status 2).

    Attributes
    ----------
    problems : list of str
        One line per problem, each naming the file, the notebook, the key and the value.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        head = (f"{counted(len(self.problems), 'problem')} in the report inputs (parameter files, dataset, "
                "output folder):")
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


@dataclass(frozen=True)
class DeclaredParameter:
    """A parameter as the notebook's ``parameters`` cell declares it.

    Attributes
    ----------
    name : str
        Variable name.
    type_name : str
        The annotated type (``str``, ``int``, ``float``, ``bool``), or the type of the
        default literal when the cell has no annotation.
    default : Any
        The default value (the literal of the cell), or ``None`` when it is not a literal.
    """

    name: str
    type_name: str
    default: Any


@dataclass(frozen=True)
class ReportSpec:
    """One report to build: a notebook and the values it runs with.

    Attributes
    ----------
    notebook : str
        Notebook name in ``notebooks/``, without ``.ipynb``.
    parameters : dict
        Values from the parameter file (the build adds ``dataset``).
    source : str
        The parameter file, relative to the project root (``params/sites/mskcc.yaml``).
    """

    notebook: str
    parameters: dict[str, Any] = field(hash=False)
    source: str

    @property
    def name(self) -> str:
        """Output name: the site code, or ``all`` for a program-wide report."""
        return str(self.parameters.get(SITE_PARAMETER, ALL_SITES))

    @property
    def key(self) -> str:
        """``<notebook>/<name>``: unique per report, and the output path without suffix."""
        return f"{self.notebook}/{self.name}"


# --------------------------------------------------------------------------- notebooks


@lru_cache(maxsize=32)
def _declared_parameters_cached(path: str, mtime_ns: int) -> tuple[DeclaredParameter, ...]:
    import papermill  # heavy import, only when a build starts

    declared = papermill.inspect_notebook(path)
    return tuple(
        DeclaredParameter(name, _type_name(entry), _literal(entry.get("default")))
        for name, entry in declared.items()
    )


def declared_parameters(notebook: Path) -> dict[str, DeclaredParameter]:
    """Return the parameters the notebook's ``parameters`` cell declares.

    Parameters
    ----------
    notebook : Path
        An ``.ipynb`` file with a cell tagged ``parameters``.

    Returns
    -------
    dict of str to DeclaredParameter
        In declaration order; empty when the notebook has no ``parameters`` cell.
    """
    parameters = _declared_parameters_cached(str(notebook), notebook.stat().st_mtime_ns)
    return {p.name: p for p in parameters}


def _literal(source: str | None) -> Any:
    try:
        return ast.literal_eval(source) if source else None
    except (ValueError, SyntaxError):
        return None


def _type_name(entry: Mapping[str, Any]) -> str:
    annotated = str(entry.get("inferred_type_name", "None"))
    if annotated in _PYTHON_TYPES:
        return annotated
    # No annotation: papermill says "None"; fall back on the default literal's type.
    return type(_literal(entry.get("default"))).__name__


def available_notebooks(notebooks_dir: Path) -> dict[str, Path]:
    """Return ``{name: path}`` of the notebooks in ``notebooks_dir`` (checkpoints excluded)."""
    return {p.stem: p for p in sorted(notebooks_dir.glob("*.ipynb"))}


# --------------------------------------------------------------------------- files


def parameter_files(params_dir: Path = PARAMS_DIR) -> list[Path]:
    """Return the report parameter files: ``program.yaml``, then the site files by name.

    Parameters
    ----------
    params_dir : Path
        The ``params/`` folder.

    Returns
    -------
    list of Path
        Existing files only; a missing ``program.yaml`` or site file is reported by
        :func:`load_report_plan`.
    """
    program = params_dir / PROGRAM_FILE_NAME
    sites = sorted((params_dir / SITES_SUBDIR).glob("*.y*ml"))
    return ([program] if program.is_file() else []) + sites


def _display(path: Path, base: Path) -> str:
    """Path for messages and provenance, relative to ``base`` (never machine-specific)."""
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.name


def _read_entries(path: Path, where: str, problems: list[str]) -> dict[str, Any]:
    if path.suffix != ".yaml":
        problems.append(f"{where}: parameter files end in .yaml")
        return {}
    try:
        # The strict reader of every parameter file: bounded, UTF-8, no aliases or duplicate keys.
        data = read_yaml_mapping(path, where)
    except ParamsError as exc:
        problems.append(str(exc))
        return {}
    except OSError as exc:
        problems.append(f"{where}: cannot be read: {exc.strerror or exc}")
        return {}
    if not data:
        problems.append(f"{where}: is empty; it must name at least one notebook")
        return {}
    return data


# --------------------------------------------------------------------------- values


def _type_ok(value: Any, type_name: str) -> bool:
    allowed = _PYTHON_TYPES.get(type_name)
    if allowed is None:  # a type we cannot check (None default, lists): accept scalars
        return isinstance(value, (str, int, float, bool)) or value is None
    if isinstance(value, bool) and bool not in allowed:
        return False  # True is an int to Python, never to a reader of the file
    return isinstance(value, allowed)


def _allowed_sites(declared: DeclaredParameter) -> tuple[str, ...]:
    return (*SITE_IDS, ALL_SITES) if declared.default == ALL_SITES else SITE_IDS


def _path_problem(value: str, project_root: Path) -> str | None:
    """Why ``value`` is not an acceptable relative path to an existing file, or None."""
    if value == "":
        return None  # the notebook's default file
    posix, windows = PurePosixPath(value), PureWindowsPath(value)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or value.startswith("~"):
        return "absolute paths are refused"
    if "\\" in value:
        return "backslashes are refused (write / between folders)"
    if ".." in posix.parts:
        return "'..' is refused"
    target = (project_root / posix).resolve()
    if not target.is_relative_to(project_root.resolve()):
        return "it leaves the project folder"
    if not target.is_file():
        return "no such file"
    return None


def _value_problems(
    where: str, key: str, value: Any, declared: DeclaredParameter, site_file: str | None, project_root: Path
) -> list[str]:
    """Check one ``key: value`` against what the notebook declares."""
    said = f"{where}: key {quoted(key)} has value {quoted(value)}"
    if key in BUILD_SET_PARAMETERS:
        flag = "--" + key.replace("_", "-")
        return [f"{where}: key {key!r} is set by the build (lifileucel-eap reports {flag}), not by a file"]
    if not _type_ok(value, declared.type_name):
        return [f"{said} ({type(value).__name__}); the notebook declares {key}: {declared.type_name}"]
    if key == SITE_PARAMETER:
        # A site's file allows its own code only: listing every code and 'all' there offered values
        # the next check refused (review 29E).
        if site_file is not None and value != site_file:
            return [f"{said}, but this file is for site {site_file!r}; set {key}: {site_file}"]
        allowed = _allowed_sites(declared)
        if value not in allowed:
            return [f"{said}; allowed: {', '.join(allowed)}"]
    if key == COMPARE_PARAMETER and _is_criteria_label(value, project_root):
        return []  # "default" or a version label, as compare --criteria takes them
    if key in PATH_PARAMETERS:
        why = _path_problem(value, project_root)
        if why:
            return [f"{said}: {why}; allowed: a path relative to the project root to an existing file inside it"]
        if key in (CRITERIA_PARAMETER, COMPARE_PARAMETER) and value:
            return _criteria_file_problems(said, project_root / value)
    return []


def _is_criteria_label(value: Any, project_root: Path) -> bool:
    """Whether ``value`` is ``default`` or the version label of a criteria file in ``params/criteria/``."""
    return isinstance(value, str) and (value == "default" or value in criteria_versions(project_root / CRITERIA_SUBDIR))


def _criteria_file_problems(said: str, path: Path) -> list[str]:
    """Check a criteria file as the notebooks will load it, so a bad one stops the build before any kernel."""
    try:
        load_params(path)
    except ParamsError as exc:
        return [f"{said}: {exc}"]
    return []


def _entry_specs(
    path: Path, where: str, notebooks: Mapping[str, Path], site_file: str | None, project_root: Path,
    problems: list[str],
) -> list[ReportSpec]:
    """Validate one parameter file; return its report specs."""
    specs = []
    for notebook, values in _read_entries(path, where, problems).items():
        if notebook not in notebooks:
            known = ", ".join(notebooks) or "(none: notebooks/ is empty)"
            problems.append(f"{where}: {quoted(notebook)} is not a notebook; notebooks are {known}")
            continue
        if values is None:
            values = {}
        if not isinstance(values, Mapping):
            problems.append(f"{where}: {notebook}: must map parameter names to values, not {quoted(values)}")
            continue
        declared = declared_parameters(notebooks[notebook])
        entry_where = f"{where}: {notebook}"
        found = _entry_problems(entry_where, values, declared, site_file, project_root)
        if site_file is not None and SITE_PARAMETER in declared and SITE_PARAMETER not in values:
            found.append(f"{entry_where}: key {SITE_PARAMETER!r} is missing; set {SITE_PARAMETER}: {site_file}")
        problems.extend(found)
        if not found:
            specs.append(ReportSpec(notebook, dict(values), where))
    return specs


def _entry_problems(
    where: str, values: Mapping[Any, Any], declared: Mapping[str, DeclaredParameter], site_file: str | None,
    project_root: Path,
) -> list[str]:
    found = []
    for key, value in values.items():
        if key not in declared:
            known = ", ".join(k for k in declared if k not in BUILD_SET_PARAMETERS) or "(none)"
            found.append(f"{where}: unknown key {quoted(key)} (value {quoted(value)}); the notebook declares {known}")
            continue
        found.extend(_value_problems(where, key, value, declared[key], site_file, project_root))
    return found


def _duplicate_problems(specs: Sequence[ReportSpec]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for spec in specs:
        if spec.key in seen:
            problems.append(f"{spec.source}: {spec.notebook}: report {spec.key} is already built by {seen[spec.key]}")
        seen.setdefault(spec.key, spec.source)
    return problems


def load_report_plan(
    params_dir: Path = PARAMS_DIR,
    notebooks_dir: Path = NOTEBOOKS_DIR,
    project_root: Path = PROJECT_ROOT,
    require_every_site: bool = True,
) -> list[ReportSpec]:
    """Read and check every report parameter file; return the reports to build.

    Parameters
    ----------
    params_dir : Path
        Folder with ``program.yaml`` and ``sites/<site_id>.yaml``.
    notebooks_dir : Path
        Folder of the notebook templates.
    project_root : Path
        Root that relative path values are resolved against (and must stay inside).
    require_every_site : bool
        Refuse when a site of :data:`~.schema.SITE_IDS` has no file (tests turn it off).

    Returns
    -------
    list of ReportSpec
        ``program.yaml`` first, then the sites in file-name order.

    Raises
    ------
    ReportParamsError
        With every problem of every file, before anything runs.
    """
    problems: list[str] = []
    notebooks = available_notebooks(notebooks_dir)
    # Name files relative to the project (params/sites/mskcc.yaml), or to the parent of a
    # parameter folder elsewhere (tests), so messages and provenance hold no machine paths.
    base = project_root if params_dir.resolve().is_relative_to(project_root.resolve()) else params_dir.parent
    program = params_dir / PROGRAM_FILE_NAME
    if not program.is_file():
        problems.append(f"{_display(program, base)}: missing")
    site_dir = params_dir / SITES_SUBDIR
    specs: list[ReportSpec] = []
    for path in parameter_files(params_dir):
        where = _display(path, base)
        site_file = path.stem if path.parent == site_dir else None
        if site_file is not None and site_file not in SITE_IDS:
            problems.append(f"{where}: {site_file!r} is not a site code; "
                            f"site files are named <site_id>.yaml with site_id one of {', '.join(SITE_IDS)}")
            continue
        specs.extend(_entry_specs(path, where, notebooks, site_file, project_root, problems))
    if require_every_site:
        missing = [s for s in SITE_IDS if not (site_dir / f"{s}.yaml").is_file()]
        problems += [f"{_display(site_dir / f'{s}.yaml', base)}: missing (every site has one)" for s in missing]
    problems += _duplicate_problems(specs)
    if problems:
        raise ReportParamsError(problems)
    return specs
