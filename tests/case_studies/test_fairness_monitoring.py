"""Notebook 03 re-run under other parameters: its prose and verdicts follow its numbers.

Every parameter set below executes the whole notebook on a small simulation
(sets that vary independent parameters are combined: each run is checked by
every invariant).
They share one Jupyter kernel, whose user namespace is reset before each run
(``%reset -f``): every name the notebook uses is defined again by its own cells
and everything random is seeded, so a run does not depend on the ones before
it (the first set is run again last, and the two must render the same prose).
Each run is checked by invariants computed from ``monitor_summary.json`` and
the windows, not by sentences copied from a run: every value inside its
interval, alerts that follow from their windows, back-fill that never reaches
across the release, detection figures equal to the alarms, and no sentence
whose premise is false.
"""

from __future__ import annotations

import copy
import json
import re

import nbformat
import numpy as np
import pandas as pd
import pytest
from notebook_run import NOTEBOOKS, rendered_markdown

SMALL = {"sample_fraction": 0.1, "days": 4, "drift_day": 2, "requests_per_hour": 200}
START = pd.Timestamp("2026-03-02")  # the notebook's default start_date
AGES_ABOVE_25 = ["26-35", "36-45", "46-60", "61-100"]
VARIANTS = {
    "defaults-small": {},
    # nothing drifts: every alarm is a false alarm, and no label error may be claimed
    "no-drift": {"drift_strength": 0.0},
    # the young monitored against every older band: perturbation flips to each of four values
    "age-band-young": {"attribute": "AGE_BAND", "monitored": ["18-25"],
                       "reference": AGES_ABOVE_25, "min_records": 60},
    "marriage-3h-80": {"attribute": "MARRIAGE", "monitored": ["single"],
                       "reference": ["married"], "threshold": 0.8, "window": "3h"},
    # education, with a drift strong enough to break parity (a threshold of 1.0)
    "education-strong-drift-parity": {"attribute": "EDUCATION", "monitored": ["high school"],
                                      "reference": ["university", "graduate school"],
                                      "drift_strength": 0.6, "threshold": 1.0},
    "tiny": {"sample_fraction": 0.03, "requests_per_hour": 60, "days": 2, "drift_day": 1},
    # half-hour windows that never borrow (one record is enough)
    "half-hours-no-backfill": {"window": "30min", "threshold": 0.8, "min_records": 1},
    "min-records-beyond-the-log": {"min_records": 100_000},
    "daily-windows": {"window": "1d", "days": 6, "drift_day": 3},
    # the men monitored against the women, and no outcome fed back
    "men-monitored-no-feedback": {"monitored": ["male"], "reference": ["female"],
                                  "feedback_share": 0.0, "drift_day": 3},
}  # fmt: skip


def _execute_all(variants, out):
    """Run the notebook once per parameter set in one kernel; yield (name, executed notebook)."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    template = load_notebook_node(str(NOTEBOOKS / "03_fairness_monitoring.ipynb"))
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(NOTEBOOKS))
    try:
        for name, parameters in variants:
            nb = parameterize_notebook(
                copy.deepcopy(template),
                {**parameters, "output_dir": str(out / name)},
                kernel_name="python3",
            )
            nb.cells.insert(0, nbformat.v4.new_code_cell("%reset -f", metadata={"tags": []}))
            NotebookClient(nb, km=km, timeout=600, kernel_name="python3").execute()
            yield name, nb
    finally:
        km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def runs(credit, tmp_path_factory):
    """Every parameter set's parameters, summary, windows and rendered prose."""
    out = tmp_path_factory.mktemp("monitor-runs")
    order = [*VARIANTS.items(), ("defaults-small-again", VARIANTS["defaults-small"])]
    results = {}
    for name, nb in _execute_all([(n, {**SMALL, **p}) for n, p in order], out):
        summary = json.loads((out / name / "monitor_summary.json").read_text())
        windows = pd.DataFrame(summary["windows"])
        for column in ("window_start", "window_end", "oldest_used", "newest_used"):
            windows[column] = pd.to_datetime(windows[column])
        parameters = {**SMALL, **dict(order)[name]}
        results[name] = (parameters, summary, windows, rendered_markdown(nb))
    return results


@pytest.fixture(params=list(VARIANTS))
def run(request, runs):
    return runs[request.param]


def _one(prose, needle):
    found = [p for p in prose if needle in p]
    assert len(found) == 1, f"expected one rendered paragraph with {needle!r}"
    return found[0]


def _release(parameters):
    return START + pd.Timedelta(days=parameters["drift_day"])


def test_a_run_does_not_depend_on_the_runs_before_it_in_the_kernel(runs):
    first, again = runs["defaults-small"], runs["defaults-small-again"]
    assert first[3] == again[3]
    assert first[1]["headline"] == again[1]["headline"]


def test_windows_follow_the_configuration_and_back_fill_stays_inside_a_version(run):
    parameters, summary, windows, _ = run
    config = summary["config"]
    assert config["sensitive_features"] == parameters.get("attribute", "SEX")
    width = pd.Timedelta(summary["config"]["window"])
    assert len(windows) == pd.Timedelta(days=parameters["days"]) / width
    assert (
        windows["records_used"] == windows["monitored_total"] + windows["reference_total"]
    ).all()
    own = windows["records_used"] - windows["backfilled"]
    assert ((own >= 0) & (own <= windows["records"])).all()
    # a window borrows only when short, never beyond min_records, never across the release
    min_records = config["min_records"]
    assert (windows.loc[windows["backfilled"] > 0, "records_used"] <= max(min_records, 0)).all()
    assert not ((windows["backfilled"] > 0) & (own >= min_records)).any()
    # after the release, a window with requests of its own is served by version 2 alone
    after = (windows["window_start"] >= _release(parameters)) & (windows["records"] > 0)
    assert (windows.loc[after & (windows["records_used"] > 0), "oldest_used"]
            >= _release(parameters)).all()  # fmt: skip
    # alerts follow from their windows
    threshold = config["threshold"]
    assert (windows["alert"] == (windows["disparate_impact"] < threshold)).all()
    confirmed = windows["alert_confirmed"]
    assert (windows.loc[confirmed, "ci_high"] < threshold).all()
    assert (windows.loc[confirmed, "records_used"] >= min_records).all()
    alerts = pd.to_datetime(pd.DataFrame(summary["alerts"]).get("window_start", pd.Series()))
    assert list(alerts) == list(windows.loc[windows["alert"], "window_start"])


def test_every_value_lies_inside_its_interval(run):
    _, summary, windows, _ = run
    defined = windows.dropna(subset=["ci_low", "ci_high"])
    point = defined["disparate_impact"]
    assert ((defined["ci_low"] <= point + 1e-9) & (point <= defined["ci_high"] + 1e-9)).all()
    for period in summary["perturbation"].values():
        for view in period["disparate_impact"].values():
            if view["ci_low"] is not None and view["disparate_impact"] is not None:
                assert view["ci_low"] - 1e-9 <= view["disparate_impact"] <= view["ci_high"] + 1e-9


def test_the_detection_table_is_the_alarms_and_the_prose_reads_it(run):
    parameters, summary, windows, prose = run
    detection = pd.DataFrame(summary["detection"]).set_index("rule")
    before = windows["window_start"] < _release(parameters)
    detection["delay_hours"] = detection["delay_hours"].astype(float)  # JSON writes NaN as null
    point = detection.loc["point estimate"]
    assert point["false_alarms"] == windows.loc[before, "alert"].sum()
    interval = detection.loc["whole interval"]
    assert interval["false_alarms"] == windows.loc[before, "alert_confirmed"].sum()
    first = windows.loc[~before & windows["alert"], "window_end"].min()
    expected = (first - _release(parameters)) / pd.Timedelta("1h")
    assert point["delay_hours"] == pytest.approx(expected, nan_ok=True)
    text = _one(prose, "One release gives one delay")
    median_before = windows.loc[before, "disparate_impact"].median()
    assert ("**False alarms**" in text) == (median_before >= summary["config"]["threshold"])
    for rule, row in detection.iterrows():
        assert f"{rule}, {row['false_alarms']} ({row['false_alarm_rate']:.1%})" in text
        delay = "never" if pd.isna(row["delay_hours"]) else f"{row['delay_hours']:.0f} h"
        assert f"{rule}, {delay}" in text
    runs = re.search(r"(\d+) of the (\d+) windows closing a run", text)
    assert runs is None or 0 < int(runs[1]) <= int(runs[2])  # said only when some share records


def test_the_perturbation_verdict_agrees_with_its_effect_size(run):
    parameters, summary, _, prose = run
    effect = summary["perturbation_effect"]
    text = _one(prose, "flipping `")
    significant = effect["p_value"] < 0.05
    material = abs(effect["net"]) >= effect["material"]
    assert ("That is material" in text) == (significant and material)
    assert ("disadvantages the" in text) == (effect["direction"] == "disadvantages")
    assert ("negligible" in text) == (effect["direction"] == "negligible")
    assert ("No clear direction" in text) == (not significant)
    net = re.search(r"change by ([+-]\d+\.\d) points", text)[1]
    assert float(net) == pytest.approx(100 * effect["net"], abs=0.051)
    # a degenerate move gets its own sentence, never "from 103% to 103%"
    moved = re.findall(r"from (\d+)% to (\d+)%", "\n".join(prose))
    assert all(a != b for a, b in moved), moved
    perturbed = _one(prose, "With perturbed data")
    after = summary["perturbation"]["after the release"]["disparate_impact"]
    value = after["payload_plus_perturbed"]["disparate_impact"]
    below = value is not None and value < summary["config"]["threshold"]
    assert (f"is below {summary['config']['threshold']:.0%}" in perturbed) == below
    if not below and effect["direction"] != "disadvantages":
        assert "no material dependence" in perturbed


def test_no_sentence_claims_what_the_parameters_contradict(run):
    parameters, summary, windows, prose = run
    rendered = "\n".join(prose)
    monitored = ", ".join(parameters.get("monitored", ["female"]))
    assert f"of the monitored group ({summary['config']['sensitive_features']} = {monitored})" in (
        rendered
    )
    if parameters.get("attribute", "SEX") != "SEX":
        assert not re.search(r"\b(fe)?male\b", rendered), (
            "prose speaks of sex for another attribute"
        )
    if parameters.get("drift_strength") == 0:
        assert "every alarm below is a false alarm" in rendered
        assert not re.search(r"mislabel|recorded as defaults|called some repaying", rendered)
    accuracy = summary["perturbation"]["after the release"]["accuracy"]["all"]
    text = _one(prose, "de-biasing")
    if accuracy["records"] == 0:
        assert "No outcome is fed back" in text
    else:
        before, after = accuracy["before"], accuracy["after"]
        assert ("raises accuracy" in text) == (round(after, 3) > round(before, 3))
        assert ("lowers accuracy" in text) == (round(after, 3) < round(before, 3))
        assert ("can be more accurate" in text) == (
            "recorded as defaults" in rendered and after > before
        )
    first = _one(prose, "The first window after the release")
    after = windows["window_start"] >= _release(parameters)
    served = windows[after & (windows["records"] > 0)].iloc[0]
    assert served["backfilled"] == 0  # nothing of version 1
    n = served["records_used"]
    assert f"rests on {n:,} record{'' if n == 1 else 's'}, all of version 2" in first
    short = served["records_used"] < summary["config"]["min_records"]
    assert ("although that is fewer than" in first) == short
    waiting = (after & (windows["window_start"] < served["window_start"])).sum()
    assert ("empty window" in first) == (waiting > 0)
    if (windows["backfilled"] == 0).all():
        assert "No window borrowed records" in rendered
    gap = re.search(r"(\d+) points (below|above) the (\d+)% threshold", rendered)
    median = windows.loc[windows["window_start"] >= _release(parameters), "disparate_impact"]
    assert gap[2] == ("below" if median.median() < summary["config"]["threshold"] else "above")
    assert np.isfinite(median.median()) or "nan" not in gap[0]
