"""The monitor's windows on every engine against a brute-force pandas oracle (Hypothesis).

Payload logs are generated with what production logs hold and the monitor must
get right: missing predictions and attribute values; bool, integer, string and
categorical attributes and predictions; ties in time; quiet hours and empty
windows that borrow from earlier ones (``min_records``), also beyond the whole
log; time-zone-aware timestamps; a single window; and model-version changes,
which back-fill never crosses. Every engine (a pandas table, Polars, a DuckDB
relation, the DuckDB :class:`PayloadLog`, and Spark on a smaller budget) must
give the oracle's windows, and the same intervals from the same seed.

The default profile runs a fixed, small number of examples (derandomised, so a
run is repeatable); ``FAIRAUDIT_HYPOTHESIS=thorough`` runs many more.
"""

from __future__ import annotations

import os
import uuid
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from monitor_oracle import key, oracle_windows

from fairaudit.monitor import (
    FairnessConfig,
    PayloadLog,
    fairness_alerts,
    window_records,
    windowed_disparate_impact,
)

THOROUGH = os.environ.get("FAIRAUDIT_HYPOTHESIS") == "thorough"


def profile(examples: int, thorough: int):
    return settings(
        max_examples=thorough if THOROUGH else examples,
        deadline=None,
        derandomize=not THOROUGH,
        # a failing example is printed as drawn; shrinking these tables takes minutes
        phases=list(Phase) if THOROUGH else [Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


BASE = pd.Timestamp("2026-03-02 00:00")
POOLS = {
    "str": ["a", "b", "c"],
    "category": ["a", "b", "c"],
    "int": [30, 40, 50],
    "bool": [True, False],
}
PREDICTIONS = {"int": [0, 1], "bool": [True, False], "str": ["granted", "refused"]}
COMPARED = [
    "records",
    "records_used",
    "backfilled",
    "monitored_favourable",
    "monitored_total",
    "reference_favourable",
    "reference_total",
    "status",
    "alert",
]


@st.composite
def payloads(draw):
    """A payload table (pandas), the configuration to monitor it with, and the call's options."""
    n = draw(st.integers(0, 60))
    hours = draw(st.sampled_from([1, 3, 12, 30]))
    tie_pool = draw(st.lists(st.integers(0, hours * 3600 - 1), min_size=1, max_size=5))
    seconds = draw(
        st.lists(
            st.one_of(st.integers(0, hours * 3600 - 1), st.sampled_from(tie_pool)),
            min_size=n,
            max_size=n,
        )
    )
    micros = draw(st.lists(st.sampled_from([0, 1, 500_000]), min_size=n, max_size=n))
    stamps = pd.Series(
        BASE + pd.to_timedelta(seconds, unit="s") + pd.to_timedelta(micros, unit="us")
    ).astype("datetime64[us]")
    tz = draw(st.sampled_from([None, None, "UTC", "Asia/Kolkata", "America/New_York"]))
    if tz is not None:
        stamps = stamps.dt.tz_localize(tz)
    kind = draw(st.sampled_from(sorted(POOLS)))
    pool = POOLS[kind]
    attr = draw(st.lists(st.one_of(st.sampled_from(pool), st.none()), min_size=n, max_size=n))
    pred_kind = draw(st.sampled_from(sorted(PREDICTIONS)))
    preds = draw(
        st.lists(
            st.one_of(st.sampled_from(PREDICTIONS[pred_kind]), st.none()), min_size=n, max_size=n
        )
    )
    null_preds = any(p is None for p in preds)
    table = pd.DataFrame(
        {
            "request_id": np.asarray(draw(st.permutations(range(n)))) * 7 + 100,
            "scoring_timestamp": stamps,
            "g": _typed(attr, kind, pool),
            "prediction": _typed(preds, pred_kind, PREDICTIONS[pred_kind], prefer_float=null_preds),
        }
    )
    versions = draw(st.sampled_from(["none", "one", "release", "interleaved", "missing"]))
    if versions == "one":
        table["model_version"] = "v1"
    elif versions == "release":
        cut = draw(st.integers(0, hours * 3600))
        table["model_version"] = np.where(np.asarray(seconds) < cut, "v1", "v2")
    elif versions == "interleaved":
        table["model_version"] = draw(st.lists(st.sampled_from(["v1", "v2"]), min_size=n,
                                               max_size=n))  # fmt: skip
    elif versions == "missing":
        table["model_version"] = draw(st.lists(st.sampled_from(["v1", None]), min_size=n,
                                               max_size=n))  # fmt: skip
    present = [v for v in pool if v in set(a for a in attr if a is not None)]
    assume(len(present) >= 2)
    monitored = draw(st.lists(st.sampled_from(present), min_size=1, unique=True))
    rest = [v for v in present if v not in monitored]
    assume(rest)
    reference = draw(st.lists(st.sampled_from(rest), min_size=1, unique=True))
    seen = [p for p in PREDICTIONS[pred_kind] if p in set(x for x in preds if x is not None)]
    assume(seen)
    favourable = draw(st.lists(st.sampled_from(PREDICTIONS[pred_kind]), min_size=1, unique=True))
    assume(set(favourable) & set(seen))
    if kind == "int" and draw(st.booleans()):
        monitored = [str(v) for v in monitored]  # 30 and "30" are one value
    options = {
        "threshold": draw(st.sampled_from([0.8, 1.0, 1.25])),
        "min_records": draw(st.sampled_from([0, 1, 4, 15, 1000])),
        "window": draw(st.sampled_from(["15min", "1h", "3h", "2D"])),
        "origin": draw(st.sampled_from([None, "2026-03-01 23:20"])),
    }
    if draw(st.booleans()):
        start = BASE + pd.Timedelta(hours=draw(st.integers(-2, hours)))
        options["start"] = start
        options["end"] = start + pd.Timedelta(hours=draw(st.integers(1, 6)))
    config = (monitored, reference, favourable)
    return table, config, options


def _typed(values, kind, pool, prefer_float=False):
    """A column of ``values`` (None for missing) in the dtype a user would have."""
    has_null = any(v is None for v in values)
    if kind == "category":
        return pd.Categorical(values, categories=list(reversed(pool)) + ["unused"])
    if kind == "bool":
        return pd.array(values, dtype="boolean") if has_null else np.asarray(values, dtype=bool)
    if kind == "int":
        if has_null:
            return (
                np.asarray([np.nan if v is None else v for v in values], dtype=float)
                if prefer_float
                else pd.array(values, dtype="Int64")
            )
        return np.asarray(values, dtype=np.int64)
    return np.asarray(values, dtype=object)


# --------------------------------------------------------------------------- engines


def _as_engine(engine, table, tmp_path=None, spark=None):
    import duckdb
    import polars

    if engine == "pandas":
        return table
    if engine == "polars":
        return polars.from_pandas(table).lazy()
    if engine == "duckdb":
        con = duckdb.connect()
        con.register("payload_table", table)
        return con.table("payload_table")
    if engine == "spark":
        plain = table.astype(object).where(table.notna(), None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            plain["scoring_timestamp"] = table["scoring_timestamp"]
            return spark.createDataFrame(plain)
    raise ValueError(engine)


def _payload_log(table, path):
    """The table written to a DuckDB payload log, or None when the log cannot hold it."""
    prediction = table["prediction"]
    if prediction.isna().any() or pd.api.types.is_bool_dtype(prediction.dtype):
        return None  # a payload log holds a decision for every request, as integer or text
    kind = "string" if prediction.dtype == object else "integer"
    example = table[["g"]]
    log = PayloadLog.create(path, example, prediction_type=kind)
    versions = table.get("model_version", pd.Series([None] * len(table))).astype(object)
    for version in pd.unique(versions):
        rows = (versions.isna() if version is None else versions == version).to_numpy()
        part = table[rows]
        log.append(
            part[["g"]],
            part["prediction"],
            timestamps=part["scoring_timestamp"],
            request_ids=part["request_id"],
            model_version=version,
        )
    return log


def _config(column, monitored, reference, favourable, options):
    return FairnessConfig(
        column,
        monitored,
        reference,
        favourable,
        threshold=options["threshold"],
        min_records=options["min_records"],
        window=options["window"],
    )


def _call(options):
    out = {k: options[k] for k in ("start", "end") if k in options}
    if options.get("origin") is not None:
        out["origin"] = options["origin"]
    return out


def _oracle(table, config_values, options):
    monitored, reference, favourable = config_values
    return oracle_windows(
        table,
        column="g",
        monitored=monitored,
        reference=reference,
        favourable=favourable,
        threshold=options["threshold"],
        min_records=options["min_records"],
        window=options["window"],
        origin=options.get("origin") or "2000-01-03",
        start=options.get("start"),
        end=options.get("end"),
    )


def _check_against_oracle(got, want):
    if want.empty:
        assert got.empty
        return want
    assert got["window_start"].tolist() == want["window_start"].tolist()
    assert got["window_end"].tolist() == want["window_end"].tolist()
    for column in COMPARED:
        assert got[column].tolist() == want[column].tolist(), column
    for column in ("oldest_used", "newest_used"):
        pd.testing.assert_series_equal(
            got[column].astype("datetime64[us]"),
            want[column].astype("datetime64[us]"),
            check_names=False,
        )
    for column in ("monitored_rate", "reference_rate", "disparate_impact"):
        np.testing.assert_allclose(
            got[column].to_numpy(float), want[column].to_numpy(float), equal_nan=True,
            err_msg=column,
        )  # fmt: skip
    return want


def _check_intervals(windows, config):
    """Confirmed alerts follow from the interval and the records, on any engine."""
    confirmed = (windows["ci_high"] < config.threshold) & (
        windows["records_used"] >= config.min_records
    )
    assert windows["alert_confirmed"].tolist() == confirmed.tolist()
    assert not (windows["alert_confirmed"] & ~windows["alert"]).any()


# --------------------------------------------------------------------------- tests


@profile(examples=30, thorough=400)
@given(case=payloads())
def test_windows_equal_the_oracle_on_every_engine(case, tmp_path):
    pytest.importorskip("polars", reason="polars is a test extra (make test installs it)")
    table, values, options = case
    config = _config("g", *values, options)
    want = _oracle(table, values, options)
    for engine in ("pandas", "polars", "duckdb", "payload-log"):
        log = (
            _payload_log(table, tmp_path / f"{uuid.uuid4().hex}.duckdb")
            if engine == "payload-log"
            else None
        )
        if engine == "payload-log" and log is None:
            continue
        source = log if log is not None else _as_engine(engine, table)
        try:
            got = windowed_disparate_impact(source, config, n_boot=0, **_call(options))
        finally:
            if log is not None:
                log.close()
        _check_against_oracle(got, want)
    # intervals come from the counts alone, so one engine shows how alerts follow from them
    _check_intervals(
        windowed_disparate_impact(table, config, n_boot=20, random_state=0, **_call(options)),
        config,
    )
    # the records behind a window, back-filled ones included, are the oracle's
    if not want.empty:
        table_engine = _as_engine("duckdb", table)
        for i in np.flatnonzero(want["records_used"].to_numpy() > 0)[-2:]:
            where = {k: v for k, v in _call(options).items() if k != "start"}
            used = window_records(table_engine, config, want["window_start"].iloc[i], **where)
            assert sorted(used["request_id"]) == sorted(want["ids"].iloc[i])


@profile(examples=3, thorough=60)
@given(case=payloads())
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")
def test_windows_equal_the_oracle_on_spark(case, spark):
    table, values, options = case
    config = _config("g", *values, options)
    got = windowed_disparate_impact(
        _as_engine("spark", table, spark=spark), config, n_boot=0, **_call(options)
    )
    _check_against_oracle(got, _oracle(table, values, options))


def test_the_oracle_keys_values_as_the_log_writes_them():
    assert [key(v) for v in (True, np.bool_(False), 1.0, np.int64(3), "x", None, np.nan)] == [
        "true", "false", "1", "3", "x", None, None,
    ]  # fmt: skip


# --------------------------------------------------------------------------- by hand


def _frame(log):
    return log.to_pandas()


def test_a_realistic_log_back_fills_many_windows_exactly_as_the_oracle(log):
    config = FairnessConfig("group", "a", "b", 1, min_records=40)
    got = windowed_disparate_impact(log, config, n_boot=0)
    want = oracle_windows(_frame(log), column="group", monitored=["a"], reference=["b"],
                          favourable=[1], min_records=40)  # fmt: skip
    assert (got["backfilled"] > 0).sum() >= 5  # the fixture really exercises back-fill
    _check_against_oracle(got, want)
    for i in np.flatnonzero(got["backfilled"].to_numpy() > 0)[:4]:
        used = window_records(log, config, got["window_start"][i])
        assert used["request_id"].tolist() == want["ids"][i][::-1]  # newest first
        assert used["scoring_timestamp"].is_monotonic_decreasing
    assert (got["records_used"] >= config.min_records).sum() > len(got) // 2


def test_backfill_by_hand_with_tied_timestamps(tmp_path):
    t = pd.Timestamp("2026-02-02")
    stamps = [t + pd.Timedelta(m, "min") for m in (5, 20, 20, 20, 40, 65)]
    X = pd.DataFrame({"group": pd.Categorical(["a", "b", "a", "b", "a", "b"])})
    with PayloadLog.create(tmp_path / "p.duckdb", X) as log:
        log.append(X, [1, 1, 0, 1, 0, 1], timestamps=stamps, request_ids=[1, 9, 4, 7, 2, 3])
        config = FairnessConfig("group", "a", "b", 1, min_records=4)
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
        config = FairnessConfig("group", "a", "b", 1, min_records=3)
        second = windowed_disparate_impact(log, config, n_boot=0).iloc[1]
        assert second["records"] == 4  # every request in the window
        # 1 own group record + the 2 newest earlier ones (ids 2 and 1; id 3 is group c)
        assert (second["records_used"], second["backfilled"]) == (3, 2)
        assert (second["monitored_favourable"], second["monitored_total"]) == (1, 2)
        assert (second["reference_favourable"], second["reference_total"]) == (1, 1)
        assert second["disparate_impact"] == pytest.approx(0.5)
        ids = window_records(log, config, t + pd.Timedelta("1h"))["request_id"].tolist()
        assert ids == [4, 2, 1]
        # exactly min_records own records: nothing is borrowed (>=, not >)
        exact = windowed_disparate_impact(
            log, FairnessConfig("group", "a", "b", 1, min_records=2), n_boot=0
        )
        assert exact["backfilled"].tolist() == [0, 1]


def test_backfill_never_crosses_a_change_of_model_version(tmp_path):
    t = pd.Timestamp("2026-02-02")
    # v1 for two busy hours, then v2 from 02:00: four records at 02:10, none at 03:00-04:00,
    # a mixed hour at 04:00 (v2 then v1, a rollback), and one v1 record at 06:10
    minutes = [5, 10, 15, 20, 65, 70, 75, 80, 130, 135, 140, 145, 250, 255, 370]
    versions = ["v1"] * 8 + ["v2"] * 4 + ["v2", "v1"] + ["v1"]
    X = pd.DataFrame({"group": pd.Categorical(["a", "b"] * 7 + ["a"])})
    stamps = [t + pd.Timedelta(m, "min") for m in minutes]
    with PayloadLog.create(tmp_path / "p.duckdb", X) as log:
        for version in ("v1", "v2"):
            rows = np.array(versions) == version
            log.append(X[rows], np.ones(rows.sum(), int), timestamps=np.array(stamps)[rows],
                       request_ids=np.flatnonzero(rows), model_version=version)  # fmt: skip
        config = FairnessConfig("group", "a", "b", 1, min_records=6)
        got = windowed_disparate_impact(log, config, n_boot=0).set_index("window_start")
    used = got["records_used"].to_dict()
    hour = {h: t + pd.Timedelta(hours=h) for h in range(7)}
    assert used[hour[1]] == 6  # v1 borrows from v1: its 4 records and 2 from 00:00
    assert used[hour[2]] == 4 and got.loc[hour[2], "backfilled"] == 0  # v2 borrows no v1 record
    assert used[hour[3]] == 4 and got.loc[hour[3], "backfilled"] == 4  # an empty v2 hour: v2 only
    assert used[hour[4]] == 2 and got.loc[hour[4], "backfilled"] == 0  # the version changed inside
    assert used[hour[5]] == 0  # an empty hour after a change borrows nothing
    assert used[hour[6]] == 1 and got.loc[hour[6], "backfilled"] == 0  # nor lends anything
    assert (got["records_used"] < config.min_records).sum() == 6


def test_start_end_give_empty_windows_filled_from_history(log):
    config = FairnessConfig("group", "a", "b", 1, min_records=30)
    start, end = pd.Timestamp("2026-01-05 04:00"), pd.Timestamp("2026-01-05 09:00")
    got = windowed_disparate_impact(log, config, start=start, end=end, n_boot=0)
    want = oracle_windows(_frame(log), column="group", monitored=["a"], reference=["b"],
                          favourable=[1], min_records=30, start=start, end=end)  # fmt: skip
    assert got["window_start"].tolist() == list(pd.date_range(start, periods=5, freq="h"))
    empty = got["records"] == 0
    assert empty.any() and (got.loc[empty, "backfilled"] == got.loc[empty, "records_used"]).all()
    _check_against_oracle(got, want)


def test_alerts_table_lists_exactly_the_low_windows(log):
    config = FairnessConfig("group", "a", "b", 1, threshold=0.9, min_records=20)
    windows = windowed_disparate_impact(log, config, n_boot=200, random_state=0)
    alerts = fairness_alerts(windows, config)
    low = windows[windows["disparate_impact"] < 0.9]
    assert len(low) and alerts["window_start"].tolist() == low["window_start"].tolist()
    assert (alerts["sensitive_features"] == "group").all() and (alerts["threshold"] == 0.9).all()
    # the four-fifths direction: a window at or above the threshold never alerts
    assert not windows.loc[windows["disparate_impact"] >= 0.9, "alert"].any()


def test_a_confirmed_alert_needs_the_whole_interval_below_the_threshold(log):
    config = FairnessConfig("group", "a", "b", 1, threshold=0.9, min_records=20)
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


# --------------------------------------------------------------------------- reported bugs


def _nulls_table(engine_name, spark=None):
    """200 requests over 10 hours, 60 of them without a prediction (every fifth and more)."""
    rng = np.random.default_rng(7)
    n = 200
    stamps = pd.Timestamp("2026-03-02") + pd.to_timedelta(np.sort(rng.integers(0, 36_000, n)),
                                                          unit="s")  # fmt: skip
    prediction = pd.array(rng.integers(0, 2, n), dtype="Int64")
    prediction[rng.permutation(n)[:60]] = pd.NA
    table = pd.DataFrame({
        "request_id": np.arange(n), "scoring_timestamp": stamps.astype("datetime64[us]"),
        "SEX": rng.choice(["female", "male"], n), "prediction": prediction,
    })  # fmt: skip
    return table, _as_engine(engine_name, table, spark=spark)


@pytest.mark.parametrize("engine", ["pandas", "polars", "duckdb"])
def test_a_missing_prediction_is_never_favourable_in_back_filled_windows(engine):
    """Reported: with 60 of 200 predictions missing and min_records=1000, the back-filled
    windows counted them as favourable (16, 28, 41... where the brute force gives 8, 12, 19)."""
    pytest.importorskip("polars", reason="polars is a test extra (make test installs it)")
    table, source = _nulls_table(engine)
    config = FairnessConfig("SEX", "female", "male", 1, min_records=1000)
    got = windowed_disparate_impact(source, config, n_boot=0)
    ts = table["scoring_timestamp"]
    favourable = (table["prediction"] == 1).fillna(False).to_numpy(bool)
    female = (table["SEX"] == "female").to_numpy()
    by_hand = [
        int((favourable & female & (ts < end).to_numpy()).sum()) for end in got["window_end"]
    ]
    assert (got["backfilled"].iloc[1:] > 0).all()  # every later window borrows: the log is short
    assert got["monitored_favourable"].tolist() == by_hand


@pytest.mark.parametrize("engine", ["pandas", "polars", "duckdb"])
def test_bool_predictions_and_attributes_are_monitored_on_every_engine(engine):
    """Reported: a pandas table with bool predictions and favourable=[True] made every window
    'undefined' (no alert, ever), and a bool attribute raised KeyError: 'bucket'."""
    pytest.importorskip("polars", reason="polars is a test extra (make test installs it)")
    rng = np.random.default_rng(3)
    n = 120
    member = rng.random(n) < 0.5
    table = pd.DataFrame({
        "request_id": np.arange(n),
        "scoring_timestamp": pd.Timestamp("2026-03-02") + pd.to_timedelta(np.arange(n), "min"),
        "member": member, "prediction": rng.random(n) < np.where(member, 0.3, 0.7),
    })  # fmt: skip
    config = FairnessConfig("member", [True], [False], [True], min_records=0)
    got = windowed_disparate_impact(_as_engine(engine, table), config, n_boot=0)
    hour = table["scoring_timestamp"].dt.floor("h")
    rates = table.groupby([hour, "member"])["prediction"].mean().unstack()
    np.testing.assert_allclose(got["disparate_impact"], (rates[True] / rates[False]).to_numpy())
    assert got["alert"].any() and (got["status"] != "undefined").all()


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")
def test_a_time_zone_aware_payload_gives_its_utc_windows_on_every_engine(spark):
    """Reported: a time-zone-aware payload failed differently on every engine; and Spark, like
    Polars and DuckDB, counted missing predictions as favourable in back-filled windows."""
    pytest.importorskip("polars", reason="polars is a test extra (make test installs it)")
    table, _ = _nulls_table("pandas")
    aware = table.assign(scoring_timestamp=table["scoring_timestamp"].dt.tz_localize("UTC")
                         .dt.tz_convert("America/New_York"))  # fmt: skip
    config = FairnessConfig("SEX", "female", "male", 1, min_records=1000)
    expected = windowed_disparate_impact(table, config, n_boot=0)
    for engine in ("pandas", "polars", "duckdb", "spark"):
        got = windowed_disparate_impact(_as_engine(engine, aware, spark=spark), config, n_boot=0)
        pd.testing.assert_frame_equal(got, expected, obj=engine)


def test_window_records_reads_any_table():
    """Reported: window_records needed a DuckDB log and raised AttributeError on a table."""
    table, _ = _nulls_table("pandas")
    config = FairnessConfig("SEX", "female", "male", 1, min_records=30)
    windows = windowed_disparate_impact(table, config, n_boot=0)
    short = windows[windows["backfilled"] > 0].iloc[0]
    used = window_records(table, config, short["window_start"])
    assert len(used) == short["records_used"] and set(used["group"]) == {"monitored", "reference"}
    assert used["scoring_timestamp"].min() == short["oldest_used"]


# --------------------------------------------------------------------------- refusals


def test_bad_configuration_is_refused_clearly(log):
    with pytest.raises(ValueError, match="not a logged column"):
        FairnessConfig("colour", "a", "b", 1).validate(log)
    with pytest.raises(ValueError, match=r"monitored value\(s\) \['z'\].*never occur"):
        FairnessConfig("group", "z", "b", 1).validate(log)
    with pytest.raises(ValueError, match=r"reference value\(s\)"):
        FairnessConfig("group", "a", ["b", "q"], 1).validate(log)
    with pytest.raises(ValueError, match="matches none of the logged predictions"):
        FairnessConfig("group", "a", "b", "granted").validate(log)
    for bad in (0, -0.5, 2.5, float("nan"), "0.8"):
        with pytest.raises(ValueError, match=r"threshold must be"):
            FairnessConfig("group", "a", "b", 1, threshold=bad)
    with pytest.raises(ValueError, match="did you mean 0.8"):
        FairnessConfig("group", "a", "b", 1, threshold=80)
    assert FairnessConfig("group", "a", "b", 1, threshold=2).threshold == 2.0
    with pytest.raises(ValueError, match="both monitored and reference"):
        FairnessConfig("group", ["a", "b"], "b", 1)
    with pytest.raises(ValueError, match="min_records"):
        FairnessConfig("group", "a", "b", 1, min_records=-1)
    with pytest.raises(ValueError, match="window must be"):
        FairnessConfig("group", "a", "b", 1, window="soon")
    with pytest.raises(ValueError, match="not a logged column"):
        windowed_disparate_impact(log, FairnessConfig("colour", "a", "b", 1))


@pytest.mark.parametrize(
    ("monitored", "reference"), [([30], ["30"]), ([True], ["true"]), ([1.5], ["1.5"]), ([2], [2.0])]
)
def test_values_equal_as_the_log_compares_them_cannot_be_in_both_groups(monitored, reference):
    with pytest.raises(ValueError, match="both monitored and reference"):
        FairnessConfig("AGE", monitored, reference, [0])


@pytest.mark.parametrize("bad", [2**63, -1, 1.5, True])
def test_min_records_is_a_bounded_integer(bad):
    with pytest.raises(ValueError, match=r"min_records must be an integer from 0 to 1,000,000,000"):
        FairnessConfig("SEX", ["female"], ["male"], [0], min_records=bad)


def test_window_lengths_are_written_as_people_write_them():
    written = {w: FairnessConfig("SEX", "f", "m", 0, window=w).to_dict()["window"]
               for w in ("1h", "30min", "90min", "1D", "2D", "15s")}  # fmt: skip
    assert written == {"1h": "1h", "30min": "30min", "90min": "90min", "1D": "24h",
                       "2D": "48h", "15s": "15s"}  # fmt: skip
    assert all(pd.Timedelta(text) == pd.Timedelta(w) for w, text in written.items())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas deprecates "1d"; the notebook offers it
        assert FairnessConfig("SEX", "f", "m", 0, window="1d").window == pd.Timedelta("1D")


def test_too_many_windows_are_refused_before_any_is_computed(log):
    config = FairnessConfig("group", ["a"], ["b"], [1], window="1s")
    with pytest.raises(ValueError, match=r"window='1s' makes 10\d,\d{3} windows"):
        windowed_disparate_impact(log, config, n_boot=0)


def test_a_table_without_the_payload_columns_is_refused_clearly():
    from fairaudit.monitor import TableLog

    with pytest.raises(ValueError, match=r"lacks \['request_id', 'scoring_timestamp'\]"):
        TableLog(pd.DataFrame({"prediction": [1], "SEX": ["f"]}))
    with pytest.raises(ValueError, match="scoring_timestamp must hold timestamps"):
        TableLog(pd.DataFrame({"request_id": [1], "scoring_timestamp": [1.7e9],
                               "prediction": [1]}))  # fmt: skip
    with pytest.raises(ValueError, match="scoring_timestamp has missing values"):
        stamps = pd.to_datetime(["2026-03-02", None])
        TableLog(pd.DataFrame({"request_id": [1, 2], "prediction": [1, 0],
                               "scoring_timestamp": stamps}))  # fmt: skip


def test_window_bounds_and_the_four_fifths_threshold_by_hand(tmp_path):
    t = pd.Timestamp("2026-02-02")
    # a window starts at its first microsecond and ends before the next window's; a record at
    # exactly `end` is left out
    stamps = [t, t + pd.Timedelta("59min"), t + pd.Timedelta("1h"), t + pd.Timedelta("2h")]
    stamps += [t + pd.Timedelta("1h") + pd.Timedelta(m, "min") for m in (1, 2, 3, 4, 5, 6, 7, 8)]
    X = pd.DataFrame({"group": ["a", "b", "a", "a"] + ["a"] * 4 + ["b"] * 4})
    # second hour: a 4/5 favourable, b 4/4: disparate impact exactly 0.8
    prediction = [1, 1, 0, 1] + [1, 1, 1, 1] + [1, 1, 1, 1]
    with PayloadLog.create(tmp_path / "p.duckdb", X) as log:
        log.append(X, prediction, timestamps=stamps, request_ids=range(12))
        config = FairnessConfig("group", "a", "b", 1, min_records=0, threshold=0.8)
        got = windowed_disparate_impact(log, config, end=t + pd.Timedelta("2h"), n_boot=0)
    assert got["window_start"].tolist() == [t, t + pd.Timedelta("1h")]
    assert got["records"].tolist() == [2, 9]  # 00:00 and 00:59; 01:00 to 01:08; not 02:00
    second = got.iloc[1]
    assert (second["monitored_favourable"], second["monitored_total"]) == (4, 5)
    assert second["disparate_impact"] == pytest.approx(0.8)
    assert not second["alert"] and second["status"] == "ok"  # at the threshold is no alert
    with PayloadLog(tmp_path / "p.duckdb", read_only=True) as log:
        partial = windowed_disparate_impact(log, config, end=t + pd.Timedelta("65min"), n_boot=0)
    assert partial["records"].tolist() == [2, 5]  # 01:00 to 01:04; the request at 01:05 is not
