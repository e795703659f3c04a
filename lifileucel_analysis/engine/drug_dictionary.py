"""The drug dictionary: agent names as sites write them -> drug classes.

Names are normalised before lookup, on both sides, so that ``Keytruda``, ``talimogene
laherparepvec``, ``talimogene-laherparepvec``, ``Pembrolizumab 200 mg IV`` and
``cemiplimab-rwlc`` find their row. Normalisation (``docs/criteria.md``, "Drug
dictionary") is deliberately conservative: it only removes what cannot change which drug
is meant (case, trademark signs, a parenthesised remark, hyphens/underscores versus
spaces, a trailing dose with its unit, a trailing route or salt word, and an FDA
four-letter biologic suffix when the name without it is known). A bare trailing number is
kept (``interleukin 2``).

A row's ``drug_class`` may name several classes joined by ``;`` (fixed-dose combinations
such as Opdualag = nivolumab + relatlimab).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contract.dataset import DRUG_TABLE, ContractError, Problem

BRAND_SOURCE = r"^brand name on the FDA label \((.+)\)$"
"""A package row's ``source`` for a brand name, with the generic name(s) the label gives it."""
_DOSE = r"\d+(?:\.\d+)?\s*(?:mg/kg|mg/m2|mg/m\^2|mg|mcg|ug|µg|g|iu|miu|units?|ml)"
_WORDS = (r"iv|po|sc|intravenous|oral|subcutaneous|daily|bid|tid|q\d+w|q\d+d|mesylate|hydrochloride|hcl|"
          r"sulfate|sulphate|tosylate|citrate|besylate|maleate|phosphate|dimethyl sulfoxide")
_TRAILING = rf"(?:\s+(?:{_DOSE}|{_WORDS}))+$"


def normalise_names(names: pd.Series) -> pd.Series:
    """Normalise agent names for lookup (whole column, pandas string kernels).

    Parameters
    ----------
    names : pandas.Series of str
        Agent names as written (one agent each, not a ``+``-joined regimen).

    Returns
    -------
    pandas.Series of str
        Lower case, single spaces, no hyphens, no trailing dose/route/salt words.
    """
    text = names.astype("string").str.lower()
    text = text.str.replace(r"[®™©]", "", regex=True).str.replace(r"\([^)]*\)", " ", regex=True)
    text = text.str.replace(r"[-_]+", " ", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()
    return text.str.replace(_TRAILING, "", regex=True).str.strip()


def lookup_table(package: pd.DataFrame, extra: pd.DataFrame | None = None) -> dict[str, str]:
    """Normalised name -> class(es), the package rows extended by ``extra``.

    Parameters
    ----------
    package : DataFrame
        The package's rows (``agent``, ``drug_class``, ``source``), read and checked by
        :func:`lifileucel_analysis.contract.drug_file.package_drug_table`.
    extra : DataFrame, optional
        A site's own rows (``agent``, ``drug_class``; ``source`` optional), already read
        and checked (:func:`lifileucel_analysis.contract.drug_file.read_drug_file`). A
        site row for a name the package knows replaces the package's class.
    """
    tables = [package] + ([extra] if extra is not None and len(extra) else [])
    table = pd.concat([t[["agent", "drug_class"]] for t in tables], ignore_index=True)
    keys = normalise_names(table["agent"])
    classes = table["drug_class"].str.strip().str.lower()
    if len(tables) > 1:
        _refuse_two_classes(keys.iloc[len(package):], classes.iloc[len(package):], table["agent"].iloc[len(package):])
    return dict(zip(keys, classes))


def check_site_drugs(extra: pd.DataFrame, source: str = "") -> None:
    """Raise :class:`~lifileucel_analysis.contract.dataset.ContractError` (naming ``source``, the file) where a
    site's checked drug rows give one drug two classes; run as the file is read, before the dataset is."""
    _refuse_two_classes(normalise_names(extra["agent"]), extra["drug_class"].str.strip().str.lower(), extra["agent"],
                        source)


def changed_package_classes(package: pd.DataFrame, extra: pd.DataFrame) -> list[str]:
    """Each package drug whose class a site's rows (``extra``) change, as a note: ``lifileucel: cell
    therapy -> other``, in the site file's order.

    A site row replaces the package class on purpose (docs/criteria.md), but the change decides E1, I2
    and I3 for every patient given that drug: a site file saying ``lifileucel,other`` passed E1 for
    three demo patients without a word (audit 42C).

    Parameters
    ----------
    package : pandas.DataFrame
        The package's checked rows (``agent``, ``drug_class``).
    extra : pandas.DataFrame
        The site's checked rows (``agent``, ``drug_class``).

    Returns
    -------
    list of str
        One note per package drug the site's rows give another class (classes compared as sets).
    """
    known = pd.Series(class_set(package["drug_class"]).to_numpy(), index=normalise_names(package["agent"]).to_numpy())
    known = known[~known.index.duplicated()]
    site = pd.DataFrame({"key": normalise_names(extra["agent"]).to_numpy(), "agent": extra["agent"].to_numpy(),
                         "cls": class_set(extra["drug_class"]).to_numpy()}).drop_duplicates("key")
    was = known.reindex(site["key"]).to_numpy()
    changed = site[pd.notna(was) & (was != site["cls"].to_numpy())]
    return [f"{agent}: {old} -> {new}" for agent, old, new in  # a site file's few rows, not the cohort's
            zip(changed["agent"], known.reindex(changed["key"]), changed["cls"])]


def class_set(classes: pd.Series) -> pd.Series:
    """Each drug class string as one classification, however ordered, spaced or lettered: its classes,
    each once, sorted and joined by ";" (``"Anti-PD-1; anti-lag-3"`` -> ``"anti-lag-3;anti-pd-1"``; review 39R).
    A site file's few rows, not the cohort's."""
    return classes.str.lower().str.split(";").map(lambda parts: ";".join(sorted({p.strip() for p in parts})))


def _refuse_two_classes(keys: pd.Series, classes: pd.Series, agents: pd.Series, source: str = "") -> None:
    """Raise for a site file giving one drug (names equal once normalised) two different classes: the
    last row would win without a word (audit 39C: a conflicting row turned E1 to fail)."""
    frame = pd.DataFrame({"key": keys.to_numpy(), "cls": classes.to_numpy(), "agent": agents.to_numpy(),
                          "row": np.arange(1, len(keys) + 1)})
    first = frame.drop_duplicates("key").set_index("key").reindex(frame["key"])
    # The same classes in another order or spacing are the same classification (review 39R).
    clash = np.flatnonzero(class_set(frame["cls"]).to_numpy() != class_set(first["cls"]).to_numpy())
    if not len(clash):
        return
    raise ContractError([
        Problem(DRUG_TABLE, int(frame["row"].iloc[i]), "agent", frame["agent"].iloc[i],
                f"class {frame['cls'].iloc[i]!r}, but row {first['row'].iloc[i]} ({first['agent'].iloc[i]!r}, the same "
                f"drug) says {first['cls'].iloc[i]!r}: one class per drug (several joined by ';' for a combination)")
        for i in clash], source)


def classify_names(names: pd.Series, lookup: dict[str, str]) -> pd.Series:
    """The class string of each name (NA when unknown), after normalisation.

    A name not found as is but ending in a four-letter FDA biologic suffix
    (``cemiplimab-rwlc``) is looked up without it.
    """
    return classify_normalised(normalise_names(names), lookup)


def classify_normalised(keys: pd.Series, lookup: dict[str, str]) -> pd.Series:
    """:func:`classify_names` of names already normalised (:func:`normalise_names`)."""
    found = keys.map(lookup)
    stem = keys.str.replace(r" [a-z]{4}$", "", regex=True)
    return found.fillna(stem.map(lookup)).astype(object).where(lambda s: s.notna(), None)


def brand_generics(package: pd.DataFrame) -> dict[str, str]:
    """Normalised brand name -> the generic name(s) its FDA label gives, from the package rows whose
    ``source`` says so (``brand name on the FDA label (pembrolizumab)``): the contract asks sites for
    generic names, so a brand name is read but told to the site (a data-quality finding)."""
    generic = package["source"].astype("string").str.extract(BRAND_SOURCE, expand=False)
    brand = generic.notna().to_numpy(dtype=bool)
    return dict(zip(normalise_names(package["agent"][brand]), generic[brand]))
