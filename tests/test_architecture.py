"""The package's shape: one house in four wings, imports pointing down, small well-named modules.

Read from the source with :mod:`ast` (nothing is imported, so a module-level side effect
cannot hide an import): every ``import`` and ``from ... import`` anywhere in a module,
function-level ones included, relative ones resolved against the module's package.

Rules (issue 10):

- wings, lowest first: ``contract`` (0) <- ``engine`` (1) <- ``report`` (2) <- ``runner``
  (3) <- the top level (4: ``cli.py``, ``__main__.py`` and the package's ``__init__.py``,
  the public facade). A module may import its own wing or a lower one, never a higher one;
- ``paths.py`` is a leaf: any module may import it, it imports nothing of the package;
- ``synth`` (the synthetic cohorts) may import the contract (and ``paths``) only, and only
  the top level may import it;
- engine modules are pure: no ``pathlib``, no ``open()``, no ``print()``; the one
  exception is ``engine/parameters.py``, which reads the packaged defaults and a criteria file (through the contract's strict reader);
- engine code names which way a yes/no blank goes (``is_yes``, ``surely``, ...): a raw
  ``.fillna(True)`` / ``.fillna(False)`` appears only in ``engine/nullable.py``, where the
  named helpers are defined; dates become text through ``evidence.iso_dates`` (or a rule's
  template), so ``strftime(`` appears only in ``engine/evidence.py`` (:data:`RAW_IN_ENGINE`);
- no module is over :data:`MAX_LINES` lines;
- no two module names differ by one letter (``report``/``reports``): a reader would
  confuse them.

Each checker is a plain function over files, so the self-checks at the end can prove on a
synthetic package that it does fail.
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest

from lifileucel_analysis.paths import PACKAGE_DIR

PACKAGE = "lifileucel_analysis"
RANK = {"contract": 0, "engine": 1, "report": 2, "runner": 3, "top": 4}
"""Wing of each rank; higher wings may import lower ones."""
TOP_MODULES = {"cli", "__main__"}
"""Top-level modules (besides the package's ``__init__``) in the top wing."""
MAX_LINES = 500
IMPURE_NAMES = ("open", "print")
"""Builtins an engine module must not call: it neither reads files nor talks to the user."""
IMPURE_METHODS = ("read_csv", "read_parquet", "read_excel", "read_table", "read_text", "read_bytes", "to_csv",
                  "to_parquet", "write_table")
"""Readers and writers an engine module must not call, as ``pd.read_csv(...)`` (review 23B: the drug
dictionary was read in the engine with pandas, which the builtins above did not catch)."""
IMPURE_MODULES = ("pathlib",)
ENGINE_EXCEPTIONS = {"engine/parameters.py"}
"""Engine modules allowed file access: the parameters file is still read there (for now)."""
RAW_IN_ENGINE = {"fillna(True": "engine/nullable.py", "fillna(False": "engine/nullable.py",
                 "strftime(": "engine/evidence.py"}
"""Text an engine module may not contain (spaces ignored), and the one module that defines its named form."""


@dataclass(frozen=True)
class Import:
    """One import statement's target, as an absolute dotted name."""

    source: str
    """The importing module, relative to the package root (``engine/facts.py``)."""
    line: int
    target: str


# --------------------------------------------------------------------------- reading


def python_files(root: Path) -> list[Path]:
    """Every ``.py`` file of the package under ``root`` (sorted)."""
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def module_parts(path: Path, root: Path) -> list[str]:
    """Dotted name parts of a module file (a package's ``__init__`` is the package)."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def from_module(node: ast.ImportFrom, package: list[str]) -> str:
    """The absolute dotted module a ``from ... import`` reads from, inside ``package``'s parts."""
    if node.level == 0:
        return node.module or ""
    anchor = package[: len(package) - node.level + 1]
    return ".".join([*anchor, *([node.module] if node.module else [])])


def imports_of(path: Path, root: Path) -> list[Import]:
    """Every import in the file (at any depth), with relative imports made absolute."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    parts = module_parts(path, root)
    package = parts if path.name == "__init__.py" else parts[:-1]
    source = path.relative_to(root).as_posix()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(source, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = from_module(node, package)
            if node.module is None:  # from . import x: x may be a module
                found += [Import(source, node.lineno, f"{base}.{alias.name}") for alias in node.names]
            else:
                found.append(Import(source, node.lineno, base))
    return found


def wing_of(dotted: str) -> str | None:
    """The wing a dotted module name belongs to; ``None`` outside the package."""
    parts = dotted.split(".")
    if parts[0] != PACKAGE:
        return None
    if len(parts) == 1 or parts[1] in TOP_MODULES:
        return "top"
    return parts[1]


def wing_of_file(path: Path, root: Path) -> str:
    """The wing of a module file (the package's own ``__init__`` is the top)."""
    wing = wing_of(".".join([PACKAGE, *module_parts(path, root)[1:]]))
    assert wing is not None
    return wing


def allowed(source: str, target: str | None) -> bool:
    """Whether a module of wing ``source`` may import one of wing ``target``."""
    if target is None or target == source or target == "paths":
        return True
    if source == "paths":
        return False  # the leaf imports nothing of the package
    if source == "synth":
        return target == "contract"
    if target == "synth":
        return source == "top"
    if source not in RANK or target not in RANK:
        return False  # a new top-level module or wing: give it a rank here first
    return RANK[target] < RANK[source]


# --------------------------------------------------------------------------- checkers


def upward_imports(root: Path) -> list[str]:
    """Imports that point from a lower wing to a higher one (or break the leaf rules)."""
    bad = []
    for path in python_files(root):
        source = wing_of_file(path, root)
        for imp in imports_of(path, root):
            target = wing_of(imp.target)
            if not allowed(source, target):
                bad.append(f"{imp.source}:{imp.line}: {source} imports {imp.target} ({target})")
    return bad


def long_modules(root: Path, limit: int = MAX_LINES) -> list[str]:
    """Modules over ``limit`` lines, longest first."""
    sizes = {path.relative_to(root).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
             for path in python_files(root)}
    return [f"{name}: {lines} lines" for name, lines in sorted(sizes.items(), key=lambda kv: -kv[1])
            if lines > limit]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def module_names(root: Path) -> set[str]:
    """Names of every module and sub-package (file stems, folder names)."""
    names = {p.stem for p in python_files(root) if p.stem != "__init__"}
    names |= {p.parent.name for p in python_files(root) if p.name == "__init__.py" and p.parent != root}
    return names


def confusable_names(root: Path) -> list[str]:
    """Pairs of module names one letter apart."""
    return [f"{a} / {b}" for a, b in itertools.combinations(sorted(module_names(root)), 2)
            if edit_distance(a, b) == 1]


def impure_engine_code(root: Path, exceptions: set[str] = ENGINE_EXCEPTIONS) -> list[str]:
    """Engine modules that import ``pathlib`` or call ``open()``/``print()``."""
    bad = []
    for path in python_files(root / "engine"):
        name = path.relative_to(root).as_posix()
        if name in exceptions:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for imp in imports_of(path, root):
            if imp.target.split(".")[0] in IMPURE_MODULES or imp.target.split(".")[-1] == "paths":
                bad.append(f"{name}:{imp.line}: imports {imp.target}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in IMPURE_NAMES:
                bad.append(f"{name}:{node.lineno}: calls {node.func.id}()")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in IMPURE_METHODS:
                bad.append(f"{name}:{node.lineno}: calls .{node.func.attr}()")
    return bad


def raw_engine_code(root: Path, raw: dict[str, str] = RAW_IN_ENGINE) -> list[str]:
    """Engine lines holding a :data:`RAW_IN_ENGINE` text outside the module that names it."""
    bad = []
    for path in python_files(root / "engine"):
        name = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            squeezed = line.replace(" ", "")
            bad += [f"{name}:{number}: {text} (use {home})" for text, home in raw.items()
                    if text in squeezed and name != home]
    return bad


def declared_names(path: Path) -> set[str] | None:
    """A module's ``__all__`` written as a literal list or tuple; ``None`` where it has none or
    computes it (the package's own ``__init__``: ``sorted(_HOME)``, its lazy exports)."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value)) if isinstance(node.value, (ast.List, ast.Tuple)) else None
    return None


def names_missing_from_all(root: Path) -> list[str]:
    """Public names one module imports from another whose ``__all__`` leaves them out.

    ``__all__`` is how a module says what it offers (review 36R: 13 names other modules import
    were missing); a name imported past it is an offer the module does not know it makes.
    """
    offers = {".".join(module_parts(path, root)): declared_names(path) for path in python_files(root)}
    bad = []
    for path in python_files(root):
        parts = module_parts(path, root)
        package = parts if path.name == "__init__.py" else parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue  # "from . import x" imports a module, which offers itself
            target = from_module(node, package)
            declared = offers.get(target)
            if declared is None:
                continue  # outside the package, or a module without __all__
            bad += [f"{path.relative_to(root).as_posix()}:{node.lineno}: {a.name} is not in {target}.__all__"
                    for a in node.names if a.name not in declared and not a.name.startswith("_") and a.name != "*"]
    return bad


# --------------------------------------------------------------------------- the package


def test_the_package_has_the_four_wings() -> None:
    wings = {p.name for p in PACKAGE_DIR.iterdir() if (p / "__init__.py").is_file()}
    assert {"contract", "engine", "report", "runner"} <= wings, wings
    assert wings <= {*RANK, "synth"}, f"a sub-package without a rank: {wings - {*RANK, 'synth'}}"


def test_every_module_is_read() -> None:
    """The checks below see every module, function-level imports included."""
    files = python_files(PACKAGE_DIR)
    assert len(files) >= 20
    assert any(i.target == f"{PACKAGE}.synth" for i in imports_of(PACKAGE_DIR / "cli.py", PACKAGE_DIR)), (
        "cli.py imports synth inside a function; the reader must find it")


def test_imports_point_down() -> None:
    bad = upward_imports(PACKAGE_DIR)
    assert not bad, "imports from a lower wing to a higher one:\n" + "\n".join(bad)


def test_no_module_is_over_500_lines() -> None:
    offenders = long_modules(PACKAGE_DIR)
    assert not offenders, f"modules over {MAX_LINES} lines:\n" + "\n".join(offenders)


def test_no_two_module_names_differ_by_one_letter() -> None:
    pairs = confusable_names(PACKAGE_DIR)
    assert not pairs, "module names one letter apart:\n" + "\n".join(pairs)


def test_imported_names_are_offered_in_all() -> None:
    bad = names_missing_from_all(PACKAGE_DIR)
    assert not bad, "names imported past their module's __all__ (add them to it):\n" + "\n".join(bad)


def test_engine_modules_are_pure() -> None:
    bad = impure_engine_code(PACKAGE_DIR)
    assert not bad, "engine modules reading files or printing:\n" + "\n".join(bad)


def test_engine_blanks_go_through_named_helpers() -> None:
    bad = raw_engine_code(PACKAGE_DIR)
    assert not bad, "engine code choosing a blank's way by hand:\n" + "\n".join(bad)


def test_the_engine_exceptions_still_exist() -> None:
    """An exception for a module that is gone would silently allow a new one of that name."""
    for name in ENGINE_EXCEPTIONS | set(RAW_IN_ENGINE.values()):
        assert (PACKAGE_DIR / name).is_file(), name


def unnamed_modules(package: Path, architecture: str) -> list[str]:
    """Modules of each wing (and ``synth/``) that its row of the architecture table does not name.

    The row of a wing is the table line starting ``| `wing/` |``; a module is named when
    ```module``` appears in that row. A wing without a row names nothing.
    """
    rows = {line.split("`")[1].rstrip("/"): line for line in architecture.splitlines()
            if line.startswith("| `") and line.split("`")[1].endswith("/")}
    missing = []
    for wing in sorted(p for p in package.iterdir() if (p / "__init__.py").is_file()):
        row = rows.get(wing.name, "")
        for module in sorted(wing.glob("*.py")):
            if module.stem not in {"__init__", "__main__"} and f"`{module.stem}`" not in row:
                missing.append(f"{wing.name}/{module.name}")
    return missing


def test_the_architecture_page_names_every_module() -> None:
    """docs/architecture.md is the map of the house: a module it does not name is one a reader cannot find."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = unnamed_modules(PACKAGE_DIR, page)
    assert not missing, "modules not named in docs/architecture.md (add them to their wing's row):\n" + "\n".join(missing)


def test_self_check_an_unnamed_module_is_caught(tmp_path: Path) -> None:
    wing = tmp_path / "pkg" / "engine"
    wing.mkdir(parents=True)
    for name in ("__init__", "facts", "newcomer"):
        (wing / f"{name}.py").write_text("")
    page = "| wing | may import | modules |\n|---|---|---|\n| `engine/` | `contract` | `facts` (derived facts) |\n"
    assert unnamed_modules(tmp_path / "pkg", page) == ["engine/newcomer.py"]
    assert unnamed_modules(tmp_path / "pkg", page.replace("`facts`", "facts")) == ["engine/facts.py", "engine/newcomer.py"]


# --------------------------------------------------------------------------- the tests


TESTS_DIR = Path(__file__).resolve().parent
HELPER_MODULES = {"helpers", "strategies", "reference"}
"""Modules of ``tests/`` that tests may import (shared data, generators, the reference evaluator)."""


def imports_between_test_modules(tests_dir: Path = TESTS_DIR) -> list[str]:
    """Imports of a test module (or ``conftest``) by another module of ``tests/``."""
    local = {p.stem for p in tests_dir.glob("*.py")}
    bad = []
    for path in sorted(tests_dir.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")]
            else:
                continue
            for name in names:
                first = name.lstrip(".").split(".")[0]
                if name.startswith(".") or first == "tests" or (first in local and first not in HELPER_MODULES):
                    bad.append(f"{path.name}:{node.lineno}: imports {name}")
    return bad


def test_no_test_module_imports_another() -> None:
    """Shared test data lives in tests/helpers.py; a test importing a test runs its module twice."""
    bad = imports_between_test_modules()
    assert not bad, "test modules importing test modules:\n" + "\n".join(bad)


# --------------------------------------------------------------------------- self-checks


def fake_package(tmp_path: Path, files: dict[str, str]) -> Path:
    """A package named like the real one, with the given module sources."""
    root = tmp_path / PACKAGE
    for name, source in {"__init__.py": "", "contract/__init__.py": "", "engine/__init__.py": "",
                         "report/__init__.py": "", "runner/__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(source, encoding="utf-8")
    return root


def test_self_check_an_upward_import_is_caught(tmp_path: Path) -> None:
    root = fake_package(tmp_path, {
        "contract/schema.py": "def f():\n    from ..report import tables  # function-level\n",
        "engine/facts.py": "from lifileucel_analysis.runner.build import x\nfrom ..contract import schema\n",
        "report/ok.py": "from ..engine import facts\nfrom .. import paths\nimport pandas\n",
        "paths.py": "from .contract import schema\n",
        "synth/__init__.py": "from ..engine import facts\nfrom ..contract import schema\n",
        "runner/plan.py": "from .. import synth\n",
        "cli.py": "from . import synth\nfrom .runner import plan\n",
    })
    bad = upward_imports(root)
    assert len(bad) == 5, bad
    assert bad[0] == "contract/schema.py:2: contract imports lifileucel_analysis.report (report)"
    assert any(b.startswith("engine/facts.py:1: engine imports lifileucel_analysis.runner.build") for b in bad)
    assert any(b.startswith("paths.py:1:") for b in bad)
    assert any(b.startswith("synth/__init__.py:1:") for b in bad)
    assert any(b.startswith("runner/plan.py:1:") for b in bad)


def test_self_check_long_modules_confusable_names_and_impure_engine(tmp_path: Path) -> None:
    root = fake_package(tmp_path, {
        "report/report.py": "x = 1\n" * 501,
        "report/reports.py": "x = 1\n",
        "engine/facts.py": "from pathlib import Path\n\ndef f():\n    print(open('x').read())\n",
        "engine/parameters.py": "from pathlib import Path\nprint(1)\n",
        "engine/drugs.py": "import pandas as pd\nfrom ..paths import DRUGS\n\ndef f():\n    return pd.read_csv(DRUGS)\n",
    })
    assert long_modules(root) == ["report/report.py: 501 lines"]
    assert confusable_names(root) == ["report / reports"]
    assert impure_engine_code(root) == ["engine/drugs.py:2: imports lifileucel_analysis.paths",
                                        "engine/drugs.py:5: calls .read_csv()",
                                        "engine/facts.py:1: imports pathlib", "engine/facts.py:4: calls print()",
                                        "engine/facts.py:4: calls open()"]
    assert edit_distance("criterion", "criteria") == 2 and edit_distance("plan", "plans") == 1


def test_self_check_a_name_imported_past_all_is_caught(tmp_path: Path) -> None:
    root = fake_package(tmp_path, {
        "engine/facts.py": "__all__ = [\"offered\"]\noffered = 1\nhidden = 2\n_private = 3\n",
        "engine/free.py": "anything = 1\n",
        "report/uses.py": "from ..engine.facts import offered, hidden, _private\nfrom ..engine.free import anything\n"
                          "from ..engine import facts\n",
    })
    assert names_missing_from_all(root) == [
        "report/uses.py:1: hidden is not in lifileucel_analysis.engine.facts.__all__"]


def test_self_check_raw_engine_code_is_caught(tmp_path: Path) -> None:
    root = fake_package(tmp_path, {
        "engine/facts.py": "a = b.fillna(False)\nc = d.fillna( True ).to_numpy()\ne = f.fillna('')\n"
                           "g = h.dt.strftime('%Y')\n",
        "engine/evidence.py": "a = b.dt.strftime('%Y-%m-%d')\n",
        "engine/nullable.py": "def g(v):\n    return v.fillna(True)\n",
        "report/tables.py": "a = b.fillna(False)\n",
    })
    assert raw_engine_code(root) == ["engine/facts.py:1: fillna(False (use engine/nullable.py)",
                                     "engine/facts.py:2: fillna(True (use engine/nullable.py)",
                                     "engine/facts.py:4: strftime( (use engine/evidence.py)"]


def test_self_check_a_test_importing_a_test_is_caught(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text("from helpers import TEST_JOBS\n")
    (tmp_path / "helpers.py").write_text("TEST_JOBS = 2\n")
    (tmp_path / "test_a.py").write_text("import pandas\nfrom helpers import TEST_JOBS\nfrom strategies import x\n"
                                        "def test():\n    from test_b import y\n")
    (tmp_path / "test_b.py").write_text("from conftest import TEST_JOBS\nfrom tests.test_a import test\n")
    assert imports_between_test_modules(tmp_path) == [
        "test_a.py:5: imports test_b", "test_b.py:1: imports conftest", "test_b.py:2: imports tests.test_a"]
