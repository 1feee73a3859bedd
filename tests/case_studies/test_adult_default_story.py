"""The adult-income case study at its default parameters keeps what its introduction promises.

In a file of its own: its full-data run is the longest notebook run of the variant tests,
and ``--dist loadfile`` can then give it a worker while the variants run on the other.
"""

import pytest
from adult_variants import run_variant


def test_default_story_keeps_its_promise(adult, tmp_path_factory):
    """With the default parameters (full data), what the notebook's introduction promises holds."""
    _, report, _, _, validation_rows = run_variant(tmp_path_factory, sample_fraction=1.0)
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
