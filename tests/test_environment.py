"""environment.yml names exactly the packages and versions of requirements.lock."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def lock_pins() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    return dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==([^\s\\]+)", text, re.M))


def conda_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return dict(p.split("==") for p in pip_section if "==" in p)


def test_environment_yml_matches_the_lock() -> None:
    lock, conda = lock_pins(), conda_pins()
    assert len(lock) > 50
    assert conda == lock


def test_environment_yml_uses_python_311_and_installs_the_project() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section


def test_every_direct_requirement_is_pinned() -> None:
    direct = [line.strip().lower() for line in (ROOT / "requirements.in").read_text().splitlines() if line.strip()]
    pins = lock_pins()
    assert [name for name in direct if name not in pins] == []
