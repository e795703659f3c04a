"""Checks of command-line option values that argparse cannot make: a blank output or history path, a folder
where a file is meant, a count below its least.

A blank ``--out`` wrote into the current folder and removed files there as an earlier run's (audit 42C), and
``synth --patients -5`` ended in a traceback. Each is a bad parameter: exit status 2, nothing written. A blank
input path (``--params``, ``--drugs``, ``--dataset``) means its default, as everywhere in the project
(``report.screening_inputs.not_given``); a blank ``--cut-date`` has its own check
(:func:`.data_cut.refuse_a_blank_option`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .parameter_files import ParamsError

__all__ = ["BLANK_REFUSED", "CHOICES", "FILE_OPTIONS", "LEAST_COUNTS", "OUT_IS_A_FILE", "OptionError",
           "refuse_bad_options"]


class OptionError(ParamsError):
    """A command-line option given a value it cannot take (a bad parameter: exit status 2 in the CLI)."""


BLANK_REFUSED = {"out": "give a folder (a blank one would mean the current folder)",
                 "history": "give a file, or leave the option out"}
"""The paths that have no default to fall back on when given blank, and what to give instead."""
OUT_IS_A_FILE = {"criteria": "give a file, or leave the option out to print the catalog",
                 "redcap-dictionary": "give a file"}
"""Commands whose ``out`` is a file, not a folder, and what to give instead of a blank one (review 42R:
``criteria --out DIR`` ended with exit status 1, naming a temporary file beside ``DIR``)."""
FILE_OPTIONS = ("params", "criteria", "drugs", "history")
"""The options that name a file, never a folder (audit 42C: ``--history DIR`` failed only after the screen's
files were published, leaving ``DIR.lock`` beside it)."""
CHOICES = {"criteria": "give 'default', a version label of params/criteria/ or a criteria file"}
"""Options given more than once (``compare --criteria A --criteria B``): a blank one has no default to mean,
since each names one side of the comparison (``compare --criteria ''`` read the dataset as a criteria file)."""
LEAST_COUNTS = {"patients": 1, "seed": 0, "weeks": 0, "buckets": 1, "jobs": 1}
"""The least value of each whole-number option (a cohort of 0 patients is one ``screen`` refuses)."""
POSITIONAL_OUT = ("redcap-dictionary",)
"""Commands whose ``out`` is a positional argument, named without ``--``."""


def refuse_bad_options(options: Mapping[str, object]) -> None:
    """Raise :class:`OptionError` for a blank output or history path, a folder where a file is meant or a
    count below its least, naming the option.

    Parameters
    ----------
    options : mapping of str to object
        The parsed options by their names (``vars(args)``, with ``command``); options a command does not
        have are absent.

    Raises
    ------
    OptionError
        For the first such option, with what to give instead.
    """
    command = options.get("command")

    def flag(name: str) -> str:  # as the user wrote it
        return name if name == "out" and command in POSITIONAL_OUT else "--" + name

    blank_refused = {**BLANK_REFUSED, **({"out": OUT_IS_A_FILE[command]} if command in OUT_IS_A_FILE else {})}
    for name, instead in blank_refused.items():
        value = options.get(name)
        if isinstance(value, str) and not value.strip():
            raise OptionError(f"{flag(name)} is blank: {instead}")
    for name, instead in CHOICES.items():
        value = options.get(name)
        if isinstance(value, list) and any(isinstance(v, str) and not v.strip() for v in value):
            raise OptionError(f"{flag(name)} is blank: {instead}")
    for name in (*FILE_OPTIONS, *(("out",) if command in OUT_IS_A_FILE else ())):
        value = options.get(name)
        # Not a value of an option given more than once: `compare --criteria default` is a label, even beside a
        # folder named so (review 43R); a criteria path that is a folder is refused where it is read.
        if isinstance(value, str) and value.strip() and Path(value).is_dir():
            raise OptionError(f"{flag(name)} names a folder ({value}): give a file")
    for name, least in LEAST_COUNTS.items():
        value = options.get(name)
        if isinstance(value, int) and value < least:
            raise OptionError(f"{flag(name)} is {value}: give a whole number >= {least}")
