"""Evidence building blocks on small hand-made tables (expected values written by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from lifileucel_analysis.engine.evidence import (
    DecisionListError, Part, Rule, Text, blank_fields, combine, decide, format_column, groups_of, iso_dates,
    join_nonempty, join_per_patient, joined_by_key, render,
)
from lifileucel_analysis.engine.outcome import CODE, Outcome

P, F, U = Outcome.PASS, Outcome.FAIL, Outcome.UNKNOWN


def texts(text: Text) -> list[str]:
    return text.materialize().to_pylist()


def part(codes: list[Outcome], evidence: list[str], needs: list[str] | None = None) -> Part:
    def as_text(values: list[str]) -> Text:
        return Text(pa.array(values, type=pa.large_string()), np.arange(len(values)))

    return Part(np.array([CODE[c] for c in codes], dtype=np.uint8), as_text(evidence),
                as_text(needs or [""] * len(codes)))


def test_format_column_reads_like_a_person_wrote_it() -> None:
    # Every digit as typed (a value rounded for show could read against its outcome: 1.4999 is
    # not "1.5 < 1.5", and 34.20000000000001 umol/L, above 2 mg/dL, is not "34.2").
    numbers = pd.Series([1500.0, 13.2, 0.125, 1.4999, 999.999999999999, 34.20000000000001, np.nan])
    assert format_column(numbers).to_pylist() == ["1500", "13.2", "0.125", "1.4999", "999.999999999999",
                                                  "34.20000000000001", "blank"]
    assert format_column(pd.Series([1, None], dtype="Int64")).to_pylist() == ["1", "blank"]
    assert format_column(pd.Series([True, False, None], dtype="boolean")).to_pylist() == ["yes", "no", "blank"]
    dates = pd.Series(pd.to_datetime(["2025-01-02", None])).astype("datetime64[s]")
    assert format_column(dates).to_pylist() == ["2025-01-02", "blank"]
    codes = pd.Series(["IV", None], dtype=pd.CategoricalDtype(["III", "IV"]))
    assert format_column(codes).to_pylist() == ["IV", "blank"]


def test_render_fills_only_the_selected_rows_and_keeps_constants_constant() -> None:
    values = {"ecog": pd.Series([0.0, 2.0, np.nan]), "max": 1}
    assert render("ECOG {ecog} > {max}", values, np.array([1, 2])).to_pylist() == ["ECOG 2 > 1", "ECOG blank > 1"]
    assert render("no brain metastases", values, np.array([0, 1])) == "no brain metastases"


def test_decide_first_match_wins_and_every_row_gets_its_rule() -> None:
    ecog = pd.Series([0.0, 2.0, np.nan, 1.0])
    result = decide(4, [
        Rule(ecog <= 1, P, "ECOG {ecog} <= {max}"),
        Rule(ecog > 1, F, "ECOG {ecog} > {max}"),
        Rule(True, U, "ECOG not recorded", "patients.ecog"),
    ], {"ecog": ecog, "max": 1})
    assert result.codes.tolist() == [CODE[P], CODE[F], CODE[U], CODE[P]]
    assert texts(result.evidence) == ["ECOG 0 <= 1", "ECOG 2 > 1", "ECOG not recorded", "ECOG 1 <= 1"]
    assert texts(result.needs) == ["", "", "patients.ecog", ""]


def test_decide_refuses_a_list_that_leaves_someone_undecided() -> None:
    with pytest.raises(DecisionListError, match="not total: 1 patient"):
        decide(2, [Rule(np.array([True, False]), P, "x")], {})


def test_combine_keeps_the_parts_that_explain_the_result() -> None:
    a = part([P, F, U, P], ["a0", "a1", "a2", "a3"], ["", "", "fa", ""])
    b = part([P, P, U, F], ["b0", "b1", "b2", "b3"], ["", "", "fb", ""])
    c = part([P, F, U, U], ["c0", "", "c2", "c3"], ["", "", "", "fc"])
    result = combine([a, b, c])
    assert result.codes.tolist() == [CODE[P], CODE[F], CODE[U], CODE[F]]
    # pass: every part; fail: the failing parts (c1 is empty, so skipped); unknown: the unknown parts
    assert texts(result.evidence) == ["a0; b0; c0", "a1", "a2; b2; c2", "b3"]
    assert texts(result.needs) == ["", "", "fa; fb", "fc"]


def test_combine_with_open_names_names_a_fail_s_unknown_parts_only() -> None:
    a = part([P, F, U, P, F], ["a0", "a1", "a2", "a3", "a4"])
    b = part([P, P, U, F, U], ["b0", "b1", "b2", "b3", "b4"])
    c = part([P, F, U, U, U], ["c0", "", "c2", "c3", "c4"])
    result = combine([a, b, c], open_names=["A", "B", "C"])
    assert result.codes.tolist() == [CODE[P], CODE[F], CODE[U], CODE[F], CODE[F]]
    # pass and unknown as without names; a fail adds the names of its unknown parts, in part order
    assert texts(result.evidence) == ["a0; b0; c0", "a1", "a2; b2; c2", "b3; undecided: C", "a4; undecided: B, C"]
    assert texts(combine([a, b, c]).evidence) == ["a0; b0; c0", "a1", "a2; b2; c2", "b3", "a4"]


def test_blank_fields_names_the_fields_to_collect_in_order() -> None:
    result = blank_fields({"patients.sex": np.array([True, False, False]),
                           "patients.pregnant": pd.Series([True, True, False])})
    assert result.to_pylist() == ["patients.sex; patients.pregnant", "patients.pregnant", ""]


def test_join_nonempty_skips_empty_pieces_without_stray_separators() -> None:
    # Every pattern of three pieces, each said or not: the separator only between said ones.
    a = pd.Series(["a", "a", "a", "a", "", "", "", ""], index=range(10, 18))
    b = pd.Series(["b", "b", "", "", "b", "b", "", ""], index=range(10, 18))
    c = pd.Series(["c", "", "c", "", "c", "", "c", ""], index=range(10, 18))
    joined = join_nonempty([a, b, c], "; ")
    assert joined.tolist() == ["a; b; c", "a; b", "a; c", "a", "b; c", "b", "c", ""]
    assert joined.index.tolist() == list(range(10, 18))


def test_join_per_patient_keeps_row_order_within_each_patient() -> None:
    pos = np.array([2, 0, 2, 2])
    result = join_per_patient(pos, pd.Series(["x", "y", "z", "w"]), 4, "; ")
    assert result.to_pylist() == ["y", "", "x; z; w", ""]
    assert join_per_patient(np.array([], dtype=np.int64), pd.Series([], dtype=str), 2).to_pylist() == ["", ""]


def test_joined_by_key_joins_only_the_keys_present_in_row_order() -> None:
    texts = np.array(["a", "b", "c", "d", "e"], dtype=object)
    joined = joined_by_key(np.array([57, 3, 57, 1_000_000, 57]), texts, "; ")
    assert joined.to_dict() == {3: "b", 57: "a; c; e", 1_000_000: "d"}
    assert joined_by_key(np.array([], dtype=np.int64), np.array([], dtype=object), ", ").empty


def test_groups_of_splits_rows_by_label_in_row_order() -> None:
    groups = {label: rows.tolist() for label, rows in groups_of(np.array([3, 0, 3, 1, 0]))}
    assert groups == {0: [1, 4], 1: [3], 3: [0, 2]}


def test_text_where_and_take() -> None:
    text = Text(pa.array(["same", "other"], type=pa.large_string()), np.array([0, 0, 1]))
    assert texts(text.where(np.array([True, False, True]))) == ["same", "", "other"]
    assert text.take(np.array([2, 0])).to_pylist() == ["other", "same"]
    assert text.nonempty().tolist() == [True, True, True]


def test_day_count_says_one_day_and_keeps_blanks_blank() -> None:
    from lifileucel_analysis.engine.evidence import day_count

    days = pd.Series([1, 0, 14, None, -1], dtype="Int64")
    assert day_count(days).to_pylist() == ["1 day", "0 days", "14 days", None, "-1 days"]


@pytest.mark.parametrize("unit", ["s", "ms", "ns"])
def test_iso_dates_are_each_date_s_isoformat_and_keep_blanks_and_the_index(unit: str) -> None:
    # Judged by Python's own date.isoformat, one date at a time, not by the vectorised code under test.
    rng = np.random.default_rng(7)
    days = np.datetime64("1899-12-01") + rng.integers(0, 200 * 366, 2_000)
    days = np.concatenate([days, np.array(["1900-01-01", "2099-12-31", "2024-02-29", "2000-02-29"],
                                          dtype="datetime64[D]")])
    dates = pd.Series(days.astype(f"datetime64[{unit}]"), index=pd.RangeIndex(3, 3 + len(days)))
    dates[rng.random(len(dates)) < 0.1] = pd.NaT
    got = iso_dates(dates)
    expected = ["(blank)" if pd.isna(d) else d.date().isoformat() for d in dates]
    assert got.index.equals(dates.index)
    assert got.isna().tolist() == dates.isna().tolist()
    assert got.fillna("(blank)").tolist() == expected
    assert (got + " x").where(dates.notna(), "blank").str.endswith((" x", "blank")).all()  # str dtype: + and where work
