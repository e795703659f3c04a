"""Where the project's files live, resolved from the package so any working directory works."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
DATA_DIR = PACKAGE_DIR / "data"
DEMO_DATASET = DATA_DIR / "demo"
"""The bundled demo cohort (a few hundred synthetic patients, CSV); every notebook's default."""
FIXTURE_DATASET = DATA_DIR / "fixture"
"""The small synthetic fixture cohort (tens of patients) of the notebook regression tests."""
DRUG_FILE = DATA_DIR / "drug_classes.csv"
"""The package's drug dictionary: agent names (generic and brand) and their drug class, with sources."""
PARAMS_DIR = PROJECT_ROOT / "params"
CRITERIA_PARAMS = DATA_DIR / "criteria_defaults.yaml"
"""The default limits of the 19 criteria, each with its source; ships inside the package."""
CRITERIA_PARAMS_NAME = "lifileucel_analysis/data/criteria_defaults.yaml"
"""How reports name the defaults, wherever the package is installed."""
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
