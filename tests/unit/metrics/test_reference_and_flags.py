"""The disparate-impact reference, the favourable label and the small-denominator flags.

Each is checked against a brute force over the rows (pandas group-bys written
here), with ``min_group_size`` at and just above every size and denominator, so
that a flag is tested on both sides of its boundary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairaudit.metrics import METRICS, audit, audit_from_counts

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # undefined rates are expected


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """Four groups whose order by favourable rate differs from their order by size."""
    rng = np.random.default_rng(5)
    sizes = {"a": 7, "b": 12, "c": 19, "d": 30}
    group = np.repeat(list(sizes), list(sizes.values()))
    approve = np.select([group == "a", group == "b", group == "c"], [0.9, 0.7, 0.3], 0.5)
    frame = pd.DataFrame(
        {
            "group": group,
            "y_true": (rng.random(len(group)) < 0.4).astype(int),
            "y_pred": (rng.random(len(group)) < approve).astype(int),
        }
    )
    return frame


def boundaries(values) -> list[int]:
    """Minimum sizes at each of ``values`` and one above it: where ``<`` and ``<=`` differ."""
    return sorted({int(v) + d for v in values for d in (0, 1)} - {0})


@pytest.mark.parametrize(
    ("pos_label", "favourable_label"), [(1, None), (1, 1), (1, 0), (0, None), (0, 1)]
)
def test_reference_is_the_most_favoured_sizeable_group_and_ratios_follow(
    rows, pos_label, favourable_label
):
    # brute force: the favourable outcome is the decision equal to the favourable label,
    # which is pos_label unless another is given
    fav_value = pos_label if favourable_label is None else favourable_label
    by_group = rows.assign(fav=rows["y_pred"] == fav_value).groupby("group")
    rate, size = by_group["fav"].mean(), by_group.size()
    assert rate.nunique() == len(rate)  # no ties: the reference is one group
    for min_size in boundaries(size):
        result = audit(
            rows["y_true"], rows["y_pred"], rows["group"], pos_label=pos_label,
            favourable_label=favourable_label, n_boot=0, min_group_size=min_size,
        )  # fmt: skip
        eligible = rate[size >= min_size] if (size >= min_size).any() else rate
        reference = eligible.idxmax()
        assert result.reference_group == reference, min_size
        di = result.disparate_impact
        assert sorted(di.index) == sorted(set(rate.index) - {reference})
        for g in di.index:
            assert di.loc[g, "favourable_rate"] == pytest.approx(rate[g])
            assert di.loc[g, "disparate_impact"] == pytest.approx(rate[g] / rate[reference])
            assert di.loc[g, "small_group"] == (size[g] < min_size)
            assert di.loc[g, "count"] == size[g]


def test_a_group_of_exactly_min_group_size_rows_can_be_the_reference():
    # "big": 40 rows, 20 approved; "edge": exactly 30 rows, 24 approved; "tiny": 29 rows, all
    rows = {"big": (40, 20), "edge": (30, 24), "tiny": (29, 29)}
    y_pred = np.concatenate([[1] * k + [0] * (n - k) for n, k in rows.values()])
    group = np.repeat(list(rows), [n for n, _ in rows.values()])
    y_true = np.resize([0, 1], len(group))
    result = audit(y_true, y_pred, group, n_boot=0, min_group_size=30)
    assert result.reference_group == "edge"  # 0.8; "tiny" (1.0) is below the size
    assert result.disparate_impact.loc["big", "disparate_impact"] == pytest.approx(0.5 / 0.8)
    assert bool(result.disparate_impact.loc["tiny", "small_group"])
    assert not result.by_group.loc["edge", "small_group"]
    # with no group that large, the most favoured of all is the reference
    assert audit(y_true, y_pred, group, n_boot=0, min_group_size=100).reference_group == "tiny"


def test_the_favourable_label_decides_which_decisions_count():
    # pos_label 1 = "default predicted": a approves (predicts 0) 3 of 4, b 1 of 4
    y_true = [1, 0, 0, 1, 1, 0, 1, 0]
    y_pred = [1, 0, 0, 0, 1, 1, 1, 0]
    group = ["a"] * 4 + ["b"] * 4
    kw = dict(n_boot=0, min_group_size=1)
    favourable_zero = audit(y_true, y_pred, group, favourable_label=0, **kw)
    assert favourable_zero.reference_group == "a"
    assert favourable_zero.disparate_impact.loc["b", "disparate_impact"] == pytest.approx(1 / 3)
    # favourable = the positive label, given or by default: b predicts 1 for 3 of 4, a 1 of 4
    for result in (
        audit(y_true, y_pred, group, **kw),
        audit(y_true, y_pred, group, favourable_label=1, **kw),
    ):
        assert result.reference_group == "b"
        assert result.disparate_impact.loc["a", "disparate_impact"] == pytest.approx(1 / 3)


def test_gaps_to_a_given_reference_skip_undefined_rates_and_a_lone_group_has_none():
    # b has no positives: its TPR is undefined, so no TPR gap exists; its selection rate 1/2
    y_true = [0, 1, 1, 0, 0, 0]
    y_pred = [0, 1, 0, 1, 1, 0]
    group = ["a"] * 4 + ["b"] * 2
    diff = audit(y_true, y_pred, group, reference_group="a", n_boot=0).difference()["value"]
    assert np.isnan(diff["true_positive_rate"]) and np.isnan(diff["balanced_accuracy"])
    assert diff["selection_rate"] == pytest.approx(abs(1 / 2 - 2 / 4))
    assert diff["false_positive_rate"] == pytest.approx(abs(1 / 2 - 1 / 2))
    assert diff["precision"] == pytest.approx(abs(0 / 1 - 1 / 2))
    # a single group compared with itself: no gap at all, and no error
    alone = audit(y_true[:4], y_pred[:4], group[:4], reference_group="a", n_boot=0)
    assert alone.difference()["value"].isna().all()


# --------------------------------------------------------------------------- small denominators


def denominators_by_hand(frame, pos_label):
    rows = []
    for g, part in frame.groupby("group"):
        pos = int((part["y_true"] == pos_label).sum())
        neg = len(part) - pos
        predicted = int((part["y_pred"] == pos_label).sum())
        rows.append(
            {
                "group": g,
                "selection_rate": len(part),
                "true_positive_rate": pos,
                "false_positive_rate": neg,
                "false_negative_rate": pos,
                "true_negative_rate": neg,
                "precision": predicted,
                "accuracy": len(part),
                "balanced_accuracy": min(pos, neg),
            }
        )
    return pd.DataFrame(rows).set_index("group")[list(METRICS)]


@pytest.mark.parametrize("pos_label", [1, 0])
def test_each_rate_is_flagged_by_its_own_denominator(rows, pos_label):
    expected = denominators_by_hand(rows, pos_label)
    sizes = rows.groupby("group").size()
    result = audit(rows["y_true"], rows["y_pred"], rows["group"], pos_label=pos_label, n_boot=0)
    den = result.denominators()
    pd.testing.assert_frame_equal(den, expected, check_dtype=False, check_names=False)
    for min_size in boundaries(expected.to_numpy().ravel()):
        small = expected < min_size
        pd.testing.assert_frame_equal(result.small_rates(min_size), small, check_names=False)
    # flags shown beside the rates, and the groups' own flag, at the audit's min_group_size
    for min_size in boundaries(expected["true_positive_rate"])[:4]:
        flagged_audit = audit(
            rows["y_true"], rows["y_pred"], rows["group"], pos_label=pos_label, n_boot=0,
            min_group_size=min_size,
        )  # fmt: skip
        shown = flagged_audit.flagged(["true_positive_rate", "false_positive_rate", "precision"])
        for metric in ("true_positive_rate", "false_positive_rate", "precision"):
            marked = shown[metric].str.endswith(" †")
            assert marked.to_dict() == (expected[metric] < min_size).to_dict(), metric
        assert flagged_audit.small_rates().equals(expected < min_size)
        assert flagged_audit.by_group["small_group"].to_dict() == (sizes < min_size).to_dict()


def test_a_rate_on_exactly_min_size_rows_is_not_flagged():
    # tp, fp, fn, tn: "a" has 30 positives and 30 predicted positives, "b" 29 of each
    table = pd.DataFrame(
        {"a": [20, 10, 10, 60], "b": [20, 9, 9, 62]}, index=["tp", "fp", "fn", "tn"]
    ).T
    result = audit_from_counts(table, n_boot=0, min_group_size=30)
    small = result.small_rates()
    assert not small.loc["a", "true_positive_rate"] and not small.loc["a", "precision"]
    assert small.loc["b", "true_positive_rate"] and small.loc["b", "precision"]
    assert result.flagged().loc["a", "true_positive_rate"] == f"{20 / 30:.3f}"
    assert result.flagged().loc["b", "true_positive_rate"] == f"{20 / 29:.3f} †"
