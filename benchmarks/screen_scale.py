"""Scale benchmark: generate, load, validate, screen and write synthetic cohorts.

Run with ``make bench`` (not part of ``make test``). For each size it prints wall seconds
of load (+ validate), evaluate and write, peak RSS and patients per second, then the speed
ratio of the vectorized engine to the row-wise reference evaluator of the tests at 10,000
patients. Results are appended to ``benchmarks/results.csv`` so runs can be compared.

Usage: ``python benchmarks/screen_scale.py [--sizes 10000 100000 1000000] [--reference-n 10000]``
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results.csv"
SEED = 20260101


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(n: int, workdir: Path) -> dict[str, object]:
    """Generate ``n`` patients as Parquet, then time each stage of the screening CLI path."""
    from lifileucel_analysis.cli import write_outputs
    from lifileucel_analysis.loading import load_dataset
    from lifileucel_analysis.params import load_params
    from lifileucel_analysis.screening import screen
    from lifileucel_analysis.synth import write_cohort

    data = workdir / f"cohort_{n}"
    write_cohort(n, SEED, data, "parquet")
    params = load_params()
    t0 = time.perf_counter()
    dataset = load_dataset(data)
    t1 = time.perf_counter()
    result = screen(dataset, params)
    t2 = time.perf_counter()
    write_outputs({"verdicts.csv": result.verdicts}, workdir / f"out_{n}")
    result.outcomes.to_parquet(workdir / f"out_{n}" / "outcomes.parquet", index=False)
    t3 = time.perf_counter()
    return {
        "patients": n,
        "therapy_rows": len(dataset.therapies),
        "lab_rows": len(dataset.labs),
        "load_validate_s": round(t1 - t0, 2),
        "evaluate_s": round(t2 - t1, 2),
        "write_s": round(t3 - t2, 2),
        "total_s": round(t3 - t0, 2),
        "peak_rss_mib": round(peak_rss_mib()),
        "patients_per_s": round(n / (t2 - t0)),
    }


def reference_ratio(n: int) -> dict[str, object]:
    """Time the vectorized engine and the row-wise reference evaluator on the same cohort."""
    sys.path.insert(0, str(ROOT / "tests"))
    from reference import reference_screen  # the plain evaluator of the tests

    from lifileucel_analysis.dataset import ScreeningDataset
    from lifileucel_analysis.params import load_params
    from lifileucel_analysis.screening import screen
    from lifileucel_analysis.synth import generate_cohort

    tables = generate_cohort(n, SEED)
    params = load_params()
    t0 = time.perf_counter()
    screen(ScreeningDataset(**tables), params)
    t1 = time.perf_counter()
    reference_screen(tables, params.as_dict())
    t2 = time.perf_counter()
    return {"patients": n, "engine_s": round(t1 - t0, 3), "reference_s": round(t2 - t1, 2),
            "speedup": round((t2 - t1) / (t1 - t0), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--reference-n", type=int, default=10_000)
    args = parser.parse_args()
    machine = f"{platform.machine()} {platform.system()}, {resource.getpagesize() and __import__('os').cpu_count()} cores"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            row = measure(n, Path(tmp))
            print(row, flush=True)
            rows.append(row)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    ratio = reference_ratio(args.reference_n)
    print(f"engine vs row-wise reference at {ratio['patients']} patients: {ratio['engine_s']} s vs "
          f"{ratio['reference_s']} s ({ratio['speedup']}x)")
    table["machine"] = machine
    table["date"] = time.strftime("%Y-%m-%d")
    table["reference_speedup_10k"] = ratio["speedup"]
    table.to_csv(RESULTS, mode="a", header=not RESULTS.exists(), index=False)
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
