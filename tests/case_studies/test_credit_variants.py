"""The credit-loan case study with other sensitive features, constraints and models."""

from __future__ import annotations

import pytest
from credit_variants import check_against_predictions, check_prose, run_variant

VARIANTS = {
    "marriage-logistic-dp": {
        "sensitive_features": "MARRIAGE",
        "model": "logistic",
        "constraint": "demographic_parity",
    },
    "education-tpr": {
        "sensitive_features": "EDUCATION",
        "constraint": "true_positive_rate_parity",
    },
    "age-band-no-synthetic-bias": {"sensitive_features": "AGE_BAND", "synthetic_bias": 0.0},
}
EXPECTED_GROUPS = {
    "MARRIAGE": ["married", "single", "others or unknown"],
    "EDUCATION": ["graduate school", "university", "high school", "others or unknown"],
    "AGE_BAND": ["18-25", "26-35", "36-45", "46-100"],
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant_run(request, credit, tmp_path_factory):
    return run_variant(tmp_path_factory, **VARIANTS[request.param])


def test_variant_runs_read_their_own_parameters(variant_run, credit):
    _, summary, predictions, parameters = variant_run[:4]
    sensitive = parameters["sensitive_features"]
    assert summary["parameters"]["sensitive_features"] == sensitive
    assert summary["groups"] == EXPECTED_GROUPS[sensitive]
    assert summary["parameters"]["constraint"] == parameters.get("constraint", "equalized_odds")
    check_against_predictions(summary, predictions, credit, sensitive)


def test_variant_thresholds_are_fitted_and_compared_on_different_rows(variant_run):
    _, summary, predictions, parameters = variant_run[:4]
    protocol = summary["protocol"]
    fitted, compared = set(protocol["thresholds_fitted_on"]), set(protocol["compared_on"])
    assert fitted and compared and not fitted & compared
    assert not (fitted | compared) & set(predictions.index)  # neither part is a test row
    assert summary["data"]["split_rows"]["validation"] == len(fitted) + len(compared)
    bound = parameters.get("max_disparity", 0.05)
    for name, model in summary["models"].items():
        # validation beside test, and a test verdict that follows the interval
        assert {"balanced_accuracy", "equalized_odds_difference"} <= set(model["validation"])
        gap = model["test_disparity"]
        expected = (
            "passes"
            if gap["ci_high"] <= bound
            else "fails"
            if gap["ci_low"] > bound
            else "inconclusive"
        )
        assert model["test_within_bound"] == expected, name
        assert model["four_fifths"] in {"passes", "fails", "inconclusive"}
        assert model["passes_four_fifths"] == (model["four_fifths"] == "passes")


def test_variant_prose_agrees_with_its_numbers(variant_run):
    check_prose(*variant_run[1:])


def test_variant_outputs_carry_no_library_warnings(variant_run):
    """Warnings are dealt with at their cause and said in words, never left in the outputs."""
    import nbformat

    executed = nbformat.read(str(variant_run[0].parent / "executed.ipynb"), as_version=4)
    leaked = [
        output["text"]
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("name") == "stderr"
    ]
    assert not leaked, leaked
