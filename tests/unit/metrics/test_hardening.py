"""Inputs that once gave a silently wrong number, or a different answer on each engine.

Each test reproduces one finding of the adversarial sweeps: an input that was
accepted with a wrong result, or refused on one engine and audited on another.
Every engine must now give the same answer or the same one-line refusal.
"""

from __future__ import annotations

import warnings

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from fairaudit.metrics import UndefinedMetricWarning, audit, audit_from_counts

polars = pytest.importorskip("polars", reason="polars is a test extra (make test installs it)")


def engines(columns: dict) -> dict:
    """The same columns as a table of every engine, built natively (NaN stays NaN, None null)."""
    arrow = pa.table(columns)
    return {
        "pandas": pd.DataFrame(columns),
        "polars": polars.DataFrame(columns, strict=False),
        "pyarrow": arrow,
        "duckdb": duckdb.from_arrow(arrow),
    }


def outcome(call):
    """What a call gives: ("ok", result) or ("refused", exception type, message)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            return ("ok", call())
    except (ValueError, TypeError) as exc:
        return ("refused", type(exc).__name__, str(exc))


def refusals(columns, **kwargs):
    """The refusal of every engine for the same columns; all must be refusals."""
    got = {
        name: outcome(lambda t=table: audit(data=t, n_boot=0, **kwargs))
        for name, table in engines(columns).items()
    }
    assert all(o[0] == "refused" for o in got.values()), got
    return {name: o[1:] for name, o in got.items()}


def one_message(got: dict) -> str:
    messages = set(got.values())
    assert len(messages) == 1, got
    kind, message = messages.pop()
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- missing values


def test_a_nan_group_is_missing_on_every_engine_and_in_arrays():
    cols = {"y": [0, 1, 1, 0], "p": [0, 1, 0, 1], "g": [1.0, float("nan"), 2.0, 2.0]}
    message = one_message(refusals(cols, y_true="y", y_pred="p", sensitive_features="g"))
    assert "sensitive feature 'g' has 1 missing value(s)" in message
    arrays = outcome(lambda: audit(cols["y"], cols["p"], pd.Series(cols["g"], name="g")))
    assert arrays[1:] == ("ValueError", message)
    # NumPy turns NaN into the text 'nan' in a string array; that is refused, not a group
    with pytest.raises(ValueError, match="text 'nan'"):
        audit(cols["y"], cols["p"], np.array(["a", np.nan, "b", "b"]))
    # a list keeps NaN missing
    with pytest.raises(ValueError, match="1 missing value"):
        audit(cols["y"], cols["p"], ["a", np.nan, "b", "b"])


def test_a_nan_group_gets_missing_group_on_every_engine():
    cols = {"y": [0, 1, 1, 0], "p": [0, 1, 0, 1], "g": [1.0, float("nan"), 2.0, None]}
    for name, table in engines(cols).items():
        result = audit(data=table, y_true="y", y_pred="p", sensitive_features="g",
                       missing_group=-1.0, n_boot=0)  # fmt: skip
        assert result.counts.index.tolist() == [1.0, 2.0, -1.0], name
        assert result.counts.loc[-1.0].sum() == 2, name


def test_a_nan_label_is_counted_as_missing_on_every_engine():
    cols = {"y": [0.0, float("nan"), 1.0, None], "p": [0, 1, 0, 1], "g": ["a", "a", "b", "b"]}
    message = one_message(refusals(cols, y_true="y", y_pred="p", sensitive_features="g"))
    assert message.startswith("y_true has 2 missing value(s)")


def test_a_missing_score_is_refused_on_every_engine_and_in_arrays():
    cols = {"y": [0, 1, 1, 0], "s": [0.5, float("nan"), 0.5, None], "g": ["a", "a", "b", "b"]}
    kw = dict(y_true="y", y_score="s", sensitive_features="g", thresholds=[0.5])
    message = one_message(refusals(cols, **kw))
    assert message.startswith("y_score has 2 missing value(s)")
    arrays = outcome(lambda: audit(cols["y"], y_score=cols["s"], sensitive_features=cols["g"],
                                   thresholds=[0.5], n_boot=0))  # fmt: skip
    assert arrays[1:] == ("ValueError", message)


def test_an_empty_table_says_it_has_no_rows():
    cols = {
        "y": pa.array([], pa.int64()),
        "p": pa.array([], pa.int64()),
        "g": pa.array([], pa.string()),
    }
    message = one_message(refusals(cols, y_true="y", y_pred="p", sensitive_features="g"))
    assert "no rows" in message
    assert outcome(lambda: audit([], [], []))[1:] == ("ValueError", message)


# --------------------------------------------------------------------------- thresholds


def test_a_float32_score_at_a_threshold_is_compared_in_float64_everywhere():
    scores = np.array([0.7, 0.3, 0.7, 0.3], dtype=np.float32)  # float32(0.7) < 0.7 < float32(0.3)+
    cols = {"y": [1, 0, 1, 0], "s": pa.array(scores), "g": ["a", "a", "b", "b"]}
    expected = (scores.astype(np.float64) >= 0.7).astype(int)  # the convention: score >= t
    for name, table in engines(cols).items():
        got = audit(data=table, y_true="y", y_score="s", sensitive_features="g",
                    thresholds=[0.7, 0.3], n_boot=0)  # fmt: skip
        assert got[0.7].counts[["tp", "fp"]].to_numpy().sum() == expected.sum(), name
        assert got[0.3].counts[["tp", "fp"]].to_numpy().sum() == 4, name  # float32(0.3) > 0.3


def test_a_score_equal_to_a_threshold_is_positive():
    cols = {"y": [1, 0, 1, 0], "s": [0.5, 0.5, 0.49, 0.51], "g": ["a", "a", "b", "b"]}
    arrays = audit(cols["y"], y_score=cols["s"], sensitive_features=pd.Series(cols["g"], name="g"),
                   thresholds=[0.5], n_boot=0)[0.5]  # fmt: skip
    for name, got in [("arrays", arrays)] + [
        (name, audit(data=table, y_true="y", y_score="s", sensitive_features="g",
                     thresholds=[0.5], n_boot=0)[0.5])
        for name, table in engines(cols).items()
    ]:  # fmt: skip
        assert got.counts.loc["a"].tolist() == [1, 1, 0, 0], name
        assert got.counts.loc["b"].tolist() == [0, 1, 1, 0], name


def test_many_thresholds_on_duckdb_do_not_recurse():
    """400 or more thresholds once raised RecursionError on DuckDB (a sum nested as deep)."""
    from fairaudit.metrics._tables import threshold_counts

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"y": rng.integers(0, 2, 500), "s": rng.random(500).round(2),
                       "g": rng.choice(["a", "b"], 500)})  # fmt: skip
    cuts = np.linspace(0, 1, 401).tolist()
    got = threshold_counts(duckdb.sql("SELECT * FROM df"), "y", "s", "g", cuts)
    assert list(got) == cuts
    for cut in cuts[::20]:
        decided = df["s"].to_numpy() >= cut
        positive = df["y"].to_numpy() == 1
        for group in ("a", "b"):
            mine = df["g"].to_numpy() == group
            expected = [
                (mine & c).sum()
                for c in (
                    positive & decided,
                    ~positive & decided,
                    positive & ~decided,
                    ~positive & ~decided,
                )
            ]
            assert got[cut].loc[group].tolist() == expected, (cut, group)


# --------------------------------------------------------------------------- names and types


@pytest.mark.parametrize("group", ["tp", "fn", "__y_true", "__y_score", "_bin"])
def test_a_group_column_may_have_any_name(group):
    cols = {
        "y": [0, 1, 1, 0],
        "p": [0, 1, 0, 1],
        "s": [0.2, 0.8, 0.4, 0.9],
        group: ["a", "a", "b", "b"],
    }
    expected = audit(cols["y"], cols["p"], pd.Series(cols[group], name=group), n_boot=0)
    for name, table in engines(cols).items():
        got = audit(data=table, y_true="y", y_pred="p", sensitive_features=group, n_boot=0)
        pd.testing.assert_frame_equal(got.counts, expected.counts, obj=name)
        by_score = audit(data=table, y_true="y", y_score="s", sensitive_features=group,
                         thresholds=[0.5], n_boot=0)[0.5]  # fmt: skip
        pd.testing.assert_frame_equal(by_score.counts, expected.counts, obj=name)
    # with arrays, a group Series of that name never replaces the labels or the scores
    got = audit(cols["y"], y_score=cols["s"], sensitive_features=pd.Series(cols[group], name=group),
                thresholds=[0.5], n_boot=0)[0.5]  # fmt: skip
    pd.testing.assert_frame_equal(got.counts, expected.counts)


def test_a_categorical_group_takes_missing_group_last():
    cols = {"y": [0, 1, 1, 0], "p": [0, 1, 0, 1],
            "g": pd.Categorical(["b", None, "a", "b"], categories=["b", "a"])}  # fmt: skip
    got = audit(cols["y"], cols["p"], pd.Series(cols["g"], name="g"), missing_group="missing",
                n_boot=0)  # fmt: skip
    assert got.counts.index.tolist() == ["b", "a", "missing"]  # categories order, then missing
    table = audit(data=pd.DataFrame(cols), y_true="y", y_pred="p", sensitive_features="g",
                  missing_group="missing", n_boot=0)  # fmt: skip
    pd.testing.assert_frame_equal(table.counts, got.counts)
    plain = {**cols, "g": ["b", None, "a", "b"]}
    for name, t in engines(plain).items():
        r = audit(data=t, y_true="y", y_pred="p", sensitive_features="g",
                  missing_group="missing", n_boot=0)  # fmt: skip
        assert r.counts.index.tolist() == ["a", "b", "missing"], name


def test_a_missing_group_of_another_type_is_refused_alike():
    cols = {"y": [0, 1, 1, 0], "p": [0, 1, 0, 1], "g": ["a", None, "b", "a"]}
    kw = dict(y_true="y", y_pred="p", sensitive_features="g", missing_group=-1)
    message = one_message(refusals(cols, **kw))
    assert "missing_group=-1" in message and "'g'" in message
    arrays = outcome(lambda: audit(cols["y"], cols["p"], pd.Series(cols["g"], name="g"),
                                   missing_group=-1, n_boot=0))  # fmt: skip
    assert arrays[1:] == ("TypeError", message)


def test_mixed_type_groups_are_refused():
    g = pd.Series(["a", 1, "b", 2.5], dtype=object, name="g")
    with pytest.raises(TypeError, match="sensitive feature 'g' mixes"):
        audit([0, 1, 1, 0], [0, 1, 0, 1], g, n_boot=0)
    frame = pd.DataFrame({"y": [0, 1, 1, 0], "p": [0, 1, 0, 1], "g": g})
    with pytest.raises(TypeError, match="sensitive feature 'g' mixes"):
        audit(data=frame, y_true="y", y_pred="p", sensitive_features="g", n_boot=0)


def test_bool_labels_are_audited_alike_on_every_engine():
    cols = {
        "y": [True, False, True, False],
        "p": [True, True, False, False],
        "g": ["a", "a", "b", "b"],
    }
    expected = audit(np.array(cols["y"]), np.array(cols["p"]), pd.Series(cols["g"], name="g"),
                     n_boot=0)  # fmt: skip
    assert expected.counts.loc["a"].tolist() == [1, 1, 0, 0]
    for name, table in engines(cols).items():
        got = audit(data=table, y_true="y", y_pred="p", sensitive_features="g", n_boot=0)
        pd.testing.assert_frame_equal(got.counts, expected.counts, obj=name)
    arrow = audit(pa.array(cols["y"]), pa.array(cols["p"]), pd.Series(cols["g"], name="g"),
                  n_boot=0)  # fmt: skip
    pd.testing.assert_frame_equal(arrow.counts, expected.counts)


# ------------------------------------------------------------------ labels, counts, verdicts


def test_a_refusal_names_the_labels_in_one_order_whatever_order_the_rows_come_in():
    """Spark returns distinct values in any order; the message must not follow it."""
    messages = set()
    for y in (["yes", "no", "no"], ["no", "no", "yes"]):
        with pytest.raises(ValueError) as raised:
            audit(y, ["no"] * 3, ["a", "a", "b"])
        messages.add(str(raised.value))
    assert messages == {
        "pos_label=1 does not occur in y_true or y_pred, whose labels are ['no', 'yes']. Pass "
        "pos_label= one of them, e.g. pos_label='yes'."
    }


@pytest.mark.parametrize("label", [5, 0.5])
def test_labels_that_cannot_be_the_negative_class_are_refused(label):
    with pytest.raises(ValueError, match=rf"pos_label=1 does not occur.*{label}"):
        audit([label] * 4, [label] * 4, ["a", "a", "b", "b"])
    # 0/1 labels with one class absent remain a valid audit (a window where nobody defaulted)
    audit([0] * 4, [0] * 4, ["a", "a", "b", "b"], n_boot=0)


def test_a_favourable_label_equal_to_pos_label_is_the_positive_prediction():
    y, p, g = [1, 0, 1, 0, 1, 1], [1, 1, 0, 0, 1, 0], ["a", "a", "a", "b", "b", "b"]
    default = audit(y, p, g, n_boot=0)
    explicit = audit(y, p, g, favourable_label=1, n_boot=0)
    pd.testing.assert_frame_equal(explicit.disparate_impact, default.disparate_impact)
    assert explicit.disparate_impact.loc["b", "favourable_rate"] == pytest.approx(1 / 3)
    other = audit(y, p, g, favourable_label=0, n_boot=0)  # the other label: y_pred == 0
    assert other.disparate_impact["favourable_rate"].tolist() == pytest.approx([1 / 3])


@pytest.mark.parametrize("bad", [np.inf, -np.inf, 2.0**63])
def test_infinite_or_overflowing_counts_are_refused(bad):
    counts = pd.DataFrame(
        {"tp": [bad, 1.0], "fp": [1, 1], "fn": [1, 1], "tn": [1, 1]}, index=["a", "b"]
    )
    with pytest.raises(ValueError, match="finite"):
        audit_from_counts(counts, n_boot=0)


def test_a_verdict_with_nothing_compared_says_so():
    single = audit([0, 1, 1], [0, 1, 1], ["a", "a", "a"], n_boot=0)
    with pytest.warns(UndefinedMetricWarning, match="single group"):
        assert single.verdict() == "nothing_to_compare"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        undefined = audit([0, 1, 1, 0], [0, 0, 0, 0], ["a", "a", "b", "b"], n_boot=0)
    with pytest.warns(UndefinedMetricWarning, match="no disparate impact is defined"):
        assert undefined.verdict() == "nothing_to_compare"


def test_a_tied_reference_group_does_not_depend_on_order_or_engine():
    # a and b both favour half their rows; b is larger, so b is the reference whatever the order
    y = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]
    p = [1, 0, 1, 0, 1, 0, 1, 0, 0, 0]
    g = ["b", "b", "b", "b", "a", "a", "c", "c", "c", "c"]
    for categories in (["a", "b", "c"], ["c", "b", "a"], ["b", "a", "c"]):
        cat = pd.Categorical(g, categories=categories)
        cols = {"y": y, "p": p, "g": cat}
        assert audit(y, p, pd.Series(cat, name="g"), n_boot=0).reference_group == "b"
        frame = pd.DataFrame(cols)
        for name, table in {"pandas": frame, "polars": polars.from_pandas(frame),
                            "duckdb": duckdb.sql("SELECT * FROM frame")}.items():  # fmt: skip
            got = audit(data=table, y_true="y", y_pred="p", sensitive_features="g", n_boot=0)
            assert got.reference_group == "b", (name, categories)
    # equal rates and equal sizes: the first group by its key, whatever the order
    for order in (["x", "w"], ["w", "x"]):
        cat = pd.Categorical(["w", "w", "x", "x"], categories=order)
        assert audit([1, 0, 1, 0], [1, 0, 1, 0], cat, n_boot=0).reference_group == "w"
