"""The adult-income case study with race as the sensitive feature, checked through its artefacts.

Also: a bad parameter is refused before anything runs. See adult_variants.py for what the
variant files share.
"""

import json

import numpy as np
import pytest
from adult_variants import (
    NOTEBOOK,
    check_against_fairlearn,
    check_common,
    check_prose,
    run_variant,
)
from notebook_run import execute_case_study

from fairaudit.mitigation import DecisionRule


@pytest.fixture(scope="module")
def race_run(adult, tmp_path_factory):
    return run_variant(
        tmp_path_factory,
        sensitive_features=["race"],
        model="logistic",
        mitigation=["threshold_optimizer"],
    )


def test_race_variant_ships_race_thresholds(adult, race_run):
    run, report, baseline, test_rows, _ = race_run
    check_common(report, baseline, test_rows, adult, ["race"])
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
    rule, test = check_against_fairlearn(adult, run, report, test_rows, ["race"])
    assert rule.sensitive_features == ["race"]
    # The threshold optimizer's deterministic rule has one threshold per race group, whether
    # or not it was chosen; the saved rule is per group exactly when post-processing won.
    shipped = report["threshold_optimizer"]["deterministic_thresholds"]
    assert set(shipped) == set(adult["race"].cat.categories)
    assert rule.per_group == (report["chosen"]["kind"] == "post-processing")
    assert rule.thresholds == pytest.approx(report["chosen"]["thresholds"])
    sidecar = json.loads((run / "decision_rule.json").read_text())
    assert sidecar["metadata"]["name"] == report["chosen"]["name"]


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


def test_race_variant_prose_agrees_with_its_report(race_run):
    check_prose(race_run)
