"""The adult-income case study run with other parameters, checked through its artefacts.

Each variant executes the notebook with papermill on a 20% sample and checks
the JSON artefacts and the saved decision rule against an independent
recomputation (Fairlearn's metrics on the rule's own decisions on the test
rows the run recorded).
"""

import json

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from notebook_run import execute_case_study, rendered_markdown
from sklearn.metrics import accuracy_score, f1_score

from fairaudit._io import project_root
from fairaudit.datasets import dataset_checksums
from fairaudit.mitigation import DecisionRule

NOTEBOOK = project_root() / "notebooks" / "02_adult_income.ipynb"
AUDITS = ["sex", "race", "sex × race"]


def _run(tmp_path_factory, **parameters):
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


@pytest.fixture(scope="module")
def race_run(adult, tmp_path_factory):
    return _run(
        tmp_path_factory,
        sensitive_features=["race"],
        model="logistic",
        mitigation=["threshold_optimizer"],
    )


@pytest.fixture(scope="module")
def intersection_run(adult, tmp_path_factory):
    return _run(
        tmp_path_factory,
        sensitive_features=["sex", "race"],
        mitigation=["threshold_optimizer", "exponentiated_gradient", "grid_search"],
        constraint="equalized_odds",
        gs_grid_size=4,
    )


def _check_against_fairlearn(adult, run, report, test_rows, columns):
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


def _check_common(report, baseline, test_rows, adult, sensitive):
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


def test_race_variant_ships_race_thresholds(adult, race_run):
    run, report, baseline, test_rows, _ = race_run
    _check_common(report, baseline, test_rows, adult, ["race"])
    params = report["metadata"]["parameters"]
    assert params["model"] == "logistic" and params["mitigation"] == ["threshold_optimizer"]
    names = [row["model"] for row in report["validation_tradeoff"]]
    assert names == [
        "logistic (baseline)",
        "threshold optimizer",
        "thresholds 25% of the way",
        "thresholds 50% of the way",
        "thresholds 75% of the way",
        "threshold optimizer (randomised)",
    ]
    # the partial rules sit between the baseline's shared 0.5 and the fitted thresholds
    fitted = report["threshold_optimizer"]["deterministic_thresholds"]
    sidecar_rule = {row["model"]: row for row in report["validation_tradeoff"]}
    assert all(sidecar_rule[n]["kind"] == "post-processing" for n in names[1:])
    assert all(isinstance(t, float) for t in fitted.values())
    rule, test = _check_against_fairlearn(adult, run, report, test_rows, ["race"])
    assert rule.sensitive_features == ["race"]
    # The threshold optimizer's deterministic rule has one threshold per race group, whether
    # or not it was chosen; the saved rule is per group exactly when post-processing won.
    shipped = report["threshold_optimizer"]["deterministic_thresholds"]
    assert set(shipped) == set(adult["race"].cat.categories)
    assert rule.per_group == (report["chosen"]["kind"] == "post-processing")
    assert rule.thresholds == pytest.approx(report["chosen"]["thresholds"])
    sidecar = json.loads((run / "decision_rule.json").read_text())
    assert sidecar["metadata"]["name"] == report["chosen"]["name"]


def test_intersectional_variant_with_reductions(adult, intersection_run):
    run, report, baseline, test_rows, val_rows = intersection_run
    _check_common(report, baseline, test_rows, adult, ["sex", "race"])
    assert report["metadata"]["parameters"]["constraint"] == "equalized_odds"
    names = [row["model"] for row in report["validation_tradeoff"]]
    assert names[0] == "hgb (baseline)"
    # GridSearch's Lagrange grid cannot cover ten sex × race groups: skipped, and said why
    assert not [n for n in names if n.startswith("GS #")]
    assert "10 groups of sex × race" in report["skipped"]["grid_search"]
    assert "EG bound=0.02 (majority vote)" in names and "EG bound=0.02 (randomised)" in names
    # Post-processing is skipped exactly when some sex × race group has a single label in
    # validation (no threshold can be learned there); the run says so and goes on.
    val = adult.loc[val_rows]
    labels = val.groupby(["sex", "race"], observed=True)["income"].nunique()
    one_label = [f"{s}, {r}" for (s, r), n in labels.items() if n < 2]
    skipped = report["skipped"].get("threshold_optimizer", "")
    assert ("only one label" in skipped) == bool(one_label)
    assert all(g in skipped for g in one_label)
    assert any(n.startswith("threshold optimizer") for n in names) == (not one_label)
    _check_against_fairlearn(adult, run, report, test_rows, ["sex", "race"])
    # Reductions decide without the sensitive attributes: one threshold for everyone.
    assert isinstance(report["chosen"]["thresholds"], float)


def test_reloaded_rule_is_deterministic(adult, race_run):
    run, _, _, test_rows, _ = race_run
    test = adult.loc[test_rows[:200]]
    first = DecisionRule.load(run / "decision_rule.skops").apply(test)
    second = DecisionRule.load(run / "decision_rule.skops").apply(test)
    assert first.equals(second)
    assert set(np.unique(first["decision"])) <= {0, 1}


def test_bad_parameter_fails_fast_with_a_clear_message(adult, tmp_path):
    from papermill.exceptions import PapermillExecutionError

    with pytest.raises(
        PapermillExecutionError, match=r"'sensitive_features' = \['gender'\] must be one or more of"
    ):
        execute_case_study(
            NOTEBOOK.name,
            tmp_path / "bad.ipynb",
            {"sensitive_features": ["gender"], "output_dir": str(tmp_path / "run")},
        )
    assert not (tmp_path / "run").exists()


def test_default_story_keeps_its_promise(adult, tmp_path_factory):
    """With the default parameters (full data), what the notebook's introduction promises holds."""
    _, report, _, _, validation_rows = _run(tmp_path_factory, sample_fraction=1.0)
    chosen, test = report["chosen"], report["test"]
    assert chosen["shippable"] and chosen["kind"] != "baseline"
    assert report["metadata"]["parameters"]["constraint"] == "equalized_odds"  # harm-led default
    # within the tolerance on accuracy and F1, on the test set
    assert test["deltas"]["accuracy"] >= -0.03 and test["deltas"]["f1"] >= -0.03
    before = test["before"]["fairness"]["sex"]
    after = test["after"]["fairness"]["sex"]
    assert after["equalized_odds_difference"] <= before["equalized_odds_difference"]
    assert after["demographic_parity_difference"] < before["demographic_parity_difference"]
    # the report states the gate's outcome, and validation sits beside test for the chosen rule
    assert isinstance(test["release_gate_passed"], bool)
    assert test["release_gate_verdict"] in {"passes", "fails", "inconclusive"}
    assert chosen["validation"]["gate_passed"] is True
    assert chosen["test"]["accuracy"] == pytest.approx(test["after"]["performance"]["accuracy"])
    # the contrast: enforcing demographic parity instead closes the selection gap and opens the
    # error-rate gap, and group thresholds decide some applicants by their group
    contrast = report["contrast"]
    assert contrast["constraint"] == "demographic_parity"
    rules = contrast["test"]
    dp, ours = rules[contrast["name"]], rules[chosen["name"]]
    assert dp["demographic_parity_difference"] < ours["demographic_parity_difference"]
    assert dp["equalized_odds_difference"] > ours["equalized_odds_difference"]
    assert contrast["score_band"]["applicants"] > contrast["score_band"]["chosen_rule_applicants"]
    # the impossibility arithmetic by hand: from the two selection rates at equal error rates,
    # recover TPR - FPR and FPR, then the largest TPR the four-fifths rule would allow
    (_, p_lo), (_, p_hi) = contrast["base_rates"]["lowest"], contrast["base_rates"]["highest"]
    sel = contrast["equal_error_rates_selection"]
    separation = (sel["highest"] - sel["lowest"]) / (p_hi - p_lo)
    fpr = sel["lowest"] - p_lo * separation
    di = report["gate_thresholds"]["di_min"]
    cap = fpr * ((1 - p_lo) - di * (1 - p_hi)) / (di * p_hi - p_lo)
    assert sel["tpr_cap_for_di"] == pytest.approx(cap)
    assert cap < fpr + separation  # the cap is below the chosen rule's own TPR
    protocol = chosen["protocol"]
    assert protocol["thresholds_fitted_on"] + protocol["compared_on"] == len(validation_rows)
    assert protocol["compared_on"] > 0


@pytest.fixture(scope="module")
def dp_blocking_run(adult, tmp_path_factory):
    # the selection-rate check blocks: the price of demographic parity decides the release
    return _run(
        tmp_path_factory,
        gate_blocking=["demographic_parity_difference"],
        eg_bounds=[0.02],
        gs_grid_size=3,
    )


@pytest.mark.parametrize("variant", ["race_run", "intersection_run", "dp_blocking_run"])
def test_variant_prose_agrees_with_its_report(variant, request):
    import re

    run, report, _, _, _ = request.getfixturevalue(variant)
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
