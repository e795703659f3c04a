"""Checks of command-line option values that argparse cannot make: a path given blank, a count below its least.

A blank ``--out`` wrote into the current folder and removed files there as an earlier run's (audit 42C), and
``synth --patients -5`` ended in a traceback. Each is a bad parameter: exit status 2, nothing written. A
blank ``--cut-date`` has its own check (:func:`.data_cut.refuse_a_blank_option`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .parameter_files import ParamsError

__all__ = ["FILE_OPTIONS", "LEAST_COUNTS", "OptionError", "PATH_OPTIONS", "refuse_bad_options"]


class OptionError(ParamsError):
    """A command-line option given a value it cannot take (a bad parameter: exit status 2 in the CLI)."""


PATH_OPTIONS = ("dataset", "source", "out", "params", "criteria", "drugs", "history", "weekly")
"""The options and arguments that name a file or folder: none of them may be blank."""
FILE_OPTIONS = ("params", "criteria", "drugs", "history")
"""The options that name a file, never a folder (audit 42C: ``--history DIR`` failed only after the screen's
files were published, leaving ``DIR.lock`` beside it)."""
LEAST_COUNTS = {"patients": 1, "seed": 0, "weeks": 0, "buckets": 1, "jobs": 1}
"""The least value of each whole-number option (a cohort of 0 patients is one ``screen`` refuses)."""


def refuse_bad_options(options: Mapping[str, object]) -> None:
    """Raise :class:`OptionError` for a blank path, a folder where a file is meant or a count below its
    least, naming the option.

    Parameters
    ----------
    options : mapping of str to object
        The parsed options by their names (``vars(args)``); options a command does not have are absent.
    """
    for name in PATH_OPTIONS:
        value = options.get(name)
        if isinstance(value, str) and not value.strip():
            raise OptionError(f"{_flag(name)} is blank: give a path (a blank one would mean the current folder)")
    for name in FILE_OPTIONS:
        value = options.get(name)
        if isinstance(value, str) and Path(value).is_dir():
            raise OptionError(f"{_flag(name)} names a folder ({value}): give a file")
    for name, least in LEAST_COUNTS.items():
        value = options.get(name)
        if isinstance(value, int) and value < least:
            raise OptionError(f"{_flag(name)} is {value}: give a whole number >= {least}")


def _flag(name: str) -> str:
    """How the user wrote the option: ``--out``; a positional argument by its name (``dataset``)."""
    return name if name in ("dataset", "source") else "--" + name
