"""Parameters declared once in Python: rules in words, typed values, the check a notebook calls.

Rules and checks are tested against a hand-written declaration and
hand-computed expectations; the four studies' declarations against their
notebooks' ``parameters`` cells and against what their kernels would refuse.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from unittest import mock

import nbformat
import pytest

from fairaudit.cli import (
    STUDIES,
    ParameterError,
    Study,
    check_parameters,
    parse_text,
    prepare_parameters,
    read_params_file,
)
from fairaudit.studies._parameters import (
    Parameter,
    Rule,
    between,
    check_rules,
    declare,
    each,
    iso_date,
    one_of,
    parameters_cell,
    some_of,
)

DECLARED = declare(
    Parameter("days", 14, "days of logged requests", (between(2, None),)),
    Parameter("drift_day", 7, "day the new model goes live",
              (between(0, "days", low_open=True, high_open=True),)),
    Parameter("sample_fraction", 1.0, "share of rows to use", (between(0, 1, low_open=True),)),
    Parameter("groups", ["sex", "race"], "audited", (some_of("sex", "race"),)),
    Parameter("bounds", [0.01, 0.05], "bounds", (each(between(0, 1, low_open=True)),)),
    Parameter("start", "2026-03-02", "first day", (iso_date(),)),
    Parameter("label", "income", "no rule here"),
    Parameter("output_dir", "reports/study", "where it writes"),
)  # fmt: skip
STUDY = Study("study", "study.ipynb", "A study.", "summary.json", parameters=DECLARED)


def _values(**given):
    return {n: p.default for n, p in DECLARED.items()} | given


def test_rules_read_as_words_after_must_be():
    assert [", ".join(r.words for r in p.rules) for p in DECLARED.values()] == [
        "2 or more",
        "more than 0 and less than days",
        "more than 0 and at most 1",
        "one or more of: sex, race",
        "one or more numbers, each more than 0 and at most 1",
        "a date written YYYY-MM-DD, from 1970-01-01 to 2199-12-31",
        "",
        "",
    ]
    assert one_of("hgb", "logistic").words == "one of: hgb, logistic"
    assert between(10_000, 10**9).words == "at least 10,000 and at most 1,000,000,000"


def test_defaults_satisfy_their_rules():
    assert check_rules(DECLARED, _values()) == []


@pytest.mark.parametrize(
    ("given", "broken"),
    [
        ({"drift_day": 0}, ["drift_day"]),
        ({"drift_day": 14}, ["drift_day"]),  # equal to days: not before the end
        ({"days": 5}, ["drift_day"]),  # the derived bound moves with the other parameter
        ({"days": 1, "drift_day": 1}, ["days", "drift_day"]),
        ({"sample_fraction": 0.0}, ["sample_fraction"]),
        ({"sample_fraction": 1.5}, ["sample_fraction"]),
        ({"sample_fraction": math.nan}, ["sample_fraction"]),
        ({"groups": []}, ["groups"]),
        ({"groups": ["sex", "age"]}, ["groups"]),
        ({"groups": ["sex", "sex"]}, ["groups"]),
        ({"bounds": [0.01, math.nan]}, ["bounds"]),
        ({"bounds": []}, ["bounds"]),
        ({"start": "not-a-date"}, ["start"]),
        ({"start": "2026-03-02T00:00+14:00"}, ["start"]),
        ({"start": "2026-02-30"}, ["start"]),
        ({"start": "20260302"}, ["start"]),  # ISO's basic form: a date, but not as the rule says
    ],
)
def test_each_broken_rule_gives_one_line_naming_the_value(given, broken):
    problems = check_rules(DECLARED, _values(**given))
    assert [p.split("'")[1] for p in problems] == broken
    for line in problems:
        assert "\n" not in line and " must be " in line and "the default is" in line


@pytest.mark.parametrize(
    "given",
    [{"drift_day": 13}, {"days": 8}, {"sample_fraction": 1e-9}, {"groups": ["race"]},
     {"start": "2199-12-31"}],
)  # fmt: skip
def test_values_inside_the_rules_pass(given):
    assert check_rules(DECLARED, _values(**given)) == []


def test_a_broken_derived_rule_names_the_other_parameter_value():
    (line,) = check_rules(DECLARED, _values(days=5))
    assert line == (
        "Parameter 'drift_day' = 7 must be more than 0 and less than days (days = 5); "
        "the default is 7."
    )


def test_a_value_the_rule_cannot_compare_breaks_it_instead_of_crashing():
    (line,) = check_rules(DECLARED, _values(sample_fraction="half"))
    assert "'sample_fraction' = 'half' must be more than 0 and at most 1" in line


def test_a_rule_may_explain_itself():
    rule = Rule("small", lambda v, p: v < 10, why=lambda v, p: f"{v} is {v - 9} too many")
    (line,) = check_rules(declare(Parameter("n", 1, "n", (rule,))), {"n": 12})
    assert line == "Parameter 'n' = 12 must be small; 12 is 3 too many; the default is 1."


# --- values as typed on the command line: YAML 1.2 ---------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("days", "010", 10),  # YAML 1.1 read 010 as octal 8
        ("days", "0o10", 8),
        ("days", "0x10", 16),
        ("sample_fraction", "1e-3", 0.001),  # YAML 1.1 read it as text
        ("sample_fraction", "1", 1.0),
        ("label", "no", "no"),  # a string parameter keeps the text as written
        ("label", "2026-03-02", "2026-03-02"),
        ("groups", "sex, race", ["sex", "race"]),
        ("groups", "[sex, race]", ["sex", "race"]),
        ("bounds", "0.1,1", [0.1, 1.0]),
    ],
)
def test_text_values_follow_yaml_1_2(name, text, expected):
    given = prepare_parameters(DECLARED, {name: text})
    assert given[name] == expected and type(given[name]) is type(expected)


@pytest.mark.parametrize("text", ["1:30", "0b101", "1_000", "12:00:00", ".inf", "2.5", ""])
def test_forms_that_yaml_1_1_read_as_numbers_are_refused_for_an_int(text):
    with pytest.raises(ParameterError, match="'days'") as info:
        prepare_parameters(DECLARED, {"days": text})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("text", "value"), [("true", True), ("No", False), ("on", True)])
def test_bool_words(text, value):
    flag = declare(Parameter("flag", False, "a flag"))
    assert prepare_parameters(flag, {"flag": text}) == {"flag": value}
    with pytest.raises(ParameterError, match="takes a bool like False"):
        prepare_parameters(flag, {"flag": "maybe"})


def test_a_5000_digit_number_is_one_short_line():
    with pytest.raises(ParameterError) as info:
        prepare_parameters(DECLARED, {"days": "9" * 5000})
    message = str(info.value)
    assert "\n" not in message and len(message) < 300 and "too long" in message


def test_every_problem_at_once_types_before_rules():
    with pytest.raises(ParameterError) as info:
        prepare_parameters(DECLARED, {"days": "ten", "sample_fraction": "2", "labl": "x"})
    lines = str(info.value).splitlines()
    assert len(lines) == 2 and "Did you mean 'label'?" in lines[0]
    assert lines[1].startswith("Parameter 'days' takes an int like 14")
    with pytest.raises(ParameterError, match="'sample_fraction' = 2.0 must be"):
        prepare_parameters(DECLARED, {"sample_fraction": "2"})
    with pytest.raises(ParameterError, match="--output-dir"):
        prepare_parameters(DECLARED, {"output_dir": "elsewhere"})


# --- the notebook's own check ------------------------------------------------------------


@pytest.fixture
def namespace(tmp_path):
    with mock.patch.dict(os.environ, {"FAIRAUDIT_OUTPUT_ROOT": str(tmp_path)}):
        yield {n: p.default for n, p in DECLARED.items()} | {"unrelated": object()}


def test_check_parameters_returns_typed_values_in_declaration_order(namespace):
    values = check_parameters(STUDY, namespace | {"sample_fraction": 1, "days": 10})
    assert list(values) == list(DECLARED)
    assert values["sample_fraction"] == 1.0 and isinstance(values["sample_fraction"], float)


def test_check_parameters_reports_every_problem_at_once(namespace):
    del namespace["label"]
    with pytest.raises(ParameterError) as info:
        check_parameters(STUDY, namespace | {"days": "ten"})
    lines = str(info.value).splitlines()
    assert lines == ["Parameter 'label' is not set; run the parameters cell first.",
                     "Parameter 'days' takes an int like 14 (its default); got 'ten'."]  # fmt: skip


def test_check_parameters_checks_rules_once_types_are_right(namespace):
    with pytest.raises(ParameterError) as info:
        check_parameters(STUDY, namespace | {"drift_day": 20, "sample_fraction": 2.0})
    assert [line.split("'")[1] for line in str(info.value).splitlines()] == [
        "drift_day",
        "sample_fraction",
    ]


def test_check_parameters_names_the_closest_study_for_a_typo():
    with pytest.raises(ParameterError, match="Did you mean 'credit-loan'"):
        check_parameters("credit-laon", {})


PARAMETERS_CELL = "days: int = 14  # days\ndrift_strenght: float = 0.0  # misspelt\n"


def test_a_misspelt_name_in_the_running_parameters_cell_is_refused(namespace):
    """Issue 26: a working copy's ``drift_strenght = 0`` was silently ignored in Lab."""
    history = ["", "import fairaudit", PARAMETERS_CELL, 'check_parameters("study", globals())']
    with pytest.raises(ParameterError) as info:
        check_parameters(STUDY, namespace | {"In": history, "drift_strenght": 0.0})
    assert str(info.value).startswith("'drift_strenght' is not a parameter of study.")
    # papermill's injected cell comes between the parameters cell and the check
    injected = '# Parameters\nsample_fraction = 0.5\noutput_dir = "reports/x"\n'
    history = ["", PARAMETERS_CELL, injected, "check"]
    with pytest.raises(ParameterError, match="'drift_strenght' is not a parameter"):
        check_parameters(STUDY, namespace | {"In": history})


@pytest.mark.parametrize(
    "previous",
    ["answer = None  # an exercise's cell", "x = compute()", "days = 3\nprint(days)", "del x"],
)
def test_cells_that_are_not_a_parameters_cell_are_not_read_as_one(namespace, previous):
    history = ["", PARAMETERS_CELL, previous, "check"]
    check_parameters(STUDY, namespace | {"In": history})


def test_each_study_declaration_is_its_notebooks_parameters_cell():
    for study in STUDIES.values():
        nb = nbformat.read(str(study.notebook_path), as_version=4)
        (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert cell.source == parameters_cell(study.declared), study.name


@pytest.mark.parametrize("study", list(STUDIES))
def test_each_study_defaults_pass_their_own_check(study, tmp_path):
    declared = STUDIES[study].declared
    with mock.patch.dict(os.environ, {"FAIRAUDIT_OUTPUT_ROOT": str(tmp_path)}):
        values = check_parameters(study, {n: p.default for n, p in declared.items()})
    assert list(values) == list(declared)


@pytest.mark.parametrize(
    ("study", "given", "why"),
    [
        ("fairness-monitoring", {"random_state": "-1"}, "'random_state' = -1 must be at least 0"),
        ("fairness-monitoring", {"start_date": "not-a-date"}, "must be a date written"),
        ("fairness-monitoring", {"start_date": "2026-03-02T00:00+14:00"}, "a date written"),
        ("fairness-monitoring", {"monitored": "xyz"}, "SEX takes: male, female"),
        ("fairness-monitoring", {"attribute": "MARRIAGE", "monitored": "female",
                                 "reference": "married"}, "MARRIAGE takes: married, single"),
        ("fairness-monitoring", {"reference": "female"}, "none of the monitored values"),
        ("fairness-monitoring", {"requests_per_hour": "10000", "days": "366"},
         "about 54,900,000 requests"),
        ("credit-loan", {"epsilons": "[0.01, .nan]"}, "each more than 0 and at most 1"),
        ("credit-loan", {"validation_size": "0.5"}, "at most 0.7 minus test_size"),
        ("credit-loan", {"sensitive_features": "RACE"}, "one of: SEX, MARRIAGE"),
        ("adult-income", {"constraint": "error_rate_parity"}, "not error_rate_parity while"),
        ("audit-at-scale", {"engine": "pandas", "rows": "1000000000"}, "about 134.0 GB"),
    ],
)  # fmt: skip
def test_what_a_kernel_would_refuse_is_refused_before_it_starts(study, given, why):
    """Issue 25 #13, #17: each used to pass, then fail 20-30 s later or exhaust memory."""
    with pytest.raises(ParameterError, match=why) as info:
        prepare_parameters(STUDIES[study].declared, given)
    assert "\n" not in str(info.value)


def test_memory_bounds_follow_the_measured_bytes_per_unit():
    from fairaudit.studies import audit_at_scale, fairness_monitoring
    from fairaudit.studies._parameters import memory_budget

    rows = memory_budget() // audit_at_scale.PANDAS_BYTES_PER_ROW
    scale = STUDIES["audit-at-scale"].declared
    prepare_parameters(scale, {"engine": "pandas", "rows": str(rows)})
    with pytest.raises(ParameterError):
        prepare_parameters(scale, {"engine": "pandas", "rows": str(rows + 1)})
    prepare_parameters(scale, {"engine": "duckdb", "rows": "1000000000"})
    assert fairness_monitoring.requests({"days": 366, "requests_per_hour": 10_000,
                                         "sample_fraction": 1.0}) == 54_900_000  # fmt: skip


# --- the parameters file ------------------------------------------------------------------


def test_params_file_with_aliases_is_refused_before_it_expands(tmp_path):
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    bomb += [f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]"
             for p, c in zip("abcdefgh", "bcdefghi", strict=True)]  # fmt: skip
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(bomb))
    with pytest.raises(ParameterError, match=r"aliases \(\*a\) are not accepted"):
        read_params_file(path)


def test_params_file_larger_than_the_cap_is_refused_unread(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("x: " + "1" * 70_000)
    with pytest.raises(ParameterError, match="larger than 64 KiB"):
        read_params_file(path)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"sample_fraction: 0.2\nlabel: \xff\xfe\n", "not UTF-8 text"),
        (b"- 1\n- 2\n", "mapping of parameter names to values"),
        (b"a: [1, 2\n", "not a valid parameters file"),
        (b"!!python/object/apply:os.system ['true']\n", "not a valid parameters file"),
        (b"a: " + b"[" * 20_000 + b"]" * 20_000, "nested more than 20 levels"),
        (b"n_boot: " + b"7" * 5_000, "a number of 5,000 digits is too long"),
        (b'{"n_boot": ' + b"7" * 5_000 + b"}", "a number of 5,000 digits is too long"),
    ],
    ids=["latin-1", "list", "broken", "python-tag", "nested-20000", "5000-digits", "json-digits"],
)
def test_bad_params_files_get_one_line_that_says_why(tmp_path, content, why):
    path = tmp_path / "params.yaml"
    path.write_bytes(content)
    with pytest.raises(ParameterError, match=why) as info:
        read_params_file(path)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_params_file_follows_yaml_1_2(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("days: 010\nn: 0o17\ntime: 1:30\nbits: 0b101\nday: 2026-03-02\nflag: no\n")
    assert read_params_file(path) == {"days": 10, "n": 15, "time": "1:30", "bits": "0b101",
                                      "day": "2026-03-02", "flag": "no"}  # fmt: skip


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_without_writer_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "params.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ParameterError, match="is not a regular file"):
        read_params_file(fifo)


@pytest.mark.parametrize("special", ["/dev/zero", "folder"])
def test_a_device_or_a_folder_is_refused_unread(tmp_path, special):
    link = tmp_path / "params.yaml"
    if special == "folder":
        (tmp_path / "folder").mkdir()
        special = tmp_path / "folder"
    elif not os.path.exists(special):
        pytest.skip("no /dev/zero here")
    link.symlink_to(special)
    with pytest.raises(ParameterError, match="is not a regular file|Is a directory"):
        read_params_file(link)


def test_params_file_may_be_json_or_empty(tmp_path):
    path = tmp_path / "params.json"
    path.write_text(json.dumps({"sample_fraction": 0.2, "groups": ["sex"]}))
    assert read_params_file(path) == {"sample_fraction": 0.2, "groups": ["sex"]}
    path.write_text("")
    assert read_params_file(path) == {}


# --- the command as a process ------------------------------------------------------------


def test_command_imports_without_pandas_or_numpy():
    code = (
        "import sys, fairaudit.cli; from fairaudit.cli import STUDIES\n"
        "[s.declared for s in STUDIES.values()]\n"
        "print({'pandas', 'numpy', 'papermill', 'yaml'} & set(sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "{'yaml'}"


def test_output_closed_early_is_not_an_error():
    code = "from fairaudit.cli import main; raise SystemExit(main(['list']))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # the reader left before the first line, as `| head -0` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_parse_text_reads_lists_of_words_as_written():
    assert parse_text(DECLARED["groups"], "sex,no") == ["sex", "no"]


def test_progress_in_logs_is_a_line_every_few_seconds_and_at_the_end(capsys, monkeypatch):
    import time

    from fairaudit.cli import _notebook

    clock = iter([0.0, 1.0, 2.0, 7.5, 8.0, 9.0])
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    hook = _notebook.progress_hook("credit-loan", total=5, every=5.0)
    for i in range(5):
        hook(cell=None, cell_index=i * 2)
    assert capsys.readouterr().out.splitlines() == [
        "  credit-loan: code cell 3 of 5 (8 s)",
        "  credit-loan: code cell 5 of 5 (9 s)",
    ]
