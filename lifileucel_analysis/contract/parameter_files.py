"""Reading parameter files (YAML) strictly: bounded, UTF-8, no duplicate keys, no aliases.

Every parameter file of the project (criteria limits, report plans, what-if files) is read
here, so one set of limits protects ``screen``, ``reports`` and the notebooks alike. YAML
features a parameter file never needs are refused rather than interpreted: anchors and
aliases (an alias bomb turns 400 bytes into millions of nodes), duplicate keys (the last
would silently win), deep nesting, non-finite numbers, integers beyond 64 bits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent

from .messages import ShownAsMessage

MAX_FILE_BYTES = 256 * 1024
"""A parameter file is a few dozen lines; anything larger is not one."""
MAX_DEPTH = 8
"""Nesting depth of mappings and lists (a criteria file needs 2, a report plan 3)."""
MAX_QUOTED = 60
"""Messages quote a value up to this many characters, then cut it with '...'."""
LARGEST_INTEGER = 2**63 - 1


class ParamsError(ShownAsMessage, ValueError):
    """A parameter file or value that cannot be used (exit status 2 in the CLI)."""


def quoted(value: object) -> str:
    """``repr`` of a value for a message, cut to :data:`MAX_QUOTED` characters, control characters escaped."""
    text = repr(value)
    return text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 3] + "..."


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader without aliases, duplicate keys or deep nesting."""

    def __init__(self, stream: str, where: str) -> None:
        super().__init__(stream)
        self.where = where
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: ANN401 (yaml's own signature)
        if self.check_event(AliasEvent):
            mark = self.peek_event().start_mark
            raise ParamsError(f"{self.where}: line {mark.line + 1}: YAML aliases (*name) are not allowed in a "
                              "parameter file; write the value out")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParamsError(f"{self.where}: nested more than {MAX_DEPTH} levels deep; a parameter file is flat "
                              "'key: value' lines")
        try:
            return Composer.compose_node(self, parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise ParamsError(f"{self.where}: key {quoted(key)} appears twice (lines {seen[key] + 1} and "
                                  f"{key_node.start_mark.line + 1}); keep one")
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _check_numbers(value: Any, where: str, key: str = "") -> None:
    """Refuse NaN, infinities and integers beyond 64 bits anywhere in the parsed data."""
    if isinstance(value, Mapping):
        # The path from the top ("max_ecog.value"): "key 'value'" alone named no limit (audit 42C).
        for k, v in value.items():
            _check_numbers(v, where, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        for v in value:
            _check_numbers(v, where, key)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ParamsError(f"{where}: key {quoted(key)} has value {value}; expected a finite number")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > LARGEST_INTEGER:
        raise ParamsError(f"{where}: key {quoted(key)} has an integer beyond 64 bits; expected a plausible number")


def parse_yaml_mapping(text: str, where: str) -> dict[str, Any]:
    """Parse YAML text that must be a mapping (or empty), strictly; see the module docstring.

    Raises
    ------
    ParamsError
        Naming ``where``, the line where possible, and what is allowed.
    """
    if "\x00" in text:
        raise ParamsError(f"{where}: contains a NUL character; a parameter file is plain UTF-8 text")
    loader = _StrictLoader(text, where)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ParamsError(f"{where} is not valid YAML: {str(exc)[:300]}") from None
    except RecursionError:
        raise ParamsError(f"{where}: nested too deeply for a parameter file") from None
    except ParamsError:
        raise
    except ValueError as exc:  # a scalar YAML cannot build, e.g. the date 2026-02-30
        raise ParamsError(f"{where}: a value cannot be read ({str(exc)[:120]}); expected YYYY-MM-DD for a date") from None
    finally:
        loader.dispose()
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ParamsError(f"{where} must be a mapping of key: value, not {type(data).__name__}")
    _check_numbers(data, where)
    return dict(data)


def read_yaml_mapping(path: Path, where: str | None = None) -> dict[str, Any]:
    """Read a parameter file: at most :data:`MAX_FILE_BYTES`, UTF-8, a YAML mapping.

    Parameters
    ----------
    path : Path
        The file.
    where : str, optional
        How messages name the file (default: the path as given).
    """
    where = where or str(path)
    if path.is_dir():  # audit 43N: a folder was said not to exist
        raise ParamsError(f"parameter file {where} is a folder: give a YAML file")
    if not path.is_file():
        raise ParamsError(f"parameter file {where} does not exist")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ParamsError(f"parameter file {where} is {size:,} bytes; a parameter file is at most "
                          f"{MAX_FILE_BYTES:,} bytes")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The byte and its line, as the dataset's reader says them (audit 42C: "byte 47" read as the byte).
        line = raw[:exc.start].count(b"\n") + 1
        raise ParamsError(f"parameter file {where} is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line} cannot "
                          "be decoded); save it as UTF-8") from None
    return parse_yaml_mapping(text.removeprefix("\ufeff"), where)
