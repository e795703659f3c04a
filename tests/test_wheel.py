"""The built wheel works on its own: installed in a fresh venv, run from outside the checkout.

The editable install of ``.venv`` resolves files against the checkout, so a module or a
data file read from the project folder instead of the package would pass every other
test. Here a wheel is built offline from a copy of the sources, installed with
``--no-deps`` into a new venv under ``tmp_path``, and run from a working directory
outside the checkout:

(a) the console script ``lifileucel-eap screen`` on the demo cohort bundled *inside the
    installed package*;
(b) the Python API (``screen``, ``load_dataset``, ``load_params``) on the same cohort;

and both must give the same verdict counts. The third-party dependencies come from
``.venv``'s site-packages through a ``.pth`` file (nothing is downloaded); that folder is
on ``sys.path`` only as a plain path, so the editable install's finder hook (a ``.pth``
file of its own) is never run, and ``lifileucel_analysis`` must import from the new venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from lifileucel_analysis.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow

SOURCES = ("pyproject.toml", "README.md", "lifileucel_analysis")
"""What the wheel is built from (copied, so the build leaves nothing in the checkout)."""
TIMEOUT = 600


@dataclass(frozen=True)
class Installed:
    """A fresh venv with the project's wheel installed, and a folder outside the checkout."""

    python: Path
    script: Path
    package: Path
    """``lifileucel_analysis`` as installed in the venv."""
    cwd: Path
    env: dict[str, str]


def run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.returncode == 0, f"{args}\nexit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def site_packages(python: Path, env: dict[str, str]) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(run([python, "-c", code], cwd=python.parent, env=env).stdout.strip())


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        path = PROJECT_ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, source / name)
    dist = root / "dist"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist,
         source], cwd=root, env=env)
    wheels = sorted(dist.glob("lifileucel_eap-*.whl"))
    assert len(wheels) == 1, wheels

    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=root, env=env)
    python = venv / "bin" / "python"
    # Install before the .pth exists, so pip sees an empty environment (never .venv's packages).
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheels[0]],
        cwd=root, env=env)
    dependencies = Path(pd.__file__).resolve().parents[1]  # .venv's site-packages
    (site_packages(python, env) / "project_dependencies.pth").write_text(f"{dependencies}\n", encoding="utf-8")

    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    cwd = root / "elsewhere"
    cwd.mkdir()
    located = run([python, "-c", "import lifileucel_analysis; print(lifileucel_analysis.__file__)"], cwd, env)
    package = Path(located.stdout.strip()).resolve().parent
    return Installed(python, venv / "bin" / "lifileucel-eap", package, cwd, env)


def test_the_package_imports_from_the_new_venv_not_the_checkout(installed: Installed) -> None:
    venv = installed.python.parent.parent.resolve()
    assert installed.package.is_relative_to(venv), installed.package
    assert not installed.package.is_relative_to(PROJECT_ROOT.resolve()), installed.package
    assert not installed.cwd.resolve().is_relative_to(PROJECT_ROOT.resolve())
    assert (installed.package / "data" / "demo" / "patients.csv").is_file(), "the demo cohort is not in the wheel"


def test_console_script_and_python_api_agree_on_the_bundled_demo(installed: Installed) -> None:
    demo = installed.package / "data" / "demo"
    out = installed.cwd / "out"
    run([installed.script, "screen", demo, "--out", out], installed.cwd, installed.env)
    verdicts = pd.read_csv(out / "verdicts.csv", dtype=str, keep_default_na=False)
    from_script = dict(Counter(verdicts["verdict"]))

    code = (
        "import json, sys\n"
        "from lifileucel_analysis import load_dataset, load_params, screen\n"
        "result = screen(load_dataset(sys.argv[1]), load_params())\n"
        "print(json.dumps(result.verdicts['verdict'].astype(str).value_counts().to_dict()))\n"
    )
    from_api = json.loads(run([installed.python, "-c", code, demo], installed.cwd, installed.env).stdout)

    assert from_script == from_api
    assert sum(from_api.values()) == 400
    assert set(from_api) == {"eligible", "ineligible", "pending"}
