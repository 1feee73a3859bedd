"""What the credit-loan variant tests share: running the notebook and checking its outputs.

Each variant executes the notebook with papermill on a small stratified sample
and checks ``summary.json`` against an independent recomputation: Fairlearn's
metrics on the test-set decisions the run saved, the published data set's
labels and groups for the saved client IDs, and the data set's checksums. The
default-parameter run and the variants live in test files of their own, so that
``--dist loadfile`` spreads their notebook runs over the workers.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from notebook_run import execute_case_study, rendered_markdown
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from fairaudit._io import project_root
from fairaudit.mitigation import DISPARITY_OF

NOTEBOOK = project_root() / "notebooks" / "01_credit_loan.ipynb"
MODELS = ["unmitigated", "threshold_optimizer", "exponentiated_gradient"]
MODEL_FIELDS = {
    "balanced_accuracy",
    "accuracy",
    "equalized_odds_difference",
    "demographic_parity_difference",
    "disparate_impact",
    "passes_four_fifths",
    "four_fifths",
    "validation",
    "test_disparity",
    "test_within_bound",
    "audit",
}


def execute(out, parameters):
    execute_case_study(NOTEBOOK.name, out / "executed.ipynb", parameters)


def run_variant(tmp_path_factory, **parameters):
    out = tmp_path_factory.mktemp("credit")
    parameters = {
        "sample_fraction": 0.2,
        "n_boot": 100,
        "epsilons": [0.02],
        "output_dir": str(out / "run"),
        **parameters,
    }
    execute(out, parameters)
    run = out / "run"
    summary = json.loads((run / "summary.json").read_text())
    predictions = pd.read_csv(run / "predictions_test.csv", index_col="ID")
    return run, summary, predictions, parameters, rendered_markdown(out / "executed.ipynb")


def _disparate_impact(pred, groups, favourable=1, min_group_size=30):
    """Lowest ratio of a group's favourable rate to the reference group's.

    The reference is the group with the highest favourable rate among groups of
    at least ``min_group_size`` rows (the audit's documented rule), so a tiny
    group with a lucky rate cannot become everybody's yardstick.
    """
    favourable = pd.Series(pred == favourable).groupby(groups.to_numpy())
    rates, sizes = favourable.mean(), favourable.size()
    eligible = rates[sizes >= min_group_size] if (sizes >= min_group_size).any() else rates
    reference = eligible.idxmax()
    return (rates.drop(reference) / rates[reference]).min()


def stated_rule(table, disparity, bound):
    """The notebook's choice rule, written out: within the bound, else not shown to break it."""
    within = table[table[disparity] <= bound]
    if within.empty:
        within = table[table[f"{disparity}_ci_low"] <= bound]
    if within.empty:
        return table[disparity].idxmin()
    return within["balanced_accuracy"].idxmax()


def check_against_predictions(summary, predictions, credit, sensitive):
    """Every per-model number in summary.json follows from the saved test decisions."""
    ids = predictions.index.to_numpy()
    assert len(np.unique(ids)) == len(ids)
    # Labels and groups of the saved rows are the published data set's (1 = repaid).
    np.testing.assert_array_equal(predictions["y_true"], 1 - credit.loc[ids, "default"])
    if sensitive == "SEX":
        np.testing.assert_array_equal(predictions["group"], credit.loc[ids, "SEX"].astype(str))
    assert sorted(predictions["group"].unique()) == sorted(summary["groups"])
    y, groups = predictions["y_true"].to_numpy(), predictions["group"]
    threshold = summary["parameters"]["di_threshold"]
    for name in MODELS:
        entry = summary["models"][name]
        assert set(entry) == MODEL_FIELDS
        pred = predictions[f"pred_{name}"].to_numpy()
        assert entry["accuracy"] == pytest.approx(accuracy_score(y, pred))
        assert entry["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
        assert entry["equalized_odds_difference"] == pytest.approx(
            equalized_odds_difference(y, pred, sensitive_features=groups)
        )
        assert entry["demographic_parity_difference"] == pytest.approx(
            demographic_parity_difference(y, pred, sensitive_features=groups)
        )
        assert entry["disparate_impact"] == pytest.approx(_disparate_impact(pred, groups))
        verdict = entry["four_fifths"]  # from the interval: passes, fails or inconclusive
        assert entry["passes_four_fifths"] == (verdict == "passes")
        if verdict != "inconclusive":
            assert (entry["disparate_impact"] >= threshold) == (verdict == "passes")
        counts = {g: row["count"] for g, row in entry["audit"]["by_group"].items()}
        assert counts == groups.value_counts().to_dict()


CONFIRMS = {
    "passes": "**confirms**",
    "fails": "**does not confirm**",
    "inconclusive": "**can neither confirm nor refute**",
}
VERDICT_WORDS = {
    "passes": "**passes** the four-fifths rule",
    "fails": "**fails** the four-fifths rule",
    "inconclusive": "is **inconclusive** under the four-fifths rule",
}


def _paragraph(prose, start):
    found = [p for p in prose if start in p]
    assert len(found) == 1, f"expected one rendered paragraph with {start!r}"
    return found[0]


def _apart(a, b, disparity):
    """Whether two rows' disparity intervals are disjoint."""
    low, high = f"{disparity}_ci_low", f"{disparity}_ci_high"
    return a[low] > b[high] or b[low] > a[high]


def check_prose(summary, predictions, parameters, prose):
    """Each computed sentence says what this run's summary.json and saved decisions show."""
    text = "\n".join(prose)
    assert "default predicted" not in text and "(positive = default" not in text
    disparity = DISPARITY_OF[parameters.get("constraint", "equalized_odds")]
    bound = parameters.get("max_disparity", 0.05)
    table = pd.DataFrame(summary["validation"]).set_index("model")
    models = summary["models"]

    # The choice says which branch of its rule it took, and names the chosen model.
    choice = _paragraph(prose, "**The choice.**")
    chosen = summary["chosen_model"]
    assert f"**{chosen}**" in choice
    if (table[disparity] <= bound).any():
        expected = "by their estimate; the most accurate is"
    elif table.loc[chosen, f"{disparity}_ci_low"] <= bound:
        expected = "whose interval reaches it (the data cannot show it breaks the bound)"
    else:
        expected = "falls back to the least disparate"
    assert expected in choice.split("Among the ExponentiatedGradient")[0]

    # The baseline's four-fifths verdict, and the test set's verdict on each finalist's bound.
    baseline = _paragraph(prose, "The lowest disparate impact is")
    assert VERDICT_WORDS[models["unmitigated"]["four_fifths"]] in baseline
    assert f"**{models['unmitigated']['disparate_impact']:.3f}**" in baseline
    judged = _paragraph(prose, "The validation rows chose and the test set judges")
    for name in ("threshold_optimizer", "exponentiated_gradient"):
        assert f"for {name} it {CONFIRMS[models[name]['test_within_bound']]}" in judged

    # A rate is flagged by its own denominator: a group's defaulters for the false positive rate.
    defaulters = (predictions["y_true"] == 0).groupby(predictions["group"]).sum()
    for group, n in defaulters[defaulters < 30].items():
        assert f"false positive rate of {group} ({n})" in baseline
    if "Every rate above rests on at least 30 people" in baseline:
        assert defaulters.min() >= 30

    # Interval readings: the families' comparison and the pre-processing's effect.
    eg = table.loc[summary["exponentiated_gradient_bound"]]
    families = _paragraph(prose, "**Why do the two families differ?**")
    to = table.loc["threshold_optimizer (logistic)"]
    assert ("Their intervals overlap" in families) != _apart(to, eg, disparity)
    removed = _paragraph(prose, "On the decorrelated features")
    raw, decorrelated = (
        table.loc["logistic (no constraint)"],
        table.loc["correlation remover (logistic)"],
    )
    assert ("the intervals overlap" in removed) != _apart(raw, decorrelated, disparity)
    assert f"**{decorrelated[disparity]:.3f}**" in removed

    # Who bears the errors: each group's declined-repayer share before and after, as audited.
    bears = _paragraph(prose, "repayers declined:")
    before = models["unmitigated"]["audit"]["by_group"]
    for name in ("threshold_optimizer", "exponentiated_gradient"):
        after = models[name]["audit"]["by_group"]
        part = bears.split(f"Under **{name}**")[1].split("Under **")[0]
        rise = {}
        for g, row in after.items():
            old, new = before[g]["false_negative_rate"], row["false_negative_rate"]
            assert f"{g} {old:.1%} → {new:.1%}" in part
            rise[g] = new - old
        if all(r > 0 for r in rise.values()):
            assert "the repayers of every group are declined more often" in part
        elif any(r > 0 for r in rise.values()):
            assert "only some groups' repayers are declined more often" in part
        else:
            assert "no group's repayers are declined more often" in part
