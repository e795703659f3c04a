"""Parameter files are read strictly: each hostile or sloppy file is refused with a short, clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifileucel_analysis.contract.parameter_files import MAX_FILE_BYTES, ParamsError, read_yaml_mapping
from lifileucel_analysis.engine.catalog import CATALOG, criterion_labels
from lifileucel_analysis.engine.parameters import RANGES, load_params

ALIAS_BOMB = """\
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
max_ecog: *e
"""


@pytest.mark.parametrize("content, words", [
    (b"min_anc_10e9_per_l: .nan\n", ["min_anc_10e9_per_l", "finite"]),
    (b"max_steroid_mg_per_day: .inf\n", ["max_steroid_mg_per_day", "finite"]),
    # Under a limit's own keys, the limit is named (audit 42C: "key 'value'" named none).
    (b"max_ecog:\n  value: .nan\n  source: x\n", ["key 'max_ecog.value' has value nan", "finite"]),
    (b"min_prior_lines: 3\nmax_prior_lines: 2\n", ["min_prior_lines (3)", "max_prior_lines (2)", "<="]),
    (b"max_ast_alt_x_uln: 6\n", ["max_ast_alt_x_uln (6)", "max_ast_alt_x_uln_liver_metastases (5)"]),
    (b"max_ecog: 1\nmax_ecog: 2\n", ["'max_ecog' appears twice", "lines 1 and 2"]),
    (b"max_ecog: 99999999999999999999999\n", ["max_ecog", "64 bits"]),
    (b"max_ecog: 7\n", ["max_ecog", "from 0 to 5"]),
    (b"max_ecog: \xff\xfe1\n", ["not UTF-8", "byte 0xff on line 1 cannot be decoded"]),
    (b"a:\n" + b"".join(b" " * (2 * i + 2) + b"b:\n" for i in range(12)), ["nested more than"]),
    (ALIAS_BOMB.encode(), ["aliases"]),
    (b"max_ecog: 1\x00\n", ["NUL"]),
    (("x" * 500 + ": 1\n").encode(), ["unknown key", "..."]),
])
def test_bad_parameter_files_are_refused(tmp_path: Path, content: bytes, words: list[str]) -> None:
    path = tmp_path / "criteria.yaml"
    path.write_bytes(content)
    with pytest.raises(ParamsError) as info:
        load_params(path)
    message = str(info.value)
    for word in words:
        assert word in message
    assert len(message) < 1000, "messages quote values only up to a short length"


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(ParamsError, match="at most"):
        read_yaml_mapping(path)


def test_overrides_in_code_are_held_to_the_same_rules() -> None:
    with pytest.raises(ParamsError, match="finite"):
        load_params(overrides={"min_anc_10e9_per_l": float("nan")})
    with pytest.raises(ParamsError, match="<="):
        load_params(overrides={"min_prior_lines": 5, "max_prior_lines": 4})


def test_every_numeric_key_has_a_range_that_holds_its_default() -> None:
    defaults = load_params().as_dict()
    numeric = {k for k, v in defaults.items() if not isinstance(v, bool)}
    assert set(RANGES) == numeric
    for key, (low, high) in RANGES.items():
        assert low <= defaults[key] <= high, key


def test_a_value_at_each_end_of_its_range_is_accepted(tmp_path: Path) -> None:
    for key, (low, high) in RANGES.items():
        for value in (low, high):
            overrides = {key: value}
            if key in ("min_prior_lines", "max_ast_alt_x_uln", "max_bilirubin_mg_per_dl") and value == high:
                continue  # the cross-key rule (tested above) would refuse it against the default partner
            if key in ("max_prior_lines", "max_ast_alt_x_uln_liver_metastases", "max_bilirubin_mg_per_dl_gilbert") \
                    and value == low:
                continue
            assert getattr(load_params(overrides=overrides), key) == value


def test_labels_are_filled_from_the_limits(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("max_steroid_mg_per_day: 5\nmin_prior_lines: 2\nmax_prior_lines: 3\n", encoding="utf-8")
    labels = criterion_labels(load_params(path))
    assert labels["E6"] == "Steroids > 5 mg/day"
    assert labels["I2"] == "2-3 prior lines incl. anti-PD-(L)1, progressed"
    defaults = criterion_labels(load_params())
    assert defaults["E6"] == "Steroids > 10 mg/day"
    assert defaults["I5"] == "Age >= 18 at consent"


def test_each_label_names_only_limits_its_criterion_declares() -> None:
    import string

    keys = set(load_params().as_dict())  # the limits; the version keys describe the file
    for criterion in CATALOG:
        assert set(criterion.limits) <= keys, criterion.id
        fields = {name for _, name, _, _ in string.Formatter().parse(criterion.label_template) if name}
        assert fields <= set(criterion.limits), criterion.id
    used = {key for c in CATALOG for key in c.limits}
    assert used == keys, f"parameters no criterion declares: {sorted(keys - used)}"
