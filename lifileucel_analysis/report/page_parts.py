"""The parts every report page opens with: header, links between pages, downloads, legend.

A page starts with what its reader came for: how current the data are, the key figures,
who needs action, where to go next (the site summary, its eligibility report, the
program overview, the index) and the files to take away; a legend of criterion IDs and
abbreviations follows. Parameters and provenance are an appendix at the end.

Links are relative to the page's place in a build (``<notebook>/<name>.html``), so a
build folder can be moved or zipped as a whole.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Mapping

import pandas as pd

from ..contract.messages import counted, noun_for
from ..contract.schema import ALL_SITES, SITE_IDS, SITES
from ..engine.catalog import CATALOG, criterion_labels
from ..engine.parameters import ParamsError
from ..engine.screening import VERDICTS
from .downloads import DOWNLOAD_FORMATS, DOWNLOAD_KINDS, download_name
from .html_tables import HtmlTable, Markup
from .oversight import FLAG_PLURALS

PAGES_WITH_WORKLIST: tuple[str, ...] = ("site_summary", "eligibility_report")
"""Pages that show the pending worklist (the program overview points to its download)."""
ABBREVIATIONS: dict[str, str] = {
    "NMA-LD": "non-myeloablative lymphodepletion (the conditioning before lifileucel)",
    "ECOG": "Eastern Cooperative Oncology Group performance status",
    "ULN": "upper limit of normal",
    "ANC": "absolute neutrophil count",
    "AST / ALT": "aspartate / alanine aminotransferase",
    "HIV, HBV": "human immunodeficiency virus, hepatitis B virus",
    "PCR": "polymerase chain reaction: the test of the hepatitis B virus's genes in the blood (detectable or not)",
    "AJCC": "American Joint Committee on Cancer: its 8th edition's stage groups",
    "PD-(L)1": "programmed death (ligand) 1: the anti-PD-1 or anti-PD-L1 therapy the program requires",
    "BRAF V600": "a mutation of the BRAF gene, treated with BRAF (+/- MEK) inhibitors",
    "MEK": "mitogen-activated protein kinase kinase (MEK inhibitors are given with BRAF inhibitors)",
    "TIL": "tumor-infiltrating lymphocytes: lifileucel is made of the patient's own",
    "cr, pr, sd, pd, ne": "RECIST best response: complete, partial response, stable, progressive disease, not evaluable",
    "RECIST": "Response Evaluation Criteria in Solid Tumors",
    "CI": "confidence interval (95%, Wilson score)",
    "Q1, Q3": "first and third quartiles (Table 1: median [Q1,Q3])",
    "LDH": "lactate dehydrogenase",
    "I1-I8, E1-E11": "inclusion and exclusion criteria of the registry record, in its order",
}


def _a(href: str, text: str) -> str:
    return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'


def related_pages(site: str, page: str) -> list[tuple[str, str]]:
    """(relative link, title) of the pages related to ``page`` of ``site``, itself excluded."""
    links = [("../index.html", "All reports")]
    if site != ALL_SITES:
        links += [(f"../site_summary/{site}.html", f"Site summary, {site}"),
                  (f"../eligibility_report/{site}.html", f"Eligibility report, {site}")]
    else:
        links.append(("../eligibility_report/all.html", "Eligibility report, all sites"))
        links += [(f"../site_summary/{code}.html", f"Site summary, {code}") for code in SITES]
    links.append(("../program_overview/all.html", "Program overview"))
    own = f"../{page}/{site}.html"
    return [(href, title) for href, title in links if href != own]


def check_site(site: str, page: str = "") -> None:
    """Raise :class:`ParamsError` (a ``ValueError``) unless ``site`` is a site code or ``"all"``.

    The message suggests the closest code: ``'mskc'`` or ``'MSKCC'`` -> ``did you mean 'mskcc'?``;
    for a site summary (``page``) it offers the site codes only, since it refuses ``"all"``
    (:func:`check_page_site`; review 29E: it offered "or 'all'", then refused it).
    """
    if site != ALL_SITES and site not in SITES:
        allowed = SITE_IDS if page == "site_summary" else (*SITE_IDS, ALL_SITES)
        close = difflib.get_close_matches(str(site).strip().lower(), allowed, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        also = "" if page == "site_summary" else f" or {ALL_SITES!r}"
        raise ParamsError(f"unknown site {site!r}; {hint}use one of {', '.join(SITE_IDS)}{also}")


def check_page_site(page: str, site: str) -> None:
    """Raise :class:`ParamsError` (a ``ValueError``) for a site summary of all sites: the page is one site's.

    The build's plan refuses the same parameter; a notebook run alone rendered an "All sites"
    site summary (review 24C). :meth:`.EligibilityReport.build` calls it with its ``page``
    before the dataset is read, :func:`page_header` again for a report built otherwise.
    """
    if page == "site_summary" and site == ALL_SITES:
        raise ParamsError(f"site {ALL_SITES!r}: a site summary is one site's page; use one of {', '.join(SITE_IDS)} "
                         "(the program overview and the eligibility report cover all sites)")


def download_links(site: str, kinds: Mapping[str, str] = DOWNLOAD_KINDS) -> Markup:
    """Links to the files beside the page (written by the build): ``kinds`` is ``{kind: title}``."""
    items = "".join(
        f"<li>{html.escape(title)}: "
        + " ".join(_a(download_name(site, kind, fmt), f"{fmt}") for fmt in DOWNLOAD_FORMATS) + "</li>"
        for kind, title in kinds.items())
    return Markup(f'<ul class="eap-downloads">{items}</ul>',
                  text="Downloads: " + ", ".join(kinds.values()))


def page_header(report: object, page: str) -> Markup:
    """Scope, data currency, key figures, who needs action, links to related pages and files.

    Raises
    ------
    ParamsError
        (A ``ValueError``) for a site summary of all sites (:func:`check_page_site`).
    """
    check_page_site(page, report.site)
    verdicts = report.result.verdicts["verdict"].astype(str)
    n = len(verdicts)
    counts = {v: int((verdicts == v).sum()) for v in VERDICTS}
    where = ('see the <a href="#Pending-worklist">pending worklist</a> or download it below.'
             if page in PAGES_WITH_WORKLIST else "download the pending worklist below.")
    need = noun_for(counts["pending"], "patient needs", "patients need")
    action = [f"<strong>{counts['pending']:,} pending</strong> {need} data: {where}" if counts["pending"]
              else "No patient is pending."]
    flags = report.oversight_counts()
    if flags:
        action.append("Oversight: " + "; ".join(html.escape(counted(c, what, FLAG_PLURALS.get(what, what)))
                                                for what, c in flags.items())
                      + ' (<a href="#Oversight">details</a>).')
    related = " &middot; ".join(_a(href, title) for href, title in related_pages(report.site, page))
    account = (cut_account(report.cut, n if report.site == ALL_SITES else None)
               or uncut_account(_patients_given(report.dataset.patients, report.site), n, report.site))
    check = cut_check(report.cut)
    text = (f"{report.scope_name}: {n} screened; eligible {counts['eligible']}, pending {counts['pending']}, "
            f"ineligible {counts['ineligible']}. {account}{' ' if account else ''}{report.currency.sentence()}"
            f"{' ' + check if check else ''}")
    body = (f'<div class="eap-summary"><h2>{html.escape(report.scope_name)}'
            f"{'' if report.site == ALL_SITES else ' (' + html.escape(report.site) + ')'}</h2>"
            f'<p class="eap-currency"><strong>{html.escape(report.currency.sentence())}</strong>'
            f"{' ' + html.escape(check) if check else ''}</p>"
            f"<p>{counted(n, 'patient')} screened: <strong>{counts['eligible']:,} eligible</strong>, "
            f"{counts['pending']:,} pending, {counts['ineligible']:,} ineligible.</p>"
            + (f"<p>{html.escape(account)}</p>" if account else "") +
            f"<p>{' '.join(action)}</p>"
            f'<p class="eap-related">Related pages of the build: {related}</p>'
            # A notebook run alone (JupyterLab, papermill) has no downloads beside it: the build writes them.
            f"<p>Downloads, written beside this page by <code>lifileucel-eap reports</code> (every patient row "
            f"names its patient and site):</p>{download_links(report.site).html}</div>")
    return Markup(body, text=text)


def legend(params: object) -> HtmlTable:
    """Criterion IDs with their labels (limits filled in), then the abbreviations."""
    labels = criterion_labels(params)
    rows = [(c.id, c.kind, labels[c.id]) for c in CATALOG]
    rows += [(short, "abbreviation", meaning) for short, meaning in ABBREVIATIONS.items()]
    return HtmlTable(pd.DataFrame(rows, columns=["ID or abbreviation", "kind", "meaning"]),
                     caption="Legend: criterion IDs (record order) and abbreviations")


def _patients_given(patients: pd.DataFrame, site: str) -> int:
    """The dataset's patients, or the site's: what an uncut page accounts for (read only without a cut)."""
    return len(patients) if site == ALL_SITES else int((patients["site_id"].astype(str) == site).sum())


def uncut_account(given: int, screened: int, site: str) -> str:
    """N in = N out on a page without a data cut: the dataset's patients (or the site's), and those screened.

    Audit 43N: the program overview said only "400 patients screened"; with a cut, :func:`cut_account`
    says it. The two counts come from the dataset and from the screening, so a patient lost between them
    would show (review 43R: one number written twice could not).
    """
    where = "the dataset" if site == ALL_SITES else "the dataset for this site"
    every = "every patient is screened" if given == screened else "NOT every patient was screened"
    return f"{counted(given, 'patient')} in {where}, {screened:,} screened (no data cut: {every})."


def cut_check(cut: object) -> str:
    """``Check the cut date: ...`` where a page's cut lies years after the data, else ``""``.

    A cut with a mistyped year moves every "days pending" and NMA-LD status: said on the page as ``screen``
    says it on stderr (audit 43N; :meth:`..contract.data_cut.DataCut.far_after_the_data`).
    """
    far = cut.far_after_the_data() if cut is not None else None
    return f"Check the cut date: {far}." if far else ""


def cut_account(cut: object, screened: int | None) -> str:
    """:meth:`..contract.data_cut.DataCut.account` of a page's cut (``""`` without one); ``screened`` ``None``
    for a site's page."""
    return "" if cut is None else cut.account(screened)
