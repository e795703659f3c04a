"""Render the README's figures, one per report notebook, from the data ``make reports`` shows.

    make readme-figures     # = make demo-weeks, then .venv/bin/python tools/readme_figures.py --weekly build/demo-weeks
    .venv/bin/python tools/readme_figures.py --check   # exit 1 if docs/img is out of date (after make demo-weeks)

Each figure is made by the same report method the notebook calls (so title, size and
content are those of the built report), on the data of ``make reports``: the last week of
the demo cohort's weekly extracts (``make demo-weeks``) screened at its cut date, with the
default criteria parameters, and saved as the notebooks save inline figures: Agg backend, the figures
module's fixed dpi and size (no tight bounding box) and no PNG ``Software`` chunk
(``figure_style.PRINT_FIGURE_KWARGS``). The PNG bytes are therefore the same on every run of
the pinned environment, and the same as the image embedded in the report page.

Run it after a change that alters these figures (a figure function, the demo cohort, a
criterion rule) and commit the PNGs with that change. The Makefile exports
``PYTHONHASHSEED=0`` and ``TZ=UTC`` as for every other build step.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from lifileucel_analysis.report import figure_style  # noqa: E402
from lifileucel_analysis.report.eligibility_report import EligibilityReport  # noqa: E402
from lifileucel_analysis.runner.build_history import read_weekly_cuts  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "docs" / "img"
WEEKLY_DIR = ROOT / "build" / "demo-weeks"
"""Where ``make demo-weeks`` writes the demo cohort's weekly extracts (the Makefile's DEMO_WEEKS_DIR)."""
MAX_BYTES = 250_000
"""Size budget of one README image."""
SITE = "mskcc"
"""The site of the site-summary figure: the notebook's default, the largest demo site."""

# name -> (notebook it comes from, function of the all-sites report and the site report)
FIGURES: dict[str, tuple[str, Callable[[EligibilityReport, EligibilityReport], Figure]]] = {
    "eligibility_report-outcome_grid": ("eligibility_report", lambda program, site: program.outcome_grid()),
    f"site_summary-flow-{SITE}": ("site_summary", lambda program, site: site.flow()),
    "program_overview-failure_heatmap": ("program_overview", lambda program, site: program.failure_heatmap()),
}


def render(weekly: Path = WEEKLY_DIR) -> dict[str, bytes]:
    """PNG bytes of every README figure, by file name, from the last week of ``weekly`` at its cut date."""
    weeks, problems = read_weekly_cuts(weekly)
    if problems:
        raise SystemExit("\n".join(problems) + "\nrun `make demo-weeks` first")
    last = weeks[-1]
    program = EligibilityReport.build(site="all", dataset=str(last.dataset), cut_date=last.cut_date)
    site = EligibilityReport.from_result(program.program, program.dataset, site=SITE)
    images: dict[str, bytes] = {}
    for name, (_, make) in FIGURES.items():
        figure = make(program, site)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=figure_style.DPI, **figure_style.PRINT_FIGURE_KWARGS)
        images[f"{name}.png"] = buffer.getvalue()
    return images


def _shown(path: Path) -> Path:
    resolved = path.resolve()
    return resolved.relative_to(ROOT) if resolved.is_relative_to(ROOT) else path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: docs/img)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file differs or is missing")
    parser.add_argument("--weekly", type=Path, default=WEEKLY_DIR,
                        help="the demo's weekly extracts (default: build/demo-weeks, written by make demo-weeks)")
    args = parser.parse_args(argv)
    images = render(args.weekly)
    status = 0
    for name, data in images.items():
        path = args.out / name
        if len(data) > MAX_BYTES:
            print(f"{name}: {len(data)} bytes, over the {MAX_BYTES}-byte budget", file=sys.stderr)
            status = 1
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                print(f"{_shown(path)}: out of date", file=sys.stderr)
                status = 1
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"{_shown(path)} ({len(data) // 1000} KB)")
    return status


if __name__ == "__main__":
    sys.exit(main())
