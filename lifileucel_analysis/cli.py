"""The ``lifileucel-eap`` command: screen, synth, reports, golden, redcap-dictionary, sdtm, criteria.

Exit status: 0 success; 1 a build step failed (reports); 2 input or parameters that break
the contract (a message per problem on stderr, nothing written).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .contract.dataset import ContractError
from .engine.parameters import ParamsError

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a quote."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column].dtype) or out[column].dtype == object:
            text = out[column].astype("string")
            risky = text.str.startswith(FORMULA_PREFIXES).fillna(False)
            out[column] = text.where(~risky, "'" + text)
    return out


PARQUET_ABOVE_ROWS = 1_000_000
"""Long tables (outcomes, missing data) with more rows than this are written as Parquet under
``--long-format auto``: CSV writing of tens of millions of sentences takes minutes."""


def _write_one(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".parquet":
        # Parquet is read by programs, not opened as a spreadsheet: no formula neutralising.
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, path, compression="zstd")
    else:
        neutralise_formulas(frame).to_csv(path, index=False, lineterminator="\n", date_format="%Y-%m-%d")


def write_outputs(files: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """Write CSV or Parquet files (by name) into ``out`` atomically: all of them appear, or none."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out.parent))
    try:
        for name, frame in files.items():
            _write_one(frame, staging / name)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name in files:
            (staging / name).replace(out / name)
            written.append(out / name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def long_table_name(stem: str, rows: int, choice: str) -> str:
    """File name of a long output table: CSV, Parquet, or (``auto``) Parquet above the row limit."""
    parquet = choice == "parquet" or (choice == "auto" and rows > PARQUET_ABOVE_ROWS)
    return f"{stem}.parquet" if parquet else f"{stem}.csv"


def cmd_screen(args: argparse.Namespace) -> int:
    """Screen a dataset and write verdicts.csv plus the outcomes and missing-data tables."""
    from .contract.loading import load_dataset
    from .engine.parameters import load_params
    from .engine.screening import screen

    params = load_params(args.params)
    dataset = load_dataset(args.dataset)
    for note in dataset.warnings:  # lenient fixes the loader made: say them, do not hide them
        print(f"note: {note}", file=sys.stderr)
    result = screen(dataset, params)
    verdicts = result.verdicts[["patient_id", "site_id", "verdict", "failed", "unknown", "waived"]]
    outcomes = result.outcomes[["patient_id", "criterion_id", "outcome", "evidence"]]
    out = Path(args.out)
    stale = [out / f"{stem}.{ext}" for stem in ("outcomes", "missing_data") for ext in ("csv", "parquet")]
    written = write_outputs({
        "verdicts.csv": verdicts,
        long_table_name("outcomes", len(outcomes), args.long_format): outcomes,
        long_table_name("missing_data", len(result.missing_data), args.long_format): result.missing_data,
    }, out)
    for path in stale:
        if path not in written and path.exists():
            path.unlink()  # an earlier run's table in the other format must not pass for this run's
    counts = result.verdicts["verdict"].value_counts()
    print(f"screened {result.n_in} patients in, {len(result.verdicts)} verdicts out: "
          + ", ".join(f"{v} {int(counts.get(v, 0))}" for v in ("eligible", "pending", "ineligible")))
    if len(result.findings):
        print(f"{len(result.findings)} data-quality finding(s) (unknown agents, conflicting same-day labs): "
              "listed in the eligibility report", file=sys.stderr)
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def cmd_synth(args: argparse.Namespace) -> int:
    """Generate a synthetic cohort."""
    from .synth import write_cohort

    written = write_cohort(args.patients, args.seed, Path(args.out), args.format)
    print(f"wrote {args.patients} synthetic patients (seed {args.seed}) to {args.out} ({len(written)} files)")
    return EXIT_OK


def cmd_reports(args: argparse.Namespace) -> int:
    """Build every report and the index."""
    from .runner.build import build_reports

    return build_reports(Path(args.dataset) if args.dataset else None, Path(args.out), args.jobs, None)


def cmd_golden(args: argparse.Namespace) -> int:
    """Regenerate the golden notebooks of the regression tests."""
    from .runner.build import build_golden

    return build_golden()


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
    screen.add_argument("--params", default=None, help="criteria YAML overriding params/criteria.yaml")
    screen.add_argument("--long-format", choices=("auto", "csv", "parquet"), default="auto",
                        help=f"format of outcomes and missing_data (auto: Parquet above {PARQUET_ABOVE_ROWS:,} rows)")
    screen.set_defaults(func=cmd_screen)

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

    golden = sub.add_parser("golden", help="regenerate the golden notebooks under tests/golden")
    golden.set_defaults(func=cmd_golden)
    _add_exchange_commands(sub)
    return parser


def _guarded(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return func(args)
    except (ContractError, ParamsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as exc:  # reading problems are ContractErrors: this is an output that cannot be written
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    return _guarded(args.func, args)
