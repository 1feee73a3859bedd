"""Tests for fairaudit.audit against independent references.

Point estimates are checked against Fairlearn's ``MetricFrame`` and disparity
functions on random inputs (hypothesis), disparate impact against hand-computed
numbers, and the multinomial bootstrap against a slow row-resampling bootstrap
and against the true rates of a simulated population (coverage).
"""

import doctest
import json
import sys
import warnings
from functools import partial

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import fairaudit
from fairaudit.metrics import (
    METRICS,
    AuditResult,
    UndefinedMetricWarning,
    audit,
    audit_from_counts,
    confusion_counts,
    disparate_impact_from_counts,
)

# ---------------------------------------------------------------------------
# Reference computations
# ---------------------------------------------------------------------------


def fairlearn_frame(y_true, y_pred, sensitive_features, pos_label):
    """MetricFrame with the audit's metrics, positive = pos_label (Fairlearn semantics)."""
    metrics = {
        "selection_rate": partial(selection_rate, pos_label=pos_label),
        "true_positive_rate": partial(true_positive_rate, pos_label=pos_label),
        "false_positive_rate": partial(false_positive_rate, pos_label=pos_label),
        "false_negative_rate": partial(false_negative_rate, pos_label=pos_label),
        "true_negative_rate": partial(true_negative_rate, pos_label=pos_label),
        "precision": partial(skm.precision_score, pos_label=pos_label, zero_division=0),
        "accuracy": skm.accuracy_score,
        "balanced_accuracy": skm.balanced_accuracy_score,
    }
    with warnings.catch_warnings():
        # sklearn warns on the degenerate groups that the audit reports as NaN.
        warnings.simplefilter("ignore")
        return MetricFrame(
            metrics=metrics,
            y_true=y_true,
            y_pred=y_pred,
            sensitive_features=sensitive_features,
        )


def denominators(y_true, y_pred, pos_label):
    """Which metrics are defined, from the raw rows: metric -> bool."""
    positives = int(np.sum(y_true == pos_label))
    negatives = len(y_true) - positives
    predicted = int(np.sum(y_pred == pos_label))
    return {
        "selection_rate": len(y_true) > 0,
        "accuracy": len(y_true) > 0,
        "true_positive_rate": positives > 0,
        "false_negative_rate": positives > 0,
        "false_positive_rate": negatives > 0,
        "true_negative_rate": negatives > 0,
        "precision": predicted > 0,
        "balanced_accuracy": positives > 0 and negatives > 0,
    }


def group_masks(features: pd.DataFrame):
    """Row mask of every group that occurs, keyed by label (tuple for several columns)."""
    keys = (
        features.iloc[:, 0].tolist()
        if features.shape[1] == 1
        else list(features.itertuples(index=False, name=None))
    )
    return {key: np.array([k == key for k in keys]) for key in dict.fromkeys(keys)}


def quiet_audit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return audit(*args, **kwargs)


# ---------------------------------------------------------------------------
# Point estimates equal MetricFrame's (property-based)
# ---------------------------------------------------------------------------

LABELLINGS = {
    "zero_one": ([0, 1], 1),
    "zero_is_positive": ([0, 1], 0),
    "strings": (["no", "yes"], "yes"),
}


@st.composite
def audit_inputs(draw):
    n = draw(st.integers(1, 50))
    labels, pos_label = LABELLINGS[draw(st.sampled_from(sorted(LABELLINGS)))]
    label = st.sampled_from(labels)
    y_true = np.array(draw(st.lists(label, min_size=n, max_size=n)))
    y_pred = np.array(draw(st.lists(label, min_size=n, max_size=n)))
    n_features = draw(st.integers(1, 2))
    columns = {}
    for j in range(n_features):
        n_levels = draw(st.integers(1, 4))
        codes = draw(st.lists(st.integers(0, n_levels - 1), min_size=n, max_size=n))
        columns[f"f{j}"] = [f"g{c}" for c in codes] if j == 0 else codes
    return y_true, y_pred, pd.DataFrame(columns), pos_label


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(audit_inputs())
def test_point_estimates_equal_metricframe(inputs):
    y_true, y_pred, features, pos_label = inputs
    observed = set(y_true) | set(y_pred)
    assume(pos_label in observed or isinstance(pos_label, int))
    sensitive = features.iloc[:, 0] if features.shape[1] == 1 else features
    result = quiet_audit(y_true, y_pred, sensitive, pos_label=pos_label, n_boot=0)
    mf = fairlearn_frame(y_true, y_pred, sensitive, pos_label)

    masks = group_masks(features)
    assert set(result.by_group.index) == set(masks)
    assert set(mf.by_group.dropna(how="all").index) == set(masks)
    for key, mask in masks.items():
        ours = result.by_group.loc[key]
        theirs = mf.by_group.loc[key]
        defined = denominators(y_true[mask], y_pred[mask], pos_label)
        assert ours["count"] == mask.sum()
        for metric in METRICS:
            if defined[metric]:
                assert ours[metric] == pytest.approx(theirs[metric], abs=1e-12, rel=0)
            else:
                assert np.isnan(ours[metric]), (key, metric)

    defined_all = denominators(y_true, y_pred, pos_label)
    for metric in METRICS:
        if defined_all[metric]:
            assert result.overall[metric] == pytest.approx(mf.overall[metric], abs=1e-12, rel=0)
        else:
            assert np.isnan(result.overall[metric])

    # Differences and ratios between groups, where every group defines the metric.
    everywhere = {
        metric: all(
            denominators(y_true[mask], y_pred[mask], pos_label)[metric] for mask in masks.values()
        )
        for metric in METRICS
    }
    diff, ratio = result.difference(), result.ratio()
    mf_diff, mf_ratio = mf.difference(), mf.ratio()
    for metric in METRICS:
        if not everywhere[metric]:
            continue
        assert diff.loc[metric, "value"] == pytest.approx(mf_diff[metric], abs=1e-12, rel=0)
        if np.isnan(mf_ratio[metric]):
            assert np.isnan(ratio.loc[metric, "value"])
        else:
            assert ratio.loc[metric, "value"] == pytest.approx(mf_ratio[metric], abs=1e-12, rel=0)

    # Fairlearn's disparity functions assume 0/1 labels with 1 positive.
    if pos_label == 1 and labels_are_01(observed):
        summary = result.summary()
        kw = {"sensitive_features": sensitive}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dpd = demographic_parity_difference(y_true, y_pred, **kw)
            dpr = demographic_parity_ratio(y_true, y_pred, **kw)
            eod = equalized_odds_difference(y_true, y_pred, **kw)
            eor = equalized_odds_ratio(y_true, y_pred, **kw)
        assert summary["demographic_parity_difference"] == pytest.approx(dpd, abs=1e-12)
        if not np.isnan(dpr):
            assert summary["demographic_parity_ratio"] == pytest.approx(dpr, abs=1e-12)
        if everywhere["true_positive_rate"] and everywhere["false_positive_rate"]:
            assert summary["equalized_odds_difference"] == pytest.approx(eod, abs=1e-12)
            if not np.isnan(eor):
                assert summary["equalized_odds_ratio"] == pytest.approx(eor, abs=1e-12)


def labels_are_01(observed):
    return observed <= {0, 1}


@given(audit_inputs(), st.integers(0, 2**32 - 1))
def test_bootstrap_never_changes_point_estimates_or_warns(inputs, seed):
    """Degenerate replicates (empty groups, no positives) are dropped silently."""
    y_true, y_pred, features, pos_label = inputs
    assume(pos_label in set(y_true) | set(y_pred) or isinstance(pos_label, int))
    with warnings.catch_warnings(record=True) as point_warnings:
        warnings.simplefilter("always")
        point = audit(y_true, y_pred, features, pos_label=pos_label, n_boot=0)
    with warnings.catch_warnings(record=True) as boot_warnings:
        warnings.simplefilter("always")
        boot = audit(y_true, y_pred, features, pos_label=pos_label, n_boot=50, random_state=seed)
    assert [str(w.message) for w in boot_warnings] == [str(w.message) for w in point_warnings]
    pd.testing.assert_frame_equal(boot.by_group[list(METRICS)], point.by_group[list(METRICS)])
    for metric in METRICS:
        low = boot.by_group[f"{metric}_ci_low"]
        high = boot.by_group[f"{metric}_ci_high"]
        undefined = boot.by_group[metric].isna()
        assert (low[undefined].isna() & high[undefined].isna()).all()
        assert (low[~undefined] <= high[~undefined]).all()


# ---------------------------------------------------------------------------
# Counting, groups, intersections
# ---------------------------------------------------------------------------


def test_confusion_counts_match_crosstab():
    rng = np.random.default_rng(1)
    n = 500
    y_true = rng.integers(0, 2, n)
    y_pred = rng.integers(0, 2, n)
    features = pd.DataFrame({"sex": rng.choice(["f", "m"], n), "band": rng.integers(0, 3, n)})
    counts = confusion_counts(y_true, y_pred, features)
    expected = (
        pd.DataFrame(
            {
                "sex": features["sex"],
                "band": features["band"],
                "cell": np.select(
                    [(y_true == 1) & (y_pred == 1), (y_true == 0) & (y_pred == 1), y_true == 1],
                    ["tp", "fp", "fn"],
                    "tn",
                ),
            }
        )
        .pipe(lambda d: pd.crosstab([d["sex"], d["band"]], d["cell"]))
        .reindex(columns=["tp", "fp", "fn", "tn"], fill_value=0)
    )
    assert list(counts.index.names) == ["sex", "band"]
    pd.testing.assert_frame_equal(counts, expected, check_names=False, check_dtype=False)


def test_only_observed_intersections_are_reported():
    sex = pd.Categorical(["f", "f", "m", "m"], categories=["f", "m", "x"])
    band = ["young", "old", "young", "young"]
    result = quiet_audit([0, 1, 1, 0], [0, 1, 1, 1], {"sex": sex, "band": band}, n_boot=0)
    assert sorted(result.by_group.index) == [("f", "old"), ("f", "young"), ("m", "young")]
    assert result.by_group["count"].sum() == 4


def test_series_name_and_default_name_label_the_index():
    named = quiet_audit([0, 1, 1], [0, 1, 0], pd.Series(["a", "b", "a"], name="sex"), n_boot=0)
    unnamed = quiet_audit([0, 1, 1], [0, 1, 0], ["a", "b", "a"], n_boot=0)
    assert named.by_group.index.name == "sex"
    assert unnamed.by_group.index.name == "sensitive_feature_0"


def test_audit_from_counts_reproduces_audit():
    rng = np.random.default_rng(2)
    y_true, y_pred = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    group = rng.choice(["a", "b", "c"], 300)
    direct = audit(y_true, y_pred, group, random_state=7, n_boot=200)
    via = audit_from_counts(confusion_counts(y_true, y_pred, group), random_state=7, n_boot=200)
    pd.testing.assert_frame_equal(direct.by_group, via.by_group)
    pd.testing.assert_frame_equal(direct.difference(), via.difference())
    pd.testing.assert_frame_equal(direct.disparate_impact, via.disparate_impact)


def test_missing_sensitive_values_as_their_own_group():
    group = pd.Series(["a", None, "b", np.nan, "a", "b"])
    y_true = np.array([1, 0, 1, 1, 0, 0])
    y_pred = np.array([1, 1, 0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"2 missing value.*missing_group"):
        audit(y_true, y_pred, group)
    result = quiet_audit(y_true, y_pred, group, missing_group="unknown", n_boot=0)
    reference = quiet_audit(y_true, y_pred, group.fillna("unknown"), n_boot=0)
    pd.testing.assert_frame_equal(result.by_group, reference.by_group)
    assert result.by_group.loc["unknown", "count"] == 2
    assert result.to_dict()["settings"]["missing_group"] == "unknown"


# ---------------------------------------------------------------------------
# Disparate impact and the four-fifths rule (hand-computed)
# ---------------------------------------------------------------------------


def rows_with_rates(groups):
    """Rows where group g has n_g rows and k_g favourable (y_pred == 1) predictions."""
    y_pred, group = [], []
    for name, (n, k) in groups.items():
        y_pred += [1] * k + [0] * (n - k)
        group += [name] * n
    y_pred = np.array(y_pred)
    y_true = np.tile([0, 1], len(y_pred) // 2 + 1)[: len(y_pred)]
    return y_true, y_pred, np.array(group)


def test_disparate_impact_hand_computed():
    # rates: a 60/100 = 0.60, b 20/50 = 0.40, c 150/200 = 0.75 (the reference)
    y_true, y_pred, group = rows_with_rates({"a": (100, 60), "b": (50, 20), "c": (200, 150)})
    result = audit(y_true, y_pred, group, random_state=0)
    di = result.disparate_impact
    assert result.reference_group == "c"
    assert list(di.index) == ["a", "b"]
    assert di.loc["a", "disparate_impact"] == pytest.approx(0.60 / 0.75)
    assert di.loc["b", "disparate_impact"] == pytest.approx(0.40 / 0.75)
    assert di["reference_rate"].tolist() == pytest.approx([0.75, 0.75])
    assert di.loc["b", "favourable_rate"] == pytest.approx(0.40)
    assert not result.passes()  # b: 0.533 < 0.8
    assert result.passes(threshold=0.5)
    assert result.summary()["disparate_impact"] == pytest.approx(0.40 / 0.75)
    assert result.summary()["reference_group"] == "c"
    # with the highest rate as reference, the smallest DI is Fairlearn's DP ratio
    assert result.summary()["disparate_impact"] == pytest.approx(
        demographic_parity_ratio(y_true, y_pred, sensitive_features=group)
    )
    for g in ["a", "b"]:
        assert di.loc[g, "ci_low"] < di.loc[g, "disparate_impact"] < di.loc[g, "ci_high"]


def test_favourable_label_differs_from_pos_label():
    # Credit: 1 = default predicted (positive), 0 = no default predicted (favourable).
    # Favourable rates: a 40/100 = 0.40, b 30/50 = 0.60 (the reference).
    y_true, y_pred, group = rows_with_rates({"a": (100, 60), "b": (50, 20)})
    result = audit(y_true, y_pred, group, pos_label=1, favourable_label=0, n_boot=0)
    assert result.by_group.loc["a", "selection_rate"] == pytest.approx(0.60)  # pos_label
    assert result.reference_group == "b"
    assert result.disparate_impact.loc["a", "disparate_impact"] == pytest.approx(0.40 / 0.60)
    assert result.disparate_impact.loc["a", "favourable_rate"] == pytest.approx(0.40)
    assert result.to_dict()["settings"]["favourable_label"] == 0
    # the same outcome audited with pos_label=0 gives the same disparate impact
    flipped = audit(y_true, y_pred, group, pos_label=0, n_boot=0)
    assert flipped.disparate_impact.loc["a", "disparate_impact"] == pytest.approx(0.40 / 0.60)


def test_given_reference_group_and_small_groups():
    # d is tiny with every prediction favourable: it is not chosen as reference.
    groups = {"a": (100, 60), "b": (50, 20), "c": (200, 150), "d": (5, 5)}
    y_true, y_pred, group = rows_with_rates(groups)
    result = audit(y_true, y_pred, group, n_boot=0, min_group_size=30)
    assert result.reference_group == "c"
    assert result.by_group["small_group"].to_dict() == {
        "a": False,
        "b": False,
        "c": False,
        "d": True,
    }
    assert bool(result.disparate_impact.loc["d", "small_group"])
    given_ref = audit(y_true, y_pred, group, n_boot=0, reference_group="a")
    di = given_ref.disparate_impact["disparate_impact"]
    assert di.to_dict() == pytest.approx({"b": 0.4 / 0.6, "c": 0.75 / 0.6, "d": 1 / 0.6})
    # differences and ratios against the reference, from MetricFrame's group values
    mf = fairlearn_frame(y_true, y_pred, group, 1).by_group
    gaps = (mf.drop(index="a") - mf.loc["a"]).abs().max()
    quotients = mf.drop(index="a") / mf.loc["a"]
    ratios = quotients.where(quotients <= 1, 1 / quotients).min()
    diff, ratio = given_ref.difference(), given_ref.ratio()
    for metric in ["selection_rate", "true_positive_rate", "accuracy"]:
        assert diff.loc[metric, "value"] == pytest.approx(gaps[metric], abs=1e-12)
        assert ratio.loc[metric, "value"] == pytest.approx(ratios[metric], abs=1e-12)


def test_disparate_impact_from_counts_matches_audit():
    y_true, y_pred, group = rows_with_rates({"a": (100, 60), "b": (50, 20), "c": (200, 150)})
    frame = disparate_impact_from_counts(
        pd.Series({"a": 60, "b": 20, "c": 150}),
        pd.Series({"a": 100, "b": 50, "c": 200}),
        random_state=0,
    )
    result = audit(y_true, y_pred, group, random_state=0)
    assert frame.attrs["reference_group"] == "c"
    cols = ["favourable_rate", "reference_rate", "disparate_impact"]
    pd.testing.assert_frame_equal(frame[cols], result.disparate_impact[cols], check_names=False)
    # independent replicates of the same bootstrap: intervals agree to Monte-Carlo error
    assert np.allclose(frame["ci_low"], result.disparate_impact["ci_low"], atol=0.05)
    with pytest.raises(ValueError, match="favourable exceeds total"):
        disparate_impact_from_counts({"a": 5}, {"a": 4})


# ---------------------------------------------------------------------------
# The bootstrap is the row bootstrap
# ---------------------------------------------------------------------------


def row_bootstrap(y_true, y_pred, group, n_boot, seed, reference):
    """Slow reference: resample the rows, recompute each statistic from the rows."""
    rng = np.random.default_rng(seed)
    names = np.unique(group)
    out = {}
    for _ in range(n_boot // 2000):  # chunks keep the (replicates x rows) arrays small
        idx = rng.integers(0, len(y_true), size=(2000, len(y_true)))
        yt, yp, g = y_true[idx], y_pred[idx], group[idx]
        stats = {}
        for name in names:
            in_g = g == name
            with np.errstate(invalid="ignore", divide="ignore"):
                stats[("selection_rate", name)] = (in_g & (yp == 1)).sum(1) / in_g.sum(1)
                stats[("true_positive_rate", name)] = (in_g & (yp == 1) & (yt == 1)).sum(1) / (
                    in_g & (yt == 1)
                ).sum(1)
                stats[("false_positive_rate", name)] = (in_g & (yp == 1) & (yt == 0)).sum(1) / (
                    in_g & (yt == 0)
                ).sum(1)
        rates = np.column_stack([stats[("selection_rate", name)] for name in names])
        stats[("selection_rate", "difference")] = rates.max(1) - rates.min(1)
        for name in names[names != reference]:
            stats[("disparate_impact", name)] = (
                stats[("selection_rate", name)] / stats[("selection_rate", reference)]
            )
        for key, values in stats.items():
            out.setdefault(key, []).append(values)
    return {key: np.concatenate(chunks) for key, chunks in out.items()}


def test_intervals_match_row_bootstrap():
    """Multinomial intervals of gaps and disparate impact equal the row bootstrap's.

    The row bootstrap runs 20,000 replicates, the audit 100,000. An interval 10%
    too wide or too narrow fails this test (its endpoints' ranks move by about ten
    standard errors).
    """
    rng = np.random.default_rng(3)
    n, ci = 400, 0.9
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    y_true = rng.integers(0, 2, n)
    y_pred = (rng.random(n) < np.where(group == "a", 0.6, 0.35)).astype(int)
    n_ours, n_rows = 100_000, 20_000
    result = audit(y_true, y_pred, group, n_boot=n_ours, ci=ci, random_state=4)
    reference = row_bootstrap(y_true, y_pred, group, n_rows, 5, result.reference_group)
    assert result.reference_group == "a"
    for (metric, name), replicates in reference.items():
        if name == "difference":
            ours = result.difference().loc[metric, ["ci_low", "ci_high"]]
        elif metric == "disparate_impact":
            ours = result.disparate_impact.loc[name, ["ci_low", "ci_high"]]
        else:  # a single group's rate has a Wilson interval (test_small_samples.py)
            continue
        replicates = replicates[~np.isnan(replicates)]
        for value, q in zip(ours.to_numpy(dtype=float), [(1 - ci) / 2, (1 + ci) / 2], strict=True):
            # Our endpoint's rank among the row replicates must be q, up to the Monte-Carlo
            # error of both bootstraps; comparing ranks handles the atoms of discrete rates.
            below, at_most = np.mean(replicates < value), np.mean(replicates <= value)
            se = np.sqrt(q * (1 - q) * (1 / len(replicates) + 1 / n_ours))
            assert below - 4 * se <= q <= at_most + 4 * se, (metric, name, q, below, at_most)


def test_bootstrap_is_reproducible_and_seeded():
    rng = np.random.default_rng(6)
    y_true, y_pred = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    group = rng.choice(["a", "b"], 200)
    first = audit(y_true, y_pred, group, random_state=11)
    again = audit(y_true, y_pred, group, random_state=11)
    other = audit(y_true, y_pred, group, random_state=12)
    pd.testing.assert_frame_equal(first.by_group, again.by_group)
    pd.testing.assert_frame_equal(first.difference(), again.difference())
    pd.testing.assert_frame_equal(first.disparate_impact, again.disparate_impact)
    assert not first.difference().equals(other.difference())
    pd.testing.assert_frame_equal(first.by_group, other.by_group)  # Wilson: no randomness
    no_ci = audit(y_true, y_pred, group, n_boot=0)
    assert no_ci.difference()[["ci_low", "ci_high"]].isna().all().all()
    assert no_ci.disparate_impact[["ci_low", "ci_high"]].isna().all().all()
    pd.testing.assert_frame_equal(no_ci.by_group, first.by_group)


def test_coverage_of_true_rates():
    """95% intervals cover the population value in 93-97% of simulated samples.

    Four groups of 1200, 900, 600 and 300 expected rows; each trial draws a sample
    of 3000 rows from the population (as its (group x cell) counts, which is the same
    multinomial draw) and audits it. Per-group rates give one coverage indicator
    per group and trial, so 1000 trials estimate their coverage to +-0.35 points
    (one standard error). Statistics with one indicator per trial (the overall
    rate, the largest gap, disparate impact of the smallest group) are known to
    +-0.7 points only and are held to 92-98%.
    """
    rng = np.random.default_rng(2024)
    trials, n, n_boot = 1000, 3000, 500
    share = np.array([0.4, 0.3, 0.2, 0.1])
    base = np.array([0.2, 0.4, 0.5, 0.6])  # P(y_true = 1 | group)
    tpr = np.array([0.8, 0.7, 0.8, 0.8])  # P(y_pred = 1 | y_true = 1, group)
    fpr = np.array([0.175, 0.2, 0.2, 0.35])  # P(y_pred = 1 | y_true = 0, group)
    selection = base * tpr + (1 - base) * fpr  # 0.30, 0.40, 0.50, 0.62: well separated,
    negatives = share * (1 - base)  # so the largest gap to group 3 is group 0's
    per_group = {
        "selection_rate": selection,
        "true_positive_rate": tpr,
        "false_positive_rate": fpr,
    }
    single = {
        "overall false_positive_rate": (negatives * fpr).sum() / negatives.sum(),
        "largest selection_rate gap": selection[3] - selection[0],
        "disparate impact of group 0": selection[0] / selection[3],
    }
    covered = dict.fromkeys([*per_group, *single], 0)
    cells = np.column_stack(
        [base * tpr, (1 - base) * fpr, base * (1 - tpr), (1 - base) * (1 - fpr)]
    )
    for trial in range(trials):
        counts = rng.multinomial(n, (share[:, None] * cells).ravel()).reshape(4, 4)
        counts = pd.DataFrame(counts, columns=["tp", "fp", "fn", "tn"])
        r = audit_from_counts(counts, n_boot=n_boot, random_state=trial, reference_group=3)
        for metric, truth in per_group.items():
            low = r.by_group[f"{metric}_ci_low"].to_numpy()
            high = r.by_group[f"{metric}_ci_high"].to_numpy()
            covered[metric] += int(((low <= truth) & (truth <= high)).sum())
        intervals = [
            (r.overall["false_positive_rate_ci_low"], r.overall["false_positive_rate_ci_high"]),
            tuple(r.difference().loc["selection_rate", ["ci_low", "ci_high"]]),
            tuple(r.disparate_impact.loc[0, ["ci_low", "ci_high"]]),
        ]
        for (key, truth), (low, high) in zip(single.items(), intervals, strict=True):
            covered[key] += bool(low <= truth <= high)
    rates = {
        key: covered[key] / (trials * (len(share) if key in per_group else 1)) for key in covered
    }
    assert all(0.93 <= rates[key] <= 0.97 for key in per_group), rates
    assert all(0.92 <= rates[key] <= 0.98 for key in single), rates


# ---------------------------------------------------------------------------
# Undefined metrics
# ---------------------------------------------------------------------------


def test_undefined_metric_is_nan_with_a_named_warning():
    y_true = np.array([1, 0, 1, 0, 0, 0])
    y_pred = np.array([1, 0, 0, 1, 0, 1])
    group = np.array(["a", "a", "a", "b", "b", "b"])  # b has no actual positives
    with pytest.warns(UndefinedMetricWarning) as record:
        result = audit(y_true, y_pred, group, n_boot=100, random_state=0)
    assert len(record) == 1 and issubclass(record[0].category, UserWarning)
    message = str(record[0].message)
    for metric in ["true_positive_rate", "false_negative_rate", "balanced_accuracy"]:
        assert f"{metric} for 'b' (" in message
    assert "false_positive_rate" not in message and "overall" not in message
    assert np.isnan(result.by_group.loc["b", "true_positive_rate"])
    assert np.isnan(result.by_group.loc["b", "true_positive_rate_ci_low"])
    assert result.by_group.loc["a", "true_positive_rate"] == 0.5
    # NaN groups are skipped in gaps between groups, as pandas' max/min do
    assert result.difference("true_positive_rate")["value"].iloc[0] == 0
    assert result.by_group.loc["b", "false_positive_rate"] == pytest.approx(2 / 3)


def test_no_warnings_when_everything_is_defined():
    rng = np.random.default_rng(8)
    y_true, y_pred = rng.integers(0, 2, 60), rng.integers(0, 2, 60)
    group = np.repeat(["a", "b", "c"], 20)  # bootstrap replicates may lose positives
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = audit(y_true, y_pred, group, random_state=0)
        result.passes()
        json.dumps(result.to_dict(), allow_nan=False)


# ---------------------------------------------------------------------------
# Output formats
# ---------------------------------------------------------------------------


def test_result_shapes_and_public_exports():
    assert fairaudit.audit is audit
    assert fairaudit.AuditResult is AuditResult
    rng = np.random.default_rng(9)
    result = audit(rng.integers(0, 2, 90), rng.integers(0, 2, 90), rng.integers(0, 3, 90))
    expected = (
        ["count", *METRICS]
        + [f"{m}_ci_{side}" for m in METRICS for side in ("low", "high")]
        + ["small_group"]
    )
    assert list(result.by_group.columns) == expected
    assert list(result.difference().columns) == ["value", "ci_low", "ci_high"]
    assert list(result.ratio(["precision", "accuracy"]).index) == ["precision", "accuracy"]
    assert set(result.summary()) == {
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
        "disparate_impact",
        "reference_group",
    }
    with pytest.raises(ValueError, match="Unknown metric"):
        result.difference("recall")


def test_to_dict_is_strict_json_with_settings():
    y_true = np.array([1, 0, 1, 0, 0, 0, 1, 1])
    y_pred = np.array([1, 0, 0, 1, 0, 1, 1, 1])
    features = pd.DataFrame({"sex": list("ffffmmmm"), "age": [20, 20, 30, 30, 20, 20, 20, 30]})
    result = quiet_audit(
        y_true, y_pred, features, reference_group=("f", 20), n_boot=50, random_state=3
    )
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["settings"] == {
        **data["settings"],
        "pos_label": 1,
        "favourable_label": 1,
        "reference_group": ["f", 20],
        "ci": 0.95,
        "n_boot": 50,
        "random_state": 3,
        "min_group_size": 30,
        "sensitive_features": ["sex", "age"],
    }
    record = data["by_group"]["m, 30"]  # no actual negatives: FPR undefined
    assert record["group"] == ["m", 30]
    assert record["false_positive_rate"] is None
    assert record["count"] == 1
    assert record["small_group"] is True
    assert data["by_group"]["f, 20"]["selection_rate"] == 0.5
    assert data["summary"]["reference_group"] == ["f", 20]
    assert set(data["difference"]) == set(METRICS)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"y_pred": [0, 1]}, ValueError, r"y_true has 4, y_pred has 2"),
        ({"y_true": [1, np.nan, 0, None]}, ValueError, r"y_true has 2 missing value"),
        ({"y_pred": pd.Series([1, 0, pd.NA, 1])}, ValueError, r"y_pred has 1 missing value"),
        ({"y_pred": [0.1, 0.7, 0.4, 0.9]}, ValueError, r"binary labels.*Threshold"),
        ({"y_true": [0, 1, 2, 1]}, ValueError, r"3 distinct labels"),
        (
            {"y_true": ["no", "yes", "no", "no"], "y_pred": ["no"] * 4},
            ValueError,
            r"pos_label=1 does not occur.*'yes'",
        ),
        ({"favourable_label": "approved"}, ValueError, r"favourable_label='approved' does not"),
        ({"reference_group": "z"}, ValueError, r"reference_group='z' is not among .*'a', 'b'"),
        (
            {"y_true": [], "y_pred": [], "sensitive_features": []},
            ValueError,
            r"no rows",
        ),
        ({"sensitive_features": ["a", None, "b", "b"]}, ValueError, r"missing_group="),
        ({"sensitive_features": None}, TypeError, r"sensitive_features must be"),
        ({"y_true": 1}, TypeError, r"y_true must be a one-dimensional"),
        ({"y_true": np.zeros((4, 2))}, TypeError, r"shape \(4, 2\)"),
        ({"ci": 95}, ValueError, r"ci must be .* 0.95"),
        ({"n_boot": -1}, ValueError, r"n_boot"),
        ({"min_group_size": 2.5}, ValueError, r"min_group_size"),
        ({"random_state": "seed"}, TypeError, r"random_state"),
    ],
)
def test_bad_input_names_the_problem(kwargs, error, pattern):
    args = {
        "y_true": [0, 1, 1, 0],
        "y_pred": [0, 1, 0, 1],
        "sensitive_features": ["a", "a", "b", "b"],
    }
    args.update(kwargs)
    extra = {k: v for k, v in args.items() if k not in ("y_true", "y_pred", "sensitive_features")}
    with pytest.raises(error, match=pattern):
        audit(args["y_true"], args["y_pred"], args["sensitive_features"], **extra)


def test_misaligned_pandas_indexes_are_refused():
    y_true = pd.Series([0, 1, 1, 0], index=[10, 11, 12, 13])
    group = pd.Series(["a", "a", "b", "b"])  # index 0..3
    with pytest.raises(ValueError, match="different indexes.*reset_index"):
        audit(y_true, [0, 1, 0, 1], group)
    quiet_audit(y_true.reset_index(drop=True), [0, 1, 0, 1], group, n_boot=0)


def test_reference_group_of_an_intersection_must_be_a_full_tuple():
    features = {"sex": ["f", "f", "m", "m"], "age": [1, 2, 1, 2]}
    with pytest.raises(ValueError, match="tuple with one value per feature"):
        audit([0, 1, 1, 0], [0, 1, 0, 1], features, reference_group="f")


def test_bad_counts_are_refused():
    with pytest.raises(TypeError, match="DataFrame"):
        audit_from_counts({"tp": [1]})
    with pytest.raises(ValueError, match="lacks column"):
        audit_from_counts(pd.DataFrame({"tp": [1], "fp": [1]}))
    with pytest.raises(ValueError, match="non-negative integers"):
        audit_from_counts(pd.DataFrame({"tp": [0.5], "fp": [1], "fn": [1], "tn": [1]}))


def test_single_numeric_class_is_accepted_but_foreign_labels_are_not():
    # A window where nobody defaulted and nobody was predicted to: pos_label=1 is absent
    # but the labels are 0/1 numbers, so the audit runs and reports what it can.
    result = quiet_audit([0, 0, 0, 0], [0, 0, 0, 0], ["a", "a", "b", "b"], n_boot=0)
    assert result.by_group["selection_rate"].tolist() == [0.0, 0.0]
    assert result.by_group["true_negative_rate"].tolist() == [1.0, 1.0]
    assert np.isnan(result.overall["true_positive_rate"])
    with pytest.raises(ValueError, match="pos_label='yes' does not occur"):
        audit(["no"] * 4, ["no"] * 4, ["a", "a", "b", "b"], pos_label="yes")


def test_categorical_labels_know_their_unobserved_class():
    income = pd.Categorical(["<=50K", "<=50K", "<=50K"], categories=["<=50K", ">50K"])
    result = quiet_audit(income, income, ["a", "b", "b"], pos_label=">50K", n_boot=0)
    assert result.by_group["selection_rate"].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="pos_label=1 does not occur"):
        audit(income, income, ["a", "b", "b"])


def test_docstring_examples():
    module = sys.modules["fairaudit.metrics._audit"]  # `fairaudit.audit` is the function
    failures, attempted = doctest.testmod(module, verbose=False)
    assert attempted > 0 and failures == 0


# --------------------------------------------------------------------------- bounded memory


def _table(n_groups, seed=0):
    rng = np.random.default_rng(seed)
    table = rng.integers(0, 40, size=(n_groups, 4))
    table[3] = [0, 0, 5, 7]  # a group without predicted or actual positives
    return table


@pytest.mark.parametrize("ref_pos", [None, 7])
def test_blockwise_aggregation_equals_the_whole_array(ref_pos):
    """The same replicates, folded a block of groups at a time, give identical intervals."""
    from fairaudit.metrics._bootstrap import bootstrap_intervals
    from fairaudit.metrics._counts import di_reference, multinomial

    table = _table(50)
    boot = multinomial(table.ravel(), 200, np.random.default_rng(1)).reshape(200, 50, 4)
    fav_cols = [2, 3]
    di_ref = di_reference(table[:, fav_cols].sum(1), table.sum(1), ref_pos, 30, pd.RangeIndex(50))
    whole = bootstrap_intervals(table, 200, None, 0.9, ref_pos, di_ref, fav_cols,
                                blocks=[(np.arange(50), boot)])  # fmt: skip
    first = [p for p in dict.fromkeys((ref_pos, di_ref)) if p is not None]
    order = np.array(first + [g for g in range(50) if g not in first])
    blocks = [(order[i : i + 6], boot[:, order[i : i + 6]]) for i in range(0, 50, 6)]
    parts = bootstrap_intervals(table, 200, None, 0.9, ref_pos, di_ref, fav_cols, blocks=blocks)
    for key in whole:
        np.testing.assert_array_equal(parts[key], whole[key], err_msg=key)


def test_many_groups_are_drawn_in_blocks_from_the_same_multinomial(monkeypatch):
    """Forced into blocks of 10 groups, the draw keeps every replicate's total and cell means."""
    from fairaudit.metrics import _bootstrap

    table = _table(60, seed=2)
    seen, order = [], []
    original = _bootstrap._blocks

    def spy(*args):
        for idx, counts in original(*args):
            seen.append(counts)
            order.extend(idx)
            yield idx, counts

    monkeypatch.setattr(_bootstrap, "BLOCK_VALUES", 10 * 4000 * len(METRICS))
    monkeypatch.setattr(_bootstrap, "_blocks", spy)
    n = np.repeat([f"g{g:02d}" for g in range(60)], table.sum(1))
    cells = np.concatenate([np.repeat(np.arange(4), row) for row in table])
    y_true, y_pred = (cells == 0) | (cells == 2), (cells == 0) | (cells == 1)
    chunked = quiet_audit(y_true.astype(int), y_pred.astype(int), n, n_boot=4000, random_state=0)
    assert len(seen) == 6  # 60 groups in blocks of 10
    draws = np.concatenate(seen, axis=1)  # (B, 60, 4) in sampling order
    assert (draws.sum(axis=(1, 2)) == table.sum()).all()  # every replicate resamples n rows
    expected = table[order]  # each cell's mean count is n * p, within 5 standard errors
    p_cell = expected / table.sum()
    se = np.sqrt(table.sum() * p_cell * (1 - p_cell) / 4000)
    assert (np.abs(draws.mean(axis=0) - expected) <= 5 * se + 1e-12).all()
    monkeypatch.undo()
    whole = quiet_audit(y_true.astype(int), y_pred.astype(int), n, n_boot=4000, random_state=0)
    cols = ["ci_low", "ci_high"]
    diff = (chunked.disparate_impact[cols] - whole.disparate_impact[cols]).abs().to_numpy()
    # two draws of the same bootstrap distribution (ratios of rates of groups of ~80 rows)
    assert np.nanmax(diff) < 0.15 and np.nanmedian(diff) < 0.03
    assert (
        (np.isnan(chunked.disparate_impact[cols]) == np.isnan(whole.disparate_impact[cols]))
        .all()
        .all()
    )
    gaps = (chunked.difference()[cols] - whole.difference()[cols]).abs().to_numpy()
    assert np.nanmax(gaps) < 0.05


def test_a_majority_of_tiny_groups_warns_that_intervals_mean_little():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 400, 3000)  # 400 groups of about 7 rows
    y = rng.integers(0, 2, 3000)
    with pytest.warns(UserWarning, match=r"of 400 groups have fewer than 30 rows"):
        quiet_audit(y, y, groups, n_boot=0)


def test_to_dict_keeps_groups_whose_labels_print_alike():
    counts = pd.DataFrame(
        {"tp": [1, 1, 1], "fp": [0, 0, 1], "fn": [0, 0, 0], "tn": [1, 1, 0]},
        index=pd.Index([1, "1", "2"], dtype=object),
    )
    result = audit_from_counts(counts, n_boot=0)
    data = result.to_dict()
    assert len(data["by_group"]) == 3
    assert {k: v["count"] for k, v in data["by_group"].items()} == {"1": 2, "'1'": 2, "2": 2}


def test_a_single_group_passes_only_with_a_warning():
    result = quiet_audit([0, 1, 1], [0, 1, 0], ["a", "a", "a"], n_boot=0)
    with pytest.warns(UndefinedMetricWarning, match="single group"):
        assert result.passes()
