"""The parameters cell as the single description of a notebook's parameters.

Rules in braces, the in-notebook check and the parameters file are checked
against hand-written cells and hand-computed expectations.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import nbformat
import pytest

from fairaudit.cli import (
    ParameterError,
    check_parameters,
    check_rules,
    notebook_parameters,
    read_params_file,
)
from fairaudit.cli._rules import parse_rule

CELL = """\
days: int = 14  # days of logged requests {days >= 2}
drift_day: int = 7  # day the new model goes live {0 < drift_day < days}
sample_fraction: float = 1.0  # share of rows to use (1.0 = all) {0 < sample_fraction <= 1}
groups: list = ["sex", "race"]  # audited {len(groups) > 0 and set(groups) <= {"sex", "race"}}
label: str = "income"  # no rule here
"""


def _notebook(tmp_path, cell=CELL):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(cell)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "study.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def declared(tmp_path):
    return notebook_parameters(_notebook(tmp_path), use_papermill=False)


def test_rule_is_the_text_in_braces_at_the_end_of_the_comment(declared):
    assert declared["drift_day"].rule == "0 < drift_day < days"
    assert declared["sample_fraction"].rule == "0 < sample_fraction <= 1"
    assert declared["sample_fraction"].type_name == "float"
    assert declared["label"].rule == ""
    # the brace inside the rule (a set literal) belongs to the rule
    assert declared["groups"].rule == 'len(groups) > 0 and set(groups) <= {"sex", "race"}'


def test_defaults_satisfy_their_rules(declared):
    assert check_rules(declared) == []


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
    ],
)
def test_each_broken_rule_gives_one_line_naming_the_value(declared, given, broken):
    problems = check_rules(declared, given)
    assert [p.split("'")[1] for p in problems] == broken
    for line in problems:
        assert "\n" not in line and "pass a value that satisfies it" in line


@pytest.mark.parametrize(
    "given",
    [{"drift_day": 13}, {"days": 8}, {"sample_fraction": 1e-9}, {"groups": ["race"]}],
)
def test_values_inside_the_rules_pass(declared, given):
    assert check_rules(declared, given) == []


def test_a_broken_derived_rule_names_the_other_parameter_value(declared):
    (line,) = check_rules(declared, {"days": 5})
    assert "'drift_day' = 7" in line and "days = 5" in line and "(the default is 7)" in line


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        ("__import__('os').system('true')", "may call only"),
        ("days.__class__", "Attribute"),
        ("[d for d in days]", "ListComp"),
        ("lambda: 1", "Lambda"),
        ("undefined_name > 1", "no parameter"),
        ("days >", "not a valid Python expression"),
    ],
)
def test_rules_that_are_not_plain_comparisons_are_refused_when_read(rule, why):
    with pytest.raises(ParameterError, match=why):
        parse_rule(rule, {"days"})


def test_a_value_the_rule_cannot_compare_breaks_it_instead_of_crashing(declared):
    (line,) = check_rules(declared, {"sample_fraction": "half"})
    assert "'sample_fraction' = 'half'" in line


def test_check_parameters_returns_typed_values_in_declaration_order(tmp_path):
    path = _notebook(tmp_path)
    namespace = {"days": 10, "drift_day": 3, "sample_fraction": 1, "groups": ["sex"],
                 "label": "y", "unrelated": object()}  # fmt: skip
    values = check_parameters(path, namespace)
    assert list(values) == ["days", "drift_day", "sample_fraction", "groups", "label"]
    assert values["sample_fraction"] == 1.0 and isinstance(values["sample_fraction"], float)


def test_check_parameters_reports_every_problem_at_once(tmp_path):
    path = _notebook(tmp_path)
    namespace = {"days": "ten", "drift_day": 3, "sample_fraction": 2.0, "groups": ["sex"]}
    with pytest.raises(ParameterError) as info:
        check_parameters(path, namespace)
    lines = str(info.value).splitlines()
    assert len(lines) == 2  # days has the wrong type; label is not set
    assert "'days' takes an int like 14" in lines[0]
    assert "'label' is not set" in lines[1]


def test_check_parameters_checks_rules_once_types_are_right(tmp_path):
    path = _notebook(tmp_path)
    namespace = {"days": 14, "drift_day": 20, "sample_fraction": 2.0, "groups": ["sex"],
                 "label": "y"}  # fmt: skip
    with pytest.raises(ParameterError) as info:
        check_parameters(path, namespace)
    assert [line.split("'")[1] for line in str(info.value).splitlines()] == [
        "drift_day",
        "sample_fraction",
    ]


def test_check_parameters_names_the_closest_study_for_a_typo():
    with pytest.raises(ParameterError, match="did you mean 'credit-loan'"):
        check_parameters("credit-laon", {})


STUDY_NAMES = ["credit-loan", "adult-income", "fairness-monitoring", "audit-at-scale"]


@pytest.mark.parametrize("study", STUDY_NAMES)
def test_each_study_defaults_pass_their_own_check(study):
    from fairaudit.cli import get_study

    declared = notebook_parameters(get_study(study).notebook_path, use_papermill=False)
    namespace = {n: p.default for n, p in declared.items()}
    assert list(check_parameters(study, namespace)) == list(declared)


# --- the parameters file -----------------------------------------------------------------


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
    ],
)
def test_bad_params_files_get_one_line_that_says_why(tmp_path, content, why):
    path = tmp_path / "params.yaml"
    path.write_bytes(content)
    with pytest.raises(ParameterError, match=why) as info:
        read_params_file(path)
    assert "\n" not in str(info.value)


def test_params_file_may_be_json_or_empty(tmp_path):
    path = tmp_path / "params.json"
    path.write_text(json.dumps({"sample_fraction": 0.2, "groups": ["sex"]}))
    assert read_params_file(path) == {"sample_fraction": 0.2, "groups": ["sex"]}
    path.write_text("")
    assert read_params_file(path) == {}


# --- the command as a process ------------------------------------------------------------


def test_command_imports_without_pandas_or_numpy():
    code = "import sys, fairaudit.cli; print({'pandas', 'numpy', 'papermill'} & set(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "set()"


def test_output_closed_early_is_not_an_error():
    code = "from fairaudit.cli import main; raise SystemExit(main(['list']))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # the reader left before the first line, as `| head -0` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_rules_may_write_less_or_equal_as_in_mathematics(tmp_path):
    cell = "share: float = 0.5  # a share {0 < share ≤ 1}\nn: int = 3  # count {n ≥ 1 and n ≠ 2}\n"
    declared = notebook_parameters(_notebook(tmp_path, cell), use_papermill=False)
    assert check_rules(declared, {"share": 1.0, "n": 1}) == []
    broken = check_rules(declared, {"share": 1.5, "n": 2})
    assert [line.split("'")[1] for line in broken] == ["share", "n"]
    assert "{0 < share ≤ 1}" in broken[0]  # quoted as written


@pytest.mark.parametrize("study", STUDY_NAMES)
def test_papermill_itself_sees_every_parameter_with_its_type(study):
    import papermill

    from fairaudit.cli import get_study

    path = get_study(study).notebook_path
    seen = papermill.inspect_notebook(str(path))
    declared = notebook_parameters(path, use_papermill=False)
    assert list(seen) == list(declared)  # a second "=" on a line would hide a parameter
    assert {p["inferred_type_name"] for p in seen.values()} <= {
        "str",
        "int",
        "float",
        "list",
        "bool",
    }


def test_progress_in_logs_is_a_line_every_few_seconds_and_at_the_end(capsys, monkeypatch):
    import time

    from fairaudit.cli import _execute

    clock = iter([0.0, 1.0, 2.0, 7.5, 8.0, 9.0])
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    hook = _execute._progress_hook("credit-loan", total=5, every=5.0)
    for i in range(5):
        hook(cell=None, cell_index=i * 2)
    assert capsys.readouterr().out.splitlines() == [
        "  credit-loan: code cell 3 of 5 (8 s)",
        "  credit-loan: code cell 5 of 5 (9 s)",
    ]
