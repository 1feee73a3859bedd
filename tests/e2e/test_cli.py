"""The ``fairaudit`` command: listing, parameter checks, safe runs, the report index.

The tests run two tiny fixture notebooks (``tests/fixtures/``, a few seconds
each) through the real command; the real case studies run once per session,
small, in ``test_reports.py``.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from report_pages import parameters_cell, parse_html, snapshot
from tiny_studies import OTHER, REGISTRY, TINY

from fairaudit import cli
from fairaudit.cli import STUDIES, ParameterError, get_study, prepare_parameters
from fairaudit.datasets import dataset_checksums


def run_cli(*argv, registry=REGISTRY) -> int:
    return cli.main(list(argv), registry=registry)


def no_leftovers(reports: Path):
    """No temporary run folder or staging folder may survive a run, good or bad."""
    hidden = [p.name for p in reports.iterdir() if p.name.startswith(".") and p.is_dir()]
    assert hidden == []


# --------------------------------------------------------------------------- list, params


def test_list_names_every_registered_study_and_its_notebook(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(STUDIES)
    for line, study in zip(out, STUDIES.values(), strict=True):
        assert line.startswith(study.name)
        assert study.notebook in line
        assert study.description in line
        assert ("not available" in line) is not Path(study.notebook_path).is_file()


def test_params_shows_defaults_types_and_comments_of_the_parameters_cell(capsys):
    assert run_cli("params", "tiny") == 0
    out = capsys.readouterr().out
    expected = parameters_cell(TINY.notebook)
    rows = {line.split()[0]: line for line in out.splitlines()[2:] if line.startswith("  ")}
    assert set(rows) == set(expected)
    for name, (default, comment) in expected.items():
        value = ast.literal_eval(default)
        assert repr(value) in rows[name] and rows[name].rstrip().endswith(comment)
        assert rows[name].split()[1] == type(value).__name__


@pytest.mark.parametrize("name", list(STUDIES))
def test_params_of_each_real_study_match_its_parameters_cell(name, capsys):
    study = STUDIES[name]
    assert cli.main(["params", name]) == 0
    out = capsys.readouterr().out
    for pname, (default, comment) in parameters_cell(study.notebook_path).items():
        (line,) = [line for line in out.splitlines() if line.split()[:1] == [pname]]
        assert repr(ast.literal_eval(default)) in line and line.endswith(comment)


def test_unknown_study_is_a_usage_error_with_a_suggestion(capsys):
    assert run_cli("params", "tiny-othr") == 2
    err = capsys.readouterr().err
    assert "Did you mean 'tiny-other'?" in err and "tiny, tiny-other" in err


# --------------------------------------------------------------------------- parameter checks


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("sample_fraction", "0.2", 0.2),
        ("sample_fraction", "1", 1.0),
        ("n_rows", "12", 12),
        ("fail", "true", True),
        ("fail", "No", False),
        ("group", "0.2", "0.2"),  # a string parameter keeps the text as written
        ("labels", "east, west", ["east", "west"]),
        ("labels", "[east, west]", ["east", "west"]),
    ],
)
def test_values_are_parsed_with_the_type_of_the_default(name, text, expected):
    value = prepare_parameters(TINY.declared, {name: text})[name]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("name", "text"),
    [("n_rows", "2.5"), ("sample_fraction", "a fifth"), ("fail", "maybe"), ("n_rows", "")],
)
def test_values_of_the_wrong_type_are_refused(name, text):
    with pytest.raises(ParameterError, match=rf"'{name}' takes an? \w+ like"):
        prepare_parameters(TINY.declared, {name: text})


def test_typed_values_from_a_file_are_checked_not_parsed():
    assert prepare_parameters(TINY.declared, typed_values={"sample_fraction": 1}) == {
        "sample_fraction": 1.0
    }
    with pytest.raises(ParameterError, match="'group' takes a str"):
        prepare_parameters(TINY.declared, typed_values={"group": 3})
    with pytest.raises(ParameterError, match="'n_rows' takes an int"):
        prepare_parameters(TINY.declared, typed_values={"n_rows": True})


def test_typo_is_refused_with_the_closest_name_before_anything_runs(output_root, capsys):
    assert run_cli("run", "tiny", "-p", "gruop", "south") == 2
    err = capsys.readouterr().err
    assert "Did you mean 'group'?" in err
    assert "Valid parameters: group, sample_fraction, n_rows, labels, fail, hold_flag," in err
    assert not (output_root / "reports").exists(), "a refused run must not write anything"


def test_wrong_type_is_refused_before_anything_runs(output_root, capsys):
    assert run_cli("run", "tiny", "-p", "n_rows", "2.5") == 2
    assert "'n_rows' takes an int like 40" in capsys.readouterr().err
    assert not (output_root / "reports").exists()


def test_output_dir_is_chosen_with_the_option_not_a_parameter(output_root, capsys):
    assert run_cli("run", "tiny", "-p", "output_dir", "elsewhere") == 2
    assert "--output-dir" in capsys.readouterr().err


def test_bad_params_file_values_are_refused_before_anything_runs(output_root, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("group: 3\n")
    assert run_cli("run", "tiny", "-f", str(bad)) == 2
    assert "'group' takes a str" in capsys.readouterr().err
    typo = tmp_path / "typo.yaml"
    typo.write_text("sample_fractoin: 0.5\n")
    assert run_cli("run", "tiny", "-f", str(typo)) == 2
    assert "Did you mean 'sample_fraction'?" in capsys.readouterr().err
    assert not (output_root / "reports").exists()


def test_console_script_refuses_a_typo_for_the_credit_study(tmp_path):
    env = {**os.environ, "FAIRAUDIT_OUTPUT_ROOT": str(tmp_path)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fairaudit",
            "run",
            "credit-loan",
            "-p",
            "sensitve_features",
            "MARRIAGE",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Did you mean 'sensitive_features'?" in done.stderr
    assert not (tmp_path / "reports").exists()


# --------------------------------------------------------------------------- runs


def test_successful_run_publishes_notebook_html_artefacts_and_record(output_root, tmp_path, capsys):
    values = tmp_path / "values.yaml"
    values.write_text("group: west\nsample_fraction: 0.25\n")
    assert run_cli("run", "tiny", "-f", str(values), "-p", "group", "south") == 0  # -p wins
    reports = output_root / "reports"
    run_dir = reports / "tiny_study"
    names = {p.name for p in run_dir.iterdir()}
    assert names == {"tiny_study.ipynb", "tiny_study.html", "summary.json", "rows.png", "run.json",
                     ".fairaudit-run"}  # fmt: skip
    no_leftovers(reports)

    record = json.loads((run_dir / "run.json").read_text())
    declared = parameters_cell(TINY.notebook)
    expected = {name: ast.literal_eval(default) for name, (default, _) in declared.items()}
    expected.update(group="south", sample_fraction=0.25, output_dir=str(run_dir))
    assert record["parameters"] == expected
    assert record["overrides"] == {"group": "south", "sample_fraction": 0.25}
    assert record["status"] == "ok" and record["started_at"] <= record["finished_at"]
    assert record["parameters"]["output_dir"] == str(run_dir)  # not the private work folder
    assert record["versions"]["papermill"] == metadata.version("papermill")
    assert record["versions"]["fairaudit"] == metadata.version("fairaudit")
    assert record["data"]["name"] == "credit_card"
    assert record["data"]["sha256"] == dataset_checksums("credit_card")  # the published ones

    # The executed notebook ran with the given values (papermill's injected cell).
    executed = nbformat.read(str(run_dir / "tiny_study.ipynb"), as_version=4)
    injected = next(
        c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])
    )
    assert 'group = "south"' in injected.source
    # The HTML shows the computed prose for the new group and embeds the figure.
    html = (run_dir / "tiny_study.html").read_text()
    assert "keeps <strong>10</strong> rows for group <strong>south</strong>" in html
    assert "data:image/png;base64," in html
    assert "<script src=" not in html, "the report must not fetch scripts from the network"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["headline"] == {"Group": "south", "Rows kept": 10, "Share kept": 0.25}

    out = capsys.readouterr().out
    assert "Group: south" in out and "Rows kept: 10" in out


def test_forced_failure_keeps_previous_results_and_the_failed_notebook(output_root, capsys):
    assert run_cli("run", "tiny", "-p", "group", "south") == 0
    reports = output_root / "reports"
    before = snapshot(reports / "tiny_study")
    capsys.readouterr()

    assert run_cli("run", "tiny", "-p", "group", "west", "-p", "fail", "true") == 1
    err = capsys.readouterr().err
    assert 'raise ValueError("forced failure requested with fail=True")' in err
    assert "ValueError: forced failure requested with fail=True" in err
    assert "code cell" in err

    assert snapshot(reports / "tiny_study") == before, "previous results must stay untouched"
    no_leftovers(reports)
    (failed,) = (reports / "failed").iterdir()
    assert failed.name.startswith("tiny-") and failed.name.endswith("Z")
    assert failed.name in err
    executed = nbformat.read(str(failed / "tiny_study.ipynb"), as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    errors = [o for o in errors if o.output_type == "error"]
    assert [(o.ename, o.evalue) for o in errors] == [
        ("ValueError", "forced failure requested with fail=True")
    ]
    assert "forced failure" in (failed / "error.txt").read_text()
    record = json.loads((failed / "run.json").read_text())
    assert record["status"] == "failed" and record["overrides"]["group"] == "west"

    # The index still shows the good run, and flags the newer failed attempt.
    page = parse_html(reports / "index.html")
    text = " ".join(page.text)
    assert "south" in text and "failed" in text
    assert any(link.rstrip("/").endswith(failed.name) for link in page.links)


def test_a_notebook_that_does_not_write_its_main_json_fails(output_root, capsys):
    broken = dataclasses.replace(TINY, main_json="missing.json")
    assert run_cli("run", "tiny", registry={"tiny": broken}) == 1
    assert "did not write missing.json" in capsys.readouterr().err
    assert not (output_root / "reports/tiny_study").exists()


def test_output_dir_option_places_the_run_and_the_index_links_it(output_root, tmp_path):
    custom = tmp_path / "workshop" / "tiny run"
    assert run_cli("run", "tiny", "--output-dir", str(custom), "-p", "group", "east") == 0
    assert (custom / "summary.json").is_file() and (custom / "tiny_study.html").is_file()
    index = output_root / "reports" / "index.html"
    page = parse_html(index)
    targets = {(index.parent / link).resolve() for link in page.links}
    assert (custom / "tiny_study.html").resolve() in targets


def test_all_applies_each_value_only_where_the_parameter_exists(output_root, capsys):
    assert run_cli("run", "--all", "-p", "group", "east", "-p", "sample_fraction", "0.5") == 0
    reports = output_root / "reports"
    tiny = json.loads((reports / "tiny_study/run.json").read_text())
    other = json.loads((reports / "tiny_other/run.json").read_text())
    assert tiny["overrides"] == {"group": "east", "sample_fraction": 0.5}
    assert other["overrides"] == {"sample_fraction": 0.5}
    assert json.loads((reports / "tiny_other/report.json").read_text())["headline"] == {
        "Share kept": 0.5,
        "Threshold": 0.8,
    }

    # Every link of the index resolves to a file the runs wrote.
    page = parse_html(reports / "index.html")
    for link in page.links + page.images:
        assert (reports / link).exists(), link
    text = " ".join(page.text)
    for label in ["Group", "Rows kept", "Share kept", "Threshold"]:
        assert label in text
    assert len(page.images) == 1  # tiny_study's figure; tiny_other has none

    capsys.readouterr()
    assert run_cli("run", "--all", "-p", "tresholds", "0.5") == 2
    err = capsys.readouterr().err
    assert "No case study has a parameter 'tresholds'. Did you mean 'threshold'?" in err
    assert run_cli("run", "--all", "--output-dir", "x") == 2


def test_get_study_suggests_the_closest_name():
    with pytest.raises(LookupError, match="Did you mean 'credit-loan'"):
        get_study("credit-laon")


def test_all_keeps_going_after_a_failure_and_exits_non_zero(output_root, capsys):
    assert run_cli("run", "--all", "-p", "fail", "yes") == 1
    reports = output_root / "reports"
    assert not (reports / "tiny_study").exists()
    assert (reports / "tiny_other" / "report.json").is_file()
    assert [p.name.split("-2")[0] for p in (reports / "failed").iterdir()] == ["tiny"]
    assert "ValueError: forced failure" in capsys.readouterr().err


def test_papermill_sees_each_declared_parameter_with_its_rule_in_words():
    """papermill --help-notebook shows the parameters cell: names, types and rules in words."""
    import papermill

    for study in [TINY, OTHER, *(s for s in STUDIES.values() if s.available)]:
        seen = papermill.inspect_notebook(str(study.notebook_path))
        assert list(seen) == list(study.declared), study.name
        for name, param in study.declared.items():
            assert seen[name]["help"] == param.comment, (study.name, name)
            assert seen[name]["inferred_type_name"] == type(param.default).__name__


# --------------------------------------------------------------------------- strict nbval


def test_nbval_sanitizer_masks_only_volatile_text():
    from nbval.plugin import get_sanitize_patterns

    cfg = Path(__file__).parents[1] / "nbval_sanitize.cfg"
    patterns = get_sanitize_patterns(cfg.read_text())

    def clean(text):
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    # The committed run wrote under the checkout, the test session under /tmp.
    assert clean("Saved to /home/ana/fairaudit/reports/credit_loan/summary.json") == clean(
        "Saved to /tmp/fairaudit-test-output-k2x/reports/credit_loan/summary.json"
    )
    assert clean("<Figure at 0x7f3a1c2b9d50>") == clean("<Figure at 0x7f00aa11bb22>")
    assert clean("Wall time: 1.23 s") == clean("Wall time: 870 ms")
    assert clean("fitted; took 12.5 s") == clean("fitted; took 3 s")
    assert clean("scratch file /tmp/tmpab12cd/x.csv") == clean("scratch file /tmp/tmpzz99/x.csv")
    # Results are never masked: numbers, units in prose, group names, window lengths.
    for text in [
        "Equalized-odds difference 0.272 (95% CI 0.21 to 0.33)",
        "a window of 60 min holds at least 100 requests",
        "MARRIAGE: married, single, others",
        "disparate impact 0x is not a number",
    ]:
        assert clean(text) == text
    assert clean("accuracy 0.812") != clean("accuracy 0.813")
