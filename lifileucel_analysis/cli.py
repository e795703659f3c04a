"""The ``lifileucel-eap`` command: screen, synth, reports, redcap-dictionary, sdtm, criteria.

Exit status: 0 success; 1 a build step failed (reports); 2 input or parameters that break
the contract (a message per problem on stderr, nothing written).

The library raises typed errors and prints nothing; this module is where they become
messages on stderr and exit statuses, defined here once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .contract.dataset import ContractError
from .contract.output_files import PARQUET_ABOVE_ROWS
from .engine.parameters import ParamsError
from .report.screening_inputs import InputNotFoundError

if TYPE_CHECKING:
    from .contract.screen_output import ScreenedTables
    from .runner import ReportResult

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
def screen_tables(dataset: str | Path, params: str | Path | None) -> ScreenedTables:
    """Screen one dataset (or one bucket of a bucketed one): the ``screen`` command's tables and counts.

    Module-level and free of printing, so that Dask workers can run it on a bucket.
    """
    from .contract.screen_output import ScreenedTables
    from .report.screening_inputs import screen_files

    inputs = screen_files(dataset, params)
    result = inputs.result
    counts = result.verdicts["verdict"].value_counts()
    return ScreenedTables(
        tables={
            "verdicts.csv": result.verdicts[["patient_id", "site_id", "verdict", "failed", "unknown", "waived"]],
            "outcomes": result.outcomes[["patient_id", "criterion_id", "outcome", "evidence"]],
            "missing_data": result.missing_data,
        },
        n_in=result.n_in, verdicts={str(v): int(n) for v, n in counts.items()}, findings=len(result.findings),
        notes=tuple(inputs.dataset.warnings))


def cmd_screen(args: argparse.Namespace) -> int:
    """Screen a dataset and write verdicts.csv plus the outcomes and missing-data tables."""
    from .contract.buckets import is_bucketed
    from .contract.output_files import write_outputs
    from .contract.screen_output import file_name

    out = Path(args.out)
    if is_bucketed(args.dataset):
        from .engine.parameters import load_params
        from .runner.bucketed_screen import screen_bucketed

        params = _absolute(args.params)
        load_params(params)  # a criteria file that cannot be used stops here, before any bucket is screened
        run = screen_bucketed(Path(args.dataset).resolve(), out, partial(screen_tables, params=params),
                              args.long_format, args.scheduler)
        n_in, verdicts, findings, notes, written = run.n_in, run.verdicts, run.findings, run.notes, run.written
    else:
        if args.scheduler:
            print("error: --scheduler needs a bucketed dataset (lifileucel-eap partition)", file=sys.stderr)
            return EXIT_INVALID
        screened = screen_tables(args.dataset, args.params)
        stale = [out / f"{stem}.{ext}" for stem in screened.tables if "." not in stem for ext in ("csv", "parquet")]
        written = write_outputs({file_name(name, len(frame), args.long_format): frame
                                 for name, frame in screened.tables.items()}, out)
        for path in stale:
            if path not in written and path.exists():
                path.unlink()  # an earlier run's table in the other format must not pass for this run's
        n_in, verdicts, findings, notes = screened.n_in, screened.verdicts, screened.findings, screened.notes
    for note in notes:  # lenient fixes the loader made: say them, do not hide them
        print(f"note: {note}", file=sys.stderr)
    print(f"screened {n_in} patients in, {sum(verdicts.values())} verdicts out: "
          + ", ".join(f"{v} {verdicts.get(v, 0)}" for v in ("eligible", "pending", "ineligible")))
    if findings:
        print(f"{findings} data-quality finding(s) (unknown agents, conflicting same-day labs): "
              "listed in the eligibility report", file=sys.stderr)
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def _absolute(params: str | None) -> str | None:
    """A criteria path as the working directory's rule resolves it, so that workers elsewhere find it too."""
    from .report.screening_inputs import is_blank, resolve_input_path
    from .paths import DEMO_DATASET

    return None if is_blank(params) else str(resolve_input_path(params, DEMO_DATASET, what="criteria parameters"))


def cmd_partition(args: argparse.Namespace) -> int:
    """Write a dataset as Parquet buckets by a stable hash of patient_id."""
    from .contract.buckets import partition_dataset

    if args.buckets < 1:
        print(f"error: --buckets must be at least 1, not {args.buckets}", file=sys.stderr)
        return EXIT_INVALID
    layout = partition_dataset(Path(args.dataset), Path(args.out), args.buckets)
    print(f"wrote {layout.buckets} buckets of {', '.join(layout.tables)} to {layout.root}")
    return EXIT_OK


def cmd_synth(args: argparse.Namespace) -> int:
    """Generate a synthetic cohort."""
    from .synth import write_cohort_chunked

    written = write_cohort_chunked(args.patients, args.seed, Path(args.out), args.format)
    print(f"wrote {args.patients} synthetic patients (seed {args.seed}) to {args.out} ({len(written)} files)")
    return EXIT_OK


def cmd_reports(args: argparse.Namespace) -> int:
    """Build every report and the index."""
    return build_reports_logged(Path(args.dataset) if args.dataset else None, Path(args.out), args.jobs, None)


def _use_progress_bar(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return sys.stderr.isatty() and not os.environ.get("TQDM_DISABLE")


class BuildLog:
    """What ``reports`` says on stderr while it builds: a tqdm bar on a terminal, one line per report in logs.

    Parameters
    ----------
    progress : bool or None
        Progress bar (``True``), plain log lines (``False``), or a bar only when stderr is a
        terminal (``None``).
    """

    def __init__(self, progress: bool | None) -> None:
        self.progress = progress
        self.total, self.done = 0, 0
        self.bar: Any = None

    def started(self, reports: int, workers: int, dataset: str) -> None:
        """Say what is built, then start the bar (or the plain lines)."""
        print(f"building {reports} reports, {workers} at a time, from {dataset}", file=sys.stderr, flush=True)
        self.total = reports
        if _use_progress_bar(self.progress):
            from tqdm import tqdm

            self.bar = tqdm(total=reports, unit="report", desc="reports", file=sys.stderr, dynamic_ncols=True)

    def finished(self, result: ReportResult) -> None:
        """Count one finished report; a failure is always written out, with its error and cell."""
        self.done += 1
        status = "ok" if result.ok else "FAILED"
        line = f"[{self.done:>{len(str(self.total))}}/{self.total}] {status:<6} {result.key} ({result.seconds:.1f} s)"
        if not result.ok:
            line += f": {result.error} at {result.cell}"
        if self.bar is None:
            print(line, file=sys.stderr, flush=True)
            return
        if not result.ok:
            self.bar.write(line, file=sys.stderr)
        self.bar.set_postfix_str(result.key, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        """Finish the bar, if one was drawn."""
        if self.bar is not None:
            self.bar.close()


def build_reports_logged(dataset: Path | None, out: Path, jobs: int, progress: bool | None,
                         **options: Any) -> int:
    """Build the reports as ``lifileucel-eap reports`` does; return its exit status.

    Progress and the summary go to stderr, the path of ``index.html`` to stdout; unusable
    inputs give ``error: ...`` and :data:`EXIT_INVALID`, a failed notebook
    :data:`EXIT_FAILED` (the index is still written and says which, where).

    Parameters
    ----------
    dataset, out, jobs, options
        As :func:`lifileucel_analysis.runner.build_reports` takes them (``options``:
        ``params_dir``, ``notebooks_dir``, ``cell_timeout``, ``only``).
    progress : bool or None
        See :class:`BuildLog`.
    """
    from .runner import ReportBuildError, build_reports

    def build() -> int:
        log = BuildLog(progress)
        try:
            outcome = build_reports(dataset, out, jobs, listener=log, **options)
        except ReportBuildError as exc:
            if exc.outcome is None:
                raise
            outcome = exc.outcome
        finally:
            log.close()
        print(outcome.summary(), file=sys.stderr)
        print(outcome.index)
        return EXIT_OK if outcome.ok else EXIT_FAILED

    return _guarded(build)


# --- exchange formats: REDCap dictionary, CDISC SDTM, criteria catalog (docs/exchange.md) ---


def cmd_redcap_dictionary(args: argparse.Namespace) -> int:
    """Write the REDCap data dictionary of the data contract."""
    from .contract.redcap_dictionary import write_dictionary

    print(f"wrote {write_dictionary(Path(args.out))}")
    return EXIT_OK


def cmd_sdtm(args: argparse.Namespace) -> int:
    """Write SDTM TI, IE and DV (XPT v5 and CSV) and define.csv from a screening result or dataset."""
    from .report.sdtm import SdtmInputError, sdtm_domains, write_sdtm

    try:
        domains = sdtm_domains(Path(args.source), args.studyid, args.criteria)
    except SdtmInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    for path in write_sdtm(domains, Path(args.out)):
        print(f"wrote {path}")
    return EXIT_OK


def cmd_criteria(args: argparse.Namespace) -> int:
    """Print (or write) the criteria catalog as JSON."""
    from .report.criteria_catalog import catalog_json, criteria_catalog, write_catalog

    catalog = criteria_catalog(args.criteria)
    if args.out:
        print(f"wrote {write_catalog(catalog, Path(args.out))}", file=sys.stderr)
    else:
        sys.stdout.write(catalog_json(catalog))
    return EXIT_OK


def _add_exchange_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the redcap-dictionary, sdtm and criteria subcommands."""
    criteria_help = "criteria YAML overriding params/criteria.yaml (default: the criteria in force)"
    redcap = sub.add_parser("redcap-dictionary", help="write the REDCap data dictionary of the data contract")
    redcap.add_argument("out", help="CSV file to write (upload it in REDCap: Project Setup > Data Dictionary)")
    redcap.set_defaults(func=cmd_redcap_dictionary)

    sdtm = sub.add_parser("sdtm", help="write CDISC SDTM TI, IE and DV (.xpt and .csv) and define.csv")
    sdtm.add_argument("source", help="a screen output folder (verdicts.csv, outcomes) or a dataset to screen")
    sdtm.add_argument("--out", required=True, help="output folder")
    sdtm.add_argument("--studyid", required=True, help="STUDYID of the submission")
    sdtm.add_argument("--criteria", "--params", dest="criteria", default=None, help=criteria_help)
    sdtm.set_defaults(func=cmd_sdtm)

    criteria = sub.add_parser("criteria", help="print the criteria catalog (IDs, rules' fields, limits) as JSON")
    criteria.add_argument("--format", choices=("json",), default="json", help="output format")
    criteria.add_argument("--out", default=None, help="write to this file instead of standard output")
    criteria.add_argument("--criteria", "--params", dest="criteria", default=None, help=criteria_help)
    criteria.set_defaults(func=cmd_criteria)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``lifileucel-eap``."""
    parser = argparse.ArgumentParser(prog="lifileucel-eap", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    screen = sub.add_parser("screen", help="screen a dataset: write verdicts.csv and outcomes.csv")
    screen.add_argument("dataset", help="folder of CSV or Parquet files, an .xlsx workbook, or a REDCap CSV export")
    screen.add_argument("--out", required=True, help="output folder")
    screen.add_argument("--params", default=None, help="criteria YAML overriding the package defaults (some or all keys)")
    screen.add_argument("--long-format", choices=("auto", "csv", "parquet"), default="auto",
                        help=f"format of outcomes and missing_data (auto: Parquet above {PARQUET_ABOVE_ROWS:,} rows)")
    screen.add_argument("--scheduler", default=None,
                        help="bucketed datasets only: a Dask scheduler address, or local:N for N local worker processes")
    screen.set_defaults(func=cmd_screen)

    partition = sub.add_parser("partition", help="write a dataset as Parquet buckets by a hash of patient_id")
    partition.add_argument("dataset", help="folder of CSV or Parquet tables")
    partition.add_argument("--buckets", type=int, required=True, help="number of buckets")
    partition.add_argument("--out", required=True, help="output folder (replaced)")
    partition.set_defaults(func=cmd_partition)

    synth = sub.add_parser("synth", help="generate a synthetic screening cohort")
    synth.add_argument("--patients", type=int, required=True, help="number of patients")
    synth.add_argument("--seed", type=int, required=True, help="random seed")
    synth.add_argument("--out", required=True, help="output folder (or .xlsx path for --format xlsx)")
    synth.add_argument("--format", choices=("csv", "xlsx", "parquet"), default="csv")
    synth.set_defaults(func=cmd_synth)

    reports = sub.add_parser("reports", help="build every report and the index")
    reports.add_argument("--dataset", default=None, help="dataset (default: the bundled demo cohort)")
    reports.add_argument("--out", default="reports", help="output folder")
    reports.add_argument("--jobs", type=int, default=2, help="notebooks run in parallel")
    reports.set_defaults(func=cmd_reports)
    _add_exchange_commands(sub)
    return parser


def _guarded(call: Callable[[], int]) -> int:
    """Run a command; turn the library's typed errors into a message on stderr and an exit status."""
    try:
        return call()
    except (ContractError, ParamsError, InputNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as exc:  # reading problems are ContractErrors: this is an output that cannot be written
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    return _guarded(lambda: args.func(args))
