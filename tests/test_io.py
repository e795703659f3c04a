"""write_tables: deterministic bytes in every format, exact CSV layout, atomic writing."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifileucel_analysis.contract import writing as tables_io
from lifileucel_analysis.contract import schema
from lifileucel_analysis.contract.writing import FIXED_TIMESTAMP, write_tables


def sample_tables() -> dict[str, pd.DataFrame]:
    patients = schema.coerce("patients", pd.DataFrame({
        "patient_id": ["P1", "P2"],
        "site_id": ["mskcc", "honorhealth"],
        "consent_date": ["2025-03-01", None],
        "ajcc_stage": ["IV", None],
        "ecog": [1, None],
        "life_expectancy_months": [6.0, 0.1 + 0.2],
        "resectable_lesion_cm": [2.0, 1e-7],
        "pregnant": ["no", None],
        "liver_metastases": ["yes", "no"],
    }))
    toxicities = schema.coerce("toxicities", pd.DataFrame({
        "patient_id": ["P1"], "term": ['colitis, "severe"'], "category": ["other"], "grade": [2], "ongoing": [None],
    }))
    return {"patients": patients, "toxicities": toxicities, "overrides": schema.empty_frame("overrides")}


def output_path(tmp_path: Path, fmt: str, name: str = "out") -> Path:
    return tmp_path / (f"{name}.xlsx" if fmt == "xlsx" else name)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_same_tables_give_byte_identical_files(tmp_path: Path, fmt: str) -> None:
    first = write_tables(sample_tables(), output_path(tmp_path / "a", fmt), fmt)
    second = write_tables(sample_tables(), output_path(tmp_path / "b", fmt), fmt)
    assert [p.name for p in first] == [p.name for p in second]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_rewriting_in_place_gives_the_same_bytes(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    write_tables(sample_tables(), path, "xlsx")
    before = path.read_bytes()
    write_tables(sample_tables(), path, "xlsx")
    assert path.read_bytes() == before


def test_xlsx_carries_no_time_of_writing(tmp_path: Path) -> None:
    """Zip entry times and workbook properties are fixed, whatever the clock says."""
    path = write_tables(sample_tables(), tmp_path / "book.xlsx", "xlsx")[0]
    archive = zipfile.ZipFile(path)
    assert {info.date_time for info in archive.infolist()} == {FIXED_TIMESTAMP.timetuple()[:6]}
    core = archive.read("docProps/core.xml").decode()
    assert core.count("2022-06-01T00:00:00Z") == 2
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    assert workbook.properties.created == FIXED_TIMESTAMP == workbook.properties.modified
    assert workbook.sheetnames == ["patients", "toxicities", "overrides"]


def test_xlsx_sheets_declare_their_size(tmp_path: Path) -> None:
    path = write_tables(sample_tables(), tmp_path / "book.xlsx", "xlsx")[0]
    sheet = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    assert b'<dimension ref="A1:AG3" />' in sheet


def test_xlsx_cells_have_natural_types(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = write_tables(sample_tables(), tmp_path / "book.xlsx", "xlsx")[0]
    sheet = load_workbook(path)["patients"]
    header = [c.value for c in sheet[1]]
    row = {name: cell for name, cell in zip(header, sheet[2], strict=True)}
    assert row["consent_date"].is_date and row["consent_date"].number_format == "yyyy-mm-dd"
    assert row["ecog"].value == 1 and row["pregnant"].value == "no" and row["ajcc_stage"].value == "IV"
    assert sheet.cell(3, header.index("consent_date") + 1).value is None


def test_xlsx_keeps_text_that_looks_like_a_formula(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    tables = {"toxicities": schema.coerce("toxicities", pd.DataFrame({"patient_id": ["P1"], "term": ["=1+1"]}))}
    path = write_tables(tables, tmp_path / "book.xlsx", "xlsx")[0]
    cell = load_workbook(path)["toxicities"]["B2"]
    assert cell.value == "=1+1" and cell.data_type == "s"


def test_csv_layout_is_exact(tmp_path: Path) -> None:
    tables = sample_tables()
    folder = tmp_path / "out"
    write_tables(tables, folder, "csv")
    raw = (folder / "patients.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
    lines = raw.decode("utf-8").split("\n")
    assert lines[0] == ",".join(schema.TABLES["patients"].column_names)
    assert lines[-1] == "" and len(lines) == 4
    row = dict(zip(lines[0].split(","), lines[1].split(","), strict=True))
    assert row["consent_date"] == "2025-03-01" and row["ecog"] == "1" and row["pregnant"] == "no"
    assert row["life_expectancy_months"] == "6" and row["resectable_lesion_cm"] == "2"
    assert row["liver_metastases"] == "yes" and row["sex"] == "" and row["ajcc_stage"] == "IV"
    second = dict(zip(lines[0].split(","), lines[2].split(","), strict=True))
    assert second["life_expectancy_months"] == "0.30000000000000004" and second["resectable_lesion_cm"] == "1e-07"
    assert second["ecog"] == "" and second["consent_date"] == ""
    assert (folder / "toxicities.csv").read_text() == (
        'patient_id,term,category,grade,ongoing\nP1,"colitis, ""severe""",other,2,\n')
    assert (folder / "overrides.csv").read_text() == "patient_id,criterion_id,approved_by,approved_date,reason\n"


def test_format_csv_column_handles_each_dtype() -> None:
    format_column = tables_io.format_csv_column
    assert format_column(pd.Series([1.5, np.nan, 3.0, 1e16])).tolist() == ["1.5", "", "3", "1e+16"]
    assert format_column(pd.Series([1, None], dtype="Int64")).tolist() == ["1", ""]
    assert format_column(pd.Series([True, None], dtype="boolean")).tolist() == ["yes", ""]
    dates = pd.Series(pd.to_datetime(["2025-01-02", None])).astype("datetime64[s]")
    assert format_column(dates).tolist() == ["2025-01-02", ""]
    assert format_column(pd.Series(["a", None], dtype=pd.CategoricalDtype(["a"]))).tolist() == ["a", ""]
    assert format_column(pd.Series([None, 2.0, True, "x"], dtype=object)).tolist() == ["", "2", "yes", "x"]


def test_parquet_uses_plain_arrow_types_without_pandas_metadata(tmp_path: Path) -> None:
    write_tables(sample_tables(), tmp_path / "out", "parquet")
    table = pq.read_table(tmp_path / "out" / "patients.parquet")
    types = dict(zip(table.schema.names, table.schema.types, strict=True))
    assert types["patient_id"] == pa.string() and types["site_id"] == pa.string()
    assert types["consent_date"] == pa.date32() and types["pregnant"] == pa.bool_()
    assert types["ecog"] == pa.int64() and types["life_expectancy_months"] == pa.float64()
    assert b"pandas" not in (table.schema.metadata or {})
    assert table.column("ecog").to_pylist() == [1, None]


def test_folder_write_replaces_tables_and_removes_stale_contract_files(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    write_tables(sample_tables(), folder, "csv")
    (folder / "README.md").write_text("kept\n")
    tables = sample_tables()
    del tables["overrides"]
    written = write_tables(tables, folder, "csv")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "patients.csv", "toxicities.csv"]
    assert written == [folder / "patients.csv", folder / "toxicities.csv"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_a_failure_leaves_nothing_half_written(tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out = output_path(tmp_path, fmt)
    broken = {"patients": sample_tables()["patients"], "toxicities": pd.DataFrame({"bad": [object()]})}

    def refuse(value: object) -> str:
        raise RuntimeError("cannot format")

    monkeypatch.setattr(tables_io, "_format_cell", refuse)
    with pytest.raises(RuntimeError):
        write_tables(broken, out, fmt)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_keeps_the_previous_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "out"
    write_tables(sample_tables(), folder, "csv")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def refuse(value: object) -> str:
        raise RuntimeError("cannot format")

    monkeypatch.setattr(tables_io, "_format_cell", refuse)
    changed = dict(sample_tables(), toxicities=pd.DataFrame({"bad": [object()]}))
    with pytest.raises(RuntimeError):
        write_tables(changed, folder, "csv")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_wrong_kind_of_output_path_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        write_tables(sample_tables(), tmp_path / "file", "csv")
    (tmp_path / "dir.xlsx").mkdir()
    with pytest.raises(IsADirectoryError):
        write_tables(sample_tables(), tmp_path / "dir.xlsx", "xlsx")
    with pytest.raises(ValueError, match="unknown format"):
        write_tables(sample_tables(), tmp_path / "x", "json")  # type: ignore[arg-type]


def test_written_files_are_readable_by_others(tmp_path: Path) -> None:
    written = write_tables(sample_tables(), tmp_path / "out", "csv") + write_tables(
        sample_tables(), tmp_path / "b.xlsx", "xlsx")
    for path in written:
        assert path.stat().st_mode & 0o044 == 0o044
    assert (tmp_path / "out").stat().st_mode & 0o055 == 0o055
