"""The yardstick: a plain DuckDB SQL program of the same verdict rules, no evidence, no worklist.

``python benchmarks/duckdb_yardstick.py DATASET OUT`` reads the five tables of a CSV or
Parquet folder, decides the 19 criteria per patient in SQL (the decision lists of
``docs/criteria.md``, as ``tests/reference.py`` spells them; limits from
``lifileucel_analysis/data/criteria_defaults.yaml``, drug classes from
``lifileucel_analysis/data/drug_classes.csv``), applies the waivers, and writes
``OUT/verdicts.csv`` (patient_id, verdict, failed, unknown, waived), patients in input
order. It validates nothing and explains nothing: it is what a competent analyst would
write in an afternoon, and what ``make bench`` times ``lifileucel-eap screen`` against.
Lab limits are compared in floating point (the engine and the reference compare the
typed decimals exactly), so a result typed exactly at a limit in another unit can differ;
the benchmark reports how many verdicts agree.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "lifileucel_analysis" / "data"
KINDS = {"int": "BIGINT", "number": "DOUBLE", "date": "DATE"}
FACTORS = {("anc", "/uL"): 1e-3, ("platelets", "/uL"): 1e-3, ("hemoglobin", "g/L"): 0.1,
           ("total_bilirubin", "umol/L"): 1 / 17.1}


NORMALISED = "regexp_replace(trim(lower(replace(replace({x}, '-', ' '), '_', ' '))), '\\s+', ' ', 'g')"
"""SQL for a drug name as compared: lower case, hyphens and underscores as spaces, spaces collapsed."""


def table_sql(folder: Path, name: str, columns: list[tuple[str, str]]) -> str:
    """A view of one table with the contract's types, from CSV text or typed Parquet."""
    parquet = folder / f"{name}.parquet"
    if parquet.exists():
        return f"CREATE VIEW {name} AS SELECT *, row_number() OVER () AS _row FROM read_parquet('{parquet}')"
    exprs = []
    for column, kind in columns:
        if kind == "yesno":
            exprs.append(f"CASE lower(trim({column})) WHEN 'yes' THEN true WHEN 'no' THEN false END AS {column}")
        elif kind in KINDS:
            exprs.append(f"TRY_CAST(NULLIF(trim({column}), '') AS {KINDS[kind]}) AS {column}")
        else:
            exprs.append(f"NULLIF(trim({column}), '') AS {column}")
    return (f"CREATE VIEW {name} AS SELECT {', '.join(exprs)}, row_number() OVER () AS _row "
            f"FROM read_csv('{folder / (name + '.csv')}', all_varchar=true, header=true)")


def program(p: dict[str, object]) -> str:
    """The criteria as SQL (``p``: the default limits)."""
    factor = " ".join(f"WHEN l.test = '{t}' AND l.unit = '{u}' THEN {f!r}" for (t, u), f in FACTORS.items())
    tri = "CASE WHEN bool_or({yes}) THEN 2 WHEN bool_and(d.drug_class IS NOT NULL AND t.agents IS NOT NULL) THEN 0 ELSE 1 END"
    return f"""
CREATE TEMP TABLE tf AS
WITH a AS (
  -- Names compared as the engine's dictionary does at its simplest: lower case, hyphens as spaces.
  SELECT t._row, {NORMALISED.format(x="x.agent")} AS agent FROM therapies t, unnest(string_split(t.agents, '+')) AS x(agent)
), c AS (
  SELECT t._row, t.patient_id, t.agents, t.line, t.setting, t.end_date, t.recurrence_date, t.stop_reason, t.best_response,
    {tri.format(yes="d.drug_class IN ('anti-pd-1', 'anti-pd-l1')")} AS pd1,
    {tri.format(yes="d.drug_class = 'adoptive-cell-transfer'")} AS act,
    {tri.format(yes="d.drug_class = 'braf-inhibitor'")} AS braf
  FROM therapies t LEFT JOIN a ON a._row = t._row LEFT JOIN drugs d ON d.agent = a.agent
  GROUP BY ALL
)
SELECT c.*, CASE WHEN setting = 'metastatic' THEN 2
  -- A blank setting counts for sure when it would as adjuvant too (a metastatic line always counts).
  WHEN setting IS NULL THEN CASE WHEN least(pd1, win) = 2 THEN 2 ELSE 1 END
  ELSE least(pd1, win) END AS counted
FROM (SELECT c.*, CASE
  -- A blank recurrence date: on therapy, or by the day of screening (consent, else NMA-LD).
  WHEN recurrence_date IS NULL THEN CASE WHEN end_date IS NULL THEN 2
    WHEN coalesce(p.consent_date, p.lymphodepletion_date)
         <= end_date + INTERVAL ({p['adjuvant_recurrence_months']}) MONTH THEN 2 ELSE 1 END
  WHEN end_date IS NOT NULL AND recurrence_date > end_date + INTERVAL ({p['adjuvant_recurrence_months']}) MONTH THEN 0
  ELSE 2 END AS win FROM c LEFT JOIN patients p ON p.patient_id = c.patient_id) c;

CREATE TEMP TABLE tp AS
SELECT patient_id,
  count(*) FILTER (WHERE counted = 2) AS sure, count(*) FILTER (WHERE counted >= 1) AS possible,
  bool_or(counted = 2 AND pd1 = 2) AS pd1_sure, bool_or(counted >= 1 AND pd1 >= 1) AS pd1_possible,
  arg_max_null(counted, line) FILTER (WHERE counted >= 1) AS last_counted,
  arg_max_null(setting, line) FILTER (WHERE counted >= 1) AS last_setting,
  arg_max_null(stop_reason, line) FILTER (WHERE counted >= 1) AS last_stop,
  arg_max_null(best_response, line) FILTER (WHERE counted >= 1) AS last_response,
  bool_or(braf = 2) AS braf_yes, bool_or(braf = 1) AS braf_maybe,
  bool_or(setting IN ('adjuvant', 'neoadjuvant') AND pd1 = 2) AS adjuvant_pd1,
  bool_or(act = 2) AS act_yes, bool_and(act = 0) AS act_none
FROM tf GROUP BY patient_id;

CREATE TEMP TABLE lc AS
WITH w AS (
  SELECT l.patient_id, l.test, l.collected_date,
    l.value * CASE {factor} ELSE 1.0 END / CASE WHEN l.test IN ('ast', 'alt') THEN l.uln ELSE 1.0 END AS v
  FROM labs l JOIN patients p ON p.patient_id = l.patient_id
  WHERE p.consent_date IS NOT NULL AND l.collected_date >= p.consent_date - INTERVAL ({p['lab_lookback_days']}) DAY
    AND (p.lymphodepletion_date IS NULL OR l.collected_date <= p.lymphodepletion_date)
), latest AS (SELECT patient_id, test, max(collected_date) AS day FROM w GROUP BY ALL)
SELECT w.patient_id,
  min(v) FILTER (WHERE w.test = 'anc') AS anc, max(v) FILTER (WHERE w.test = 'anc') AS anc_hi,
  min(v) FILTER (WHERE w.test = 'platelets') AS platelets, max(v) FILTER (WHERE w.test = 'platelets') AS platelets_hi,
  min(v) FILTER (WHERE w.test = 'hemoglobin') AS hemoglobin, max(v) FILTER (WHERE w.test = 'hemoglobin') AS hemoglobin_hi,
  max(v) FILTER (WHERE w.test = 'ast') AS ast, min(v) FILTER (WHERE w.test = 'ast') AS ast_lo,
  max(v) FILTER (WHERE w.test = 'alt') AS alt, min(v) FILTER (WHERE w.test = 'alt') AS alt_lo,
  max(v) FILTER (WHERE w.test = 'total_bilirubin') AS bili, min(v) FILTER (WHERE w.test = 'total_bilirubin') AS bili_lo,
  min(v) FILTER (WHERE w.test = 'creatinine_clearance') AS crcl,
  max(v) FILTER (WHERE w.test = 'creatinine_clearance') AS crcl_hi
FROM w JOIN latest USING (patient_id, test) WHERE w.collected_date = latest.day GROUP BY w.patient_id;

CREATE TEMP TABLE tx AS
SELECT patient_id, bool_or(m = 2) AS yes, bool_or(m = 1) AS maybe FROM (
  SELECT patient_id, CASE WHEN ongoing = false OR grade IN (1, 5) OR category IN ('endocrine', 'ocular', 'vitiligo') THEN 0
    WHEN ongoing = true AND grade IN (2, 3, 4) AND category = 'other' THEN 2 ELSE 1 END AS m FROM toxicities)
GROUP BY patient_id;

CREATE MACRO yn(x, if_yes, if_no) AS CASE WHEN x IS NULL THEN 'unknown' WHEN x THEN if_yes ELSE if_no END;
CREATE MACRO lo(v, lim) AS CASE WHEN v IS NULL THEN 'unknown' WHEN v >= lim THEN 'pass' ELSE 'fail' END;
CREATE MACRO hi(v, lim, wide, exc) AS CASE WHEN v IS NULL THEN 'unknown' WHEN v <= lim THEN 'pass'
  WHEN v > wide THEN 'fail' ELSE yn(exc, 'pass', 'fail') END;
-- Results of one day disagreeing: dates carry no time, so either may be the latest.
CREATE MACRO agree(a, b) AS CASE WHEN a = b THEN a ELSE 'unknown' END;
CREATE MACRO all_of(a, b, c, d, e, f, g) AS CASE WHEN 'fail' IN (a, b, c, d, e, f, g) THEN 'fail'
  WHEN 'unknown' IN (a, b, c, d, e, f, g) THEN 'unknown' ELSE 'pass' END;

CREATE TEMP TABLE o AS
SELECT p._row, p.patient_id,
  CASE WHEN ajcc_stage IS NULL THEN 'unknown' WHEN ajcc_stage = 'IV' THEN 'pass'
    WHEN ajcc_stage IN ('0', 'IA', 'IB', 'IIA', 'IIB', 'IIC', 'IIIA', 'IIIB') THEN 'fail'
    WHEN ajcc_stage IN ('IIIC', 'IIID') THEN yn(disease_unresectable, 'pass', 'fail')
    WHEN disease_unresectable = false THEN 'fail' ELSE 'unknown' END AS I1,
  all_of(
    CASE WHEN coalesce(possible, 0) < {p['min_prior_lines']} OR coalesce(sure, 0) > {p['max_prior_lines']} THEN 'fail'
      WHEN sure >= {p['min_prior_lines']} AND possible <= {p['max_prior_lines']} THEN 'pass' ELSE 'unknown' END,
    CASE WHEN pd1_sure THEN 'pass' WHEN NOT coalesce(pd1_possible, false) THEN 'fail' ELSE 'unknown' END,
    CASE WHEN last_counted IS NULL THEN 'fail' WHEN last_counted = 1 THEN 'unknown'
      WHEN last_setting IN ('adjuvant', 'neoadjuvant') THEN 'pass'
      WHEN last_stop IN ('progression', 'toxicity') OR last_response IN ('sd', 'pd') THEN 'pass'
      WHEN last_stop IS NULL OR last_response IS NULL THEN 'unknown' ELSE 'fail' END,
    CASE WHEN NOT {str(bool(p['require_braf_inhibitor_if_v600'])).lower()} THEN 'pass'
      WHEN braf_v600 = 'wildtype' OR coalesce(braf_yes, false) THEN 'pass'
      WHEN braf_v600 = 'mutant' AND NOT coalesce(braf_maybe, false) THEN 'fail' ELSE 'unknown' END,
    'pass', 'pass', 'pass') AS I2,
  CASE WHEN coalesce(adjuvant_pd1, false) THEN 'pass' ELSE 'not_applicable' END AS I3,
  CASE WHEN resectable_lesion_cm IS NULL THEN 'unknown' WHEN resectable_lesion_cm >= {p['min_lesion_cm']} THEN 'pass'
    ELSE 'fail' END AS I4,
  CASE WHEN birth_date IS NULL OR consent_date IS NULL THEN 'unknown'
    WHEN year(consent_date) - year(birth_date) - CASE WHEN month(consent_date) * 100 + day(consent_date)
      < month(birth_date) * 100 + day(birth_date) THEN 1 ELSE 0 END >= {p['min_age_years']} THEN 'pass'
    ELSE 'fail' END AS I5,
  CASE WHEN ecog > {p['max_ecog']} OR life_expectancy_months < {p['min_life_expectancy_months']} THEN 'fail'
    WHEN ecog IS NULL OR life_expectancy_months IS NULL THEN 'unknown' ELSE 'pass' END AS I6,
  all_of(agree(lo(anc, {p['min_anc_10e9_per_l']}), lo(anc_hi, {p['min_anc_10e9_per_l']})),
    agree(lo(platelets, {p['min_platelets_10e9_per_l']}), lo(platelets_hi, {p['min_platelets_10e9_per_l']})),
    agree(lo(hemoglobin, {p['min_hemoglobin_g_per_dl']}), lo(hemoglobin_hi, {p['min_hemoglobin_g_per_dl']})),
    agree(hi(ast, {p['max_ast_alt_x_uln']}, {p['max_ast_alt_x_uln_liver_metastases']}, liver_metastases),
         hi(ast_lo, {p['max_ast_alt_x_uln']}, {p['max_ast_alt_x_uln_liver_metastases']}, liver_metastases)),
    agree(hi(alt, {p['max_ast_alt_x_uln']}, {p['max_ast_alt_x_uln_liver_metastases']}, liver_metastases),
         hi(alt_lo, {p['max_ast_alt_x_uln']}, {p['max_ast_alt_x_uln_liver_metastases']}, liver_metastases)),
    agree(hi(bili, {p['max_bilirubin_mg_per_dl']}, {p['max_bilirubin_mg_per_dl_gilbert']}, gilbert_syndrome),
         hi(bili_lo, {p['max_bilirubin_mg_per_dl']}, {p['max_bilirubin_mg_per_dl_gilbert']}, gilbert_syndrome)),
    agree(lo(crcl, {p['min_creatinine_clearance_ml_per_min']}),
         lo(crcl_hi, {p['min_creatinine_clearance_ml_per_min']}))) AS I7,
  yn(alternative_therapy_available, 'fail', 'pass') AS I8,
  CASE WHEN organ_allograft = 'other' OR coalesce(act_yes, false) THEN 'fail'
    WHEN organ_allograft IN ('none', 'kidney') AND coalesce(act_none, true) THEN 'pass' ELSE 'unknown' END AS E1,
  CASE WHEN tx.yes THEN 'fail' WHEN tx.maybe THEN 'unknown' ELSE 'pass' END AS E2,
  CASE WHEN melanoma_subtype IS NULL THEN 'unknown' WHEN melanoma_subtype = 'uveal' THEN 'fail' ELSE 'pass' END AS E3,
  yn(hypersensitivity_to_regimen, 'fail', 'pass') AS E4,
  CASE WHEN brain_metastases = false THEN 'pass'
    WHEN brain_metastases AND (brain_metastases_treated = false OR brain_metastases_symptomatic = true
      OR lymphodepletion_date - brain_metastases_stable_since < {p['brain_metastases_stable_days']}) THEN 'fail'
    -- brain_metastases blank passes when "yes" would; NMA-LD blank comes after consent
    WHEN brain_metastases_treated AND NOT brain_metastases_symptomatic
      AND (lymphodepletion_date - brain_metastases_stable_since >= {p['brain_metastases_stable_days']}
        OR (lymphodepletion_date IS NULL
          AND consent_date - brain_metastases_stable_since >= {p['brain_metastases_stable_days']})) THEN 'pass'
    ELSE 'unknown' END AS E5,
  CASE WHEN steroid_mg_per_day IS NULL THEN 'unknown' WHEN steroid_mg_per_day > {p['max_steroid_mg_per_day']} THEN 'fail'
    ELSE 'pass' END AS E6,
  yn(active_medical_illness, 'fail', 'pass') AS E7,
  CASE WHEN syphilis_assay = 'positive' OR hiv_serology = 'positive' OR (hbv_serology = 'positive' AND hbv_pcr = 'detectable')
      THEN 'fail'
    WHEN syphilis_assay = 'negative' AND hiv_serology = 'negative'
      AND (hbv_serology = 'negative' OR hbv_pcr = 'undetectable') THEN 'pass'
    ELSE 'unknown' END AS E8,
  yn(primary_immunodeficiency, 'fail', 'pass') AS E9,
  CASE WHEN live_vaccine_date IS NULL THEN CASE WHEN live_vaccine_received = false THEN 'pass' ELSE 'unknown' END
    WHEN lymphodepletion_date IS NOT NULL THEN CASE WHEN lymphodepletion_date - live_vaccine_date BETWEEN 0
      AND {p['live_vaccine_window_days']} THEN 'fail' ELSE 'pass' END
    WHEN consent_date - live_vaccine_date > {p['live_vaccine_window_days']} THEN 'pass' ELSE 'unknown' END AS E10,
  CASE WHEN sex = 'male' THEN 'not_applicable' WHEN sex = 'female' AND (pregnant OR breastfeeding) THEN 'fail'
    WHEN sex = 'female' AND pregnant = false AND breastfeeding = false THEN 'pass' ELSE 'unknown' END AS E11
FROM patients p LEFT JOIN tp USING (patient_id) LEFT JOIN lc USING (patient_id) LEFT JOIN tx USING (patient_id);
"""


CRITERIA = ("I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8",
            "E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8", "E9", "E10", "E11")


def verdicts_sql(out: Path, has_overrides: bool) -> str:
    """Waivers applied, verdicts drawn, written as CSV in input order."""
    waived = (", ".join(f"CASE WHEN list_contains(w.ids, '{c}') THEN 'waived' ELSE {c} END AS {c}" for c in CRITERIA)
              if has_overrides else ", ".join(CRITERIA))
    join = ("LEFT JOIN (SELECT patient_id, list(criterion_id) AS ids FROM overrides GROUP BY ALL) w USING (patient_id)"
            if has_overrides else "")

    def ids(label: str) -> str:
        return "concat_ws(';', " + ", ".join(f"CASE WHEN {c} = '{label}' THEN '{c}' END" for c in CRITERIA) + ")"

    return f"""
COPY (
  WITH f AS (SELECT _row, patient_id, {waived} FROM o {join})
  SELECT patient_id,
    CASE WHEN 'fail' IN ({', '.join(CRITERIA)}) THEN 'ineligible' WHEN 'unknown' IN ({', '.join(CRITERIA)}) THEN 'pending'
      ELSE 'eligible' END AS verdict,
    {ids('fail')} AS failed, {ids('unknown')} AS unknown, {ids('waived')} AS waived
  FROM f ORDER BY _row
) TO '{out / "verdicts.csv"}' (HEADER, DELIMITER ',');
"""


def run(dataset: Path, out: Path) -> None:
    """Screen ``dataset`` in SQL and write ``out/verdicts.csv``."""
    import duckdb
    import yaml

    sys.path.insert(0, str(ROOT))
    from lifileucel_analysis.contract.schema import TABLES  # the column names and kinds only

    limits = {key: entry["value"] for key, entry in
              yaml.safe_load((DATA / "criteria_defaults.yaml").read_text(encoding="utf-8")).items()}
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    # One row per (normalised name, class): a fixed-dose combination lists its classes joined by ';'.
    con.execute("CREATE TABLE drugs AS SELECT DISTINCT " + NORMALISED.format(x="agent") + " AS agent, "
                f"trim(c.cls) AS drug_class FROM read_csv('{DATA / 'drug_classes.csv'}', header=true), "
                "unnest(string_split(drug_class, ';')) AS c(cls)")
    present = [n for n in TABLES if (dataset / f"{n}.parquet").exists() or (dataset / f"{n}.csv").exists()]
    for name in present:
        con.execute(table_sql(dataset, name, [(c.name, c.kind) for c in TABLES[name].columns]))
    con.execute(program(limits))
    con.execute(verdicts_sql(out, "overrides" in present))


if __name__ == "__main__":
    run(Path(sys.argv[1]), Path(sys.argv[2]))
