"""The exercises' self-checks: right answers pass however they were computed, slips get nudges.

Expected values come from independent references (Fairlearn's MetricFrame,
hand counts, a brute-force loop), never from the judge's own code path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_negative_rate

from fairaudit.exercises import EXERCISES, check, persistent_alerts
from fairaudit.metrics import audit


def said(capsys, *args, **kwargs) -> str:
    check(*args, **kwargs)
    return capsys.readouterr().out.strip()


@pytest.fixture(scope="module")
def credit():
    rng = np.random.default_rng(3)
    n = 3000
    groups = pd.Series(rng.choice(["a", "b", "c"], n, p=[0.6, 0.35, 0.05]), name="g")
    y = pd.Series((rng.random(n) < np.where(groups == "c", 0.1, 0.3)).astype(int))
    pred = (rng.random(n) < 0.25 + 0.2 * (groups == "b")).astype(int)
    # 1 = repaid and approved, as in the credit-loan notebook
    return y, pred, groups, audit(y, pred, groups, pos_label=1, n_boot=100)


def test_every_exercise_of_the_notebooks_is_registered_and_an_empty_answer_says_not_yet(capsys):
    assert len([n for n in EXERCISES if n.startswith("credit-loan/")]) >= 3
    assert len([n for n in EXERCISES if n.startswith("adult-income/")]) >= 3
    assert len([n for n in EXERCISES if n.startswith("fairness-monitoring/")]) >= 3
    for name in EXERCISES:
        assert said(capsys, name, None).startswith("Not yet: ")


def test_declined_repayers_by_hand_is_judged_against_metricframe(capsys, credit):
    y, pred, groups, result = credit
    fnr = MetricFrame(
        metrics=false_negative_rate, y_true=y, y_pred=pred, sensitive_features=groups
    ).by_group
    for group in ("a", "b", "c"):
        answer = np.float64(fnr[group])  # a NumPy scalar is as good as a float
        assert said(
            capsys, "credit-loan/declined-repayers", answer, result=result, group=group
        ) == ("Correct")
        shown = round(float(fnr[group]), 3)  # read off a table that shows three decimals
        assert said(capsys, "credit-loan/declined-repayers", shown, result=result, group=group) == (
            "Correct"
        )
    c = result.counts.loc["b"]
    wrong_denominator = said(
        capsys, "credit-loan/declined-repayers", c["fn"] / c.sum(), result=result, group="b"
    )
    assert wrong_denominator.startswith("Not yet") and "actual repayers" in wrong_denominator
    approved = said(
        capsys,
        "credit-loan/declined-repayers",
        1 - fnr["b"],
        result=result,
        group="b",
    )
    assert "true positive rate" in approved
    fpr = c["fp"] / (c["fp"] + c["tn"])
    assert "defaulters" in said(
        capsys, "credit-loan/declined-repayers", fpr, result=result, group="b"
    )


def test_smallest_denominator_counts_defaulters_not_rows(capsys, credit):
    y, _, groups, _ = credit
    defaulters = {g: int(((groups == g) & (y == 0)).sum()) for g in ("a", "b", "c")}
    repayers = {g: int(((groups == g) & (y == 1)).sum()) for g in ("a", "b", "c")}
    rows = groups.value_counts()
    args = dict(y_true=y, groups=groups)
    assert said(capsys, "credit-loan/smallest-denominator", min(defaulters.values()), **args) == (
        "Correct"
    )
    assert "row" in said(capsys, "credit-loan/smallest-denominator", int(rows.min()), **args)
    assert "repayers" in said(
        capsys, "credit-loan/smallest-denominator", min(repayers.values()), **args
    )


def test_who_bears_errors_accepts_the_group_whose_repayers_are_declined_most(capsys, credit):
    y, pred, groups, result = credit
    fnr = {g: 1 - pred[(groups == g) & (y == 1)].mean() for g in ("a", "b", "c")}
    worst = max(fnr, key=fnr.get)
    assert said(capsys, "credit-loan/who-bears-errors", f"  {worst.upper()} ", result=result) == (
        "Correct"
    )
    other = next(g for g in fnr if g != worst)
    assert said(capsys, "credit-loan/who-bears-errors", other, result=result).startswith("Not yet")
    assert "name one of the groups" in said(
        capsys, "credit-loan/who-bears-errors", "zzz", result=result
    )


def test_adult_base_rates_and_the_perfect_classifier(capsys):
    sex = pd.Series(["Female"] * 4 + ["Male"] * 6)
    y = pd.Series([1, 0, 0, 0, 1, 1, 1, 0, 0, 0])  # women 1/4, men 3/6
    assert said(capsys, "adult-income/base-rate-ratio", 0.5, y=y, sex=sex) == "Correct"
    assert "upside down" in said(capsys, "adult-income/base-rate-ratio", 2.0, y=y, sex=sex)
    assert "difference" in said(capsys, "adult-income/base-rate-ratio", -0.25, y=y, sex=sex)
    # A perfect classifier's selection rates are the base rates: |1/4 - 3/6| = 0.25.
    assert said(capsys, "adult-income/perfect-classifier-dpd", 0.25, y_true=y, sex=sex) == (
        "Correct"
    )
    assert "Is that share" in said(
        capsys, "adult-income/perfect-classifier-dpd", 0, y_true=y, sex=sex
    )


def test_gate_failures_accept_any_spelling_and_order(capsys):
    gate = pd.DataFrame(
        {"passed": [False, True, False]}, index=pd.Index(["dpd_max", "eod_max", "di_min"])
    )
    for answer in (["di_min", "dpd_max"], "DPD max, di min", {"di min", "dpd max"}):
        assert said(capsys, "adult-income/gate-failures", answer, gate=gate) == "Correct"
    assert "passes" in said(capsys, "adult-income/gate-failures", ["eod max", "di min"], gate=gate)
    assert "more checks" in said(capsys, "adult-income/gate-failures", ["di min"], gate=gate)
    assert "named" in said(capsys, "adult-income/gate-failures", ["accuracy"], gate=gate)


def test_monitoring_exercises_against_hand_counts_and_a_loop(capsys):
    starts = pd.date_range("2026-03-02", periods=12, freq="h")
    alert = [False, True, False, True, True, True, False, True, True, True, True, False]
    windows = pd.DataFrame({"window_start": starts, "alert": alert}).sample(frac=1, random_state=0)
    release = starts[4]
    # before the release: windows 0..3, alerts at 1 and 3
    assert said(
        capsys, "fairness-monitoring/false-alarm-rate", 0.5, windows=windows, release=release
    ) == ("Correct")
    assert "a count" in said(
        capsys, "fairness-monitoring/false-alarm-rate", 2, windows=windows, release=release
    )
    # brute force: a window closes a run of 3 when it and the two before it alert
    loop = [i >= 2 and all(alert[i - 2 : i + 1]) for i in range(len(alert))]
    assert persistent_alerts(windows, 3).tolist() == loop
    expected = sum(ok for ok, start in zip(loop, starts, strict=True) if start >= release)
    args = dict(windows=windows, release=release, k=3)
    assert said(capsys, "fairness-monitoring/persistent-alerts", expected, **args) == "Correct"
    every_alert_after = sum(alert[4:])  # 6, more than the persistent ones
    assert every_alert_after != expected
    assert "every alert" in said(
        capsys, "fairness-monitoring/persistent-alerts", every_alert_after, **args
    )

    window = pd.Series(
        {
            "monitored_favourable": 30,
            "monitored_total": 60,
            "reference_favourable": 80,
            "reference_total": 100,
        }
    )
    assert said(capsys, "fairness-monitoring/disparate-impact-by-hand", 0.625, window=window) == (
        "Correct"
    )
    assert "upside down" in said(
        capsys, "fairness-monitoring/disparate-impact-by-hand", 1.6, window=window
    )


def test_a_value_off_in_the_second_decimal_is_not_yet_correct(capsys, credit):
    """A number read off a three-decimal table passes; one off by 0.01 or 0.02 does not."""
    y, pred, groups, result = credit
    for group in ("a", "b", "c"):
        mine = (groups == group) & (y == 1)
        declined = float((pred[mine] == 0).mean())  # brute force over the rows
        for answer, verdict in ((declined, "Correct"), (declined + 0.0004, "Correct")):
            assert (
                said(capsys, "credit-loan/declined-repayers", answer, result=result, group=group)
                == verdict
            )
        for off in (0.01, -0.02):
            assert said(
                capsys, "credit-loan/declined-repayers", declined + off, result=result, group=group
            ).startswith("Not yet")
    window = pd.Series(
        {
            "monitored_favourable": 30,
            "monitored_total": 60,
            "reference_favourable": 80,
            "reference_total": 100,
        }
    )  # 0.5 / 0.8 = 0.625 by hand
    for answer in (0.615, 0.64):
        assert said(
            capsys, "fairness-monitoring/disparate-impact-by-hand", answer, window=window
        ).startswith("Not yet")


def test_persistent_alerts_count_the_window_starting_at_the_release(capsys):
    starts = pd.date_range("2026-03-02", periods=6, freq="h")
    alert = [False, True, True, True, False, False]  # the run of 3 closes at window 3
    windows = pd.DataFrame({"window_start": starts, "alert": alert})
    args = dict(windows=windows, release=starts[3], k=3)
    assert said(capsys, "fairness-monitoring/persistent-alerts", 1, **args) == "Correct"
    assert said(capsys, "fairness-monitoring/persistent-alerts", 0, **args).startswith("Not yet")
    after = dict(args, release=starts[4])  # the run closed before this release
    assert said(capsys, "fairness-monitoring/persistent-alerts", 0, **after) == "Correct"


def test_a_broken_answer_or_unknown_exercise_never_stops_the_notebook(capsys):
    assert said(capsys, "credit-loan/declined-repayers", "abc", result=None, group="a").startswith(
        "Not yet: this answer could not be checked"
    )
    assert said(capsys, "credit-loan/declined-repayers", float("nan"), result=None, group="a")
    assert said(capsys, "no-such/exercise", 1).startswith("Not yet: there is no exercise")
