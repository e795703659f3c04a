"""Offline HTML pages of executed notebooks: no code, every image embedded, nothing loaded.

The nbconvert ``lab`` template, minus every block that loads from a CDN (MathJax,
require.js, widgets, mermaid), plus the banner each report page carries at its top.
The pages are read from file shares and e-mail attachments, often without a network.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat import NotebookNode

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
</style>
{%- endblock extra_css -%}
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
