"""What the adult-income variant tests share: running the notebook and checking its artefacts.

Each variant executes the notebook with papermill on a 20% sample and checks
the JSON artefacts and the saved decision rule against an independent
recomputation (Fairlearn's metrics on the rule's own decisions on the test
rows the run recorded). The variants live in one test file each, so that
``--dist loadfile`` spreads their notebook runs over the workers.
"""

import json
import re

import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from notebook_run import execute_case_study, rendered_markdown
from sklearn.metrics import accuracy_score, f1_score

from fairaudit._io import project_root
from fairaudit.datasets import dataset_checksums
from fairaudit.mitigation import DecisionRule

NOTEBOOK = project_root() / "notebooks" / "02_adult_income.ipynb"
AUDITS = ["sex", "race", "sex × race"]


def run_variant(tmp_path_factory, **parameters):
    out = tmp_path_factory.mktemp("adult")
    parameters = {
        "sample_fraction": 0.2,
        "n_boot": 100,
        "output_dir": str(out / "run"),
        **parameters,
    }
    execute_case_study(NOTEBOOK.name, out / "executed.ipynb", parameters)
    run = out / "run"
    report = json.loads((run / "mitigation_report.json").read_text())
    baseline = json.loads((run / "eval_baseline.json").read_text())
    rows = json.loads((run / "split_rows.json").read_text())
    return run, report, baseline, rows["test"], rows["validation"]


def check_against_fairlearn(adult, run, report, test_rows, columns):
    """Recompute the chosen rule's test metrics from the saved rule and the recorded rows."""
    rule = DecisionRule.load(run / "decision_rule.skops")
    test = adult.loc[test_rows]
    y = (test["income"] == ">50K").astype(int).to_numpy()
    decisions = rule.predict(test)
    after = report["test"]["after"]
    target = " × ".join(columns)
    sf = test[columns]
    assert after["performance"]["accuracy"] == pytest.approx(accuracy_score(y, decisions))
    assert after["performance"]["f1"] == pytest.approx(f1_score(y, decisions))
    fairness = after["fairness"][target]
    dpd = demographic_parity_difference(y, decisions, sensitive_features=sf)
    eod = equalized_odds_difference(y, decisions, sensitive_features=sf)
    assert fairness["demographic_parity_difference"] == pytest.approx(dpd)
    assert fairness["equalized_odds_difference"] == pytest.approx(eod)
    # The release verdicts follow from those values and the gate's thresholds.
    gate = {g["check"]: g for g in after["gate"] if g["audit"] == target}
    thresholds = report["gate_thresholds"]
    assert gate["demographic_parity_difference"]["passed"] == (dpd <= thresholds["dpd_max"])
    assert gate["equalized_odds_difference"]["passed"] == (eod <= thresholds["eod_max"])
    assert report["test"]["release_gate_passed"] == all(g["passed"] for g in gate.values())
    return rule, test


def check_common(report, baseline, test_rows, adult, sensitive):
    params = report["metadata"]["parameters"]
    assert params["sample_fraction"] == 0.2 and params["sensitive_features"] == sensitive
    assert report["metadata"]["data"]["sha256"] == dataset_checksums("adult")
    assert report["metadata"]["data"]["rows"] == round(0.2 * len(adult))
    assert 3 <= len(report["headline"]) <= 6
    assert all(isinstance(v, str) for v in report["headline"].values())
    assert len(set(test_rows)) == len(test_rows) == pytest.approx(0.2 * 0.2 * len(adult), rel=0.01)
    assert set(baseline["baselines"]) == {"logistic", "hgb"}
    for kind in ("logistic", "hgb"):
        test_audits = baseline["baselines"][kind]["test"]["audits"]
        assert list(test_audits) == AUDITS
        for name in AUDITS:
            counts = sum(g["count"] for g in test_audits[name]["by_group"].values())
            assert counts == len(test_rows)
    chosen = report["chosen"]["name"]
    names = [row["model"] for row in report["validation_tradeoff"]]
    assert chosen in names
    row = next(r for r in report["validation_tradeoff"] if r["model"] == chosen)
    assert row["deterministic"] and row["accuracy_within_tolerance"]


def check_prose(variant_run):
    """The rendered prose of a variant states what its report shows."""
    run, report, _, _, _ = variant_run
    prose = "\n".join(rendered_markdown(run.parent / "executed.ipynb"))
    assert "('" not in prose, "a group printed as a tuple"
    test = report["test"]
    verdict = test["release_gate_verdict"]
    word = {"passes": "**passes**", "fails": "**fails**", "inconclusive": "is **inconclusive**"}
    assert f"the release gate {word[verdict]}" in prose
    if report["chosen"]["shippable"]:
        assert f"**Chosen: `{report['chosen']['name']}`**" in prose
        assert "not for release" not in prose
    else:
        assert "**Nothing is released**" in prose and "not for release" in prose
    acc, f1 = (test["deltas"][k] * 100 for k in ("accuracy", "f1"))
    assert f"changes accuracy by {acc:+.1f} points and F1 by {f1:+.1f} points against the" in prose
    # the impossibility arithmetic: the disparate impact stated is the ratio of the rates stated
    low, high, di = re.search(
        r"would select ([\d.]+)% and ([\d.]+)% of them: disparate impact ([\d.]+)", prose
    ).groups()
    assert float(di) == pytest.approx(float(low) / float(high), abs=0.01)
    contrast = report["contrast"]
    if contrast["name"]:  # a pair is approved at a lower score than the one declined
        pair = re.search(r"score ([\d.]+) is approved while .* higher score, ([\d.]+), is", prose)
        assert pair and float(pair.group(1)) < float(pair.group(2))
        # the contrast's sentence states the contrast table's own gaps (whatever their direction)
        rules, baseline = contrast["test"], report["test"]["before"]["name"]
        stated = re.search(
            r"moves demographic parity difference from (\d\.\d+) to (\d\.\d+) and equalized "
            r"odds difference from (\d\.\d+) to (\d\.\d+)",
            prose,
        ).groups()
        expected = [
            rules[name][gap]
            for gap in ("demographic_parity_difference", "equalized_odds_difference")
            for name in (baseline, contrast["name"])
        ]
        assert [float(x) for x in stated] == pytest.approx(expected, abs=0.0005)
