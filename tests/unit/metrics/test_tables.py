"""audit(data=...): the engine counts, and the result equals the array form's exactly."""

from __future__ import annotations

import warnings

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from fairaudit.metrics import audit

polars = pytest.importorskip("polars", reason="polars is a test extra (make test installs it)")


def _log(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "default": rng.integers(0, 2, n),
            "decision": rng.integers(0, 2, n),
            "score": rng.random(n).round(3),
            "sex": rng.choice(["female", "male"], n, p=[0.4, 0.6]),
            "race": rng.choice(["a", "b", "c", "d"], n, p=[0.5, 0.3, 0.15, 0.05]),
            "age": rng.integers(18, 80, n),
        }
    )


ENGINES = {
    "pandas": lambda df: df,
    "pyarrow": lambda df: pa.Table.from_pandas(df, preserve_index=False),
    "polars": lambda df: polars.from_pandas(df),
    "polars-lazy": lambda df: polars.from_pandas(df).lazy(),
    "duckdb": lambda df: duckdb.sql("SELECT * FROM df"),
}


def assert_same_audit(a, b):
    pd.testing.assert_frame_equal(a.counts, b.counts)
    pd.testing.assert_frame_equal(a.by_group, b.by_group)
    pd.testing.assert_frame_equal(a.difference(), b.difference())
    pd.testing.assert_frame_equal(a.ratio(), b.ratio())
    pd.testing.assert_frame_equal(a.disparate_impact, b.disparate_impact)
    assert a.reference_group == b.reference_group


# race x age: 243 groups, most too small, some without positives; both are warned about
@pytest.mark.filterwarnings("ignore:.*groups have fewer than", "ignore:Undefined metrics")
@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("features", [["sex"], ["sex", "race"], ["race", "age"]])
def test_table_audit_equals_the_array_audit(engine, features):
    df = _log()
    table = ENGINES[engine](df)
    kw = dict(favourable_label=0, n_boot=200, random_state=3)
    expected = audit(df["default"], df["decision"], df[features], **kw)
    got = audit(data=table, y_true="default", y_pred="decision", sensitive_features=features, **kw)
    assert_same_audit(got, expected)


@pytest.mark.parametrize("engine", ["pandas", "polars-lazy", "duckdb"])
def test_several_thresholds_from_one_aggregation_equal_one_audit_each(engine):
    df = _log(seed=1)
    cuts = [0.2, 0.5, 0.75]
    got = audit(data=ENGINES[engine](df), y_true="default", y_score="score",
                sensitive_features=["sex", "race"], thresholds=cuts, n_boot=100,
                random_state=0)  # fmt: skip
    assert list(got) == cuts
    for cut in cuts:
        decided = (df["score"] >= cut).astype(int)
        expected = audit(df["default"], decided, df[["sex", "race"]], n_boot=100, random_state=0)
        assert_same_audit(got[cut], expected)


def test_thresholds_work_on_arrays_too():
    df = _log(seed=2)
    got = audit(df["default"], y_score=df["score"], sensitive_features=df["sex"],
                thresholds=[0.5], n_boot=0)  # fmt: skip
    expected = audit(df["default"], (df["score"] >= 0.5).astype(int), df["sex"], n_boot=0)
    pd.testing.assert_frame_equal(got[0.5].counts, expected.counts)


def test_missing_groups_are_refused_or_named_as_in_the_array_form():
    df = _log(seed=4)
    df["race"] = df["race"].where(np.arange(len(df)) % 50 != 0)  # some unknown races
    with pytest.raises(ValueError, match="sensitive feature 'race' has 80 missing value"):
        audit(data=duckdb.sql("SELECT * FROM df"), y_true="default", y_pred="decision",
              sensitive_features="race")  # fmt: skip
    expected = audit(df["default"], df["decision"], df["race"], missing_group="unknown", n_boot=0)
    got = audit(data=df, y_true="default", y_pred="decision", sensitive_features="race",
                missing_group="unknown", n_boot=0)  # fmt: skip
    assert sorted(got.counts.index) == sorted(expected.counts.index)
    assert got.counts.loc["unknown"].sum() == 80


@pytest.mark.parametrize(
    ("kwargs", "error", "why"),
    [
        ({"y_true": "label"}, ValueError, r"no column\(s\) \['label'\]"),
        ({"sensitive_features": 3}, TypeError, "names the group column"),
        ({"y_pred": np.zeros(4000)}, TypeError, "y_pred names a column"),
        ({"pos_label": "yes"}, ValueError, "pos_label='yes' does not occur"),
        ({"y_score": "score", "thresholds": [0.5]}, ValueError, "instead of y_pred"),
        ({"y_pred": None, "y_score": "score", "thresholds": [np.nan]}, ValueError, "finite"),
    ],
)
def test_bad_table_arguments_are_refused_clearly(kwargs, error, why):
    df = _log()
    args = dict(y_true="default", y_pred="decision", sensitive_features="sex", n_boot=0)
    with pytest.raises(error, match=why):
        audit(data=df, **{**args, **kwargs})


def test_missing_labels_and_more_than_two_labels_are_refused():
    df = _log()
    df["decision"] = df["decision"].astype(float).where(np.arange(len(df)) != 7)
    with pytest.raises(ValueError, match="y_pred has 1 missing value"):
        audit(data=duckdb.sql("SELECT * FROM df"), y_true="default", y_pred="decision",
              sensitive_features="sex")  # fmt: skip
    df["decision"] = np.arange(len(df)) % 3
    with pytest.raises(ValueError, match="distinct labels"):
        audit(data=df, y_true="default", y_pred="decision", sensitive_features="sex")


# --------------------------------------------------------------------------- Spark


def _spark_frame(spark, df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pyspark's note on pandas 3
        return spark.createDataFrame(df)


SPARK_ON_PANDAS_3 = "ignore:PySpark does not yet fully support pandas"


@pytest.mark.filterwarnings(SPARK_ON_PANDAS_3)
def test_spark_table_audit_equals_the_array_audit(spark):
    df = _log(seed=5)
    kw = dict(favourable_label=0, n_boot=200, random_state=3)
    expected = audit(df["default"], df["decision"], df[["sex", "race"]], **kw)
    got = audit(data=_spark_frame(spark, df), y_true="default", y_pred="decision",
                sensitive_features=["sex", "race"], **kw)  # fmt: skip
    assert_same_audit(got, expected)


@pytest.mark.filterwarnings(SPARK_ON_PANDAS_3)
def test_spark_thresholds_equal_one_audit_each(spark):
    df = _log(seed=6)
    got = audit(data=_spark_frame(spark, df), y_true="default", y_score="score",
                sensitive_features="sex", thresholds=[0.3, 0.6], n_boot=0)  # fmt: skip
    for cut in (0.3, 0.6):
        expected = audit(df["default"], (df["score"] >= cut).astype(int), df["sex"], n_boot=0)
        assert_same_audit(got[cut], expected)
