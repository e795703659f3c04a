"""Reading a screening for the SDTM export: a ``screen`` output folder, checked, or a dataset screened here.

A result folder is read from the files ``screen`` wrote: ``verdicts.csv``, ``outcomes.csv`` (or
``.parquet``) and ``waivers.csv``. Each is checked (values, one row per patient, verdicts that
their outcomes give, waivers that match the waived outcomes), since an edited file would put a
patient in IE, or leave one out, on a screening that never happened.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..contract.csv_rows import FORMULA_PREFIXES
from ..contract.dataset import ScreeningDataset
from ..contract.messages import ShownAsMessage, counted, noun_for
from ..contract.schema import CRITERION_IDS
from ..contract.screen_output import CRITERIA_FILE, DATA_CUT_FILE, WAIVERS_COLUMNS, WAIVERS_FILE
from ..engine.outcome import LABELS as OUTCOMES
from ..engine.screening import VERDICTS, ScreeningResult, verdict_of
from ..engine.waivers import attribution
from .sdtm_subjects import subjects_of

__all__ = ["Screening", "SdtmInputError", "in_key_order", "is_result_folder", "load_screening", "read_result_folder",
           "refuse_other_criteria", "refuse_rows", "screening_from_result", "with_subjects_of"]


ID_LISTS: dict[str, str] = {"failed": "fail", "unknown": "unknown", "waived": "waived"}
"""The columns of ``verdicts.csv`` that list criteria, and the outcome of the criteria each lists."""


class SdtmInputError(ShownAsMessage, ValueError):
    """A screening result folder or a study ID that cannot be exported (exit status 2 in the CLI)."""


@dataclass(frozen=True)
class Screening:
    """What the SDTM domains need from a screening, whatever it was read from.

    Attributes
    ----------
    verdicts : DataFrame
        ``patient_id``, ``verdict``, ``assessed`` (ISO date of the screening or ``""``).
    outcomes : DataFrame
        ``patient_id``, ``criterion_id``, ``outcome``.
    waivers : DataFrame
        ``patient_id``, ``criterion_id``, ``approved`` (ISO date or ``""``), ``was`` (the
        outcome before the waiver: ``pass``, ``fail``, ``unknown``, ``not_applicable``).
    """

    verdicts: pd.DataFrame
    outcomes: pd.DataFrame
    waivers: pd.DataFrame
    subjects: pd.DataFrame | None = None
    """:func:`.sdtm_subjects.subjects_of` where the dataset was at hand (not from a result folder)."""
    criteria_checked: bool = True
    """False for a result folder without ``criteria_used.csv`` (screened before session 28): TI's criteria
    could not be checked against the screen's (:func:`refuse_other_criteria`)."""


def in_key_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by the SDTM keys: patient ID (hence USUBJID), then criterion order.

    The input's row order (a re-sorted extract, a REDCap export) must not change the files.
    """
    keyed = frame.assign(_criterion=pd.Index(CRITERION_IDS).get_indexer(frame["criterion_id"]))
    return keyed.sort_values(["patient_id", "_criterion"], kind="stable").drop(columns="_criterion")


def screening_from_result(result: ScreeningResult) -> Screening:
    """Return the SDTM inputs of an in-memory screening result."""
    consent = result.verdicts["consent_date"]
    # One deviation per waived criterion, as the outcomes file gives it: a criterion waived in two
    # rows is one waiver, dated by the row its evidence cites (the first of its cell in the table).
    waivers = result.waivers.drop_duplicates(["patient_id", "criterion_id"])
    return Screening(
        verdicts=pd.DataFrame({"patient_id": result.verdicts["patient_id"].astype(str),
                               "verdict": result.verdicts["verdict"].astype(str),
                               "assessed": consent.dt.strftime("%Y-%m-%d").fillna("")}),
        outcomes=result.outcomes[["patient_id", "criterion_id", "outcome"]].astype(str),
        waivers=pd.DataFrame({"patient_id": waivers["patient_id"].astype(str),
                              "criterion_id": waivers["criterion_id"].astype(str),
                              "approved": waivers["approved_date"].dt.strftime("%Y-%m-%d").fillna(""),
                              "was": waivers["original_outcome"].astype(str)}),
    )


def read_result_folder(folder: Path) -> Screening:
    """Read the ``verdicts.csv``, ``outcomes.csv`` (or ``.parquet``) and ``waivers.csv`` that ``screen`` wrote.

    The waivers' approval dates and replaced outcomes come from ``waivers.csv``, not from the
    waived sentences: a sentence holds the site's text (reason, approver, toxicity terms), which
    can read like the package's own words (review 23B: a term "rash (was pass: none)" left a
    waived fail out of IE).

    Raises
    ------
    SdtmInputError
        Naming the file, row, column and value of the first problems found.
    """
    verdicts = _read_table(folder / "verdicts.csv", ("patient_id", "verdict", *ID_LISTS))
    found = [folder / name for name in ("outcomes.csv", "outcomes.parquet") if (folder / name).is_file()]
    if len(found) != 1:
        raise SdtmInputError(f"{folder}: expected one of outcomes.csv or outcomes.parquet beside verdicts.csv, "
                             f"found {len(found)}")
    outcomes = _read_table(found[0], ("patient_id", "criterion_id", "outcome", "evidence"))
    _check_values(verdicts, "verdict", VERDICTS, folder / "verdicts.csv")
    _check_values(outcomes, "criterion_id", CRITERION_IDS, found[0])
    _check_values(outcomes, "outcome", OUTCOMES, found[0])
    twice = verdicts["patient_id"].duplicated()
    refuse_rows(twice, verdicts["patient_id"], folder / "verdicts.csv", "patient_id",
                "appears twice: one row per patient")
    stray = ~outcomes["patient_id"].isin(verdicts["patient_id"])
    refuse_rows(stray, outcomes["patient_id"], found[0], "patient_id", "no such patient in verdicts.csv")
    # Each outcome row's patient (row of verdicts.csv) and criterion as integers, read once: the checks
    # count and compare them, not 9.5 million joined texts (review 28b: 10 s at 500,000 patients).
    at = pd.Index(verdicts["patient_id"]).get_indexer(outcomes["patient_id"])
    criterion = pd.Index(CRITERION_IDS).get_indexer(outcomes["criterion_id"]).astype(np.int64)
    _refuse_outcomes_not_one_per_criterion(verdicts, outcomes, at, criterion, folder / "verdicts.csv", found[0])
    _refuse_verdicts_the_outcomes_contradict(verdicts, outcomes, folder / "verdicts.csv")
    _refuse_id_lists_the_outcomes_contradict(verdicts, outcomes, at, criterion, folder / "verdicts.csv")
    waivers = _read_waivers(folder / WAIVERS_FILE, outcomes, found[0])
    return Screening(
        verdicts=verdicts.assign(assessed="")[["patient_id", "verdict", "assessed"]],
        outcomes=outcomes[["patient_id", "criterion_id", "outcome"]],
        waivers=pd.DataFrame({"patient_id": waivers["patient_id"], "criterion_id": waivers["criterion_id"],
                              "approved": waivers["approved_date"], "was": waivers["original_outcome"]}),
    )


def _read_waivers(path: Path, outcomes: pd.DataFrame, outcomes_path: Path) -> pd.DataFrame:
    """The first row of each waived criterion in ``waivers.csv`` (the one its sentence cites), checked
    against the outcomes: every waived outcome has its rows, and every row is of a waived outcome."""
    is_waived = (outcomes["outcome"] == "waived").reset_index(drop=True)
    if not path.is_file():
        if not is_waived.any():
            return pd.DataFrame(columns=list(WAIVERS_COLUMNS))
        waived = counted(int(is_waived.sum()), "outcome is", "outcomes are")
        raise SdtmInputError(f"{path}: no such file, and {waived} waived: screen the dataset again "
                             f"with this version, which writes {WAIVERS_FILE} beside the outcomes")
    rows = _read_table(path, WAIVERS_COLUMNS)
    _check_values(rows, "criterion_id", CRITERION_IDS, path)
    _check_values(rows, "original_outcome", tuple(label for label in OUTCOMES if label != "waived"), path)
    day = pd.to_datetime(rows["approved_date"], format="%Y-%m-%d", errors="coerce")
    refuse_rows(day.isna() & (rows["approved_date"] != ""), rows["approved_date"], path, "approved_date",
                "expected a date YYYY-MM-DD or a blank")
    cell = rows["patient_id"] + "\t" + rows["criterion_id"]
    outcome_cell = (outcomes["patient_id"] + "\t" + outcomes["criterion_id"]).reset_index(drop=True)
    refuse_rows(~cell.isin(outcome_cell[is_waived]), rows["criterion_id"], path, "criterion_id",
                f"this patient's criterion is not waived in {outcomes_path.name}")
    refuse_rows(is_waived & ~outcome_cell.isin(cell), outcomes["criterion_id"].reset_index(drop=True), outcomes_path,
                "criterion_id", f"waived, but {WAIVERS_FILE} has no row of this patient's waiver")
    firsts = ~cell.duplicated()
    first = rows[firsts].reset_index(drop=True)
    sentence = outcomes["evidence"].reset_index(drop=True)[is_waived].set_axis(outcome_cell[is_waived])
    mismatch = pd.Series(False, index=rows.index)
    mismatch[firsts] = ~_as_the_sentence_says(first, sentence.loc[cell[firsts]].to_numpy())
    refuse_rows(mismatch, rows["criterion_id"], path, "criterion_id",
                f"this waiver (the first row of its criterion) does not match the waived outcome's sentence in "
                f"{outcomes_path.name} in approved_by, approved_date, original_outcome or original_evidence: screen "
                "the dataset again")
    return first


def _as_the_sentence_says(first: pd.DataFrame, sentences: np.ndarray) -> np.ndarray:
    """Per waiver row, whether the waived outcome's sentence begins with its approver and date and
    ends with the outcome and sentence it replaced, as ``screen`` writes them: a hand-edited row
    (a pass made a fail, another date) would put a criterion in IE, or date a deviation, that no
    screen gave (review 23E). A cell the CSV writer quoted (a leading ``=``) is compared both ways."""
    def spellings(value: str) -> tuple[str, ...]:
        return (value, _unquoted(value))

    def blank_as_na(column: str) -> pd.Series:
        values = first[column].astype(object)
        return values.where(values.notna() & (values != ""))

    who, when = blank_as_na("approved_by"), blank_as_na("approved_date")
    said = [attribution(w, when) for w in (who, who.map(_unquoted, na_action="ignore"))]  # as written, unquoted
    agree = []
    for i, (sentence, was, replaced) in enumerate(zip(sentences, first["original_outcome"],
                                                      first["original_evidence"])):
        agree.append(any(str(sentence).startswith(f"waived {by_on.iloc[i]}: ") for by_on in said)
                     and any(str(sentence).endswith(f" (was {was}: {text})") for text in spellings(replaced)))
    return np.array(agree, dtype=bool)


def _refuse_outcomes_not_one_per_criterion(verdicts: pd.DataFrame, outcomes: pd.DataFrame, at: np.ndarray,
                                           criterion: np.ndarray, verdicts_path: Path, outcomes_path: Path) -> None:
    """Each patient must have exactly one outcome row per criterion of the catalog, as ``screen`` writes
    them: a duplicated row gave IE two records of one criterion (a duplicate USUBJID + IETESTCD key), and
    a deleted one dropped a failed criterion from IE while ``verdicts.csv`` still named it (review 28).
    ``at``, ``criterion``: each outcome row's patient (row of ``verdicts``) and criterion position."""
    cell = pd.Series(at.astype(np.int64) * len(CRITERION_IDS) + criterion)
    refuse_rows(cell.duplicated(), outcomes["criterion_id"], outcomes_path, "criterion_id",
                "a second row of this patient's criterion: one outcome row per patient and criterion")
    rows = np.bincount(at, minlength=len(verdicts))
    short = pd.Series(rows != len(CRITERION_IDS), index=verdicts.index)
    if short.any():
        first = int(np.flatnonzero(short.to_numpy())[0])
        patient = verdicts["patient_id"].iloc[first]
        present = set(outcomes.loc[outcomes["patient_id"] == patient, "criterion_id"])
        missing = [c for c in CRITERION_IDS if c not in present]
        refuse_rows(short, verdicts["patient_id"], verdicts_path, "patient_id",
                    f"expected one row in {outcomes_path.name} per criterion ({len(CRITERION_IDS)}: "
                    f"{', '.join(CRITERION_IDS)}); the first such patient has {rows[first]}, without "
                    f"{', '.join(missing)}: screen the dataset again")


def _refuse_id_lists_the_outcomes_contradict(verdicts: pd.DataFrame, outcomes: pd.DataFrame, at: np.ndarray,
                                             criterion: np.ndarray, path: Path) -> None:
    """``failed``, ``unknown`` and ``waived`` must name the patient's criteria of that outcome, ``;``-joined in
    catalog order, as ``screen`` writes them: a list that disagrees with the outcomes says the file was edited
    (review 28: an outcome row deleted left ``failed = I6;E3`` beside an IE without E3)."""
    bit = np.int64(1) << criterion
    for column, outcome in ID_LISTS.items():
        rows = (outcomes["outcome"] == outcome).to_numpy()
        bits = np.bincount(at[rows], weights=bit[rows], minlength=len(verdicts)).astype(np.int64)
        patterns, inverse = np.unique(bits, return_inverse=True)
        spelt = np.array([";".join(c for j, c in enumerate(CRITERION_IDS) if (int(p) >> j) & 1) for p in patterns],
                         dtype=object)
        expected = spelt[inverse]
        refuse_rows(pd.Series(verdicts[column].to_numpy() != expected), verdicts[column], path, column,
                    f"does not list the patient's criteria whose outcome is {outcome} in the outcomes file "
                    "(their IDs joined by ';' in catalog order, blank for none)")


def _refuse_verdicts_the_outcomes_contradict(verdicts: pd.DataFrame, outcomes: pd.DataFrame, path: Path) -> None:
    """Each verdict must be what its outcomes give (spec section 2): ``ineligible`` with a failed
    criterion, else ``pending`` with an unknown one, else ``eligible``; an edited file would
    put a patient in IE, or leave one out, on a verdict no screen gave (audit, session 16)."""
    ids = verdicts["patient_id"]
    fails = ids.isin(outcomes.loc[outcomes["outcome"] == "fail", "patient_id"]).to_numpy()
    unknowns = ids.isin(outcomes.loc[outcomes["outcome"] == "unknown", "patient_id"]).to_numpy()
    expected = pd.Series(verdict_of(fails, unknowns), index=verdicts.index)
    refuse_rows(verdicts["verdict"] != expected, verdicts["verdict"], path, "verdict",
                "contradicts the patient's outcomes (a failed criterion: ineligible; else an unknown one: pending; "
                "else eligible)")


def is_result_folder(source: Path) -> bool:
    """Whether ``source`` is a ``screen`` output folder (it holds ``verdicts.csv``), not a dataset."""
    return source.is_dir() and (source / "verdicts.csv").is_file()


def load_screening(source: Path, criteria: str | Path | None = None, dataset: Path | None = None) -> Screening:
    """Read a ``screen`` output folder, or load and screen a dataset (with ``criteria``).

    ``dataset``: for a result folder, the dataset it was screened from, read for the subjects
    (DM, SUPPDM) and the consent dates (IEDTC) a result folder does not carry; its patients must
    be the folder's (:func:`with_subjects_of`).

    Raises
    ------
    SdtmInputError
        For a result folder that cannot be read, ``dataset`` beside a dataset, or a dataset whose
        patients are not the folder's.
    ContractError
        For a dataset that breaks the data contract.
    """
    from ..contract.loading import load_dataset

    if is_result_folder(source):
        screening = replace(read_result_folder(source), criteria_checked=refuse_other_criteria(source, criteria))
        return screening if dataset is None else with_subjects_of(screening, _at_the_folders_cut(source,
                                                                                                 load_dataset(dataset)),
                                                                  dataset)
    if dataset is not None:
        raise SdtmInputError(f"--dataset {dataset}: only with a screen output folder; {source} is itself a dataset")
    from ..engine.parameters import load_params
    from ..engine.screening import screen

    loaded = load_dataset(source)
    return replace(screening_from_result(screen(loaded, load_params(criteria))), subjects=subjects_of(loaded))


def refuse_other_criteria(folder: Path, criteria: str | Path | None) -> bool:
    """A result folder is exported with the criteria it was screened with: TI's rules and version come from
    ``criteria``, IE, DV and DM from the folder (review 28: a what-if screen exported with the default
    criteria gave a TI contradicting IE). Checked against the folder's ``criteria_used.csv``, which
    ``screen`` writes since session 28; an older folder has none, and is exported as given (the command
    says so).

    Returns
    -------
    bool
        True when the criteria were checked; False for a folder without ``criteria_used.csv``.

    Raises
    ------
    SdtmInputError
        Naming the file, the item, what the folder recorded and what ``criteria`` gives.
    """
    path = folder / CRITERIA_FILE
    if not path.is_file():
        return False
    from ..engine.parameters import load_params
    from .criteria_catalog import CHECKED_ITEMS, DRUG_ITEMS, criteria_record

    given = criteria_record(load_params(criteria), criteria).set_index("item")["value"]
    # Drugs are not TI's business; criteria_off is checked where recorded (a folder before session 39 has none).
    recorded = _read_items(path, CHECKED_ITEMS, only=True, optional=("criteria_off", *DRUG_ITEMS))
    # The CSV writer quotes a text a spreadsheet would run as a formula ("-draft 2" as "'-draft 2").
    # A version that begins with a quote and a formula sign is ambiguous: either spelling is the one written.
    checked = ["params_sha256", "criteria_version"] + (["criteria_off"] if "criteria_off" in recorded.index else [])
    for item in checked:
        if given[item] not in (recorded[item], _unquoted(recorded[item])):
            raise SdtmInputError(
                f"{path}: item {item} is {recorded[item]!r} (screened with {recorded['parameters_file']!r}), "
                f"but the criteria given ({given['parameters_file']!r}) have {given[item]!r}; TI would contradict IE "
                "and DM: pass --criteria with the file screen was given")
    return True


def _read_items(path: Path, required: tuple[str, ...], only: bool = False, optional: tuple[str, ...] = ()) -> pd.Series:
    """An ``item``, ``value`` file that ``screen`` writes (``criteria_used.csv``, ``data_cut.csv``): values by
    item, each item once, every one of ``required`` present with a value (``only``: and no other item but
    ``optional`` ones).

    Raises
    ------
    SdtmInputError
        Naming the row of an item written twice (or unknown), or the items missing.
    """
    table = _read_table(path, ("item", "value"))
    items = table["item"]
    bad = items.duplicated() | (~items.isin(required + optional) if only else False)
    allowed = f"expected each of {', '.join(required)} once" if only else "expected each item once"
    allowed += f" (and {', '.join(optional)} at most once)" if optional else ""
    refuse_rows(bad, items, path, "item", f"{allowed}, as screen writes them")
    values = pd.Series(table["value"].to_numpy(), index=items.to_numpy())
    missing = [item for item in required if values.get(item, "") == ""]
    if missing:
        raise SdtmInputError(f"{path}: no row for {noun_for(len(missing), 'item')} {', '.join(missing)} with a value; "
                             "expected the file screen wrote")
    return values


def _unquoted(value: str) -> str:
    """A cell as written before the CSV writer's formula quote (``'-draft 2`` -> ``-draft 2``)."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES) else value


def _at_the_folders_cut(folder: Path, dataset: ScreeningDataset) -> ScreeningDataset:
    """The dataset as the folder's screen read it: at its data cut (``data_cut.csv``), if it had one, so
    that the patients consented after the cut, which it set aside, are not refused as strangers (review
    28b: a cut screen's folder could not be exported with ``--dataset``)."""
    path = folder / DATA_CUT_FILE
    if not path.is_file():
        return dataset
    from ..contract.data_cut import apply_cut, parse_cut_date

    items = _read_items(path, ("cut_date",))
    try:
        cut_date = parse_cut_date(items["cut_date"])
    except ValueError as error:
        raise SdtmInputError(f"{path}: item cut_date: {error}") from None
    cut, account = apply_cut(dataset, cut_date)
    # The dataset must be the one screened: the same cut of another week's extract counts otherwise
    # (review 28c: a later extract with the same patients by the cut was accepted).
    for item, value in account.rows():
        if items.get(item) != value:
            raise SdtmInputError(f"{path}: item {item} is {items.get(item)!r}, but the dataset given at that cut has "
                                 f"{value!r}: give the dataset this folder was screened from")
    return cut


def with_subjects_of(screening: Screening, dataset: ScreeningDataset, path: Path) -> Screening:
    """A result folder's screening with the subjects and consent dates of the dataset it was screened from.

    The dataset must hold exactly the folder's patients: another week's extract would give subjects
    to a screening that never saw them (the first few IDs on either side are named).
    """
    subjects = subjects_of(dataset)
    ids, theirs = set(screening.verdicts["patient_id"]), set(subjects["patient_id"])
    if ids != theirs:
        only_folder, only_dataset = sorted(ids - theirs)[:5], sorted(theirs - ids)[:5]
        raise SdtmInputError(f"--dataset {path}: its patients are not the screen folder's (only in verdicts.csv: "
                             f"{only_folder or 'none'}; only in the dataset: {only_dataset or 'none'}); give the "
                             "dataset the folder was screened from")
    consent = subjects.set_index("patient_id")["consent"]
    verdicts = screening.verdicts.assign(assessed=screening.verdicts["patient_id"].map(consent).to_numpy())
    return replace(screening, verdicts=verdicts, subjects=subjects)


def _read_table(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path).astype(str)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise SdtmInputError(f"{path}: no such file") from None
    except (OSError, ValueError) as error:
        raise SdtmInputError(f"{path}: cannot be read ({error})") from None
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise SdtmInputError(f"{path}: missing {noun_for(len(missing), 'column')} {', '.join(missing)}; "
                             "expected the file `screen` wrote")
    return frame


def _check_values(frame: pd.DataFrame, column: str, allowed: tuple[str, ...], path: Path) -> None:
    refuse_rows(~frame[column].isin(allowed), frame[column], path, column, "expected one of " + ", ".join(allowed))


def refuse_rows(bad: pd.Series, values: pd.Series, path: Path, column: str, message: str) -> None:
    """Raise :class:`SdtmInputError` naming the file, the first three rows where ``bad`` holds, ``column``,
    their values and ``message`` (what is allowed); nothing where no row is bad."""
    rows = np.flatnonzero(bad.to_numpy())
    if rows.size:
        shown = "; ".join(f"row {r + 1}, column {column}: value {values.iloc[r]!r}" for r in rows[:3])
        more = f" (and {rows.size - 3} more)" if rows.size > 3 else ""
        raise SdtmInputError(f"{path}: {shown}{more}: {message}")
