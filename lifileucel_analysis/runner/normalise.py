"""Normalising an executed notebook: the same inputs give the same bytes on every machine.

Papermill records run timestamps, durations and absolute paths, gives injected cells random
ids, and a notebook's outputs (tracebacks, warnings, a printed data path) name files under
the project by their absolute path. :func:`normalise_notebook` removes all of that, so two
builds of the same inputs give byte-identical notebooks and pages, and no path of the
machine that built them reaches a reader.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..paths import PROJECT_ROOT

if TYPE_CHECKING:
    from nbformat import NotebookNode

PathReplacements = tuple[tuple[str, str], ...]
"""``(absolute path, replacement)`` pairs applied to every output, most specific first."""
RUN_TIMING_KEYS: tuple[str, ...] = ("start_time", "end_time", "duration")
"""Papermill metadata that differs between two runs of the same notebook."""


def project_replacements(root: Path = PROJECT_ROOT) -> PathReplacements:
    """The project's absolute path becomes relative (``/x/proj/pkg/a.py`` -> ``pkg/a.py``)."""
    return ((str(root) + os.sep, ""), (str(root), "."))


TERMINAL_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
"""ANSI terminal escapes: CSI (colours, cursor), OSC (titles, links) and two-character ones."""


def strip_terminal_escapes(text: str) -> str:
    """``text`` without ANSI terminal escapes (IPython colours tracebacks with them)."""
    return TERMINAL_ESCAPE.sub("", text)


def scrub_paths(text: str, replacements: PathReplacements | None = None) -> str:
    """Replace machine-specific absolute paths in ``text``, after removing terminal escapes.

    Tracebacks and warnings name files under the project (the package, the venv), and a
    report may print where its dataset was read from; the same build on another machine
    must give the same bytes, so these become the relative forms the build passed in.
    Terminal escapes go first: a colour code inside a path would hide it from the match.
    """
    text = strip_terminal_escapes(text)
    for old, new in replacements or project_replacements():
        # Only a path that starts here: "/data/x" inside "../../data/x" is already relative.
        text = re.sub(r"(?<![\w.\-/~])" + re.escape(old), lambda _: new, text)
    return text


def _scrub_output(output: dict[str, Any], replacements: PathReplacements) -> None:
    if "text" in output:
        output["text"] = scrub_paths(output["text"], replacements)
    if "traceback" in output:
        output["traceback"] = [scrub_paths(line, replacements) for line in output["traceback"]]
    if "evalue" in output:
        output["evalue"] = scrub_paths(output["evalue"], replacements)
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/") and isinstance(value, str):
            output["data"][mime] = scrub_paths(value, replacements)


def _unique_id(base: str, used: set[str]) -> str:
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}-{n}"
    used.add(candidate)
    return candidate


def normalise_notebook(nb: NotebookNode, template_ids: Collection[str], input_path: str, output_path: str,
                       replacements: PathReplacements | None = None) -> NotebookNode:
    """Remove everything from an executed notebook that differs between identical runs.

    Parameters
    ----------
    nb : NotebookNode
        The notebook papermill wrote; changed in place.
    template_ids : collection of str
        Cell ids of the template; any other cell (papermill's injected-parameters and
        error-marker cells, which get random ids) gets an id derived from its tag.
    input_path, output_path : str
        Relative paths recorded in ``metadata.papermill`` instead of absolute ones.
    replacements : PathReplacements, optional
        Absolute paths to replace in outputs; default :func:`project_replacements`.

    Returns
    -------
    NotebookNode
        ``nb``: no run timestamps or durations, no per-cell timing, no interpreter patch
        version, deterministic cell ids, no absolute project path in any output.
    """
    run = nb.metadata.get("papermill", {})
    for key in RUN_TIMING_KEYS:
        run.pop(key, None)
    run.update(input_path=input_path, output_path=output_path)
    nb.metadata.get("language_info", {}).pop("version", None)
    used = {c.get("id") for c in nb.cells if c.get("id") in template_ids}
    for cell in nb.cells:
        for key in RUN_TIMING_KEYS:
            cell.metadata.get("papermill", {}).pop(key, None)
        cell.metadata.pop("execution", None)
        if "id" in cell and cell["id"] not in template_ids:
            cell["id"] = _unique_id((cell.metadata.get("tags") or ["generated"])[0], used)
        for output in cell.get("outputs", []):
            _scrub_output(output, replacements or project_replacements())
    return nb


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Write a notebook as nbformat does (sorted keys), with a final newline."""
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
