"""The bad-input corpus: messy and hostile screening data through the real command.

Every case builds one dataset in ``tmp_path`` (CSV folder, workbook or Parquet folder,
made programmatically), runs ``lifileucel-eap screen DATASET --out OUT`` through
:func:`lifileucel_analysis.cli.main`, and checks:

- the exit status: 2 when the input breaks the data contract, 0 when it is valid;
- for status 2, the words the message must hold (table, row, column, value, what is
  allowed), that it starts with ``error:`` and stays short, and that nothing was written:
  a fresh ``--out`` folder is never created and an existing one is left byte for byte as
  it was, with no staging folder left behind;
- for status 0, that the three output files are there, that every patient has exactly one
  verdict, that no birth date or column outside the contract reaches any output, and that
  no output cell could run as a spreadsheet formula; plus the case's own check;
- never a ``Traceback``.

A subset runs again as ``python -m lifileucel_analysis screen ...`` in a subprocess, to
prove the same from the outside. What each case expects, and why, is written up in
``docs/validation.md``; the loader's single-cell checks are in ``tests/test_loading.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import SMALL_VERDICTS, small_dataset_rows, text_row, toxicity_row
from openpyxl import Workbook, load_workbook

from lifileucel_analysis.contract import schema
from lifileucel_analysis.cli import main
from lifileucel_analysis.contract.loading import load_dataset
from lifileucel_analysis.engine.screening import screen

Rows = dict[str, list[dict[str, str]]]
Edit = Callable[[Rows], None]
Build = Callable[[Path], Path]
Check = Callable[[Path, Path], None]

OUTPUTS = ("findings.csv", "verdicts.csv", "outcomes.csv", "missing_data.csv", "waivers.csv", "criteria_used.csv")
MAX_MESSAGE_CHARS = 30_000
"""No message is longer than this, however many problems (10,000 problems included)."""
FORMULA_START = re.compile(r"^[=+\-@\t\r]")

# ---------------------------------------------------------------------------------------
# The clean dataset every case starts from: the three patients of helpers.small_dataset, P1
# eligible, P2 pending (ECOG blank), P3 ineligible (uveal melanoma), as text cells. Birth
# dates and the non-contract columns are distinctive, so that finding them in an output
# proves a leak. The labs are in the other unit conventions (/uL, g/L, umol/L) on purpose.

BIRTH_DATES = {"P1": "1961-07-13", "P2": "1958-11-02", "P3": "1970-01-23"}
SECRETS = ("123-45-6789", "Jane Q. Public", "MRN-0042")
LABS = (("anc", "1500", "/uL", ""), ("platelets", "150", "10^9/L", ""), ("hemoglobin", "95", "g/L", ""),
        ("ast", "40", "U/L", "40"), ("alt", "30", "U/L", "40"), ("total_bilirubin", "20", "umol/L", ""),
        ("creatinine_clearance", "80", "mL/min", ""))
EXPECTED = SMALL_VERDICTS


def base_rows() -> Rows:
    """The clean dataset as text cells, one dict per row."""
    small = small_dataset_rows()
    patients = [text_row(dict(row, birth_date=BIRTH_DATES[row["patient_id"]])) for row in small["patients"]]
    therapies = [text_row(row) for row in small["therapies"]]
    labs = [dict(patient_id=p, test=t, value=v, unit=u, uln=uln, collected_date="2025-02-20")
            for p in EXPECTED for t, v, u, uln in LABS]
    toxicities = [text_row(toxicity_row("P2", term="hypothyroidism", category="endocrine", grade=2, ongoing="yes"))]
    return {"patients": patients, "therapies": therapies, "labs": labs, "toxicities": toxicities, "overrides": []}


def columns_of(table: str, rows: list[dict[str, str]]) -> list[str]:
    """The contract's columns, then any extra column the rows carry (in first-seen order)."""
    names = dict.fromkeys(schema.TABLES[table].column_names)
    for row in rows:
        names.update(dict.fromkeys(row))
    return list(names)


def csv_text(table: str, rows: list[dict[str, str]], delimiter: str = ",", newline: str = "\n",
             quoting: int = csv.QUOTE_MINIMAL) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    columns = columns_of(table, rows)
    writer.writerow(columns)
    writer.writerows([[row.get(c, "") for c in columns] for row in rows])
    return buffer.getvalue()


def write_csv_folder(folder: Path, rows: Rows, encoding: str = "utf-8", **layout: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for table, table_rows in rows.items():
        text = csv_text(table, table_rows, **layout)  # type: ignore[arg-type]
        (folder / f"{table}.csv").write_bytes(text.encode(encoding))
    return folder


def natural(table: str, column: str, text: str) -> object:
    """A text cell as a person's spreadsheet holds it: numbers as numbers, dates as date cells."""
    if text == "" or column not in schema.TABLES[table].column_names:
        return text or None
    kind = schema.TABLES[table].column(column).kind
    if kind in ("int", "number"):
        number = float(text)
        return int(number) if number.is_integer() else number
    if kind == "date":
        return dt.datetime.fromisoformat(text)
    return text


def write_workbook(path: Path, rows: Rows, cells: str = "text") -> Path:
    """One sheet per table; ``cells="natural"`` stores numbers and real date cells (shown m/d/yyyy)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table, table_rows in rows.items():
        sheet = workbook.create_sheet(table)
        columns = columns_of(table, table_rows)
        sheet.append(columns)
        for row in table_rows:
            values = [row.get(c, "") for c in columns]
            if cells == "natural":
                sheet.append([natural(table, c, v) for c, v in zip(columns, values, strict=True)])
            else:
                sheet.append([v if v != "" else None for v in values])
        if cells == "natural":
            for position, column in enumerate(columns, start=1):
                if column.endswith(("_date", "_since")):
                    for (cell,) in sheet.iter_rows(min_row=2, min_col=position, max_col=position):
                        cell.number_format = "mm/dd/yyyy"
    workbook.save(path)
    return path


# ---------------------------------------------------------------------------------------
# Building blocks of cases


def cell(table: str, index: int, column: str, value: str) -> Edit:
    """Set one cell (row ``index`` of ``table``, 0-based)."""
    def edit(rows: Rows) -> None:
        rows[table][index][column] = value
    return edit


def cells(table: str, column: str, value: str) -> Edit:
    """Set a column in every row of a table."""
    def edit(rows: Rows) -> None:
        for row in rows[table]:
            row[column] = value
    return edit


def add_row(table: str, like: int | None = None, **values: str) -> Edit:
    """Append a row: a copy of row ``like`` with ``values`` changed, or just ``values``."""
    def edit(rows: Rows) -> None:
        start = dict(rows[table][like]) if like is not None else {}
        rows[table].append({**start, **values})
    return edit


def clear(*tables: str) -> Edit:
    """Leave only the header row in each table."""
    def edit(rows: Rows) -> None:
        for table in tables:
            rows[table] = []
    return edit


def csv_folder(*edits: Edit, files: Callable[[Path], None] | None = None, encoding: str = "utf-8",
               **layout: object) -> Build:
    """A folder of CSV files from the clean dataset with ``edits``, then byte-level ``files`` edits."""
    def build(tmp: Path) -> Path:
        rows = base_rows()
        for edit in edits:
            edit(rows)
        folder = write_csv_folder(tmp / "site_data", rows, encoding, **layout)
        if files is not None:
            files(folder)
        return folder
    return build


def workbook(*edits: Edit, cells: str = "text", then: Callable[[Path], None] | None = None) -> Build:
    """An .xlsx workbook from the clean dataset with ``edits``, then edits through openpyxl."""
    def build(tmp: Path) -> Path:
        rows = base_rows()
        for edit in edits:
            edit(rows)
        path = write_workbook(tmp / "site_data.xlsx", rows, cells)
        if then is not None:
            then(path)
        return path
    return build


def with_book(change: Callable[[Workbook], None]) -> Callable[[Path], None]:
    """Open a saved workbook, change it, save it again."""
    def edit(path: Path) -> None:
        book = load_workbook(path)
        change(book)
        book.save(path)
    return edit


def parquet_folder(change: Callable[[dict[str, pa.Table]], None]) -> Build:
    """A folder of Parquet files (typed columns) from the clean dataset, with Arrow-level changes."""
    def build(tmp: Path) -> Path:
        folder = tmp / "site_data"
        folder.mkdir()
        tables = {}
        for table, rows in base_rows().items():
            frame = pd.DataFrame(rows, columns=list(schema.TABLES[table].column_names)).replace("", None)
            tables[table] = pa.Table.from_pandas(schema.coerce(table, frame), preserve_index=False)
        change(tables)
        for table, arrow in tables.items():
            pq.write_table(arrow, folder / f"{table}.parquet")
        return folder
    return build


def set_arrow_column(table: str, column: str, values: pa.Array) -> Callable[[dict[str, pa.Table]], None]:
    def change(tables: dict[str, pa.Table]) -> None:
        arrow = tables[table]
        tables[table] = arrow.set_column(arrow.schema.get_field_index(column), column, values)
    return change


def rewrite(table: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    """Byte-level edit of one CSV file of a folder."""
    def edit(folder: Path) -> None:
        path = folder / f"{table}.csv"
        path.write_bytes(change(path.read_bytes()))
    return edit


def sample_workbook_bytes() -> bytes:
    buffer = io.BytesIO()
    book = Workbook()
    book.active.append(["patient_id"])
    book.save(buffer)
    return buffer.getvalue()


def sample_parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"patient_id": ["P1"]}), buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------
# Checks of valid cases (besides the checks every valid case gets)


def same_outputs(out: Path, baseline: Path) -> None:
    """Lenient input (spelling, encoding marks, cell types) screens exactly like the clean data."""
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (baseline / name).read_bytes(), name


def verdicts_of(out: Path) -> dict[str, str]:
    frame = pd.read_csv(out / "verdicts.csv", dtype=str, keep_default_na=False)
    return dict(zip(frame["patient_id"], frame["verdict"], strict=True))


def outcome(out: Path, patient: str, criterion: str) -> tuple[str, str]:
    frame = pd.read_csv(out / "outcomes.csv", dtype=str, keep_default_na=False)
    row = frame[(frame["patient_id"] == patient) & (frame["criterion_id"] == criterion)]
    assert len(row) == 1
    return row["outcome"].iloc[0], row["evidence"].iloc[0]


def same_but_a_repeated_row(out: Path, baseline: Path) -> None:
    """A copied therapy line is read once: every output as the clean data's, and one finding
    naming the copy (row 4) and the row it repeats (row 1)."""
    for name in OUTPUTS[1:]:
        assert (out / name).read_bytes() == (baseline / name).read_bytes(), name
    found = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    before = pd.read_csv(baseline / "findings.csv", dtype=str, keep_default_na=False)
    added = found.merge(before, how="left", indicator=True).query("_merge == 'left_only'")
    assert added[["patient_id", "table", "row", "finding"]].values.tolist() == [
        ["P1", "therapies", "4", "repeats row 1 in every column (the same line written twice): read once"]]


def verdicts_are(expected: dict[str, str]) -> Check:
    def check(out: Path, baseline: Path) -> None:
        assert verdicts_of(out) == expected
    return check


def p1_unknown(criterion: str, field: str) -> Check:
    """P1 becomes pending: ``criterion`` is unknown and the worklist asks for ``field``."""
    def check(out: Path, baseline: Path) -> None:
        assert verdicts_of(out)["P1"] == "pending"
        assert outcome(out, "P1", criterion)[0] == "unknown"
        missing = pd.read_csv(out / "missing_data.csv", dtype=str, keep_default_na=False)
        fields = missing.loc[(missing["patient_id"] == "P1") & (missing["criterion_id"] == criterion), "fields"]
        assert field in " ".join(fields), fields.tolist()
    return check


def no_events(out: Path, baseline: Path) -> None:
    """No rows in an event table means none recorded: no prior line fails I2, no lab leaves I7 unknown."""
    for patient in EXPECTED:
        assert outcome(out, patient, "I2")[0] == "fail"
        assert outcome(out, patient, "I7")[0] == "unknown"
        assert outcome(out, patient, "E2")[0] == "pass"


def same_day_anc_conflict_is_unknown(out: Path, baseline: Path) -> None:
    """ANC 800 and 1500 /uL on the counting day: dates carry no time, so which one is the most
    recent (the one that counts) is not recorded; one fails, one passes: unknown, in either
    file order, and the worklist asks which is the latest."""
    result, evidence = outcome(out, "P1", "I7")
    assert result == "unknown", evidence
    assert evidence == ("ANC results disagree on 2025-02-20: 800 /uL (0.8 x10^9/L) and 1500 /uL (1.5 x10^9/L); which is "
                        "the latest is not recorded")
    assert verdicts_of(out)["P1"] == "pending"


def same_day_ast_conflict_is_unknown(out: Path, baseline: Path) -> None:
    """AST 100 and 150 U/L (ULN 40) on one day: 2.5 and 3.75 x ULN, one each side of 3 x ULN."""
    result, evidence = outcome(out, "P1", "I7")
    assert result == "unknown" and "150 U/L (ULN 40) and 100 U/L (ULN 40)" in evidence, evidence


def date_order_finding(patient: str, table: str, row: str, column: str, value: str, words: str,
                       unknown: str | None = None, hidden: str | None = None) -> Check:
    """Dates of one row that contradict each other: screened, with one finding naming the cell.

    Only P1's or P2's own outcome may change (``unknown``: that criterion becomes unknown);
    every other patient's verdict is the clean data's. ``hidden`` must reach no output."""
    def check(out: Path, baseline: Path) -> None:
        found = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
        assert found[["patient_id", "table", "row", "column", "value"]].values.tolist() == [
            [patient, table, row, column, value]]
        assert words in found["finding"].iloc[0], found["finding"].iloc[0]
        verdicts = verdicts_of(out)
        assert {k: v for k, v in verdicts.items() if k != patient} == {k: v for k, v in EXPECTED.items()
                                                                       if k != patient}
        if unknown is not None:
            p_outcome = outcome(out, patient, unknown)
            assert p_outcome[0] == "unknown" and "one of the two is wrong" in p_outcome[1], p_outcome
            assert verdicts[patient] == ("pending" if EXPECTED[patient] == "eligible" else EXPECTED[patient])
        else:
            assert verdicts[patient] == EXPECTED[patient]
        for name in out.iterdir():
            assert hidden is None or hidden not in name.read_text(encoding="utf-8"), name
    return check


def lab_after_consent_counts(out: Path, baseline: Path) -> None:
    """Every lab of P1 collected after consent but before NMA-LD: they count, so I7 is decided."""
    assert outcome(out, "P1", "I7")[0] == "pass"
    assert verdicts_of(out)["P1"] == "eligible"


def no_formula_cells(out: Path, baseline: Path) -> None:
    """Input text that looks like a formula reaches the outputs only as inert text."""
    for name in OUTPUTS:
        frame = pd.read_csv(out / name, dtype=str, keep_default_na=False)
        for column in frame.columns:
            assert not frame[column].str.match(FORMULA_START).any(), (name, column)
    assert outcome(out, "P3", "E3")[0] == "waived"


# ---------------------------------------------------------------------------------------
# The corpus


@dataclass(frozen=True)
class Case:
    """One input, what the command must do with it, and what its message must say."""

    id: str
    build: Build
    status: int
    words: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    check: Check | None = None
    subprocess: bool = False


def many_bad_lab_rows(n: int) -> Edit:
    """``n`` lab rows of P1, each with five bad cells: 5 x ``n`` problems of five kinds."""
    def edit(rows: Rows) -> None:
        rows["labs"] = [dict(patient_id="P1", test="ldh", value="high", unit="mmol", uln="-1",
                             collected_date="20/02/2025") for _ in range(n)]
    return edit


def every_cell_wrong(n: int) -> Edit:
    """``n`` patients whose every column but the ID is wrong: problems of 32 kinds."""
    def edit(rows: Rows) -> None:
        columns = [c for c in schema.TABLES["patients"].column_names if c != "patient_id"]
        rows["patients"] = [dict({c: "wrong" for c in columns}, patient_id=f"Q{i}") for i in range(n)]
        for table in ("therapies", "labs", "toxicities"):
            rows[table] = []
    return edit


def patients_only(*ids: str) -> Edit:
    """Patients with the given IDs (copies of P1) and no event rows."""
    def edit(rows: Rows) -> None:
        rows["patients"] = [dict(rows["patients"][0], patient_id=i) for i in ids]
        for table in ("therapies", "labs", "toxicities"):
            rows[table] = []
    return edit


def lab(patient: str, test: str, value: str, unit: str, day: str, uln: str = "") -> Edit:
    return add_row("labs", patient_id=patient, test=test, value=value, unit=unit, uln=uln, collected_date=day)


def merge(sheet: str, ref: str) -> Callable[[Path], None]:
    return with_book(lambda book: book[sheet].merge_cells(ref))


def title_rows(book: Workbook) -> None:
    sheet = book["patients"]
    sheet.insert_rows(1, 2)
    sheet["A1"] = "MSKCC screening export, March 2025"


def blank_first_row(book: Workbook) -> None:
    book["labs"].insert_rows(1)


def french_header(book: Workbook) -> None:
    names = ("identifiant", "terme", "catégorie", "grade CTCAE", "en cours")
    for sheet_cell, name in zip(book["toxicities"][1], names, strict=True):
        sheet_cell.value = name


def excel_error(book: Workbook) -> None:
    sheet = book["patients"]
    column = list(schema.TABLES["patients"].column_names).index("ecog") + 1
    sheet.cell(row=2, column=column).value = "#N/A"  # openpyxl stores it as an error cell


def serial_date(book: Workbook) -> None:
    sheet = book["patients"]
    column = list(schema.TABLES["patients"].column_names).index("consent_date") + 1
    sheet.cell(row=2, column=column).value = 45717  # 2025-03-01 as a number in a General cell


def rename_sheet(old: str, new: str) -> Callable[[Path], None]:
    def change(book: Workbook) -> None:
        book[old].title = new
    return with_book(change)


def empty_sheet(name: str) -> Callable[[Path], None]:
    def change(book: Workbook) -> None:
        position = book.sheetnames.index(name)
        book.remove(book[name])
        book.create_sheet(name, position)
    return with_book(change)


def write_file(name: str, data: bytes) -> Build:
    def build(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(data)
        return path
    return build


def folder_with(*names: str) -> Build:
    def build(tmp: Path) -> Path:
        folder = tmp / "site_data"
        folder.mkdir()
        for name in names:
            (folder / name).write_text("not a table\n")
        return folder
    return build


def zip_not_workbook(tmp: Path) -> Path:
    path = tmp / "site_data.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("patients.csv", "patient_id\nP1\n")
    return path


def parquet_with_truncated_labs(tmp: Path) -> Path:
    folder = parquet_folder(lambda tables: None)(tmp)
    data = (folder / "labs.parquet").read_bytes()
    (folder / "labs.parquet").write_bytes(data[: len(data) // 2])
    return folder


def both_case_spellings(folder: Path) -> None:
    (folder / "Patients.CSV").write_bytes((folder / "patients.csv").read_bytes())


LONG = "x" * 100_000
BAD_IDS = ("P 1", "=1+1", "P1<b>", "../P1", "\u0420001", "A" * 41, "-P1", "P1;P2", "@P1", "+P1")

CASES: list[Case] = [
    # --- path and file format -------------------------------------------------------------
    Case("path-does-not-exist", lambda tmp: tmp / "no_such_folder", 2,
         ("dataset", "no_such_folder", "no such file or folder", "relative to the working directory"), subprocess=True),
    Case("empty-directory", folder_with(), 2, ("dataset", "no tables found", "patients.csv", "toxicities.csv")),
    Case("directory-with-no-tables", folder_with("notes.txt", "export.json", "README.md"), 2,
         ("no tables found", "patients.csv"), subprocess=True),
    Case("csv-that-is-a-workbook", csv_folder(files=rewrite("patients", lambda _: sample_workbook_bytes())), 2,
         ("patients", "patients.csv", "Excel workbook", ".xlsx")),
    Case("csv-that-is-parquet", csv_folder(files=rewrite("labs", lambda _: sample_parquet_bytes())), 2,
         ("labs", "labs.csv", "Parquet file renamed .csv")),
    Case("csv-binary-garbage", csv_folder(files=rewrite("labs", lambda _: bytes(range(256)) * 8)), 2,
         ("labs", "labs.csv", "binary data", "CSV UTF-8"), subprocess=True),
    Case("csv-utf16-without-bom", csv_folder(files=rewrite("toxicities", lambda b: b.decode().encode("utf-16-le"))),
         2, ("toxicities.csv", "UTF-16", "CSV UTF-8")),
    Case("csv-latin1-is-refused-naming-the-encoding",
         csv_folder(add_row("overrides", patient_id="P3", criterion_id="E3", approved_by="Dr Müller",
                            approved_date="2025-03-02", reason="décision documentée"), encoding="latin-1"),
         2, ("overrides", "overrides row 1", "overrides.csv", "not UTF-8", "Latin-1", "save it as 'CSV UTF-8'"),
         subprocess=True),
    Case("xlsx-that-is-a-csv", write_file("site_data.xlsx", b"patient_id,site_id\nP1,mskcc\n"), 2,
         ("dataset", "site_data.xlsx", "not a readable .xlsx workbook", "CSV renamed .xlsx"), subprocess=True),
    Case("xlsx-binary-garbage", write_file("site_data.xlsx", bytes(range(256)) * 4), 2,
         ("not a readable .xlsx workbook", "zip archive")),
    Case("xlsx-zip-without-a-workbook", zip_not_workbook, 2, ("site_data.xlsx", "not a readable .xlsx workbook")),
    Case("xlsx-old-format-or-password", write_file("site_data.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)),
         2, ("not a readable .xlsx workbook", "old Excel format", "password-protected")),
    Case("parquet-truncated", parquet_with_truncated_labs, 2, ("labs", "labs.parquet", "not a readable Parquet")),
    Case("two-files-for-one-table", csv_folder(files=both_case_spellings), 2,
         ("patients", "two files for this table", "Patients.CSV", "patients.csv")),
    # --- CSV layout -----------------------------------------------------------------------
    Case("csv-empty-patients-file", csv_folder(files=rewrite("patients", lambda _: b"")), 2,
         ("patients", "patients.csv is empty", "header row")),
    Case("csv-blank-lines-only", csv_folder(files=rewrite("patients", lambda _: b"\n\n   \n")), 2,
         ("patients", "patients.csv is empty", "header row")),
    Case("csv-header-only-patients", csv_folder(clear("patients", "therapies", "labs", "toxicities")), 2,
         ("patients", "no rows", "at least one patient")),
    Case("csv-header-only-patients-with-event-rows", csv_folder(clear("patients")), 2,
         ("1 problem in", "patients: no rows", "at least one patient"), absent=("no such patient",)),
    Case("csv-header-only-event-tables-is-valid", csv_folder(clear("therapies", "labs", "toxicities")), 0,
         check=no_events),
    Case("csv-title-above-header", csv_folder(files=rewrite("patients", lambda b: b"MSKCC screening export\n\n" + b)),
         2, ("patients", "patients.csv", "header must be the first row", "line 3", "delete the 2 lines above"),
         subprocess=True),
    Case("csv-without-header-row", csv_folder(files=rewrite("labs", lambda b: b.split(b"\n", 1)[1])), 2,
         ("labs", "labs.csv", "no header row", "patient_id")),
    Case("csv-semicolon-separated", csv_folder(delimiter=";"), 2,
         ("patients", "patients.csv", "not comma-separated", "CSV UTF-8 (comma delimited)")),
    Case("csv-tab-separated", csv_folder(delimiter="\t"), 2, ("labs.csv", "not comma-separated")),
    Case("csv-unquoted-comma-decimal", csv_folder(files=rewrite("labs", lambda b: b.replace(b",1500,", b",1,5,", 1))),
         2, ("labs", "labs row 1", "fields where the header has 6", "double quotes")),
    Case("csv-bom-is-valid", csv_folder(files=lambda f: [rewrite(t, lambda b: b"\xef\xbb\xbf" + b)(f)
                                                         for t in ("patients", "labs")]), 0, check=same_outputs),
    Case("csv-crlf-is-valid", csv_folder(newline="\r\n"), 0, check=same_outputs),
    Case("csv-old-mac-cr-is-valid", csv_folder(newline="\r"), 0, check=same_outputs),
    Case("csv-all-cells-quoted-is-valid", csv_folder(quoting=csv.QUOTE_ALL), 0, check=same_outputs),
    Case("csv-misspelled-column", csv_folder(files=rewrite("patients", lambda b: b.replace(b",ecog,", b",ecgo,", 1))),
         2, ("patients, column ecog", "missing column")),
    Case("csv-extra-columns-never-reach-outputs",
         csv_folder(cells("patients", "ssn", SECRETS[0]), cells("patients", "name", SECRETS[1]),
                    cells("labs", "mrn", SECRETS[2])), 0, check=same_outputs, subprocess=True),
    # --- blanks, spellings and placeholders -----------------------------------------------
    Case("whitespace-only-cells-are-blank", csv_folder(cell("patients", 0, "ecog", "   "),
                                                       cell("patients", 0, "sex", "\u00a0"),
                                                       cell("patients", 0, "hiv_serology", "\t")), 0,
         check=p1_unknown("I6", "patients.ecog")),
    Case("whitespace-only-required-cell", csv_folder(cell("patients", 0, "site_id", "   ")), 2,
         ("patients row 1, column site_id", "blank, but required", "mskcc")),
    Case("yes-no-in-any-letter-case", csv_folder(cell("patients", 0, "pregnant", "No"),
                                                 cell("patients", 0, "breastfeeding", "NO"),
                                                 cell("patients", 1, "brain_metastases", " nO "),
                                                 cell("toxicities", 0, "ongoing", "YES")), 0, check=same_outputs),
    Case("yes-no-spelled-otherwise", csv_folder(cell("patients", 0, "pregnant", "Y"),
                                                cell("patients", 1, "breastfeeding", "1"),
                                                cell("patients", 2, "brain_metastases", "TRUE")), 2,
         ("patients row 1, column pregnant: value 'Y'", "patients row 2, column breastfeeding: value '1'",
          "patients row 3, column brain_metastases: value 'TRUE'", "expected yes or no")),
    Case("placeholder-spellings", csv_folder(cell("patients", 0, "ecog", "N/A"), cell("patients", 0, "sex", "NULL"),
                                             cell("patients", 1, "consent_date", "NaN"),
                                             cell("patients", 2, "melanoma_subtype", "unknown")), 2,
         ("patients row 1, column ecog: value 'N/A'", "patients row 1, column sex: value 'NULL'",
          "patients row 2, column consent_date: value 'NaN'", "a placeholder, not a value", "leave the cell blank",
          "unknown_primary")),
    Case("excel-error-text-in-csv", csv_folder(cell("labs", 0, "value", "#DIV/0!")), 2,
         ("labs row 1, column value: value '#DIV/0!'", "Excel error value", "a number >= 0")),
    Case("thousands-separator", csv_folder(cell("labs", 0, "value", "1,500")), 2,
         ("labs row 1, column value: value '1,500'", "no thousands separator")),
    Case("comma-decimal-quoted", csv_folder(cell("patients", 0, "resectable_lesion_cm", "1,5")), 2,
         ("patients row 1, column resectable_lesion_cm: value '1,5'", "decimal point")),
    Case("number-with-unit", csv_folder(cell("patients", 0, "resectable_lesion_cm", "2 cm")), 2,
         ("column resectable_lesion_cm: value '2 cm'", "not a number", "a number >= 0")),
    Case("formula-in-a-number-column", csv_folder(cell("patients", 0, "ecog", "=1+1")), 2,
         ("patients row 1, column ecog: value '=1+1'", "a formula, not a value: type the value")),
    Case("formula-text-is-inert-in-outputs",
         csv_folder(cell("toxicities", 0, "term", '=HYPERLINK("http://evil.example","x")'),
                    cell("therapies", 0, "agents", "nivolumab+=cmd|' /C calc'!A0"),
                    add_row("overrides", patient_id="P3", criterion_id="E3", approved_by="@medical monitor",
                            approved_date="2025-03-02", reason="=1+1 -2 +3")), 0,
         check=no_formula_cells, subprocess=True),
    Case("very-long-free-text-is-valid", csv_folder(cell("toxicities", 0, "term", LONG)), 0, check=same_outputs),
    Case("very-long-bad-value-is-cut-in-the-message", csv_folder(cell("patients", 0, "ecog", LONG)), 2,
         ("patients row 1, column ecog", "(100,000 characters)", "not a number"), absent=("x" * 200,)),
    # --- codes, units, numbers ------------------------------------------------------------
    Case("unknown-site-code", csv_folder(cell("patients", 0, "site_id", "Memorial Sloan Kettering")), 2,
         ("patients row 1, column site_id: value 'Memorial Sloan Kettering'", "unknown site code",
          "mskcc", "honorhealth")),
    Case("unknown-units", csv_folder(cell("labs", 5, "unit", "mmol/L"), cell("labs", 0, "unit", "\u00b5L")), 2,
         ("labs row 6, column unit: value 'mmol/L'", "unit not allowed for test total_bilirubin",
          "mg/dL or umol/L", "labs row 1, column unit", "10^9/L or /uL")),
    Case("negative-lab-value", csv_folder(cell("labs", 2, "value", "-95")), 2,
         ("labs row 3, column value: value '-95'", "out of range", "a number >= 0")),
    Case("negative-steroid-dose", csv_folder(cell("patients", 2, "steroid_mg_per_day", "-5")), 2,
         ("patients row 3, column steroid_mg_per_day", "out of range")),
    Case("uln-of-zero", csv_folder(cell("labs", 3, "uln", "0")), 2,
         ("labs row 4, column uln: value '0'", "out of range", "a number > 0")),
    Case("ast-without-uln", csv_folder(cell("labs", 3, "uln", "")), 2,
         ("labs row 4, column uln", "required for ast and alt")),
    # --- patient IDs and cross-table keys -----------------------------------------------------------
    Case("unsafe-patient-ids", csv_folder(patients_only(*BAD_IDS)), 2,
         tuple(f"patients row {i}, column patient_id" for i in range(1, len(BAD_IDS) + 1))
         + ("not a valid patient ID", "1-40 letters, digits")),
    Case("placeholder-patient-ids", csv_folder(patients_only("NA", "N/A", "null")), 2,
         ("patients row 1, column patient_id: value 'NA'", "patients row 2, column patient_id: value 'N/A'",
          "patients row 3, column patient_id: value 'null'", "patient_id cannot be blank"),
         absent=("leave the cell blank",)),
    Case("patient-id-of-40-characters-is-valid", csv_folder(patients_only("A" * 40, "p.1_b-2")), 0,
         check=verdicts_are({"A" * 40: "ineligible", "p.1_b-2": "ineligible"})),
    Case("duplicated-patient-row", csv_folder(add_row("patients", like=1)), 2,
         ("patients row 2, column patient_id: value 'P2'", "patients row 4", "duplicate patient_id")),
    Case("duplicated-therapy-row-is-read-once", csv_folder(add_row("therapies", like=0)), 0,
         check=same_but_a_repeated_row),
    Case("duplicated-lab-rows-are-harmless", csv_folder(*(add_row("labs", like=i) for i in range(7))), 0,
         check=same_outputs),
    Case("duplicated-toxicity-row-is-harmless", csv_folder(add_row("toxicities", like=0)), 0,
         check=verdicts_are(EXPECTED)),
    Case("orphan-rows-in-child-tables", csv_folder(lab("P9", "anc", "2", "10^9/L", "2025-02-20"),
                                                   add_row("therapies", like=0, patient_id="P7")), 2,
         ("labs row 22, column patient_id: value 'P9'", "therapies row 4, column patient_id: value 'P7'",
          "no such patient"), absent=("another letter case",)),
    # Audit 36B: the message now says that the patients table has the ID in another letter case.
    Case("patient-ids-are-case-sensitive", csv_folder(cell("labs", 0, "patient_id", "p1")), 2,
         ("labs row 1, column patient_id: value 'p1': no such patient: this patient_id is not in the patients "
          "table; the patients table has it in another letter case, and IDs are compared exactly: write it as "
          "there",)),
    # --- dates ----------------------------------------------------------------------------
    Case("unparseable-dates", csv_folder(cell("patients", 0, "consent_date", "tomorrow"),
                                         cell("patients", 1, "consent_date", "2025/03/01"),
                                         cell("patients", 2, "consent_date", "1 March 2025"),
                                         cell("labs", 0, "collected_date", "20250220")), 2,
         ("patients row 1, column consent_date: value 'tomorrow'", "value '2025/03/01'", "value '1 March 2025'",
          "labs row 1, column collected_date: value '20250220'", "use YYYY-MM-DD")),
    Case("full-width-digits-in-a-date", csv_folder(cell("patients", 0, "consent_date", "\uff12\uff10\uff12\uff15-03-01")), 2,
         ("patients row 1, column consent_date", "not an ISO date")),
    Case("31-february", csv_folder(cell("therapies", 0, "end_date", "2024-02-31")), 2,
         ("therapies row 1, column end_date: value '2024-02-31'", "no such calendar date")),
    Case("29-february-of-a-common-year", csv_folder(cell("labs", 0, "collected_date", "2025-02-29")), 2,
         ("labs row 1, column collected_date", "no such calendar date")),
    Case("29-february-of-a-leap-year-is-valid", csv_folder(cell("therapies", 0, "start_date", "2024-02-29")), 0,
         check=same_outputs),
    Case("two-digit-years", csv_folder(cell("patients", 0, "consent_date", "25-03-01"),
                                       cell("patients", 1, "consent_date", "0025-03-01")), 2,
         ("patients row 1, column consent_date: value '25-03-01'", "not an ISO date",
          "patients row 2, column consent_date: value '0025-03-01'", "implausible year")),
    Case("year-typo-in-the-future", csv_folder(cell("patients", 0, "consent_date", "2205-03-01")), 2,
         ("patients row 1, column consent_date: value '2205-03-01'", "implausible year", "2099-12-31")),
    # Dates of one row in an impossible order are data-quality findings, not contract breaks
    # (spec section 1 does not order dates; one record's typo must not stop the program's run).
    Case("birth-after-consent-is-a-finding-without-showing-the-date",
         csv_folder(cell("patients", 1, "birth_date", "2025-07-13")), 0,
         check=date_order_finding("P2", "patients", "2", "birth_date", "####-##-##", "after consent_date",
                                  unknown="I5", hidden="2025-07-13")),
    Case("malformed-birth-date-is-masked", csv_folder(cell("patients", 0, "birth_date", "13/07/1961")), 2,
         ("patients row 1, column birth_date: value '##/##/####'", "not an ISO date"),
         absent=("13/07/1961", "1961")),
    Case("lymphodepletion-before-consent-is-a-finding",
         csv_folder(cell("patients", 0, "lymphodepletion_date", "2025-02-27")), 0,
         check=date_order_finding("P1", "patients", "1", "lymphodepletion_date", "2025-02-27",
                                  "NMA-LD before consent_date 2025-03-01"),
         subprocess=True),
    Case("lymphodepletion-on-the-consent-day-is-valid",
         csv_folder(cell("patients", 0, "lymphodepletion_date", "2025-03-01")), 0,
         check=verdicts_are(EXPECTED)),
    Case("therapy-ending-before-it-starts-is-a-finding", csv_folder(cell("therapies", 1, "end_date", "2023-12-31")),
         0, check=date_order_finding("P2", "therapies", "2", "end_date", "2023-12-31", "ends before it starts")),
    Case("recurrence-before-the-line-starts-is-a-finding",
         csv_folder(cell("therapies", 0, "setting", "adjuvant"), cell("therapies", 0, "recurrence_date", "2023-06-01")),
         0, check=date_order_finding("P1", "therapies", "1", "recurrence_date", "2023-06-01",
                                     "recurrence dated before the line starts", unknown="I2")),
    Case("therapy-line-without-a-number-is-not-recorded-not-refused",  # P1's only line: still the most recent
         csv_folder(cell("therapies", 0, "line", "")), 0, check=verdicts_are(EXPECTED)),
    Case("lab-without-a-collected-date-is-not-recorded-not-refused",
         csv_folder(cell("labs", 0, "collected_date", "")), 0,
         check=p1_unknown("I7", "labs.collected_date")),
    Case("lab-after-consent-within-the-window-counts",
         csv_folder(*(cell("labs", i, "collected_date", "2025-03-10") for i in range(7))), 0,
         check=lab_after_consent_counts),
    Case("lab-after-lymphodepletion-is-not-counted",
         csv_folder(*(cell("labs", i, "collected_date", "2025-04-16") for i in range(7))), 0,
         check=p1_unknown("I7", "labs.anc")),
    Case("therapy-started-after-consent-is-valid",
         csv_folder(add_row("therapies", like=0, line="2", start_date="2025-03-05", end_date="2025-04-01")), 0,
         check=verdicts_are(EXPECTED)),
    # --- the same-day lab rule ---------------------------------------------------------------------------
    Case("same-day-anc-conflict-is-unknown", csv_folder(lab("P1", "anc", "800", "/uL", "2025-02-20")), 0,
         check=same_day_anc_conflict_is_unknown),
    Case("same-day-anc-conflict-low-first", csv_folder(cell("labs", 0, "value", "800"),
                                                       lab("P1", "anc", "1500", "/uL", "2025-02-20")), 0,
         check=same_day_anc_conflict_is_unknown),
    Case("same-day-ast-conflict-compared-by-uln",
         csv_folder(cell("labs", 3, "value", "100"), lab("P1", "ast", "150", "U/L", "2025-02-20", uln="40")), 0,
         check=same_day_ast_conflict_is_unknown),
    # --- many problems --------------------------------------------------------------------
    Case("ten-thousand-problems-of-five-kinds", csv_folder(many_bad_lab_rows(2000)), 2,
         ("10,000 problems", "2,000 x labs.value: not a number", "2,000 x labs.collected_date: not an ISO date",
          "2,000 x labs.test: unknown code", "e.g. labs row 1, column value: value 'high'"), subprocess=True),
    Case("ten-thousand-problems-of-many-kinds", csv_folder(every_cell_wrong(320)), 2,
         ("10,240 problems", "320 x patients.site_id: unknown site code", "e.g. patients row 1, column site_id",
          "other kinds;")),
    # --- Excel specifics ------------------------------------------------------------------
    Case("xlsx-real-date-cells-and-numbers-are-valid", workbook(cells="natural"), 0, check=same_outputs,
         subprocess=True),
    Case("xlsx-numbers-stored-as-text-are-valid", workbook(cells="text"), 0, check=same_outputs),
    Case("xlsx-missing-sheet", workbook(then=rename_sheet("labs", "Lab results")), 2,
         ("labs", "missing sheet", "a sheet named 'labs'")),
    Case("xlsx-empty-sheet", workbook(then=empty_sheet("therapies")), 2, ("therapies", "sheet empty", "header row")),
    Case("xlsx-header-not-on-the-first-row", workbook(then=with_book(title_rows)), 2,
         ("patients", "sheet 'patients'", "header must be the first row", "line 3")),
    Case("xlsx-blank-row-above-header", workbook(then=with_book(blank_first_row)), 2,
         ("labs", "sheet 'labs'", "header must be the first row", "line 2", "delete the 1 line above")),
    Case("xlsx-header-in-another-language", workbook(then=with_book(french_header)), 2,
         ("toxicities", "no header row with the contract's column names", "expected patient_id, term",
          "rename the columns")),
    Case("xlsx-merged-required-cells", workbook(then=merge("patients", "B2:B4")), 2,
         ("patients row 1, column site_id: value 'B2:B4'", "merged cells", "unmerge")),
    Case("xlsx-merged-optional-cells", workbook(then=merge("patients", "H2:H3")), 2,
         ("patients row 1, column ajcc_stage: value 'H2:H3'", "merged cells")),
    Case("xlsx-merged-header-cells", workbook(then=merge("toxicities", "B1:C1")), 2,
         ("toxicities", "value 'B1:C1'", "merged cells", "column category: missing column")),
    Case("xlsx-excel-error-cell", workbook(then=with_book(excel_error)), 2,
         ("patients row 1, column ecog: value '#N/A'", "Excel error value")),
    Case("xlsx-date-as-serial-number", workbook(then=with_book(serial_date)), 2,
         ("patients row 1, column consent_date: value '45717'", "Excel date serial", "format the cells as dates")),
    # --- Parquet --------------------------------------------------------------------------
    # The letter-case hint where the IDs are read as categories (review 36C), and none for a blank ID.
    Case("parquet-patient-ids-are-case-sensitive-too", parquet_folder(lambda t: [
        set_arrow_column("labs", "patient_id",
                         pa.array(["p1", None, *t["labs"].column("patient_id").to_pylist()[2:]]))(t)]),
        2, ("labs row 1, column patient_id: value 'p1': no such patient: this patient_id is not in the patients table; "
            "the patients table has it in another letter case", "labs row 2, column patient_id: value '': blank, "
            "but required: expected an ID"), absent=("value '': no such patient",)),
    Case("parquet-wrong-dtypes",
         parquet_folder(lambda t: [set_arrow_column("patients", "consent_date", pa.array([20250301] * 3))(t),
                                   set_arrow_column("patients", "ecog", pa.array([True, False, None]))(t),
                                   set_arrow_column("labs", "collected_date",
                                                    pa.array([dt.datetime(2025, 2, 20, 8, 30)] * 21))(t)]), 2,
         ("patients row 1, column consent_date: value '20250301'", "not an ISO date",
          "patients row 1, column ecog: value 'true'", "not a number",
          "labs row 1, column collected_date", "has a time of day")),
    Case("parquet-nested-and-binary-columns",
         parquet_folder(lambda t: [set_arrow_column("patients", "sex", pa.array([[1], [2], None]))(t),
                                   set_arrow_column("patients", "ajcc_stage", pa.array([b"IV", b"\xff", None]))(t)]),
         # Refused as columns, whatever their cells (audit 42C: a list of agents, a text column, was read as
         # the text "['nivolumab' 'relatlimab']" and passed).
         2, ("patients, column sex: Parquet type list<element: int64> holds no single value per cell",
             "patients, column ajcc_stage: Parquet type binary holds no single value per cell")),
]


# ---------------------------------------------------------------------------------------
# Running a case


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The outputs of the clean dataset, for the cases that must screen exactly like it."""
    root = tmp_path_factory.mktemp("baseline")
    folder = write_csv_folder(root / "site_data", base_rows())
    assert main(["screen", str(folder), "--out", str(root / "out")]) == 0
    assert verdicts_of(root / "out") == EXPECTED
    return root / "out"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_refused(case: Case, status: int, stdout: str, stderr: str) -> None:
    assert status == 2, f"{case.id}: exit {status}\n{stdout}\n{stderr}"
    assert re.match(r"error: [\d,]+ problems? in the screening dataset", stderr), stderr[:2000]
    for word in case.words:
        assert word in stderr, f"{case.id}: {word!r} not in the message:\n{stderr[:5000]}"
    for word in case.absent:
        assert word not in stderr, f"{case.id}: {word!r} must not be in the message"
    assert len(stderr) <= MAX_MESSAGE_CHARS, f"{case.id}: message of {len(stderr)} characters"
    assert "wrote" not in stdout


def assert_valid_outputs(case: Case, data: Path, out: Path, baseline: Path) -> None:
    worklists = sorted(p.name for p in out.iterdir() if p.name.startswith("worklist-"))  # one per site
    fields = sorted(p.name for p in out.iterdir() if p.name.startswith("fields-"))  # one beside each worklist
    assert [name.removeprefix("fields-") for name in fields] == [name.removeprefix("worklist-") for name in worklists]
    assert sorted(p.name for p in out.iterdir() if p.name not in worklists + fields) == sorted(OUTPUTS)
    verdicts = pd.read_csv(out / "verdicts.csv", dtype=str, keep_default_na=False)
    assert list(verdicts.columns) == ["patient_id", "site_id", "verdict", "failed", "unknown", "waived"]
    patients = load_dataset(data).patients["patient_id"].tolist()
    assert sorted(verdicts["patient_id"]) == sorted(patients), "every patient exactly once"
    outcomes = pd.read_csv(out / "outcomes.csv", dtype=str, keep_default_na=False)
    assert list(outcomes.columns) == ["patient_id", "criterion_id", "outcome", "evidence"]
    assert len(outcomes) == len(patients) * len(schema.CRITERION_IDS)
    for name in (*OUTPUTS, *worklists):
        text = (out / name).read_text(encoding="utf-8")
        for secret in (*BIRTH_DATES.values(), *SECRETS, "1961", "1958"):
            assert secret not in text, f"{case.id}: {secret!r} leaked into {name}"
        frame = pd.read_csv(out / name, dtype=str, keep_default_na=False)
        for column in frame.columns:
            assert not frame[column].str.match(FORMULA_START).any(), (case.id, name, column)
    if case.check is not None:
        case.check(out, baseline)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_command_handles_the_case(case: Case, tmp_path: Path, baseline: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    data = case.build(tmp_path / "in")
    results = tmp_path / "results"
    results.mkdir()
    out = results / "out"
    status = main(["screen", str(data), "--out", str(out)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    if case.status == 0:
        assert status == 0, f"{case.id}: exit {status}\n{captured.err[:3000]}"
        # A valid dataset may earn notes (what the loader set aside) and a findings count, never an error,
        # and a note names columns or files, never their values.
        for line in captured.err.splitlines():
            assert line.startswith("note: ") or "data-quality finding" in line, line
        assert not any(secret in captured.err for secret in SECRETS + tuple(BIRTH_DATES.values()))
        assert_valid_outputs(case, data, out, baseline)
        return
    assert_refused(case, status, captured.out, captured.err)
    assert not out.exists(), "a refused dataset must not create the output folder"
    # An output folder from an earlier run is left exactly as it was.
    out.mkdir()
    (out / "verdicts.csv").write_text("patient_id,site_id,verdict,failed,unknown,waived\nOLD,mskcc,eligible,,,\n")
    (out / "notes.txt").write_text("kept\n")
    before = snapshot(results)
    assert main(["screen", str(data), "--out", str(out)]) == 2
    capsys.readouterr()
    assert snapshot(results) == before, "a refused dataset changed the output folder"
    assert [p.name for p in results.iterdir()] == ["out"], "a staging folder was left behind"


SUBPROCESS_CASES = [c for c in CASES if c.subprocess]


@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=[c.id for c in SUBPROCESS_CASES])
def test_python_dash_m_gives_the_same_status_and_no_traceback(case: Case, tmp_path: Path, baseline: Path) -> None:
    (tmp_path / "in").mkdir()
    data = case.build(tmp_path / "in")
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "lifileucel_analysis", "screen", str(data), "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert "Traceback" not in run.stdout + run.stderr, run.stderr[-3000:]
    if case.status == 0:
        assert run.returncode == 0, run.stderr[-3000:]
        assert_valid_outputs(case, data, out, baseline)
    else:
        assert_refused(case, run.returncode, run.stdout, run.stderr)
        assert not out.exists()


# ---------------------------------------------------------------------------------------
# Properties of the corpus and of cases the table cannot express


def test_the_corpus_is_large_and_its_ids_are_unique() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.status for c in CASES} == {0, 2}
    assert len(SUBPROCESS_CASES) >= 10


def test_ten_thousand_problems_stay_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Counts per kind and the first examples: a few dozen lines, not ten thousand."""
    data = csv_folder(many_bad_lab_rows(2000))(tmp_path)
    assert main(["screen", str(data), "--out", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("error: 10,000 problems in the screening dataset")
    counts = [line for line in lines if re.match(r"  - [\d,]+ x ", line)]
    assert len(counts) == 5 and all(line.startswith("  - 2,000 x labs.") for line in counts)
    assert sum(1 for line in lines if line.startswith("      e.g. ")) == 5 * 3
    assert len(lines) <= 25 and max(len(line) for line in lines) <= 300


def test_many_kinds_of_problem_are_capped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = csv_folder(every_cell_wrong(320))(tmp_path)
    assert main(["screen", str(data), "--out", str(tmp_path / "out")]) == 2
    message = capsys.readouterr().err
    lines = message.splitlines()
    assert len(lines) <= 1 + 30 * 4 + 1 and len(message) <= MAX_MESSAGE_CHARS
    assert re.search(r"and [\d,]+ more problems of 2 other kinds;", lines[-1]), lines[-1]


def test_the_same_day_conflict_is_a_data_quality_finding(tmp_path: Path) -> None:
    """The findings name the patient, the conflicting test and its least favourable result."""
    data = csv_folder(lab("P1", "anc", "800", "/uL", "2025-02-20"))(tmp_path)
    findings = screen(load_dataset(data)).findings
    assert findings[["patient_id", "table", "column"]].values.tolist() == [["P1", "labs", "value"]]
    # The day and both ends, so the site finds the rows (audit 22C): the baseline ANC that day is 1500 /uL.
    assert findings["finding"].iloc[0] == ("several anc results on the counting day (2025-02-20) disagree: 800 /uL "
                                           "(0.8 x10^9/L) and 1500 /uL (1.5 x10^9/L); which is the latest is not recorded")
    assert findings["value"].iloc[0] == "800 /uL"
    # The row cell is that row's, counted in the file as the other findings' rows are (audit 26A: blank).
    rows = pd.read_csv(data / "labs.csv", dtype=str)
    quoted = rows.index[(rows["patient_id"] == "P1") & (rows["value"] == "800")].tolist()
    assert findings["row"].tolist() == [quoted[0] + 1]


def test_a_conflict_of_a_result_without_a_test_names_that_row(tmp_path: Path) -> None:
    # A hemoglobin-unit row without a test (read as hemoglobin, the only test g/dL fits) disagreeing with the
    # baseline's 12.5 g/dL: the finding's row is the file row of the row without a test, whose value it quotes.
    data = csv_folder(lab("P1", "", "8", "g/dL", "2025-02-20"))(tmp_path)
    findings = screen(load_dataset(data)).findings
    conflict = findings[findings["finding"].str.contains("counting day")]
    rows = pd.read_csv(data / "labs.csv", dtype=str)
    untested = rows.index[(rows["patient_id"] == "P1") & rows["test"].isna()].tolist()
    assert conflict[["value", "row"]].values.tolist() == [["8 g/dL (test not recorded)", untested[0] + 1]]


def test_identical_same_day_results_are_not_a_conflict(tmp_path: Path) -> None:
    data = csv_folder(*(add_row("labs", like=i) for i in range(7)))(tmp_path)
    assert screen(load_dataset(data)).findings.empty


def test_non_contract_columns_are_dropped_with_a_note(tmp_path: Path) -> None:
    data = csv_folder(cells("patients", "ssn", SECRETS[0]), cells("patients", "name", SECRETS[1]))(tmp_path)
    dataset = load_dataset(data)
    assert list(dataset.patients.columns) == list(schema.TABLES["patients"].column_names)
    assert dataset.warnings == ("patients: ignored 2 columns not in the data contract: ssn, name",)
    assert not any(secret in note for note in dataset.warnings for secret in SECRETS)


def test_an_output_path_that_is_a_file_exits_1_without_a_traceback(tmp_path: Path) -> None:
    data = csv_folder()(tmp_path)
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should go\n")
    run = subprocess.run([sys.executable, "-m", "lifileucel_analysis", "screen", str(data), "--out", str(blocker)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith(f"error: cannot write {blocker}")
    assert blocker.read_text() == "a file where the output folder should go\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "site_data"], "a staging folder was left behind"


def test_birth_dates_and_extra_columns_never_reach_a_report_section(tmp_path: Path) -> None:
    """Every HTML section of the eligibility report, rendered in process, is free of them too."""
    import inspect

    from lifileucel_analysis.report.eligibility_report import EligibilityReport

    data = csv_folder(cells("patients", "ssn", SECRETS[0]), cells("patients", "name", SECRETS[1]),
                      cells("labs", "mrn", SECRETS[2]))(tmp_path)
    dataset = load_dataset(data)
    report = EligibilityReport.from_result(screen(dataset), dataset)
    rendered = []
    for name, method in inspect.getmembers(type(report), inspect.isfunction):
        if not name.startswith("_") and len(inspect.signature(method).parameters) == 1:
            section = getattr(report, name)()
            rendered.append(getattr(section, "_repr_html_", lambda: None)() or "")
    text = "".join(rendered)
    assert "screening log" in text.lower() or "P1" in text, "the sections were not rendered"
    for secret in (*BIRTH_DATES.values(), *SECRETS):
        assert secret not in text, f"{secret!r} reached the report"
    assert "birth_date" not in report.result.verdicts.columns and "birth_date" not in report.result.outcomes.columns


@pytest.mark.parametrize("extra", [
    lab("P1", "anc", "", "/uL", "2025-02-20"),  # a blank value
    lab("P1", "anc", "2", "", "2025-02-20"),  # a blank unit
    lab("P1", "anc", "500", "/uL", ""),  # no collected date
    lab("P1", "", "3000", "/uL", "2025-02-20"),  # no test
])
def test_a_conflict_beside_a_row_with_a_blank_quotes_no_wrong_row(tmp_path: Path, extra: Edit) -> None:
    # Review 22E (D1): with a blank row beside the two disagreeing ANC results, the finding quoted the
    # blank row as an end ("from (no value) to (no value)"). It then names the day only.
    data = csv_folder(lab("P1", "anc", "800", "/uL", "2025-02-20"), extra)(tmp_path)
    found = screen(load_dataset(data)).findings
    conflict = found.loc[found["finding"].str.contains("counting day"), "finding"].tolist()
    assert conflict == ["several anc results on the counting day (2025-02-20) disagree; which is the latest is not "
                        "recorded"] or conflict == [
        "several anc results on the counting day (2025-02-20) disagree: 800 /uL (0.8 x10^9/L) and 1500 /uL (1.5 "
        "10^9/L); which is the latest is not recorded"]
    assert not any(word in conflict[0] for word in ("no value", "not recorded)", "3000", "500 /uL"))
    # Its value and row are the least favourable of the two results that disagree, never the blank,
    # undated or unnamed row beside them (review 27: the row cell pointed at it).
    quoted = found.loc[found["finding"].str.contains("counting day"), ["value", "row"]].values.tolist()
    rows = pd.read_csv(data / "labs.csv", dtype=str, keep_default_na=False)
    at = rows.index[(rows["patient_id"] == "P1") & (rows["value"] == "800") & (rows["collected_date"] != "")]
    assert quoted == [["800 /uL", at[0] + 1]]
