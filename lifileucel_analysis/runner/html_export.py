"""Offline HTML pages of executed notebooks: no code, every image embedded, nothing loaded.

The nbconvert ``lab`` template, minus every block that loads from a CDN (MathJax,
require.js, widgets, mermaid), plus the banner each report page carries at its top.
The pages are read from file shares and e-mail attachments, often without a network.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..report.html_tables import MAX_SHORT_WORD_COLUMN

if TYPE_CHECKING:
    from nbformat import NotebookNode

SHORT_WORD_RULES = "@media print, (min-width: 1000px) {\n" + "\n".join(
    f"  .jp-RenderedHTMLCommon div.lifileucel-table table.eap-words-{n} td:nth-child({n}) "
    "{ overflow-wrap: break-word; }"
    for n in range(3, MAX_SHORT_WORD_COLUMN + 1)) + "\n}"
"""A patient table's column of short texts (:func:`..report.html_tables.short_word_columns`) breaks between
words only, printed and in a window of 1,000 px or more: "2023-12-26: date passed", not "passe / d" (review
28C); the others may break anywhere, so that a long column name in a sentence cannot push the table off the
page. In a narrower window every column may break anywhere: a worklist of ten columns does not fit 800 px
with its dates whole (tests/test_browser.py)."""
OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{#- The lab template, minus everything it loads from a CDN: the reports are read offline. -#}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
.eap-banner { font-family: system-ui, sans-serif; font-size: 13px; padding: 8px 12px;
  margin: 0 0 12px 0; border-bottom: 1px solid #ccc; background: #f6f8fa; }
.eap-banner a { margin-right: 1em; }
.eap-banner .eap-failed { color: #b00020; font-weight: bold; display: block; margin-top: 4px; }
/* Tables wrap instead of running off the page or an 800 px window; images shrink to fit.
   Selectors outrank the lab template's (its table-layout: fixed and right-aligned cells). */
.jp-RenderedHTMLCommon div.lifileucel-table { max-width: 100%; }
.jp-RenderedHTMLCommon div.lifileucel-table table { table-layout: auto; width: 100%; max-width: 100%;
  margin-left: 0; }
.jp-RenderedHTMLCommon div.lifileucel-table td, .jp-RenderedHTMLCommon div.lifileucel-table th {
  white-space: normal; overflow-wrap: break-word; text-align: left; vertical-align: top; padding: 0.25em 0.3em; }
.jp-RenderedHTMLCommon div.lifileucel-table table.eap-patient-table td:nth-child(-n+2) {
  white-space: nowrap; overflow-wrap: normal; }
.jp-RenderedHTMLCommon div.lifileucel-table table.eap-patient-table td:nth-child(n+3) { overflow-wrap: anywhere; }
""" + SHORT_WORD_RULES + """
.jp-RenderedImage img, .jp-RenderedHTMLCommon img { max-width: 100%; height: auto; }
.jp-OutputArea-output { overflow-x: visible; }
.eap-summary { border: 1px solid #ccc; background: #fbfbfb; padding: 4px 12px; }
.eap-truncated { color: #7a4a00; }
@media print {
  @page { margin: 12mm; }
  .jp-Notebook { padding: 0 !important; }
  .jp-Cell { padding: 0 !important; }
  .jp-RenderedHTMLCommon div.lifileucel-table td, .jp-RenderedHTMLCommon div.lifileucel-table th {
    font-size: 8pt; padding: 2px 3px; }
  tr, img { break-inside: avoid; }
  h2 { break-after: avoid; }
}
</style>
{%- endblock extra_css -%}
{#- Figures carry their alt text in the output's metadata (ReportFigure.describe). -#}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
alt="{{ ((output | get_metadata('alt', 'image/png')) or 'Figure without description') | escape_html }}">
</div>
{%- endblock data_png %}
{%- block body_header -%}
{{ super() }}
{{ resources.eap_banner }}
{%- endblock body_header -%}
"""
TEMPLATE_FILE = "eap_offline.html.j2"


@lru_cache(maxsize=1)
def _html_exporter() -> Any:
    import jinja2
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="lab",
        template_file=TEMPLATE_FILE,
        extra_loaders=[jinja2.DictLoader({TEMPLATE_FILE: OFFLINE_TEMPLATE})],
        exclude_input=True,  # reviewers read results, not code
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,  # markdown images too, not only figures
    )


def notebook_to_html(nb: NotebookNode, title: str, banner_html: str = "") -> str:
    """Convert an executed notebook to a self-contained HTML page without code.

    Parameters
    ----------
    nb : NotebookNode
        The executed, normalised notebook.
    title : str
        Page title.
    banner_html : str
        Trusted HTML shown at the top of the page (navigation and provenance).

    Returns
    -------
    str
        The page: inline CSS, base64 images, no script and no network address to load.
    """
    body, _ = _html_exporter().from_notebook_node(
        nb, resources={"metadata": {"name": title}, "eap_banner": banner_html}
    )
    return body
