"""Report-page benchmark at scale: page size and load time in Chromium (issue 13; not a test).

Generates a synthetic cohort (``lifileucel-eap synth``, seeded), builds the reports on it
(``lifileucel-eap reports``), then for every HTML page measures its size on disk and its
load time in headless Chromium (``/usr/bin/chromium``, through Playwright: navigation
start to the ``load`` event, best of ``--repeat``), and checks that every screened
patient is in each screening-log download exactly once and every pending patient in each
worklist download exactly once. Writes ``docs/report-scale.md``.

Usage: ``python benchmarks/report_scale.py [--patients 20000] [--jobs 2] [--repeat 3]``
Targets: every page < 2 MB and loaded in < 2 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT_DOC = ROOT / "docs" / "report-scale.md"
SEED = 20260113
MAX_BYTES, MAX_SECONDS = 2_000_000, 2.0
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def run(*args: str) -> float:
    env = {**os.environ, "PYTHONHASHSEED": "0", "TZ": "UTC", "TQDM_DISABLE": "1", "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lifileucel_analysis", *args], check=True, cwd=ROOT, env=env,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def load_times(pages: list[Path], repeat: int) -> dict[Path, float]:
    from playwright.sync_api import sync_playwright

    times = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for page_path in pages:
            best = float("inf")
            for _ in range(repeat):
                page = browser.new_page()
                page.goto(page_path.as_uri(), wait_until="load")
                best = min(best, page.evaluate(
                    "() => { const t = performance.getEntriesByType('navigation')[0]; return t.loadEventEnd; }") / 1000)
                page.close()
            times[page_path] = best
        browser.close()
    return times


def downloads_complete(out: Path, verdicts: pd.DataFrame) -> list[str]:
    """Every screened patient once per screening log, every pending patient once per worklist."""
    problems = []
    for log in sorted(out.rglob("*-screening-log.csv")):
        site = log.name.removesuffix("-screening-log.csv")
        mine = verdicts if site == "all" else verdicts[verdicts["site_id"] == site]
        ids = pd.read_csv(log, dtype=str)["patient"]
        if not (ids.is_unique and set(ids) == set(mine["patient_id"])):
            problems.append(f"{log.relative_to(out)}: not every patient exactly once")
        work = pd.read_csv(log.with_name(f"{site}-pending-worklist.csv"), dtype=str)["patient"]
        pending = mine.loc[mine["verdict"] == "pending", "patient_id"]
        if not (work.is_unique and set(work) == set(pending)):
            problems.append(f"{log.relative_to(out)}: worklist does not hold every pending patient once")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="report-scale-") as tmp:
        data, out, screened = Path(tmp) / "data", Path(tmp) / "reports", Path(tmp) / "screened"
        run("synth", "--patients", str(args.patients), "--seed", str(SEED), "--out", str(data))
        build_s = run("reports", "--dataset", str(data), "--out", str(out), "--jobs", str(args.jobs))
        run("screen", str(data), "--out", str(screened))
        verdicts = pd.read_csv(screened / "verdicts.csv", dtype=str)
        pages = sorted(p for p in out.rglob("*.html"))
        times = load_times(pages, args.repeat)
        rows = [(p.relative_to(out).as_posix(), p.stat().st_size, times[p]) for p in pages]
        problems = downloads_complete(out, verdicts)
    ok = all(size < MAX_BYTES and seconds < MAX_SECONDS for _, size, seconds in rows) and not problems
    lines = [
        "# Report pages at scale",
        "",
        f"`python benchmarks/report_scale.py --patients {args.patients}` (a benchmark, not a test): a seeded "
        f"synthetic cohort of {args.patients:,} patients (seed {SEED}), all reports built with "
        f"`--jobs {args.jobs}` in {build_s:.0f} s, each page opened in headless Chromium "
        f"(load event, best of {args.repeat}). Targets: < 2 MB and < 2 s per page.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs shared with other work, Python "
        f"{platform.python_version()}.",
        "",
        "| page | size (MB) | load (s) | within targets |",
        "|---|---:|---:|---|",
        *(f"| {name} | {size / 1e6:.2f} | {seconds:.2f} | "
          f"{'yes' if size < MAX_BYTES and seconds < MAX_SECONDS else 'NO'} |" for name, size, seconds in rows),
        "",
        "Downloads: " + ("every screened patient is in each screening log exactly once and every pending "
                         "patient in each worklist exactly once." if not problems else "; ".join(problems)),
        "",
        f"Result: {'all pages within targets' if ok else 'SOME PAGES MISS A TARGET'}.",
        "",
    ]
    OUT_DOC.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
