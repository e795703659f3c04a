"""Hostile files through the real command, in a subprocess with bounded memory and time.

Every case runs ``python -m lifileucel_analysis screen DATASET --out OUT`` under an
address-space limit of :data:`ADDRESS_SPACE` (``resource.setrlimit`` in ``preexec_fn``)
and :data:`TIME_LIMIT` seconds, and checks the exit status, the words of the message, no
traceback, and (exit 2) that nothing was written. The workbook cases edit the sheet XML
of a clean workbook directly, as an attacker would: a ``<dimension>`` claiming the whole
sheet, stray cells, truncated XML, external entities, an entity-expansion bomb. Some
cases also run through ``reports`` (exit 2 before any kernel). The limits are in
``docs/validation.md``.
"""

from __future__ import annotations

import csv
import re
import resource
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from helpers import SMALL_VERDICTS, small_dataset_rows, text_row, write_notebook
from openpyxl import Workbook

from lifileucel_analysis.contract import schema
from lifileucel_analysis.contract.reading import table_files
from lifileucel_analysis.contract.table_header import MAX_COLUMNS
from lifileucel_analysis.paths import PROJECT_ROOT
from lifileucel_analysis.report.provenance import dataset_fingerprint
from lifileucel_analysis.runner.plan import ReportParamsError, load_report_plan

ADDRESS_SPACE = 2 << 30
TIME_LIMIT = 120
ENV = {"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin", "TQDM_DISABLE": "1"}


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lifileucel_analysis", *args], cwd=PROJECT_ROOT, env=ENV,
                          capture_output=True, text=True, timeout=TIME_LIMIT, preexec_fn=_limit_memory)


# --------------------------------------------------------------------------- clean datasets


def table_rows() -> dict[str, list[dict[str, str]]]:
    rows = {name: [text_row(row) for row in table] for name, table in small_dataset_rows().items()}
    return {name: rows.get(name, []) for name in schema.TABLES}


def csv_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in table_rows().items():
        columns = schema.TABLES[table].column_names
        with (folder / f"{table}.csv").open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(columns)
            writer.writerows([[row.get(c, "") for c in columns] for row in rows])
    return folder


def parquet_folder(folder: Path, change: Callable[[dict[str, pa.Table]], None] | None = None) -> Path:
    source = csv_folder(folder.parent / f"{folder.name}-csv")
    text = {"patient_id": pa.string(), "site_id": pa.string()}
    tables = {f.stem: pacsv.read_csv(f, convert_options=pacsv.ConvertOptions(column_types=text,
                                                                             strings_can_be_null=True))
              for f in source.glob("*.csv")}
    if change is not None:
        change(tables)
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet")
    return folder


def workbook(path: Path) -> Path:
    book = Workbook()
    book.remove(book.active)
    for table, rows in table_rows().items():
        sheet = book.create_sheet(table)
        columns = schema.TABLES[table].column_names
        sheet.append(columns)
        for row in rows:
            sheet.append([row.get(c) or None for c in columns])
    book.save(path)
    return path


def edit_sheet(path: Path, table: str, change: Callable[[bytes], bytes]) -> Path:
    """Rewrite the XML of one sheet of a workbook (sheets are numbered in the contract's order)."""
    member = f"xl/worksheets/sheet{list(schema.TABLES).index(table) + 1}.xml"
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts[member] = change(parts[member])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def set_dimension(ref: str) -> Callable[[bytes], bytes]:
    return lambda xml: re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{ref}"/>'.encode(), xml)


def no_dimension(xml: bytes) -> bytes:
    return re.sub(rb'<dimension ref="[^"]*"/>', b"", xml)


def append_row(row_xml: str) -> Callable[[bytes], bytes]:
    return lambda xml: xml.replace(b"</sheetData>", row_xml.encode() + b"</sheetData>")


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def with_doctype(doctype: str, cell_text: str) -> Callable[[bytes], bytes]:
    def change(xml: bytes) -> bytes:
        xml = re.sub(rb"^<\?xml[^>]*\?>", b"", xml.lstrip())
        head = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + doctype.encode() + b"\n"
        return append_row(f'<row r="40">{inline("A40", cell_text)}</row>')(head + xml)
    return change


BOMB = ('<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">' + "".join(
    f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)) + "]>")


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], Path]
    status: int
    words: tuple[str, ...] = ()


def wb(table: str, change: Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    return lambda tmp: edit_sheet(workbook(tmp / "site.xlsx"), table, change)


def csv_edit(table: str, change: Callable[[str], str]) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        folder = csv_folder(tmp / "site")
        path = folder / f"{table}.csv"
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
        return folder
    return build


def many_labs_then(marker: str) -> Callable[[str], str]:
    """20,000 lab lines, then ``marker`` inside a patient ID near the end (far past 8 KiB)."""
    def change(text: str) -> str:
        lines = text.splitlines()
        lines += [lines[1]] * 20_000
        lines[-3] = lines[-3].replace("P1", f"P{marker}1", 1)
        return "\n".join(lines) + "\n"
    return change


def arrow_ids_uint64(tables: dict[str, pa.Table]) -> None:
    for name in ("patients", "therapies", "labs", "toxicities"):
        table = tables[name]
        ids = [int(x[1:]) + 2**63 for x in table.column("patient_id").to_pylist()]
        tables[name] = table.set_column(table.schema.get_field_index("patient_id"), "patient_id",
                                        pa.array(ids, pa.uint64()))


def arrow_extreme_date(tables: dict[str, pa.Table]) -> None:
    table = tables["therapies"]
    days = pa.array([2**31 - 1] + [None] * (table.num_rows - 1), pa.int32()).view(pa.date32())
    tables["therapies"] = table.set_column(table.schema.get_field_index("start_date"), "start_date", days)


def arrow_line(tables: dict[str, pa.Table]) -> None:
    table = tables["therapies"]
    lines = [2**53 + 1] + table.column("line").to_pylist()[1:]
    tables["therapies"] = table.set_column(table.schema.get_field_index("line"), "line", pa.array(lines, pa.int64()))


CASES = [
    Case("dimension-claims-whole-sheet-blank-stray-cell", wb("labs", lambda x: append_row(
        '<row r="1048576"><c r="XFD1048576" s="0"/></row>')(set_dimension("A1:XFD1048576")(x))), 0),
    Case("dimension-claims-whole-sheet-value-in-last-column", wb("labs", lambda x: append_row(
        f'<row r="1048576">{inline("XFD1048576", "x")}</row>')(set_dimension("A1:XFD1048576")(x))), 2,
        ("labs", "XFD1048576", "beyond column")),
    Case("value-far-right", wb("patients", append_row(f'<row r="30">{inline("ZZ30", "note")}</row>')), 2,
         ("patients", "ZZ30", "beyond column")),
    Case("no-dimension-gaps-and-blank-cell-far-below", wb("therapies", lambda x: append_row(
        '<row r="1000000"><c r="A1000000" s="0"/></row>')(no_dimension(x))), 0),
    Case("no-dimension-value-far-below-far-right", wb("labs", lambda x: append_row(
        f'<row r="1048576">{inline("IV1048576", "x")}</row>')(no_dimension(x))), 2,
        ("labs", "IV1048576", "cells")),
    Case("truncated-sheet-xml", wb("labs", lambda x: x[: len(x) // 2]), 2, ("labs", "cannot be read", "damaged")),
    Case("external-entity", wb("patients", with_doctype(
        '<!DOCTYPE worksheet [<!ENTITY e SYSTEM "file:///etc/passwd">]>', "&e;")), 2, ("<!DOCTYPE", "site.xlsx")),
    Case("entity-expansion-bomb", wb("patients", with_doctype(BOMB, "&j;")), 2, ("<!DOCTYPE", "not expanded")),
    Case("cell-longer-than-excel-allows", wb("patients", append_row(
        f'<row r="30">{inline("C30", "x" * 40_000)}</row>')), 2, ("C30", "40,000 characters")),
    Case("nul-deep-in-csv", csv_edit("labs", many_labs_then("\x00")), 2, ("labs.csv", "U+0000", "on line 200")),
    # Audit 36B: a NUL in the first 8 KiB called the whole file "binary data" and named no line.
    Case("nul-in-the-first-row-of-csv", csv_edit("toxicities", lambda t: t.replace("\n", "\n\x00", 1)), 2,
         ("toxicities.csv holds the control character U+0000 on line 2",)),
    Case("escape-deep-in-csv", csv_edit("labs", many_labs_then("\x1b[31m")), 2, ("labs.csv", "U+001B")),
    Case("line-beyond-2-to-the-53", csv_edit("therapies", lambda t: t.replace("P1,1,", f"P1,{2**53 + 1},", 1)),
         2, ("therapies", "line", "9007199254740993", "not a whole number")),
    Case("parquet-uint64-ids", lambda tmp: parquet_folder(tmp / "site", arrow_ids_uint64), 0),
    Case("parquet-date32-beyond-year-9999", lambda tmp: parquet_folder(tmp / "site", arrow_extreme_date), 2,
         ("therapies", "start_date", "not an ISO date")),
    Case("parquet-line-beyond-2-to-the-53", lambda tmp: parquet_folder(tmp / "site", arrow_line), 2,
         ("therapies", "line", "not a whole number")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_screen_handles_the_hostile_file(case: Case, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    data = case.build(tmp_path / "in")
    out = tmp_path / "out"
    run = run_cli("screen", str(data), "--out", str(out))
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.returncode == case.status, run.stderr[-3000:]
    if case.status == 2:
        assert run.stderr.startswith("error: "), run.stderr[:500]
        assert len(run.stderr) < 4000
        for word in case.words:
            assert word in run.stderr, f"{word!r} not in:\n{run.stderr[:3000]}"
        assert not out.exists()
        assert "\x1b" not in run.stderr and "\x00" not in run.stderr
    else:
        verdicts = (out / "verdicts.csv").read_text(encoding="utf-8")
        assert len(verdicts.splitlines()) == 1 + len(SMALL_VERDICTS)


REPORTS_CASES = ("dimension-claims-whole-sheet-value-in-last-column", "truncated-sheet-xml", "external-entity",
                 "entity-expansion-bomb", "nul-deep-in-csv", "parquet-date32-beyond-year-9999")


@pytest.mark.parametrize("case", [c for c in CASES if c.id in REPORTS_CASES], ids=lambda c: c.id)
def test_reports_refuses_the_same_files_before_any_kernel(case: Case, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    data = case.build(tmp_path / "in")
    out = tmp_path / "reports"
    run = run_cli("reports", "--dataset", str(data), "--out", str(out))
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.returncode == 2, run.stderr[-3000:]
    assert "building" not in run.stderr  # stopped before any notebook
    assert not out.exists()


# --------------------------------------------------------------------------- criteria_params of reports


@pytest.mark.parametrize(("text", "words"), [
    ("min_prior_lines: .nan\n", ["finite"]),
    ("min_prior_lines: 3\nmax_prior_lines: 1\n", ["min_prior_lines", "max_prior_lines"]),
    ("ecog_max: 1\necog_max: 2\n", ["appears twice"]),
    ("a: &x [1]\nb: *x\n", ["aliases"]),
])
def test_a_bad_criteria_file_named_by_a_report_stops_the_plan(text: str, words: list[str], tmp_path: Path) -> None:
    write_notebook(tmp_path / "notebooks" / "report.ipynb", 'site: str = "all"\ncriteria_params: str = ""', ["1"])
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "criteria.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "params" / "program.yaml").write_text("report:\n  criteria_params: params/criteria.yaml\n")
    with pytest.raises(ReportParamsError) as refused:
        load_report_plan(tmp_path / "params", tmp_path / "notebooks", require_every_site=False,
                         project_root=tmp_path)
    message = str(refused.value)
    assert "params/criteria.yaml" in message
    for word in words:
        assert word in message, message


# --------------------------------------------------------------------------- fingerprints


def _csv_site(tmp: Path) -> Path:
    return csv_folder(tmp / "csv")


def _parquet_site(tmp: Path) -> Path:
    return parquet_folder(tmp / "parquet")


@pytest.mark.parametrize("make", [_csv_site, _parquet_site], ids=["csv", "parquet"])
def test_the_fingerprint_changes_with_every_table_the_loader_reads(make: Callable[[Path], Path],
                                                                   tmp_path: Path) -> None:
    folder = make(tmp_path)
    first = dataset_fingerprint(folder)
    assert {p.stem for p in table_files(folder)} == set(schema.TABLES)
    for path in table_files(folder):
        saved = path.read_bytes()
        path.write_bytes(saved + b"\n")
        assert dataset_fingerprint(folder) != first, path.name
        path.write_bytes(saved)
    assert dataset_fingerprint(folder) == first
    (folder / "README.txt").write_text("not a table")
    assert dataset_fingerprint(folder) == first  # what the loader ignores does not count


def test_the_fingerprint_sees_a_table_named_in_upper_case(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path / "site")
    (folder / "patients.csv").rename(folder / "Patients.CSV")
    first = dataset_fingerprint(folder)
    text = (folder / "Patients.CSV").read_text(encoding="utf-8")
    (folder / "Patients.CSV").write_text(text.replace("mskcc", "moffitt", 1), encoding="utf-8")
    assert dataset_fingerprint(folder) != first
    assert folder / "Patients.CSV" in table_files(folder)


def test_the_fingerprint_of_a_workbook_changes_with_any_sheet(tmp_path: Path) -> None:
    path = workbook(tmp_path / "site.xlsx")
    first = dataset_fingerprint(path)
    edit_sheet(path, "toxicities", append_row(f'<row r="40">{inline("A40", "P9")}</row>'))
    assert dataset_fingerprint(path) != first



# --------------------------------------------------------------------------- no leak


def test_names_from_files_cannot_forge_terminal_lines(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path / "site")
    (folder / "notes\x1b[2K\rerror: forged\n.csv").write_text("a\n")
    run = run_cli("screen", str(folder), "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stderr and "\r" not in run.stderr
    assert not any(line.startswith("error:") for line in run.stderr.splitlines()), run.stderr
    assert "notes\\x1b[2K\\rerror: forged\\n.csv" in run.stderr


def test_a_dataset_path_with_controls_is_escaped_in_the_error(tmp_path: Path) -> None:
    folder = tmp_path / "bad\x1b]0;title\x07\nerror: forged"
    folder.mkdir()
    run = run_cli("screen", str(folder), "--out", str(tmp_path / "out"))
    assert run.returncode == 2
    assert "\x1b" not in run.stderr and "\x07" not in run.stderr
    assert [line for line in run.stderr.splitlines() if line.startswith("error:")] == run.stderr.splitlines()[:1]


def test_path_scrubbing_sees_through_terminal_colours() -> None:
    from lifileucel_analysis.runner.normalise import scrub_paths

    root = str(PROJECT_ROOT)
    coloured = f"\x1b[0;32m{root[:4]}\x1b[0m{root[4:]}/lifileucel_analysis/engine/x.py\x1b[0m line 3"
    assert scrub_paths(coloured) == "lifileucel_analysis/engine/x.py line 3"
    assert root not in scrub_paths(f"\x1b]8;;file://{root}/a\x07{root}/a\x1b]8;;\x07")


# --------------------------------------------------------------------------- memory (session 14 audit)


def test_a_valid_five_thousand_patient_dataset_screens_within_the_limit(tmp_path: Path) -> None:
    # Under this file's 2 GiB address-space limit it stopped with an ArrowMemoryError traceback
    # (exit 1): mimalloc, Arrow's default allocator, reserves 1 GiB of address space on first use.
    from lifileucel_analysis.synth import write_cohort

    write_cohort(5_000, 3, tmp_path / "site")
    run = run_cli("screen", str(tmp_path / "site"), "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr[-3000:]
    assert len((tmp_path / "out" / "verdicts.csv").read_text(encoding="utf-8").splitlines()) == 1 + 5_000


def widened(extra: list[str], header_only: bool = False) -> Callable[[str], str]:
    """A table's text with ``extra`` columns after its own (blank in every row unless ``header_only``)."""
    def widen(text: str) -> str:
        lines = text.splitlines()
        rows = lines[1:] if header_only else [line + "," * len(extra) for line in lines[1:]]
        return "\n".join([",".join([lines[0], *extra]), *rows]) + "\n"
    return widen


def test_two_hundred_extra_columns_give_a_one_line_note(tmp_path: Path) -> None:
    extra = [f"x{i}" for i in range(200)]
    run = run_cli("screen", str(csv_edit("toxicities", widened(extra))(tmp_path)), "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "toxicities: ignored 200 columns not in the data contract: x0, x1," in run.stderr
    assert "x19 and 180 more" in run.stderr and "x20," not in run.stderr
    assert len(run.stderr) < 4000


def test_a_csv_table_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    extra = [f"x{i}" for i in range(MAX_COLUMNS - len(schema.TABLES["toxicities"].columns))]
    run = run_cli("screen", str(csv_edit("toxicities", widened(extra))(tmp_path)), "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr[-3000:]


@pytest.mark.parametrize(("extra", "header_only", "words"), [
    # One past the limit, with the table's own five columns.
    ([f"x{i}" for i in range(MAX_COLUMNS - 4)], False,
     f"has more than {MAX_COLUMNS} columns: a table may have at most {MAX_COLUMNS}"),
    # A 5 MB header of commas: over 20 GB and 5 minutes before the limit (audit 36B).
    ([""] * 5_242_880, True, "has a first row longer than 65,536 characters"),
    # A long quoted cell first hid the commas after it from a count over the first 64 KiB (review 36C).
    (['"' + "x" * 70_000 + '"', *[""] * 100_000], True, "has a first row longer than 65,536 characters"),
], ids=["one-past-the-limit", "five-megabytes-of-commas", "commas-behind-a-long-cell"])
def test_a_csv_table_wider_than_the_limit_is_refused_before_it_is_parsed(extra: list[str], header_only: bool,
                                                                          words: str, tmp_path: Path) -> None:
    run = run_cli("screen", str(csv_edit("toxicities", widened(extra, header_only))(tmp_path)),
                  "--out", str(tmp_path / "out"))
    assert run.returncode == 2, run.stderr[-3000:]
    assert f"toxicities.csv {words}" in run.stderr, run.stderr[-3000:]
    assert not (tmp_path / "out").exists() and len(run.stderr) < 4000


def test_a_parquet_table_wider_than_the_limit_is_refused_naming_its_width(tmp_path: Path) -> None:
    def widen(tables: dict[str, pa.Table]) -> None:
        table = tables["labs"]
        for i in range(MAX_COLUMNS):
            table = table.append_column(f"x{i}", pa.nulls(table.num_rows, pa.string()))
        tables["labs"] = table

    run = run_cli("screen", str(parquet_folder(tmp_path / "site", widen)), "--out", str(tmp_path / "out"))
    width = len(schema.TABLES["labs"].columns) + MAX_COLUMNS
    assert run.returncode == 2, run.stderr[-3000:]
    assert f"labs.parquet has {width:,} columns: a table may have at most {MAX_COLUMNS}" in run.stderr
    assert not (tmp_path / "out").exists()


def test_running_out_of_memory_is_a_message_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    from lifileucel_analysis import cli

    def exhausted() -> int:
        raise pa.ArrowMemoryError("malloc of size 4096 failed")

    assert cli._guarded(exhausted) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert err.startswith("error: out of memory: this command needs more memory than the process may use")
    assert "Traceback" not in err and "malloc" not in err
