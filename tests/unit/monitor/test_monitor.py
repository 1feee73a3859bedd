"""Fairness monitoring: windowed disparate impact from DuckDB, back-fill, perturbation, advice.

Every figure the monitor computes in SQL is checked against a brute-force
pandas recomputation on the same log (rows sorted by time, filtered, counted).
"""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from notebook_run import execute_case_study

from fairaudit.datasets import load_adult, load_credit_card
from fairaudit.monitor import (
    FairnessConfig,
    PayloadLog,
    fairness_alerts,
    perturb_attribute,
    perturbation_analysis,
    recommend_fairness_attributes,
    simulate_requests,
    window_records,
    windowed_disparate_impact,
)

DATA_HOME = os.environ.get("FAIRAUDIT_DATA_HOME")
needs_data = pytest.mark.skipif(
    not DATA_HOME or not Path(DATA_HOME, "credit_card_default").is_dir(),
    reason="set FAIRAUDIT_DATA_HOME to the raw-data mirror to run these tests",
)


# --------------------------------------------------------------------------- fixtures


def _requests(n_hours=30, seed=0):
    """Requests with uneven traffic: busy hours, quiet hours, an empty hour, tied timestamps."""
    rng = np.random.default_rng(seed)
    counts = rng.choice([0, 3, 8, 25, 60], size=n_hours, p=[0.1, 0.2, 0.2, 0.3, 0.2])
    counts[5] = 0
    hours = pd.date_range("2026-01-05", periods=n_hours, freq="h")
    stamps = (
        np.repeat(hours.to_numpy(), counts)
        + pd.to_timedelta(rng.integers(0, 3600, counts.sum()), unit="s").to_numpy()
    )
    n = len(stamps)
    X = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "group": pd.Categorical(rng.choice(["a", "b", "c"], n, p=[0.4, 0.4, 0.2])),
            "band": pd.Categorical(rng.choice(["young", "old"], n)),
        }
    )
    prediction = (X["x"] + (X["group"] == "b") * 0.8 + rng.normal(0, 0.5, n) > 0.2).astype(int)
    ids = rng.permutation(n) + 1000  # ids not in time order: ties must break by id, not position
    return X, prediction.to_numpy(), pd.Series(stamps), ids


@pytest.fixture
def log(tmp_path):
    X, prediction, stamps, ids = _requests()
    payload = PayloadLog.create(tmp_path / "payload.duckdb", X, attributes=["band"])
    payload.append(X, prediction, timestamps=stamps, request_ids=ids)
    yield payload
    payload.close()


def _frame(log):
    return log.to_pandas().rename(columns={"scoring_timestamp": "ts"})


ORIGIN = pd.Timestamp("2000-01-03")  # the monitor's documented default alignment


def _pandas_windows(df, config, origin=ORIGIN, first=None, last=None):
    """Brute force: for each window, the newest max(g, min_records) group records before its end.

    Group records are the monitored and reference ones; ``g`` is the window's own.
    """
    df = df.sort_values(["ts", "request_id"]).reset_index(drop=True)
    width = config.window
    bucket = origin + ((df["ts"] - origin) // width) * width
    first = bucket.min() if first is None else first
    last = bucket.max() if last is None else last
    in_groups = df["group"].astype(str).isin([*config.monitored, *config.reference])
    rows = []
    for start in pd.date_range(first, last, freq=width):
        end = start + width
        own = int(((bucket == start) & in_groups).sum())
        before = df[(df["ts"] < end) & in_groups]
        used = before.tail(max(own, config.min_records))
        group = used["group"].astype(str)
        fav = used["prediction"].isin(config.favourable)
        mon, ref = group.isin(config.monitored), group.isin(config.reference)
        m_rate = fav[mon].mean() if mon.any() else np.nan
        r_rate = fav[ref].mean() if ref.any() else np.nan
        rows.append(
            {
                "window_start": start,
                "records": int((bucket == start).sum()),
                "records_used": len(used),
                "backfilled": len(used) - own,
                "oldest_used": used["ts"].min(),
                "newest_used": used["ts"].max(),
                "monitored_favourable": int(fav[mon].sum()),
                "monitored_total": int(mon.sum()),
                "reference_favourable": int(fav[ref].sum()),
                "reference_total": int(ref.sum()),
                "disparate_impact": m_rate / r_rate if r_rate > 0 else np.nan,
                "ids": set(used["request_id"]),
            }
        )
    return pd.DataFrame(rows)


_COMPARED = [
    "records",
    "records_used",
    "backfilled",
    "monitored_favourable",
    "monitored_total",
    "reference_favourable",
    "reference_total",
]


# --------------------------------------------------------------------------- windows


@pytest.mark.parametrize("window", ["1h", "3h"])
def test_windowed_disparate_impact_matches_pandas_without_backfill(log, window):
    config = FairnessConfig("group", ["a", "c"], "b", favourable=1, min_records=0, window=window)
    got = windowed_disparate_impact(log, config, n_boot=0)
    want = _pandas_windows(_frame(log), config)
    assert len(got) == len(want)
    assert (got["window_start"].to_numpy() == want["window_start"].to_numpy()).all()
    for col in _COMPARED:
        np.testing.assert_array_equal(got[col].to_numpy(), want[col].to_numpy(), err_msg=col)
    np.testing.assert_allclose(got["disparate_impact"], want["disparate_impact"], equal_nan=True)
    assert (got.loc[got["records"] == 0, "status"] == "undefined").all()
    assert (got["alert"] == (got["disparate_impact"] < 0.8)).all()


def test_backfill_takes_exactly_the_newest_earlier_records(log):
    config = FairnessConfig("group", "a", "b", favourable=1, min_records=40)
    got = windowed_disparate_impact(log, config, n_boot=0)
    want = _pandas_windows(_frame(log), config)
    assert (got["backfilled"] > 0).sum() >= 5  # the fixture really exercises back-fill
    for col in [*_COMPARED, "oldest_used", "newest_used"]:
        np.testing.assert_array_equal(got[col].to_numpy(), want[col].to_numpy(), err_msg=col)
    np.testing.assert_allclose(got["disparate_impact"], want["disparate_impact"], equal_nan=True)
    for i in np.flatnonzero(got["backfilled"].to_numpy() > 0)[:6]:
        ids = window_records(log, config, got["window_start"][i])["request_id"]
        assert set(ids) == want["ids"][i]
        assert len(ids) == got["records_used"][i] <= config.min_records
    assert (got["records_used"] >= config.min_records).sum() > len(got) // 2


def test_backfill_by_hand_with_tied_timestamps(tmp_path):
    t = pd.Timestamp("2026-02-02")
    stamps = [t + pd.Timedelta(m, "min") for m in (5, 20, 20, 20, 40, 65)]
    X = pd.DataFrame({"group": pd.Categorical(["a", "b", "a", "b", "a", "b"])})
    with PayloadLog.create(tmp_path / "p.duckdb", X) as log:
        log.append(X, [1, 1, 0, 1, 0, 1], timestamps=stamps, request_ids=[1, 9, 4, 7, 2, 3])
        config = FairnessConfig("group", "a", "b", favourable=1, min_records=4)
        got = windowed_disparate_impact(log, config, n_boot=0).set_index("window_start")
        second = got.loc[t + pd.Timedelta("1h")]
        # newest 3 earlier records: 00:40 (id 2), then the 00:20 tie broken by id: 9, then 7
        assert second["records"] == 1 and second["backfilled"] == 3
        assert second["oldest_used"] == t + pd.Timedelta(20, "min")
        assert second["newest_used"] == t + pd.Timedelta(65, "min")
        ids = window_records(log, config, t + pd.Timedelta("1h"))["request_id"].tolist()
        assert ids == [3, 2, 9, 7]
        # monitored a: id 2 unfavourable -> 0/1; reference b: ids 3, 9, 7 favourable -> 3/3
        assert (second["monitored_favourable"], second["monitored_total"]) == (0, 1)
        assert (second["reference_favourable"], second["reference_total"]) == (3, 3)
        # the first window has only 5 records in total before its end: all are used
        first = got.loc[t]
        assert first["records_used"] == 5 and first["backfilled"] == 0


def test_min_records_counts_monitored_and_reference_records_not_requests(tmp_path):
    t = pd.Timestamp("2026-02-02")
    stamps = [t + pd.Timedelta(m, "min") for m in (5, 10, 15, 65, 70, 75, 80)]
    # the second hour has four requests but only one monitored/reference record (a); c is neither
    X = pd.DataFrame({"group": pd.Categorical(["a", "b", "c", "a", "c", "c", "c"])})
    with PayloadLog.create(tmp_path / "p.duckdb", X) as log:
        log.append(X, [1, 1, 1, 0, 1, 1, 1], timestamps=stamps, request_ids=range(1, 8))
        config = FairnessConfig("group", "a", "b", favourable=1, min_records=3)
        second = windowed_disparate_impact(log, config, n_boot=0).iloc[1]
        assert second["records"] == 4  # every request in the window
        # 1 own group record + the 2 newest earlier ones (ids 2 and 1; id 3 is group c)
        assert (second["records_used"], second["backfilled"]) == (3, 2)
        assert (second["monitored_favourable"], second["monitored_total"]) == (1, 2)
        assert (second["reference_favourable"], second["reference_total"]) == (1, 1)
        assert second["disparate_impact"] == pytest.approx(0.5)
        ids = window_records(log, config, t + pd.Timedelta("1h"))["request_id"].tolist()
        assert ids == [4, 2, 1]


def test_start_end_give_empty_windows_filled_from_history(log):
    config = FairnessConfig("group", "a", "b", favourable=1, min_records=30)
    frame = _frame(log)
    start, end = pd.Timestamp("2026-01-05 04:00"), pd.Timestamp("2026-01-05 09:00")
    got = windowed_disparate_impact(log, config, start=start, end=end, n_boot=0)
    want = _pandas_windows(
        frame[frame["ts"] < end], config, first=start, last=end - pd.Timedelta("1h")
    )
    assert got["window_start"].tolist() == list(pd.date_range(start, periods=5, freq="h"))
    empty = got["records"] == 0
    assert empty.any() and (got.loc[empty, "backfilled"] == got.loc[empty, "records_used"]).all()
    for col in _COMPARED:
        np.testing.assert_array_equal(got[col].to_numpy(), want[col].to_numpy(), err_msg=col)


def test_alerts_table_lists_exactly_the_low_windows(log):
    config = FairnessConfig("group", "a", "b", favourable=1, threshold=0.9, min_records=20)
    windows = windowed_disparate_impact(log, config, n_boot=200, random_state=0)
    alerts = fairness_alerts(windows, config)
    low = windows[windows["disparate_impact"] < 0.9]
    assert alerts["window_start"].tolist() == low["window_start"].tolist()
    assert (alerts["attribute"] == "group").all() and (alerts["threshold"] == 0.9).all()
    defined = windows.dropna(subset=["ci_low"])
    assert (defined["ci_low"] <= defined["disparate_impact"] + 1e-12).all()
    assert (defined["disparate_impact"] <= defined["ci_high"] + 1e-12).all()


def test_a_confirmed_alert_needs_the_whole_interval_below_the_threshold(log):
    config = FairnessConfig("group", "a", "b", favourable=1, threshold=0.9, min_records=20)
    windows = windowed_disparate_impact(log, config, n_boot=200, random_state=0)
    # by hand, from the interval and the records behind it
    expected = (windows["ci_high"] < 0.9) & (windows["records_used"] >= 20)
    np.testing.assert_array_equal(windows["alert_confirmed"].to_numpy(), expected.to_numpy())
    assert expected.any()
    # too short a history never confirms, however low its (degenerate) interval
    young = windows["records_used"] < 20
    assert young.any() and not windows.loc[young, "alert_confirmed"].any()
    # a confirmed alert is always an alert; the converse fails for straddling intervals
    assert not (windows["alert_confirmed"] & ~windows["alert"]).any()
    straddling = windows["alert"] & (windows["ci_high"] >= 0.9)
    assert straddling.any() and not windows.loc[straddling, "alert_confirmed"].any()
    unmeasured = windowed_disparate_impact(log, config, n_boot=0)  # no interval, no confirmation
    assert unmeasured["ci_high"].isna().all() and not unmeasured["alert_confirmed"].any()


# --------------------------------------------------------------------------- payload log


def test_payload_log_round_trip_and_refusals(tmp_path, log):
    frame = log.to_pandas()
    assert list(frame.columns[:3]) == ["request_id", "scoring_timestamp", "model_version"]
    assert list(frame["group"].cat.categories) == ["a", "b", "c"]
    assert log.features == ["x", "group"] and log.attributes == ["band"]
    assert frame["scoring_timestamp"].is_monotonic_increasing
    X, prediction, stamps, ids = _requests()
    with pytest.raises(ValueError, match="already in the log"):
        log.append(X.head(2), prediction[:2], timestamps=stamps[:2], request_ids=ids[:2])
    with pytest.raises(FileExistsError, match="overwrite=True"):
        PayloadLog.create(log.path, X)
    updated = log.add_feedback(ids[:10], prediction[:10])
    labelled = log.to_pandas().set_index("request_id")["label"].dropna()
    assert updated == 10 and sorted(labelled.index) == sorted(ids[:10])


# --------------------------------------------------------------------------- configuration


def test_bad_configuration_is_refused_clearly(log):
    with pytest.raises(ValueError, match="not a logged column"):
        FairnessConfig("colour", "a", "b", favourable=1).validate(log)
    with pytest.raises(ValueError, match=r"monitored value\(s\) \['z'\].*never occur"):
        FairnessConfig("group", "z", "b", favourable=1).validate(log)
    with pytest.raises(ValueError, match=r"reference value\(s\)"):
        FairnessConfig("group", "a", ["b", "q"], favourable=1).validate(log)
    with pytest.raises(ValueError, match="matches none of the logged predictions"):
        FairnessConfig("group", "a", "b", favourable="granted").validate(log)
    for bad in (0, -0.5, 2.5, float("nan"), "0.8"):
        with pytest.raises(ValueError, match=r"threshold must be"):
            FairnessConfig("group", "a", "b", favourable=1, threshold=bad)
    with pytest.raises(ValueError, match="did you mean 0.8"):
        FairnessConfig("group", "a", "b", favourable=1, threshold=80)
    assert FairnessConfig("group", "a", "b", favourable=1, threshold=2).threshold == 2.0
    with pytest.raises(ValueError, match="both monitored and reference"):
        FairnessConfig("group", ["a", "b"], "b", favourable=1)
    with pytest.raises(ValueError, match="min_records"):
        FairnessConfig("group", "a", "b", favourable=1, min_records=-1)
    with pytest.raises(ValueError, match="window must be"):
        FairnessConfig("group", "a", "b", favourable=1, window="soon")
    with pytest.raises(ValueError, match="not a logged column"):
        windowed_disparate_impact(log, FairnessConfig("colour", "a", "b", favourable=1))


# --------------------------------------------------------------------------- perturbation


def test_perturbation_flips_only_the_attribute():
    X, _, _, _ = _requests(n_hours=10)
    config = FairnessConfig("group", ["a", "c"], "b", favourable=1)
    flipped = perturb_attribute(X, config)
    assert list(flipped.columns) == list(X.columns) and (flipped.dtypes == X.dtypes).all()
    pd.testing.assert_frame_equal(flipped.drop(columns="group"), X.drop(columns="group"))
    before, after = X["group"].astype(str), flipped["group"].astype(str)
    assert (after[before.isin(["a", "c"])] == "b").all()
    assert (after[before == "b"] == "a").all()
    assert X["group"].astype(str).equals(before)  # the input is not modified
    other = perturb_attribute(X, config, to_monitored="c")
    assert (other["group"].astype(str)[before == "b"] == "c").all()


def _rule_model(X):
    """Favourable (1) when x is high, with a bonus for group b: the attribute drives decisions."""
    return ((X["x"] + 0.8 * (X["group"].astype(str) == "b")) > 0.2).astype(int).to_numpy()


def test_debiased_decisions_follow_the_rule(tmp_path):
    X, _, stamps, ids = _requests(seed=3)
    prediction = _rule_model(X)
    rng = np.random.default_rng(1)
    labels = pd.Series(np.where(rng.random(len(X)) < 0.5, rng.integers(0, 2, len(X)), np.nan))
    with PayloadLog.create(tmp_path / "p.duckdb", X, attributes=["band"]) as log:
        log.append(X, prediction, timestamps=stamps, request_ids=ids, labels=labels.astype("Int64"))
        config = FairnessConfig("group", "a", "b", favourable=1)
        result = perturbation_analysis(log, config, _rule_model, n_boot=0)
    rec = result.records.set_index("request_id")
    frame = X.assign(request_id=ids, label=labels).set_index("request_id").loc[rec.index]
    group = frame["group"].astype(str)
    assert set(group) == {"a", "b"}  # group c is neither monitored nor reference
    other = frame.assign(group=group.map({"a": "b", "b": "a"}).astype("category"))
    perturbed = _rule_model(other)
    np.testing.assert_array_equal(rec["perturbed_prediction"], perturbed)
    lift = (group == "a").to_numpy() & (rec["prediction"] == 0).to_numpy() & (perturbed == 1)
    np.testing.assert_array_equal(rec["debiased_prediction"], np.where(lift, 1, rec["prediction"]))
    assert lift.sum() > 20 and result.summary["debiased"] == lift.sum()
    # reference decisions are never changed by de-biasing
    ref = (group == "b").to_numpy()
    np.testing.assert_array_equal(rec["debiased_prediction"][ref], rec["prediction"][ref])
    di = result.summary["disparate_impact"]
    pay = rec["prediction"].to_numpy()
    mon_rate, ref_rate = pay[~ref].mean(), pay[ref].mean()
    assert di["payload"]["disparate_impact"] == pytest.approx(mon_rate / ref_rate)
    deb = np.where(lift, 1, pay)
    assert di["debiased"]["disparate_impact"] == pytest.approx(deb[~ref].mean() / ref_rate)
    both_mon = (pay[~ref].sum() + perturbed[ref].sum()) / len(pay)
    both_ref = (pay[ref].sum() + perturbed[~ref].sum()) / len(pay)
    assert di["payload_plus_perturbed"]["disparate_impact"] == pytest.approx(both_mon / both_ref)
    known = frame["label"].notna().to_numpy()
    acc = result.summary["accuracy"]
    truth = frame["label"].to_numpy()[known]
    assert acc["labelled_records"] == known.sum()
    assert acc["all"]["before"] == pytest.approx((pay[known] == truth).mean())
    assert acc["all"]["after"] == pytest.approx((deb[known] == truth).mean())
    restored = json.loads(json.dumps(result.to_dict(), allow_nan=False))  # plain JSON types only
    assert restored["accuracy"]["labelled_records"] == known.sum()


def test_perturbation_uses_each_requests_model_version_and_refuses_non_inputs(tmp_path):
    X, _, stamps, ids = _requests(seed=4)
    half = len(X) // 2

    def fair(frame):  # a model that ignores the attribute
        return (frame["x"] > 0.2).astype(int).to_numpy()

    with PayloadLog.create(tmp_path / "p.duckdb", X, attributes=["band"]) as log:
        log.append(X[:half], fair(X[:half]), timestamps=stamps[:half], model_version="1",
                   request_ids=ids[:half])  # fmt: skip
        log.append(X[half:], _rule_model(X[half:]), timestamps=stamps[half:], model_version="2",
                   request_ids=ids[half:])  # fmt: skip
        config = FairnessConfig("group", "a", "b", favourable=1)
        result = perturbation_analysis(log, config, {"1": fair, "2": _rule_model}, n_boot=0)
        changed = result.records.groupby("model_version")["changed"].sum()
        assert changed.get("1", 0) == 0 and changed["2"] > 0
        with pytest.raises(ValueError, match=r"model_version\(s\) \['2'\]"):
            perturbation_analysis(log, config, {"1": fair}, n_boot=0)
        band = FairnessConfig("band", "young", "old", favourable=1)
        with pytest.raises(ValueError, match="not a model input"):
            perturbation_analysis(log, band, fair, n_boot=0)


# --------------------------------------------------------------------------- recommendations


@needs_data
def test_detects_protected_attributes_in_the_credit_data():
    df = load_credit_card()
    X, y = df.drop(columns="default"), df["default"]
    found = recommend_fairness_attributes(X, y, favourable=0).set_index("column")
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
    found = recommend_fairness_attributes(X, y, favourable=">50K").set_index("column")
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
    with pytest.raises(ValueError, match="favourable is required"):
        recommend_fairness_attributes(X, [1, 0, 1, 0])


def test_simulated_traffic_is_reproducible_and_busier_by_day():
    pool = pd.DataFrame({"v": np.arange(50)})
    a = simulate_requests(pool, start="2026-01-05", days=3, requests_per_hour=40, random_state=7)
    b = simulate_requests(pool, start="2026-01-05", days=3, requests_per_hour=40, random_state=7)
    pd.testing.assert_frame_equal(a, b)
    hour = a["scoring_timestamp"].dt.hour
    assert a["scoring_timestamp"].is_monotonic_increasing
    assert (hour.between(10, 14)).sum() > 2 * (hour.isin([22, 23, 0, 1, 2])).sum()
    assert a["scoring_timestamp"].min() >= pd.Timestamp("2026-01-05")
    assert a["scoring_timestamp"].max() < pd.Timestamp("2026-01-08")


# --------------------------------------------------------------------------- notebook


@needs_data
def test_notebook_runs_small_and_its_summary_agrees_with_the_payload_log(tmp_path):
    out = tmp_path / "report"
    execute_case_study(
        "03_fairness_monitoring.ipynb",
        tmp_path / "run.ipynb",
        {
            "sample_fraction": 0.2,
            "days": 4,
            "drift_day": 2,
            "min_records": 30,
            "output_dir": str(out),
        },
    )
    summary = json.loads((out / "monitor_summary.json").read_text())
    assert 3 <= len(summary["headline"]) <= 6
    assert len(summary["windows"]) == 4 * 24
    assert {"disparate_impact_timeline.png", "perturbation_views.png"} <= {
        p.name for p in out.iterdir()
    }
    with PayloadLog(out / "payload_log.duckdb", read_only=True) as log:
        assert len(log) == summary["payload_log"]["requests"]
        config = FairnessConfig(**{**summary["config"], "window": "1h"})
        windows = windowed_disparate_impact(log, config, n_boot=0)
    logged = [w["monitored_total"] + w["reference_total"] for w in summary["windows"]]
    assert logged == (windows["monitored_total"] + windows["reference_total"]).tolist()


# --------------------------------------------------------------------------- replacing a log


def _example():
    return pd.DataFrame({"x": [1.0], "SEX": pd.Categorical(["female"])})


def test_create_never_replaces_a_file_that_is_not_a_payload_log(tmp_path):
    notes = tmp_path / "some.txt"
    notes.write_text("precious")
    with pytest.raises(FileExistsError, match="not a payload log"):
        PayloadLog.create(notes, _example(), overwrite=True)
    assert notes.read_text() == "precious"


def test_an_invalid_schema_leaves_the_old_log_as_it_was(tmp_path):
    path = tmp_path / "p.duckdb"
    PayloadLog.create(path, _example()).close()
    with pytest.raises(ValueError, match='Column with name "A" already exists'):
        PayloadLog.create(path, pd.DataFrame({"a": [1], "A": [2]}), overwrite=True)
    with PayloadLog(path, read_only=True) as log:
        assert "x" in log.columns and "SEX" in log.columns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.duckdb"]


def test_a_log_another_process_holds_is_not_replaced(tmp_path):
    path = tmp_path / "p.duckdb"
    PayloadLog.create(path, _example()).close()
    # the holder keeps the log open until told to let go (its stdin closes), however slow
    code = (
        f"import duckdb, sys; c = duckdb.connect({str(path)!r}); "
        "print('held', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FileExistsError, match="in use by another process"):
            PayloadLog.create(path, pd.DataFrame({"y": [1]}), overwrite=True)
    finally:
        holder.stdin.close()
        holder.wait()
    with PayloadLog(path, read_only=True) as log:
        assert "x" in log.columns


# --------------------------------------------------------------------------- typed values


def test_a_boolean_attribute_compares_alike_in_sql_and_in_python(tmp_path):
    X, prediction, stamps, ids = _requests()
    X = X.assign(member=(X["group"] == "b").to_numpy())  # a boolean fairness attribute
    log = PayloadLog.create(tmp_path / "p.duckdb", X, attributes=["band"])
    log.append(X, prediction, timestamps=stamps, request_ids=ids)
    config = FairnessConfig("member", [True], [False], [1], min_records=0)
    config.validate(log)
    windows = windowed_disparate_impact(log, config, n_boot=0)
    df = _frame(log)
    as_text = FairnessConfig("member", ["True"], ["False"], [1], min_records=0)
    expected = _pandas_windows(df.assign(group=df["member"].astype(str)), as_text)
    for col in _COMPARED:
        assert windows[col].tolist() == expected[col].tolist(), col
    assert (windows["status"] != "undefined").sum() == expected["disparate_impact"].notna().sum()
    assert (windows["status"] != "undefined").any()
    # perturbation's Python path groups the same rows
    result = perturbation_analysis(log, config, lambda f: np.zeros(len(f), int), n_boot=0)
    assert (result.records["group"] == "monitored").sum() == int(X["member"].sum())
    log.close()


@pytest.mark.parametrize(
    ("monitored", "reference"), [([30], ["30"]), ([True], ["true"]), ([1.5], ["1.5"])]
)
def test_values_equal_as_the_log_compares_them_cannot_be_in_both_groups(monitored, reference):
    with pytest.raises(ValueError, match="both monitored and reference"):
        FairnessConfig("AGE", monitored, reference, [0])


@pytest.mark.parametrize("bad", [2**63, -1, 1.5, True])
def test_min_records_is_a_bounded_integer(bad):
    with pytest.raises(ValueError, match=r"min_records must be an integer from 0 to 1,000,000,000"):
        FairnessConfig("SEX", ["female"], ["male"], [0], min_records=bad)


def test_numeric_timestamps_are_refused_with_the_conversion_to_use(tmp_path):
    X, prediction, stamps, _ = _requests()
    log = PayloadLog.create(tmp_path / "p.duckdb", X, attributes=["band"])
    epoch = (stamps.astype("int64") // 10**9).to_numpy()
    with pytest.raises(ValueError, match=r"unit is ambiguous.*unit='s'"):
        log.append(X, prediction, timestamps=epoch)
    assert len(log) == 0
    with pytest.raises(ValueError, match="unit is ambiguous"):
        log.to_pandas(start=1_700_000_000)
    log.close()


def test_too_many_windows_are_refused_before_any_is_computed(log):
    config = FairnessConfig("group", ["a"], ["b"], [1], window="1s")
    with pytest.raises(ValueError, match=r"window='1s' makes 10\d,\d{3} windows"):
        windowed_disparate_impact(log, config, n_boot=0)


# --------------------------------------------------------------------------- any engine


def _as_engine(engine, payload, spark=None):
    import duckdb
    import polars

    if engine == "pandas":
        return payload
    if engine == "polars-lazy":
        return polars.from_pandas(payload).lazy()
    if engine == "duckdb":
        return duckdb.sql("SELECT * FROM payload")
    text = payload.astype({c: str for c in payload.select_dtypes("category").columns})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return spark.createDataFrame(text)


@pytest.mark.parametrize("engine", ["pandas", "polars-lazy", "duckdb"])
@pytest.mark.parametrize("min_records", [0, 20, 100])
def test_a_payload_table_in_any_engine_gives_the_duckdb_windows(log, engine, min_records):
    pytest.importorskip("polars", reason="polars is a test extra (make test installs it)")
    config = FairnessConfig("group", ["a"], ["b"], [1], min_records=min_records)
    expected = windowed_disparate_impact(log, config, n_boot=50, random_state=0)
    table = _as_engine(engine, log.to_pandas())
    got = windowed_disparate_impact(table, config, n_boot=50, random_state=0)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert expected["backfilled"].sum() > 0 or min_records == 0


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")
def test_a_spark_payload_table_gives_the_duckdb_windows(log, spark):
    config = FairnessConfig("group", ["a"], ["b"], [1], min_records=30)
    expected = windowed_disparate_impact(log, config, n_boot=50, random_state=0)
    got = windowed_disparate_impact(_as_engine("spark", log.to_pandas(), spark), config,
                                    n_boot=50, random_state=0)  # fmt: skip
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_a_table_without_the_payload_columns_is_refused_clearly():
    from fairaudit.monitor import TableLog

    with pytest.raises(ValueError, match=r"lacks \['request_id', 'scoring_timestamp'\]"):
        TableLog(pd.DataFrame({"prediction": [1], "SEX": ["f"]}))
