"""``python -m lifileucel_analysis.synth``: rewrite the bundled demo and fixture cohorts."""

from __future__ import annotations

from .cohorts import regenerate_bundled

if __name__ == "__main__":
    for path in regenerate_bundled():
        print(f"wrote {path}")
