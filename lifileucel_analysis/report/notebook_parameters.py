"""Checks of a notebook's parameters that the report objects make before anything is read.

Papermill sets a notebook's parameters by running a cell of its own (``# Parameters``, tagged
``injected-parameters``) after the notebook's ``parameters`` cell. A name the notebook does not
declare is only logged by papermill ("Passed unknown parameter") and then ignored by the page,
which is built on the defaults: audit 43N's ``-p cut_dat 2025-06-30`` gave an uncut report, and
``-f params/sites/honorhealth.yaml`` (the build's file, one key per notebook) an MSKCC page.
:func:`refuse_unknown_injected` reads the kernel's input history (IPython's ``In``) for papermill's
cells and refuses a name no earlier cell declares, naming the ones that are.

A path or text parameter given a number (``-p dataset 3``) ended in a ``TypeError`` from
:mod:`pathlib` that named no parameter; :func:`refuse_non_text` names it.
"""

from __future__ import annotations

import ast
import difflib
import os
from collections.abc import Mapping, Sequence

from ..contract.parameter_files import ParamsError, quoted

__all__ = ["INJECTED_HEADER", "injected_names", "refuse_non_text", "refuse_unknown_injected"]

INJECTED_HEADER = "# Parameters\n"
"""How papermill's injected cell begins (its Python translator's comment line)."""
PAPERMILL_NAMES = "PAPERMILL_"
"""The start of the names papermill injects of its own (``PAPERMILL_INPUT_PATH`` with ``--inject-paths``)."""
BUILD_FILES_HINT = ("the files of params/ set every page's parameters for `lifileucel-eap reports`; "
                    "give this notebook its own: papermill -p NAME VALUE, or -f a YAML file of NAME: VALUE")
"""Said when an injected value is a mapping: a file of ``params/`` passed with ``papermill -f``."""


def refuse_unknown_injected(history: Sequence[str] | None = None) -> None:
    """Raise :class:`ParamsError` when papermill set a parameter the notebook does not declare.

    Parameters
    ----------
    history : sequence of str, optional
        The sources of the cells run so far, in order (IPython's ``In``); ``None`` reads the running
        kernel's, and outside IPython there is nothing to check.

    Raises
    ------
    ParamsError
        Naming the first unknown parameter, the closest declared name, and the declared ones.
    """
    cells = _kernel_history() if history is None else list(history)
    declared, given = injected_names(cells)
    # papermill's own names (--inject-paths); and with no declared name the parameters cell did not run in this
    # kernel (cells run from the injected one on, review 43R), so nothing tells a known name from an unknown one.
    unknown = [name for name in given if name not in declared and not name.startswith(PAPERMILL_NAMES)]
    if not unknown or not declared:
        return
    name, value = unknown[0], given[unknown[0]]
    close = difflib.get_close_matches(name, sorted(declared), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    files = f" ({BUILD_FILES_HINT})" if value == "mapping" else ""
    raise ParamsError(f"unknown parameter {name!r}: {hint}this notebook takes {', '.join(declared)}{files}")


def injected_names(cells: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The names the notebook declares before papermill's first injected cell, and the names injected.

    Parameters
    ----------
    cells : sequence of str
        Cell sources in the order they ran.

    Returns
    -------
    tuple of (list of str, dict of str to str)
        Declared names in order; each injected name with ``"mapping"`` where its value is a dict
        literal (a file of ``params/``), else ``"value"``.
    """
    first = next((k for k, cell in enumerate(cells) if cell.startswith(INJECTED_HEADER)), None)
    if first is None:
        return [], {}
    declared: list[str] = []
    for cell in cells[:first]:
        declared += [name for name, _ in _assigned(cell) if name not in declared]
    given: dict[str, str] = {}
    for cell in cells[first:]:
        if cell.startswith(INJECTED_HEADER):
            given |= dict(_assigned(cell))
    return declared, given


def _assigned(source: str) -> list[tuple[str, str]]:
    """Top-level names a cell assigns, each with the kind of its value (IPython magics make a cell unreadable: none)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found: list[tuple[str, str]] = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        value = node.value
        kind = "mapping" if isinstance(value, ast.Dict) else "value"
        found += [(target.id, kind) for target in targets if isinstance(target, ast.Name)]
    return found


def _kernel_history() -> list[str]:
    try:
        from IPython import get_ipython
    except ImportError:  # the package is used without IPython: no notebook to check
        return []
    shell = get_ipython()
    return [str(cell) for cell in shell.user_ns.get("In", [])] if shell is not None else []


def refuse_non_text(values: Mapping[str, object]) -> None:
    """Raise :class:`ParamsError` for a path or text parameter given something else (``-p dataset 3``).

    Parameters
    ----------
    values : mapping of str to object
        Each parameter by its name; a path may be text or a :class:`os.PathLike`, and ``None`` means the default.

    Raises
    ------
    ParamsError
        Naming the first such parameter, its value and type.
    """
    for name, value in values.items():
        # None (a blank YAML value, `-y "history:"`) means the default, as a blank text does (review 43R)
        if value is None or isinstance(value, (str, os.PathLike)):
            continue
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            example = "; ".join(value)  # roles given as a YAML list: the text joins them with "; "
        else:
            example = str(value)
        raise ParamsError(f"parameter {name} is {quoted(value)} ({type(value).__name__}): give text in quotes, "
                          f'{name} = "{example}" (papermill -r {name} VALUE passes it as text; a blank one means '
                          "its default)")
