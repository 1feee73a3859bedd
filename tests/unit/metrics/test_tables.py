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


# --------------------------------------------------------------------------- properties
#
# Hypothesis draws small tables whose columns are bool, int, float32, text or categorical
# (with categories in a shuffled order), with nulls and NaN in any column, a single group
# or several, column names that collide with the audit's internal names, and scores at
# the thresholds. Every engine must give the same audit as the arrays and a brute-force
# count, or every engine the same one-line refusal.

import math  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

LABELS = {  # kind -> (arrow type, the two labels)
    "bool": (pa.bool_(), [False, True]),
    "int": (pa.int64(), [0, 1]),
    "float32": (pa.float32(), [0.0, 1.0]),
    "text": (pa.string(), ["no", "yes"]),
}
GROUPS = {  # kind -> (arrow type, values, a missing_group of that kind)
    "bool": (pa.bool_(), [True, False], False),
    "int": (pa.int64(), [3, 1, 2], -1),
    "float32": (pa.float32(), [2.5, 0.5, 1.5], -1.0),
    "text": (pa.string(), ["b", "a", "c"], "missing"),
    "categorical": (None, ["b", "a", "c"], "missing"),
}
NAMES = ["tp", "fn", "__y_true", "__y_score", "group_0", "_bin", "_pos", "_n", "len", "v", "y"]
CUTS = [0.3, 0.5, 0.7]  # float32(0.3) > 0.3 and float32(0.7) < 0.7: compared in float64
SCORES = [0.1, 0.3, 0.5, 0.7, 0.9]
NAN = float("nan")


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@st.composite
def values(draw, n, pool, nan_ok):
    """n values from pool, with nulls (None) and, for floats, NaN now and then."""
    holes = [None, NAN] if nan_ok else [None]
    missing = draw(st.sampled_from([0, 0, 0, 1, 2]))  # most tables have no missing value
    cells = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    for _ in range(min(missing, n)):
        cells[draw(st.integers(0, n - 1))] = draw(st.sampled_from(holes))
    return cells


@st.composite
def audit_tables(draw):
    n = draw(st.integers(0, 24))
    label_kind = draw(st.sampled_from(sorted(LABELS)))
    label_type, labels = LABELS[label_kind]
    float_labels = label_kind == "float32"
    n_features = draw(st.integers(1, 2))
    names = draw(st.permutations(NAMES))
    y_true, y_pred, y_score, *features = names[: 3 + n_features]
    columns = {
        y_true: pa.array(draw(values(n, labels, float_labels)), label_type),
        y_pred: pa.array(draw(values(n, labels, float_labels)), label_type),
    }
    score_type = draw(st.sampled_from([pa.float64(), pa.float32()]))
    columns[y_score] = pa.array(draw(values(n, SCORES, True)), score_type)
    kinds = []
    for name in features:
        kind = draw(st.sampled_from(sorted(GROUPS)))
        arrow_type, pool, _ = GROUPS[kind]
        pool = pool[: draw(st.integers(1, len(pool)))]  # one group, or several
        cells = draw(values(n, pool, kind == "float32"))
        if kind == "categorical":
            order = draw(st.permutations(pool))  # categories in another order than values
            columns[name] = pa.Array.from_pandas(pd.Categorical(cells, categories=order))
        else:
            columns[name] = pa.array(cells, arrow_type)
        kinds.append(kind)
    pos_label = draw(st.sampled_from([labels[1], labels[1], labels[0], 1]))
    favourable = draw(st.sampled_from([None, labels[0]]))
    missing_group = draw(st.sampled_from([None, None, GROUPS[kinds[0]][2], "missing", -1]))
    roles = dict(y_true=y_true, y_pred=y_pred, y_score=y_score, features=features)
    settings_ = dict(pos_label=pos_label, favourable_label=favourable, missing_group=missing_group)
    return pa.table(columns), roles, kinds, settings_


PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}.get


def native_tables(table):
    """The same table in every engine: null stays null, NaN stays NaN where the engine can."""
    return {
        "pandas": table.to_pandas(types_mapper=PANDAS_TYPES),
        "polars": polars.from_arrow(table),
        "polars-lazy": polars.from_arrow(table).lazy(),
        "pyarrow": table,
        "duckdb": duckdb.from_arrow(table),
    }


def arrays_call(table, roles, by_score, settings_):
    frame = table.to_pandas(types_mapper=PANDAS_TYPES)
    features = roles["features"]
    groups = frame[features[0]] if len(features) == 1 else frame[features]
    if by_score:
        return lambda: audit(frame[roles["y_true"]], y_score=frame[roles["y_score"]],
                             sensitive_features=groups, thresholds=CUTS, n_boot=0,
                             **without(settings_, "favourable_label"))  # fmt: skip
    return lambda: audit(frame[roles["y_true"]], frame[roles["y_pred"]], groups, n_boot=0,
                         **settings_)  # fmt: skip


def table_call(data, roles, by_score, settings_):
    features = roles["features"]
    if by_score:
        return lambda: audit(data=data, y_true=roles["y_true"], y_score=roles["y_score"],
                             sensitive_features=features, thresholds=CUTS, n_boot=0,
                             **without(settings_, "favourable_label"))  # fmt: skip
    return lambda: audit(data=data, y_true=roles["y_true"], y_pred=roles["y_pred"],
                         sensitive_features=features, n_boot=0, **settings_)  # fmt: skip


def without(mapping, key):
    return {k: v for k, v in mapping.items() if k != key}


def plain_float(value):
    return None if value is None or math.isnan(value) else round(float(value), 12)


def summary(result):
    """What must agree, with groups as keys so that their order does not matter."""
    if isinstance(result, dict):
        return {cut: summary(r) for cut, r in result.items()}

    def keyed(frame):
        return {
            (label if isinstance(label, tuple) else (label,)): tuple(
                plain_float(v) if isinstance(v, float) else v for v in row
            )
            for label, row in zip(frame.index, frame.itertuples(index=False), strict=True)
        }

    return {
        "counts": keyed(result.counts),
        "by_group": keyed(result.by_group),
        "disparate_impact": keyed(result.disparate_impact[["disparate_impact", "count"]]),
        "reference_group": result.reference_group,
        "difference": [plain_float(v) for v in result.difference()["value"]],
        "ratio": [plain_float(v) for v in result.ratio()["value"]],
        "verdict": result.verdict(),
    }


def brute_force(table, roles, by_score, settings_):
    """Counts per group from the rows, by hand; None where the audit must refuse."""
    rows = table.to_pylist()
    pos = settings_["pos_label"]
    label_cols = [roles["y_true"]] + ([roles["y_score"]] if by_score else [roles["y_pred"]])
    if any(is_missing(r[c]) for r in rows for c in label_cols):
        return None  # a missing label or score is never audited
    counts = {}
    for r in rows:
        group = tuple(settings_["missing_group"] if is_missing(r[f]) else r[f]
                      for f in roles["features"])  # fmt: skip
        if any(g is None for g in group):
            return None  # a missing group without missing_group is refused
        actual = r[roles["y_true"]] == pos
        if by_score:
            cells = [(actual, np.float64(r[roles["y_score"]]) >= cut) for cut in CUTS]
        else:
            cells = [(actual, r[roles["y_pred"]] == pos)]
        for k, (t, p) in enumerate(cells):
            cell = counts.setdefault(k, {}).setdefault(group, [0, 0, 0, 0])
            cell[0 if t and p else 1 if p else 2 if t else 3] += 1
    return counts


def check_engines_agree(table, roles, settings_, engines):
    for by_score in (False, True):
        outcomes = {}
        for name, make in engines.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # undefined rates, single groups: said alike
                try:
                    outcomes[name] = ("ok", summary(make(by_score)()))
                except (ValueError, TypeError) as exc:
                    outcomes[name] = ("refused", type(exc).__name__, str(exc))
        outcome = outcomes["arrays"]
        assert all(o == outcome for o in outcomes.values()), outcomes
        expected = brute_force(table, roles, by_score, settings_)
        if outcome[0] == "refused":
            assert "\n" not in outcome[2]
            continue
        assert expected is not None, (outcome, "accepted what must be refused")
        got = outcome[1] if by_score else {0: outcome[1]}
        for k, result in enumerate(got.values()):
            counts = {g: list(c) for g, c in result["counts"].items()}
            assert counts == expected.get(k, {}), (k, counts, expected)


def every_engine(table, roles, settings_):
    engines = {"arrays": lambda by_score: arrays_call(table, roles, by_score, settings_)}
    for name, data in native_tables(table).items():
        engines[name] = lambda by_score, d=data: table_call(d, roles, by_score, settings_)
    return engines


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(audit_tables())
def test_every_engine_gives_the_arrays_answer_or_the_same_refusal(drawn):
    table, roles, _, settings_ = drawn
    check_engines_agree(table, roles, settings_, every_engine(table, roles, settings_))


@pytest.mark.filterwarnings(SPARK_ON_PANDAS_3)
@settings(
    max_examples=max(3, settings.default.max_examples // 25),  # Spark: a few examples
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(audit_tables())
def test_spark_gives_the_arrays_answer_or_the_same_refusal(spark, drawn):
    table, roles, _, settings_ = drawn
    schema = spark_schema(table)
    frame = spark.createDataFrame([tuple(r.values()) for r in table.to_pylist()], schema)
    engines = {"arrays": lambda by_score: arrays_call(table, roles, by_score, settings_),
               "spark": lambda by_score: table_call(frame, roles, by_score, settings_)}  # fmt: skip
    check_engines_agree(table, roles, settings_, engines)


def spark_schema(table):
    from pyspark.sql import types as T

    spark_type = {pa.bool_(): T.BooleanType(), pa.int64(): T.LongType(),
                  pa.float32(): T.FloatType(), pa.float64(): T.DoubleType()}  # fmt: skip
    fields = [
        T.StructField(f.name, spark_type.get(f.type, T.StringType()), True) for f in table.schema
    ]
    return T.StructType(fields)
