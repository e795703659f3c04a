"""lifileucel-eap: screen, changes, compare, partition, synth, reports, redcap-dictionary, sdtm, criteria.

Exit status: 0 success; 1 a build step failed (reports), an output that cannot be written, or out of
memory (a one-line message, never a traceback); 2 input or parameters that break
the contract (a message per problem on stderr, nothing written), or another run writing
into the same ``--out`` (nothing written); 130/143 ``reports`` or ``screen`` stopped by SIGINT/SIGTERM
(the previous output left as it was, its staging folder removed).

The library raises typed errors and prints nothing; this module is where they become
messages on stderr and exit statuses, defined here once.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Before pyarrow loads (the imports below load it): Arrow's C++ default allocator is then
# jemalloc, the one this command gives Arrow anyway (_reuse_freed_memory), instead of
# mimalloc, whose first use reserves 1 GiB of address space: a 6-patient screen took
# 2.1 GiB of it, and a valid 5,000-patient dataset failed under `ulimit -v 2097152`. The
# wheels for Linux carry jemalloc; elsewhere Arrow's default stays. A value already set wins.
if sys.platform == "linux":
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

from .contract.dataset import ContractError  # noqa: E402  (after the allocator's choice)
from .contract.data_cut import refuse_a_blank_option
from .contract.messages import counted, noun_for
from .contract.option_values import refuse_bad_options
from .contract.output_lock import OutputLockedError, output_lock
from .contract.output_files import PARQUET_ABOVE_ROWS
from .engine.parameters import ParamsError
from .report.changes import NoSuchRunError
from .report.run_history import HistoryError
from .report.screening_inputs import InputNotFoundError

if TYPE_CHECKING:
    from .runner import ReportResult

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Characters never written raw to the terminal: controls (but tab and line break), bidi overrides."""


def terminal_safe(text: object) -> str:
    """``text`` with terminal controls escaped (``\\x1b``): a name from a file cannot drive the terminal."""
    return TERMINAL_UNSAFE.sub(lambda found: repr(found.group())[1:-1], str(text))


def _say(text: object, file: Any = None) -> None:
    """Print one message (stdout, or ``file``), terminal controls escaped."""
    print(terminal_safe(text), file=file or sys.stdout, flush=file is sys.stderr)

def cmd_screen(args: argparse.Namespace) -> int:
    """Screen a dataset (or a bucketed one, bucket by bucket) and write the screen's output files."""
    from .contract.buckets import is_bucketed
    from .runner.screen_command import ScreenOptions
    from .runner.stopping import BuildInterrupted, signals_stop_the_build

    bucketed = is_bucketed(args.dataset)
    if args.scheduler and not bucketed:
        _say("error: --scheduler needs a bucketed dataset (lifileucel-eap partition)", sys.stderr)
        return EXIT_INVALID
    options = ScreenOptions(params=_absolute(args.params, "criteria parameters"),
                            drugs=_absolute(args.drugs, "drug dictionary"), cut_date=args.cut_date)
    out = Path(args.out)
    try:  # SIGINT/SIGTERM become an exception, so the staging folder is removed on the way out
        with signals_stop_the_build(), output_lock(out):  # one writer per output folder, from reading to the last file
            if bucketed:
                from .runner.bucketed_screen import screen_bucketed

                run = screen_bucketed(Path(args.dataset).resolve(), out, options, args.long_format,
                                      args.scheduler, args.history)
            else:
                from .runner.screen_command import screen_plain

                run = screen_plain(args.dataset, out, options, args.long_format, args.history)
    except BuildInterrupted as exc:
        _say(f"interrupted ({exc}): {out} holds no half-written file (the earlier run's, or this run's whole set)",
             sys.stderr)
        return exc.exit_status
    for note in run.notes:  # lenient fixes the loader made: say them, do not hide them
        _say(f"note: {note}", sys.stderr)
    if run.cut is not None:  # every patient of the file accounted for before the count screened
        _say(run.cut.account(run.n_in))
        far = run.cut.far_after_the_data()
        if far is not None:
            _say(f"note: {far}", sys.stderr)
    _say(f"screened {counted(run.n_in, 'patient')} in, {counted(sum(run.verdicts.values()), 'verdict')} out: "
          + ", ".join(f"{v} {run.verdicts.get(v, 0):,}" for v in ("eligible", "pending", "ineligible")))
    if run.findings:
        _say(f"{counted(run.findings, 'data-quality finding')}: see findings.csv", file=sys.stderr)
    if run.cut is not None:
        _say(f"data cut {run.cut.cut_date}: rows and dates after it counted in data_cut.csv")
    for path in run.written:
        _say(f"wrote {path}")
    if run.recorded is not None:
        record, new = run.recorded
        _say(f"{'recorded' if new else 'already recorded'} run {record.run_id} in {args.history}")
    return EXIT_OK


def cmd_changes(args: argparse.Namespace) -> int:
    """Write what changed between two runs of a history: changes.csv and site_counts.csv."""
    from .contract.output_files import write_outputs
    from .report.changes import CRITERIA_DIFFER_NOTE, changes_sentence, criteria_differ
    from .report.run_history import changes_since, compared_runs

    table, counts, before, after = changes_since(args.history, args.since)
    compared = compared_runs(args.history, before, after)
    written = write_outputs({"changes.csv": table, "site_counts.csv": counts, "runs.csv": compared}, Path(args.out))
    _say(changes_sentence(len(table), compared, int((table["change"] == "no longer in data").sum())))
    if criteria_differ(compared):
        _say(CRITERIA_DIFFER_NOTE, file=sys.stderr)
    for path in written:
        _say(f"wrote {path}")
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """Screen a dataset under two criteria choices; write differences.csv and site_counts.csv."""
    from .contract.output_files import write_outputs
    from .report.criteria_compare import compare_files

    if len(args.criteria) != 2:
        _say("error: give --criteria exactly twice (A, then B)", file=sys.stderr)
        return EXIT_INVALID
    table, counts, criteria = compare_files(args.dataset, args.criteria[0], args.criteria[1], cut_date=args.cut_date)
    a, b = criteria["criteria"]
    written = write_outputs({"differences.csv": table, "site_counts.csv": counts, "criteria.csv": criteria},
                            Path(args.out))
    differ = table["patient_id"].nunique()
    _say(f"{counted(differ, 'patient')} {noun_for(differ, 'differs', 'differ')} between criteria {a} (A) and "
          f"{b} (B), {counted(len(table), 'criterion outcome')}")
    for path in written:
        _say(f"wrote {path}")
    return EXIT_OK


def _absolute(path: str | None, what: str) -> str | None:
    """An input path as the working directory's rule resolves it, so that workers elsewhere find it too."""
    from .report.screening_inputs import not_given, resolve_input_path
    from .paths import DEMO_DATASET

    return None if not_given(path) else str(resolve_input_path(path, DEMO_DATASET, what=what))


def cmd_partition(args: argparse.Namespace) -> int:
    """Write a dataset as Parquet buckets by a stable hash of patient_id."""
    from .contract.buckets import partition_dataset

    layout = partition_dataset(Path(args.dataset), Path(args.out), args.buckets)
    _say(f"wrote {layout.buckets} buckets of {', '.join(layout.tables)} to {layout.root}")
    return EXIT_OK


def cmd_synth(args: argparse.Namespace) -> int:
    """Generate a synthetic cohort."""
    from .synth import write_cohort_chunked

    if args.weeks:
        from .synth.weekly import write_weekly_cuts

        written = write_weekly_cuts(args.patients, args.seed, args.weeks, Path(args.out), args.format)
        _say(f"wrote {counted(args.weeks, 'weekly cut')} of {counted(args.patients, 'synthetic patient')} (seed "
              f"{args.seed}) to {args.out} ({counted(len(written), 'file')}; cuts.csv and planted_changes.csv say "
              "what changed when)")
        return EXIT_OK
    written = write_cohort_chunked(args.patients, args.seed, Path(args.out), args.format)
    _say(f"wrote {counted(args.patients, 'synthetic patient')} (seed {args.seed}) to {args.out} "
         f"({counted(len(written), 'file')})")
    return EXIT_OK


def cmd_reports(args: argparse.Namespace) -> int:
    """Build every report and the index."""
    history = Path(args.history) if args.history else None
    weekly = Path(args.weekly) if args.weekly else None
    return build_reports_logged(Path(args.dataset) if args.dataset else None, Path(args.out), args.jobs, None,
                                history=history, cut_date=args.cut_date, weekly=weekly)


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
        _say(f"building {reports} reports, {workers} at a time, from {dataset}", sys.stderr)
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
            _say(line, sys.stderr)
            return
        if not result.ok:
            self.bar.write(terminal_safe(line), file=sys.stderr)
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
        ``params_dir``, ``notebooks_dir``, ``cell_timeout``, ``only``, ``history``, ``cut_date``,
        ``weekly``).
    progress : bool or None
        See :class:`BuildLog`.
    """
    from .runner import ReportBuildError, build_reports
    from .runner.stopping import BuildInterrupted

    def build() -> int:
        log = BuildLog(progress)
        try:
            outcome = build_reports(dataset, out, jobs, listener=log, **options)
        except ReportBuildError as exc:
            if exc.outcome is None:
                raise
            outcome = exc.outcome
        except BuildInterrupted as exc:
            log.close()
            _say(f"interrupted ({exc}): workers and kernels stopped; {out} is as it was before this build", sys.stderr)
            return exc.exit_status
        finally:
            log.close()
        _say(outcome.summary(), sys.stderr)
        _say(outcome.index)
        return EXIT_OK if outcome.ok else EXIT_FAILED

    return _guarded(build)


# --- exchange formats: REDCap dictionary, CDISC SDTM, criteria catalog (docs/exchange.md) ---


def cmd_redcap_dictionary(args: argparse.Namespace) -> int:
    """Write the REDCap data dictionary of the data contract."""
    from .contract.redcap_dictionary import write_dictionary

    _say(f"wrote {write_dictionary(Path(args.out))}")
    return EXIT_OK


def cmd_sdtm(args: argparse.Namespace) -> int:
    """Write SDTM TI, IE, DV, DM, SUPPDM and DS (XPT v5 and CSV; those with records), define.csv and codelists.csv."""
    from .report.sdtm import SdtmInputError, export_notes, sdtm_domains, write_sdtm

    out = Path(args.out)
    with output_lock(out):  # one writer per output folder, as screen: two exports cannot mix their files
        try:
            domains = sdtm_domains(Path(args.source), args.studyid, args.criteria,
                                   None if args.dataset is None else Path(args.dataset))
        except SdtmInputError as exc:
            _say(f"error: {exc}", file=sys.stderr)
            return EXIT_INVALID
        written = write_sdtm(domains, out)
    for path in written:
        _say(f"wrote {path}")
    for note in export_notes(domains, Path(args.source)):
        _say(f"note: {note}", file=sys.stderr)
    return EXIT_OK


def cmd_criteria(args: argparse.Namespace) -> int:
    """Print (or write) the criteria catalog as JSON."""
    from .report.criteria_catalog import catalog_json, criteria_catalog, write_catalog

    catalog = criteria_catalog(args.criteria)
    if args.out:
        _say(f"wrote {write_catalog(catalog, Path(args.out))}", file=sys.stderr)
    else:
        sys.stdout.write(catalog_json(catalog))
    return EXIT_OK


def _add_exchange_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the redcap-dictionary, sdtm and criteria subcommands."""
    criteria_help = ("criteria YAML overriding the package defaults (lifileucel_analysis/data/criteria_defaults.yaml;"
                     " default: the criteria in force)")
    redcap = sub.add_parser("redcap-dictionary", help="write the REDCap data dictionary of the data contract")
    redcap.add_argument("out", help="CSV file to write (upload it in REDCap: Project Setup > Data Dictionary)")
    redcap.set_defaults(func=cmd_redcap_dictionary)

    sdtm = sub.add_parser("sdtm", help="write CDISC SDTM TI, IE, DV, DM, SUPPDM and DS (.xpt and .csv), "
                          "define.csv and codelists.csv")
    sdtm.add_argument("source", help="a screen output folder (verdicts.csv, outcomes) or a dataset to screen")
    sdtm.add_argument("--out", required=True, help="output folder")
    sdtm.add_argument("--studyid", required=True, help="STUDYID of the submission")
    sdtm.add_argument("--criteria", "--params", dest="criteria", default=None, help=criteria_help)
    sdtm.add_argument("--dataset", default=None,
                      help="with a screen output folder: the dataset it was screened from "
                           "(for DM, SUPPDM, DS and IEDTC)")
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
    _add_screen_command(sub)
    _add_history_commands(sub)
    _add_data_commands(sub)
    _add_reports_command(sub)
    _add_exchange_commands(sub)
    return parser


def _add_screen_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the screen subcommand."""
    screen = sub.add_parser("screen", help="screen a dataset: write verdicts.csv and outcomes.csv")
    screen.add_argument("dataset", help="folder of CSV or Parquet files, an .xlsx workbook, or a REDCap CSV export")
    screen.add_argument("--out", required=True, help="output folder")
    screen.add_argument("--params", "--criteria", dest="params", default=None,
                        help="criteria YAML overriding the package defaults (some or all keys)")
    screen.add_argument("--drugs", default=None,
                        help="CSV of extra drug names (agent, drug_class[, source]) extending the package dictionary")
    screen.add_argument("--long-format", choices=("auto", "csv", "parquet"), default="auto",
                        help=f"format of outcomes and missing_data (auto: Parquet above {PARQUET_ABOVE_ROWS:,} rows)")
    screen.add_argument("--cut-date", default=None, metavar="YYYY-MM-DD",
                        help="screen what was known on this date (default: no cut, every row counts)")
    screen.add_argument("--history", default=None, metavar="FILE",
                        help="also record the run in this DuckDB history file (created when absent)")
    screen.add_argument("--scheduler", default=None,
                        help="bucketed datasets only: a Dask scheduler address, or local:N for N local worker processes")
    screen.set_defaults(func=cmd_screen)


def _add_history_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the changes and compare subcommands."""
    changes = sub.add_parser("changes", help="what changed since an earlier run of a history")
    changes.add_argument("--history", required=True, metavar="FILE", help="the DuckDB history file")
    changes.add_argument("--since", default=None, metavar="RUN_OR_DATE",
                         help="a run ID (or prefix) or a cut date (default: the run before the latest)")
    changes.add_argument("--out", required=True, help="output folder for changes.csv and site_counts.csv")
    changes.set_defaults(func=cmd_changes)

    compare = sub.add_parser("compare", help="what differs between two criteria versions or a what-if")
    compare.add_argument("dataset", help="folder of CSV or Parquet files, or an .xlsx workbook")
    compare.add_argument("--criteria", action="append", required=True, metavar="A_OR_B",
                         help="give twice: 'default', a version label of params/criteria/, or a criteria file")
    compare.add_argument("--cut-date", default=None, metavar="YYYY-MM-DD", help="compare on a data cut")
    compare.add_argument("--out", required=True,
                         help="output folder for differences.csv, site_counts.csv and criteria.csv")
    compare.set_defaults(func=cmd_compare)


def _add_data_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the partition and synth subcommands."""
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
    synth.add_argument("--weeks", type=int, default=0,
                       help="write this many weekly cuts of the cohort (out/week-01/, ...) with the record of "
                            "planted changes (out/planted_changes.csv)")
    synth.set_defaults(func=cmd_synth)


def _add_reports_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the reports subcommand."""
    reports = sub.add_parser("reports", help="build every report and the index")
    reports.add_argument("--dataset", default=None, help="dataset (default: the bundled demo cohort)")
    reports.add_argument("--out", default="reports", help="output folder")
    reports.add_argument("--jobs", type=int, default=2, help="notebooks run in parallel")
    reports.add_argument("--history", default=None, metavar="FILE",
                         help="record the screening in this DuckDB run history before the notebooks run; the pages "
                              "show what changed since the last cut (make reports: reports/history.duckdb)")
    reports.add_argument("--cut-date", default=None, metavar="YYYY-MM-DD",
                         help="screen what was known on this date (default: no cut, every row counts)")
    reports.add_argument("--weekly", default=None, metavar="DIR",
                         help="a folder of weekly extracts with cuts.csv (synth --weeks): record every week into "
                              "--history at its cut date, build the reports from the last week")
    reports.set_defaults(func=cmd_reports)


def _guarded(call: Callable[[], int]) -> int:
    """Run a command; turn the library's typed errors into a message on stderr and an exit status."""
    try:
        return call()
    except (ContractError, ParamsError, InputNotFoundError, OutputLockedError, HistoryError, NoSuchRunError) as exc:
        _say(f"error: {exc}", sys.stderr)
        return EXIT_INVALID
    except OSError as exc:  # reading problems are ContractErrors: this is an output that cannot be written
        where = f" {exc.filename}" if exc.filename else ""
        _say(f"error: cannot write{where}: {exc.strerror or exc}", sys.stderr)
        return EXIT_FAILED
    except MemoryError:  # Arrow's too: the machine's (or a ulimit's) limit, not a bug to show as a traceback
        _say("error: out of memory: this command needs more memory than the process may use (a limit such as "
             "`ulimit -v`, or a very large file or cell). Give it more memory, or split "
             "the dataset into buckets (`lifileucel-eap partition`, docs/performance.md)", sys.stderr)
        return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (a blank ``--cut-date``: 2, as a bad date; audit 39C)."""
    args = build_parser().parse_args(argv)
    _reuse_freed_memory()
    status = _guarded(lambda: _run_command(args))
    _say_earlier_outputs_stay(args, status)
    return status


def _run_command(args: argparse.Namespace) -> int:
    """Run the chosen subcommand, once its options that argparse cannot check are checked."""
    refuse_a_blank_option(getattr(args, "cut_date", None))
    refuse_bad_options(vars(args))
    return args.func(args)


def _say_earlier_outputs_stay(args: argparse.Namespace, status: int) -> None:
    """After a refusal, say that files already in ``--out`` are an earlier run's, not this one's.

    Nothing is written on a refusal, so an earlier run's verdicts stay where they were; a
    coordinator opening them should know they are not this data's (audit, session 16).
    """
    out = getattr(args, "out", None)
    if status != EXIT_INVALID or not isinstance(out, str) or not out.strip() or not Path(out).is_dir():
        return
    if any(path.is_file() for path in Path(out).iterdir()):
        _say(f"note: nothing was written; the files already in {out} are from an earlier run, not from this data",
             sys.stderr)


def _reuse_freed_memory() -> None:
    """Give Arrow the jemalloc allocator for this command (where the installed pyarrow has it).

    Arrow's default allocator (mimalloc) hands freed pages back to the kernel at once, and
    the kernel zeroes every fresh page before it is used again: screening a million
    patients took 12.6 GiB of fresh huge pages, and zeroing them was a quarter of the
    command's CPU time. jemalloc keeps freed pages for a second and reuses them (3 GiB
    fresh; docs/performance.md). Bytes written do not depend on the allocator. The
    command chooses it, not the library: a notebook keeps whatever its kernel set.
    """
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc (Windows): keep its default
        pass
