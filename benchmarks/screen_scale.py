"""Scale benchmark: generate, load, validate, screen and write synthetic cohorts.

Run with ``make bench`` (not part of ``make test``). For each size it generates a
synthetic cohort as Parquet (seeded), then measures in a fresh process, so that peak RSS
belongs to that size alone:

- the stages: load (read the Parquet tables), validate (contract checks and typing),
  evaluate (``screen``: facts, 19 criteria, overrides, verdicts, tidy tables) and write
  (what ``lifileucel-eap screen`` writes: verdicts.csv plus outcomes/missing data, Parquet
  above a million rows);
- the full command ``lifileucel-eap screen DATASET --out DIR`` as a subprocess, start to
  exit, with its peak RSS (of its whole process tree, :class:`TreeMemory`).

Then it times the row-wise reference evaluator of the tests (``tests/reference.py``)
against the engine on the same 10,000 patients, checks both give the same outcomes, and
prints the speed ratio. Every run appends its rows to ``benchmarks/results.csv``.

Then (``scale_beyond_memory.py``) the yardstick, ``screen`` vs a plain DuckDB SQL program of
the verdict rules on the same files (``--yardstick-sizes``, from CSV and from Parquet), and
the bucketed path, synth -> partition -> screen bucket by bucket (``--bucketed-sizes``,
``--buckets``); they append to ``yardstick.csv`` and ``bucketed.csv``. ``0`` as the only
size skips a part (``--sizes 0`` also skips the reference ratio).

Usage: ``python benchmarks/screen_scale.py [--sizes 10000 100000 1000000] [--reference-n 10000] [--repeat 3]
[--yardstick-sizes 1000000] [--bucketed-sizes 0] [--buckets 80]``; ``make bench`` runs the defaults,
``make bench SCALE=10000000`` adds the 10,000,000-patient bucketed run (tens of minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results.csv"
SEED = 20260101
TARGETS = "targets at 1,000,000: load+validate+evaluate <= 15 s, CLI <= 30 s, peak RSS <= 6 GiB"


def peak_rss_mib() -> int:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def machine() -> str:
    """CPU model, core count and memory of this machine, for the results table."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or platform.machine())
    memory_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
    return f"{model}, {os.cpu_count()} cores, {memory_kib / 2**20:.0f} GiB, Python {platform.python_version()}"


def stages(data: Path, out: Path) -> dict[str, object]:
    """Time each stage of the screening path in this process (run in a fresh child)."""
    from lifileucel_analysis.contract.output_files import long_table_name, write_outputs
    from lifileucel_analysis.contract.reading import read_raw_tables
    from lifileucel_analysis.contract.validation import validate_tables
    from lifileucel_analysis.engine.parameters import load_params
    from lifileucel_analysis.engine.screening import screen

    params = load_params()
    t0 = time.perf_counter()
    raw = read_raw_tables(data)
    t1 = time.perf_counter()
    dataset = validate_tables(raw, source=str(data))
    del raw
    t2 = time.perf_counter()
    result = screen(dataset, params)
    t3 = time.perf_counter()
    outcomes = result.outcomes[["patient_id", "criterion_id", "outcome", "evidence"]]
    write_outputs({
        "verdicts.csv": result.verdicts[["patient_id", "site_id", "verdict", "failed", "unknown", "waived"]],
        long_table_name("outcomes", len(outcomes), "auto"): outcomes,
        long_table_name("missing_data", len(result.missing_data), "auto"): result.missing_data,
    }, out)
    t4 = time.perf_counter()
    return {
        "patients": dataset.n_patients, "therapy_rows": len(dataset.therapies), "lab_rows": len(dataset.labs),
        "load_s": t1 - t0, "validate_s": t2 - t1, "evaluate_s": t3 - t2, "write_s": t4 - t3,
        "stages_peak_rss_mib": peak_rss_mib(),
    }


def run_child(args: list[str]) -> tuple[str, float, int, float]:
    """Run a command; return its stdout, wall seconds, its peak RSS in MiB and its CPU seconds.

    Peak RSS is the larger of the command's own high-water mark and the largest sum of the
    resident sizes of the command and all its descendants, sampled every 50 ms
    (:class:`TreeMemory`): a bucketed screen's worker processes (session 32) hold their
    buckets at the same time as each other, and ``ru_maxrss`` would give only the largest one.

    Through GNU ``time`` when there is one: a child forked straight from this process
    inherits this process's resident size as the floor of its ``ru_maxrss`` (Linux keeps
    the high-water mark across ``exec``), so after a large cohort has been generated here
    every child would seem at least that large. CPU seconds (user + system, the command and
    its children) say how much work it was whatever else the machine was doing; on a
    shared machine the wall time also holds the waiting.
    """
    gnu_time = Path("/usr/bin/time")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.NamedTemporaryFile("w+", suffix=".rss") as rss:
        command = [str(gnu_time), "-f", "%M %U %S", "-o", rss.name, *args] if gnu_time.exists() else args
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True, cwd=ROOT)
        with TreeMemory(process.pid) as tree:
            _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({process.returncode}):\n{err.read()}")
        measured = rss.read().strip().splitlines()
        if gnu_time.exists() and measured:
            peak, user, system = measured[-1].split()
            peak_kib, cpu = int(peak), float(user) + float(system)
        else:
            peak_kib, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
        return out.read(), wall, max(peak_kib // 1024, tree.peak // 2**20), cpu


class TreeMemory:
    """While open, samples the summed RSS of a process and all its descendants every 50 ms; ``peak`` in bytes.

    A sample can miss a peak shorter than 50 ms, and sums pages shared between processes (their
    libraries) once per process: it leans high for several processes, low for a short spike.
    """

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        import psutil  # in the lock (via IPython); the package's stopping module uses it too

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop.wait(0.05):
            total = 0
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    total += process.memory_info().rss
            self.peak = max(self.peak, total)


def commit() -> str:
    """The code measured: the short commit, ``+changes`` when the working tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=ROOT, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def measure(n: int, workdir: Path, repeat: int) -> dict[str, object]:
    """Generate ``n`` patients as Parquet, then time the stages and the full command.

    Each measurement runs ``repeat`` times in fresh processes; times are the median (a
    virtual machine's first touch of fresh memory and its neighbours make single runs
    noisy), peak RSS the largest.
    """
    from lifileucel_analysis.synth import write_cohort

    data = workdir / f"cohort_{n}"
    write_cohort(n, SEED, data, "parquet")
    runs = []
    for _ in range(repeat):
        stdout, *_ = run_child([sys.executable, __file__, "--stages", str(data), str(workdir / f"stages_{n}")])
        stage = json.loads(stdout.strip().splitlines()[-1])
        _, cli_wall, cli_rss, _ = run_child([sys.executable, "-m", "lifileucel_analysis", "screen", str(data),
                                             "--out", str(workdir / f"cli_{n}")])
        stage.update({"load_validate_evaluate_s": stage["load_s"] + stage["validate_s"] + stage["evaluate_s"],
                      "cli_s": cli_wall, "cli_peak_rss_mib": cli_rss})
        runs.append(stage)
    frame = pd.DataFrame(runs)
    row = frame.median().to_dict()
    row.update({"patients": n, "therapy_rows": runs[0]["therapy_rows"], "lab_rows": runs[0]["lab_rows"],
                "stages_peak_rss_mib": int(frame["stages_peak_rss_mib"].max()),
                "cli_peak_rss_mib": int(frame["cli_peak_rss_mib"].max()), "runs": repeat,
                "patients_per_s": n / row["load_validate_evaluate_s"]})
    return row


def reference_ratio(n: int) -> dict[str, object]:
    """Time the vectorized engine and the row-wise reference evaluator on the same cohort."""
    sys.path.insert(0, str(ROOT / "tests"))
    from reference import reference_screen  # the plain evaluator of the tests

    from lifileucel_analysis.contract.dataset import ScreeningDataset
    from lifileucel_analysis.engine.parameters import load_params
    from lifileucel_analysis.synth import generate_cohort
    from lifileucel_analysis.engine.screening import screen

    tables = generate_cohort(n, SEED)
    params = load_params()
    engine_s, reference_s = [], []
    for _ in range(3):  # best of three, as timeit reports
        t0 = time.perf_counter()
        result = screen(ScreeningDataset(**tables), params)
        t1 = time.perf_counter()
        reference = reference_screen(tables, params.as_dict())
        t2 = time.perf_counter()
        engine_s.append(t1 - t0)
        reference_s.append(t2 - t1)
    return {"patients": n, "engine_s": min(engine_s), "reference_s": min(reference_s),
            "speedup": min(reference_s) / min(engine_s), "outcomes_agree": _same_outcomes(result.outcomes, reference)}


def _same_outcomes(outcomes: pd.DataFrame, reference: object) -> bool | str:
    """Whether the reference's outcomes equal the engine's (or why that cannot be told)."""
    frame = reference if isinstance(reference, pd.DataFrame) else getattr(reference, "outcomes", None)
    if not isinstance(frame, pd.DataFrame) or "outcome" not in frame:
        return "not compared"
    key = ["patient_id", "criterion_id"]
    mine = outcomes[key + ["outcome"]].astype(str).sort_values(key).reset_index(drop=True)
    theirs = frame[key + ["outcome"]].astype(str).sort_values(key).reset_index(drop=True)
    return bool(mine.equals(theirs))


def report(rows: list[dict[str, object]], ratio: dict[str, object]) -> pd.DataFrame:
    """Print the results table and the checks against the targets; return the table."""
    table = pd.DataFrame(rows)
    shown = table[["patients", "lab_rows", "load_s", "validate_s", "evaluate_s", "write_s",
                   "load_validate_evaluate_s", "cli_s", "cli_peak_rss_mib", "patients_per_s"]]
    print(shown.round(2).to_string(index=False))
    print(f"\nrow-wise reference at {ratio['patients']:,} patients: engine {ratio['engine_s']:.2f} s, "
          f"reference {ratio['reference_s']:.1f} s: {ratio['speedup']:.0f}x (outcomes agree: "
          f"{ratio['outcomes_agree']})")
    by_n = table.set_index("patients")
    if {100_000, 1_000_000} <= set(by_n.index):
        growth = by_n.loc[1_000_000, "load_validate_evaluate_s"] / by_n.loc[100_000, "load_validate_evaluate_s"]
        print(f"growth 100k -> 1M: {growth:.1f}x the time for 10x the patients (target <= 11x)")
    print(TARGETS)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="cohorts timed stage by stage (0: skip)")
    parser.add_argument("--reference-n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="fresh-process runs per size (median reported)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="CSV the run is appended to")
    parser.add_argument("--yardstick-sizes", type=int, nargs="+", default=[1_000_000],
                        help="cohorts screened by us and by the DuckDB SQL yardstick (0: skip)")
    parser.add_argument("--bucketed-sizes", type=int, nargs="+", default=[0],
                        help="cohorts synthesised, partitioned and screened bucket by bucket (0, the default: "
                             "skip; the issue's target is 10000000, `make bench SCALE=10000000`, tens of minutes)")
    parser.add_argument("--buckets", type=int, default=80,
                        help="buckets of the bucketed cohorts (80: 125,000 patients a bucket at 10,000,000, two "
                             "screened at a time in worker processes within 4 GiB)")
    parser.add_argument("--stages", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stages:
        print(json.dumps(stages(Path(args.stages[0]), Path(args.stages[1]))))
        return
    # The code measured, read before this run appends to the logs (else every row says "+changes").
    code = commit()
    print(f"machine: {machine()}; code {code}; load average {os.getloadavg()[0]:.1f}", flush=True)
    import scale_beyond_memory as beyond  # beside this script

    rows, yard, big = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(s for s in args.sizes if s > 0):
            rows.append(measure(n, Path(tmp), args.repeat))
            print(f"measured {n:,} patients", flush=True)
        for n in sorted(s for s in args.yardstick_sizes if s > 0):
            yard += beyond.yardstick(n, SEED, Path(tmp), args.repeat, run_child)
            print(f"measured the yardstick at {n:,} patients", flush=True)
        one_million = next((row["ours_s"] for row in yard if row["patients"] == 1_000_000
                            and row["format"] == "parquet"), None)
        for n in sorted(s for s in args.bucketed_sizes if s > 0):
            big.append(beyond.bucketed(n, SEED, args.buckets, Path(tmp), run_child, one_million))
            print(f"measured {n:,} patients bucketed", flush=True)
    if rows:  # --sizes 0: only the yardstick and the bucketed run
        ratio = reference_ratio(args.reference_n)
        table = report(rows, ratio)
        table["reference_patients"] = ratio["patients"]
        table["reference_speedup"] = ratio["speedup"]
        table["machine"] = machine()
        table["date"] = time.strftime("%Y-%m-%d")  # a benchmark log, not a report: the date belongs here
        table.round(3).to_csv(args.results, mode="a", header=not args.results.exists(), index=False)
        print(f"appended to {args.results}")
    beyond.report(yard, big, {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "commit": code},
                  args.results.parent)


if __name__ == "__main__":
    main()
