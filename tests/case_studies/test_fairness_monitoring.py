"""The monitoring case study run with other parameters: its prose agrees with its numbers.

Each variant executes the notebook with papermill on a short, small run and
reads back two things: ``monitor_summary.json`` (the windows as computed) and
the sentences the notebook rendered from them. The sentences must not claim
what the numbers (or the parameters) contradict.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from notebook_run import execute_case_study, rendered_markdown

SMALL = {"sample_fraction": 0.2, "days": 4, "drift_day": 2}
START = pd.Timestamp("2026-03-02")  # the notebook's default start_date
VARIANTS = {
    # nothing drifts: every alert is a false alarm, and no label error may be claimed
    "no-drift": {"drift_strength": 0.0},
    # a single age band as reference, so other bands' requests are neither group
    "age-band": {
        "attribute": "AGE_BAND",
        "monitored": ["18-25"],
        "reference": ["36-45"],
        "min_records": 60,
    },
    "marriage-3h-90": {
        "attribute": "MARRIAGE",
        "monitored": ["single"],
        "reference": ["married"],
        "threshold": 0.9,
        "window": "3h",
    },
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def run(request, credit, tmp_path_factory):
    out = tmp_path_factory.mktemp("monitor")
    parameters = {**SMALL, **VARIANTS[request.param], "output_dir": str(out / "run")}
    execute_case_study("03_fairness_monitoring.ipynb", out / "executed.ipynb", parameters)
    summary = json.loads((out / "run" / "monitor_summary.json").read_text())
    prose = rendered_markdown(out / "executed.ipynb")
    return request.param, parameters, summary, pd.DataFrame(summary["windows"]), prose


def _sentence(prose, start):
    found = [p for p in prose if start in p]
    assert len(found) == 1, f"expected one rendered paragraph with {start!r}"
    return found[0]


def test_windows_count_only_the_monitored_and_reference_records(run):
    _, parameters, summary, windows, _ = run
    config = summary["config"]
    assert config["attribute"] == parameters.get("attribute", "SEX")
    hours = pd.Timedelta(parameters.get("window", "1h")) / pd.Timedelta("1h")
    assert len(windows) == parameters["days"] * 24 / hours
    used = windows["monitored_total"] + windows["reference_total"]
    assert (windows["records_used"] == used).all()
    own = windows["records_used"] - windows["backfilled"]
    assert (own <= windows["records"]).all()
    if config["attribute"] == "AGE_BAND":  # other bands' requests are logged but do not count
        assert (own < windows["records"]).mean() > 0.5
    # a window borrows exactly when its own group records fall short of min_records
    min_records = config["min_records"]
    borrowed, short = windows["backfilled"] > 0, own < min_records
    assert borrowed.iloc[1:].equals(short.iloc[1:]) and short.iloc[1:].any()
    assert (used.iloc[24:] >= min_records).all()  # after the first day the history suffices
    confirmed = windows["alert_confirmed"]
    assert (windows.loc[confirmed, "ci_high"] < config["threshold"]).all()
    assert (windows.loc[confirmed, "records_used"] >= min_records).all()


def test_the_window_sentence_and_false_alarm_rates_are_the_tables(run):
    _, parameters, summary, windows, prose = run
    text = _sentence(prose, "had fewer than")
    n, short, borrowed = re.search(
        r"Of (\d+) windows, (\d+) had fewer than (?:\d+) monitored and reference records and "
        r"borrowed ([\d,]+)",
        text,
    ).groups()
    assert int(n) == len(windows)
    assert int(short) == (windows["backfilled"] > 0).sum()
    assert int(borrowed.replace(",", "")) == windows["backfilled"].sum()
    release = START + pd.Timedelta(days=parameters["drift_day"])
    before = pd.to_datetime(windows["window_start"]) < release
    rates = re.search(
        r"false alarms: ([\d.]+)% of the windows alert on the point estimate\. .* leaves "
        r"([\d.]+)%\. After the release the two rules alert in ([\d.]+)% and ([\d.]+)%",
        _sentence(prose, "**False alarms.**"),
    ).groups()
    expected = [
        windows.loc[before, "alert"].mean(),
        windows.loc[before, "alert_confirmed"].mean(),
        windows.loc[~before, "alert"].mean(),
        windows.loc[~before, "alert_confirmed"].mean(),
    ]
    assert [float(r) for r in rates] == pytest.approx([100 * e for e in expected], abs=0.051)
    assert f"below {summary['config']['threshold']:.0%}" in _sentence(prose, "**False alarms.**")


def test_prose_names_the_configured_groups_and_claims_no_absent_label_error(run):
    name, parameters, summary, _, prose = run
    rendered = "\n".join(prose)
    monitored = ", ".join(parameters.get("monitored", ["female"]))
    assert f"of the monitored group ({summary['config']['attribute']} = {monitored})" in rendered
    if parameters.get("attribute", "SEX") != "SEX":
        assert not re.search(r"\b(fe)?male\b", rendered), (
            "prose speaks of sex for another attribute"
        )
    drift = _sentence(prose, "training data") if "drift_strength" not in parameters else None
    if name == "no-drift":
        assert "every alert below is a false alarm" in rendered
        assert not re.search(r"mislabel|recorded as defaults|called some repaying", rendered)
        assert "corrects no label error" in rendered
    else:
        assert drift and "recorded as defaults" in drift
    # a direction is claimed for perturbation only with a significant sign test
    flips = _sentence(prose, "flipping `")
    p = re.search(r"sign test, p ([<=]) ([\d.]+)", flips).groups()
    significant = p[0] == "<" or float(p[1]) < 0.05
    assert ("no clear direction" in flips) != significant
