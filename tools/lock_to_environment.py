"""Write environment.yml from requirements.lock so conda users get the same pins."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = """\
# Conda environment for lifileucel-eap. The pins below are the same as requirements.lock
# (tests/test_environment.py checks it); regenerate both with `make lock`.
name: lifileucel-eap
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
"""


def main() -> None:
    pins = re.findall(r"^([a-z0-9][a-z0-9._-]*==[^\s\\]+)", (ROOT / "requirements.lock").read_text(), re.M)
    body = "".join(f"      - {pin}\n" for pin in pins) + "      - -e .\n"
    (ROOT / "environment.yml").write_text(HEADER + body)


if __name__ == "__main__":
    main()
