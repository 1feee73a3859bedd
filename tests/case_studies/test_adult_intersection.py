"""The adult-income case study audited on sex × race with reductions, through its artefacts."""

import pytest
from adult_variants import check_against_fairlearn, check_common, check_prose, run_variant


@pytest.fixture(scope="module")
def intersection_run(adult, tmp_path_factory):
    return run_variant(
        tmp_path_factory,
        sensitive_features=["sex", "race"],
        mitigation=["threshold_optimizer", "exponentiated_gradient", "grid_search"],
        constraint="equalized_odds",
        eg_bounds=[0.02],  # the one bound the test names; GridSearch is skipped for ten groups
        gs_grid_size=4,
    )


def test_intersectional_variant_with_reductions(adult, intersection_run):
    run, report, baseline, test_rows, val_rows = intersection_run
    check_common(report, baseline, test_rows, adult, ["sex", "race"])
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
    check_against_fairlearn(adult, run, report, test_rows, ["sex", "race"])
    # Reductions decide without the sensitive attributes: one threshold for everyone.
    assert isinstance(report["chosen"]["thresholds"], float)


def test_intersectional_variant_prose_agrees_with_its_report(intersection_run):
    check_prose(intersection_run)
