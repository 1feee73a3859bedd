"""Perturbation (every value of the other group), de-biased decisions, and recommendations."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from monitor_data import make_requests

from fairaudit.datasets import load_adult, load_credit_card
from fairaudit.monitor import (
    FairnessConfig,
    PayloadLog,
    perturb_attribute,
    perturbation_analysis,
    recommend_fairness_attributes,
)

DATA_HOME = os.environ.get("FAIRAUDIT_DATA_HOME")
needs_data = pytest.mark.skipif(
    not DATA_HOME or not Path(DATA_HOME, "credit_card_default").is_dir(),
    reason="set FAIRAUDIT_DATA_HOME to the raw-data mirror to run these tests",
)
BONUS = {"a": 0.0, "b": 0.8, "c": 0.5}


def _rule_model(X):
    """Favourable (1) when x plus its group's bonus is high: the attribute drives decisions."""
    bonus = X["group"].astype(str).map(BONUS).to_numpy(float)
    return ((X["x"].to_numpy() + bonus) > 0.2).astype(int)


@pytest.mark.parametrize(("monitored", "reference"), [(["a"], ["b", "c"]), (["a", "c"], ["b"])])
def test_perturbation_copies_each_row_once_per_value_of_the_other_group(monitored, reference):
    X, _, _, _ = make_requests(n_hours=10)
    X.index = X.index + 500  # copies keep their row's label, whatever the index
    config = FairnessConfig("group", monitored, reference, 1)
    copies = perturb_attribute(X, config)
    assert list(copies.columns) == list(X.columns) and (copies.dtypes == X.dtypes).all()
    before = X["group"].astype(str)
    expected = [
        (label, value)
        for label, g in before.items()
        for value in (reference if g in monitored else monitored if g in reference else [])
    ]
    assert list(zip(copies.index, copies["group"].astype(str), strict=True)) == expected
    pd.testing.assert_frame_equal(
        copies.drop(columns="group"), X.loc[copies.index].drop(columns="group")
    )
    assert X["group"].astype(str).equals(before)  # the input is not modified


def _logged(tmp_path, seed=3, model=_rule_model):
    X, _, stamps, ids = make_requests(seed=seed)
    rng = np.random.default_rng(1)
    labels = pd.array(np.where(rng.random(len(X)) < 0.5, rng.integers(0, 2, len(X)), -1))
    labels = pd.array(labels, dtype="Int64")
    labels[labels == -1] = pd.NA
    log = PayloadLog.create(tmp_path / "p.duckdb", X, attributes=["band"])
    log.append(X, model(X), timestamps=stamps, request_ids=ids, labels=labels)
    return log, X.assign(request_id=ids, label=labels).set_index("request_id")


def test_debiased_decisions_follow_the_majority_of_the_reference_values(tmp_path):
    log, frame = _logged(tmp_path)
    config = FairnessConfig("group", "a", ["b", "c"], 1)
    with log:
        result = perturbation_analysis(log, config, _rule_model, n_boot=0)
    rec = result.records.set_index("request_id")
    frame = frame.loc[rec.index]
    group = frame["group"].astype(str)
    as_value = {v: _rule_model(frame.assign(group=v)) for v in ("a", "b", "c")}
    # by hand: a monitored row is approved as b and as c (both of 2 values), or not
    mon = (group == "a").to_numpy()
    approvals = np.where(mon, as_value["b"] + as_value["c"], as_value["a"])
    copies = np.where(mon, 2, 1)
    np.testing.assert_array_equal(rec["copies"], copies)
    np.testing.assert_array_equal(rec["copies_favourable"], approvals)
    counterfactual = 2 * approvals > copies
    own = rec["prediction"].to_numpy()
    lift = mon & (own == 0) & counterfactual
    np.testing.assert_array_equal(rec["debiased_prediction"], np.where(lift, 1, own))
    assert lift.sum() > 10 and result.summary["debiased"] == lift.sum()
    # approved as b but not as c: a copy changes, yet most reference values still refuse
    split = mon & (own == 0) & (as_value["b"] == 1) & (as_value["c"] == 0)
    assert split.any() and not rec["debiased_prediction"].to_numpy()[split].any()
    changed = result.summary["changed"]
    assert changed["monitored_to_favourable"] == lift.sum()
    assert changed["reference_to_unfavourable"] == int((~mon & (own == 1) & ~counterfactual).sum())
    # reference decisions are never changed by de-biasing
    np.testing.assert_array_equal(rec["debiased_prediction"][~mon], own[~mon])
    di = result.summary["disparate_impact"]
    ref = ~mon
    assert di["payload"]["disparate_impact"] == pytest.approx(own[mon].mean() / own[ref].mean())
    deb = np.where(lift, 1, own)
    assert di["debiased"]["disparate_impact"] == pytest.approx(deb[mon].mean() / own[ref].mean())
    # payload + perturbed: every row also joins the other group with its counterfactual decision
    both_mon = (own[mon].sum() + counterfactual[ref].sum()) / len(own)
    both_ref = (own[ref].sum() + counterfactual[mon].sum()) / len(own)
    assert di["payload_plus_perturbed"]["disparate_impact"] == pytest.approx(both_mon / both_ref)
    known = frame["label"].notna().to_numpy()
    acc = result.summary["accuracy"]
    truth = frame["label"].to_numpy()[known].astype(int)
    assert acc["labelled_records"] == known.sum()
    assert acc["all"]["before"] == pytest.approx((own[known] == truth).mean())
    assert acc["all"]["after"] == pytest.approx((deb[known] == truth).mean())
    restored = json.loads(json.dumps(result.to_dict(), allow_nan=False))  # plain JSON types only
    assert restored["accuracy"]["labelled_records"] == known.sum()


def test_perturbation_uses_each_requests_model_version_and_refuses_non_inputs(tmp_path):
    X, _, stamps, ids = make_requests(seed=4)
    half = len(X) // 2

    def fair(frame):  # a model that ignores the attribute
        return (frame["x"] > 0.2).astype(int).to_numpy()

    with PayloadLog.create(tmp_path / "p.duckdb", X, attributes=["band"]) as log:
        log.append(X[:half], fair(X[:half]), timestamps=stamps[:half], model_version="1",
                   request_ids=ids[:half])  # fmt: skip
        log.append(X[half:], _rule_model(X[half:]), timestamps=stamps[half:], model_version="2",
                   request_ids=ids[half:])  # fmt: skip
        config = FairnessConfig("group", "a", "b", 1)
        result = perturbation_analysis(log, config, {"1": fair, "2": _rule_model}, n_boot=0)
        changed = result.records.groupby("model_version")["changed"].sum()
        assert changed.get("1", 0) == 0 and changed["2"] > 0
        with pytest.raises(ValueError, match=r"model_version\(s\) \['2'\]"):
            perturbation_analysis(log, config, {"1": fair}, n_boot=0)
        band = FairnessConfig("band", "young", "old", 1)
        with pytest.raises(ValueError, match="not a model input"):
            perturbation_analysis(log, band, fair, n_boot=0)


def test_a_boolean_attribute_groups_the_same_rows_in_every_path(tmp_path):
    X, prediction, stamps, ids = make_requests()
    X = X.assign(member=(X["group"] == "b").to_numpy())
    with PayloadLog.create(tmp_path / "p.duckdb", X, attributes=["band"]) as log:
        log.append(X, prediction, timestamps=stamps, request_ids=ids)
        config = FairnessConfig("member", [True], [False], [1], min_records=0)
        result = perturbation_analysis(log, config, lambda f: np.zeros(len(f), int), n_boot=0)
    assert (result.records["group"] == "monitored").sum() == int(X["member"].sum())
    assert (result.records["group"] == "reference").sum() == int((~X["member"]).sum())


# --------------------------------------------------------------------------- recommendations


@needs_data
def test_detects_protected_attributes_in_the_credit_data():
    df = load_credit_card()
    X, y = df.drop(columns="default"), df["default"]
    found = recommend_fairness_attributes(X, y, favourable_label=0).set_index("column")
    assert found["kind"].to_dict() == {
        "SEX": "sex",
        "MARRIAGE": "marital_status",
        "AGE": "age",
        "AGE_BAND": "age",
    }
    rates = (y == 0).groupby(X["SEX"], observed=True).mean()
    assert found.loc["SEX", "reference"] == [rates.idxmax()]  # women repay more often here
    assert found.loc["SEX", "monitored"] == [rates.idxmin()]
    young = (y == 0)[X["AGE"] < 26].mean() < (y == 0)[X["AGE"] >= 26].mean()
    assert young and found.loc["AGE_BAND", "monitored"] == ["18-25"]
    assert found.loc["AGE_BAND", "reference"] == ["26-35", "36-45", "46-60", "61-100"]
    assert found.loc["SEX", "groups"]["female"] == [18_112, pytest.approx(rates["female"])]
    marriage = (y == 0).groupby(X["MARRIAGE"], observed=True).mean()
    assert found.loc["MARRIAGE", "reference"] == [marriage[["married", "single"]].idxmax()]
    convention = recommend_fairness_attributes(X).set_index("column")
    assert convention.loc["SEX", "monitored"] == ["female"]
    assert convention.loc["SEX", "reference"] == ["male"]
    assert convention.loc["MARRIAGE", "reference"] == ["married"]


@needs_data
def test_detects_protected_attributes_in_the_adult_data():
    df = load_adult()
    X, y = df.drop(columns="income"), df["income"]
    found = recommend_fairness_attributes(X, y, favourable_label=">50K").set_index("column")
    assert found["kind"].to_dict() == {
        "age": "age",
        "marital_status": "marital_status",
        "race": "race",
        "sex": "sex",
        "native_country": "national_origin",
    }
    assert found.loc["sex", "reference"] == ["Male"] and found.loc["sex", "monitored"] == ["Female"]
    rates = (y == ">50K").groupby(X["race"], observed=True).mean().drop("Other")
    assert found.loc["race", "reference"] == [rates.idxmax()]
    assert found.loc["race", "monitored"] == [rates.idxmin()]
    assert found.loc["age", "monitored"] == ["18-25"] and "age_band" in found.loc["age", "note"]
    convention = recommend_fairness_attributes(X).set_index("column")
    assert convention.loc["race", "reference"] == ["White"]
    assert "White" not in convention.loc["race", "monitored"]
    married = [v for v in X["marital_status"].cat.categories if v.startswith("Married")]
    assert convention.loc["marital_status", "reference"] == married


def test_detection_by_values_and_no_false_alarms():
    X = pd.DataFrame(
        {
            "c1": ["Male", "Female", "Female", "Male"],
            "average_balance": [1.0, 2.0, 3.0, 4.0],
            "zip_code": ["10115", "10117", "80331", "80331"],
            "hours_per_week": [40, 38, 20, 45],
            "ethnic_group": ["White", "Black", "Asian", "White"],
        }
    )
    found = recommend_fairness_attributes(X).set_index("column")
    assert found["kind"].to_dict() == {
        "c1": "sex",
        "zip_code": "postal_code",
        "ethnic_group": "race",
    }
    assert found.loc["c1", "matched_by"] == "values"
    assert found.loc["zip_code", "monitored"] is None  # no guess for postal codes
    with pytest.raises(ValueError, match="favourable_label is required"):
        recommend_fairness_attributes(X, [1, 0, 1, 0])


def test_a_model_blind_to_the_attribute_is_at_parity_with_perturbed_data(tmp_path):
    def blind(frame):
        return (frame["x"] > 0.2).astype(int).to_numpy()

    log, _ = _logged(tmp_path, model=blind)
    config = FairnessConfig("group", "a", ["b", "c"], 1)
    with log:
        result = perturbation_analysis(log, config, blind, n_boot=0)
    assert not result.records["changed"].any() and result.summary["debiased"] == 0
    assert result.disparate_impact()["payload_plus_perturbed"] == pytest.approx(1.0)
    effect = result.effect()
    assert (effect["lifted"], effect["dropped"], effect["direction"]) == (0, 0, "none")


@pytest.mark.parametrize(
    ("lifted", "dropped", "monitored", "direction"),
    [
        (60, 5, 1000, "disadvantages"),  # significant and 5.5% of the group
        (18, 0, 12_767, "negligible"),  # significant, but 0.14% of the group
        (5, 60, 1000, "favours"),
        (6, 4, 1000, "none"),  # no clear direction
    ],
)
def test_a_direction_needs_significance_and_a_material_effect(
    lifted, dropped, monitored, direction
):
    from fairaudit.monitor import PerturbationResult

    summary = {
        "records": {"monitored": monitored, "reference": 1},
        "changed": {"monitored_to_favourable": lifted, "monitored_to_unfavourable": dropped},
    }
    effect = PerturbationResult(pd.DataFrame(), summary, None).effect(material=0.01)
    assert effect["direction"] == direction
    assert effect["net"] == pytest.approx((lifted - dropped) / monitored)
