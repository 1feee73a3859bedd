"""The exercises' self-checks: right answers pass however they were computed, slips get nudges.

Expected values come from independent references (Fairlearn's MetricFrame,
hand counts, a brute-force loop), never from the judge's own code path. Every
misstep an attendee was seen to make has its own message, tested here.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import nbformat
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, demographic_parity_difference, false_negative_rate

from fairaudit._io import project_root
from fairaudit.exercises import check, persistent_alerts, registered
from fairaudit.metrics import audit

ROOT = project_root()


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


def _check_calls(path):
    """(exercise name, answer variable) of every check cell of a committed notebook."""
    nb = nbformat.read(path, as_version=4)
    calls = []
    for cell in nb.cells:
        if "check" in cell.metadata.get("tags", []):
            call = ast.parse(cell.source).body[0].value
            calls.append((call.args[0].value, call.args[1].id))
    return nb, calls


@pytest.mark.parametrize(
    "notebook", ["01_credit_loan", "02_adult_income", "03_fairness_monitoring"]
)
def test_every_first_nudge_names_the_variable_the_notebook_really_uses(capsys, notebook):
    nb, calls = _check_calls(ROOT / "notebooks" / f"{notebook}.ipynb")
    exercises = registered()
    assert len(calls) == 3
    student_code = "\n".join(
        c.source
        for c in nb.cells
        if c.cell_type == "code" and "exercise" in c.metadata.get("tags", [])
    )
    for name, variable in calls:
        assert exercises[name].answer == variable
        assert f"{variable} = None" in student_code  # the student copy starts it empty
        first = said(capsys, name, None)
        assert first.startswith("Not yet: ") and f"store it in `{variable}`" in first
        assert "`answer`" not in first


def test_answers_of_the_wrong_shape_get_their_own_message(capsys, credit):
    _, _, _, result = credit
    args = dict(result=result, group="b")
    name = "credit-loan/declined-repayers"
    exact = float(result.by_group.loc["b", "false_negative_rate"])
    for container in ([exact, 0.2], pd.Series([exact, 0.1]), {"b": exact}, (exact,)):
        assert "store one number" in said(capsys, name, container, **args)
    quoted = said(capsys, name, f"{exact:.3f}", **args)  # was accepted as Correct
    assert quoted.startswith("Not yet") and "remove the quotes" in quoted
    assert "without quotes" in said(capsys, name, "about a third", **args)
    for truth in (True, np.True_):
        assert "yes/no value" in said(capsys, name, truth, **args)
    assert "between 0 and 1" in said(capsys, name, exact * 100, **args)
    assert "percentage" in said(capsys, name, exact * 100, **args)
    assert "undefined" in said(capsys, name, float("nan"), **args)
    assert said(capsys, name, np.array([exact]), **args) == "Correct"  # one value is one value


def test_a_count_must_be_whole_and_k_in_a_row_must_count_windows(capsys):
    starts = pd.date_range("2026-03-02", periods=6, freq="h")
    windows = pd.DataFrame({"window_start": starts, "alert": [True] * 6})
    args = dict(windows=windows, release=starts[2])
    name = "fairness-monitoring/persistent-alerts"
    for k in (0, -1, 2.5, True):
        message = said(capsys, name, 1, k=k, **args)
        assert message.startswith("Not yet") and "`k_in_a_row` is" in message, k
        assert "whole number, 1 or more" in message and "-1 window" not in message
    assert said(capsys, name, 4, k=np.int64(1), **args) == "Correct"  # every window after release
    assert "whole number" in said(capsys, name, 2.5, k=3, **args)
    assert "negative" in said(capsys, name, -2, k=3, **args)


def test_a_name_error_in_the_project_kernel_says_to_run_the_cells_above():
    """After a kernel restart the check cell's names are gone: the hint names the fix."""
    from jupyter_client.manager import start_new_kernel

    spec = json.loads(
        (
            __import__("pathlib").Path(sys.prefix) / "share/jupyter/kernels/fairaudit/kernel.json"
        ).read_text()
    )
    assert "--ext=fairaudit.exercises" in spec["argv"]
    manager, client = start_new_kernel(kernel_name="fairaudit")
    try:
        outputs = []

        def collect(message):
            if message["msg_type"] in ("stream", "error"):
                outputs.append(message["content"])

        client.execute_interactive(
            'check("credit-loan/declined-repayers", answer_fnr, result=result, group=worst)',
            output_hook=collect,
            timeout=120,
        )
        client.execute_interactive("answer_fn = 1\nanswr_fn", output_hook=collect, timeout=60)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    errors = [o for o in outputs if "ename" in o]
    text = "".join(o.get("text", "") for o in outputs)
    assert [e["ename"] for e in errors] == ["NameError", "NameError"]
    assert "`check` is not defined yet" in text and "run the cells above first" in text
    assert "did you mean `answer_fn`?" in text


def test_declined_repayers_by_hand_is_judged_against_metricframe(capsys, credit):
    y, pred, groups, result = credit
    fnr = MetricFrame(
        metrics=false_negative_rate, y_true=y, y_pred=pred, sensitive_features=groups
    ).by_group
    name = "credit-loan/declined-repayers"
    for group in ("a", "b", "c"):
        answer = np.float64(fnr[group])  # a NumPy scalar is as good as a float
        assert said(capsys, name, answer, result=result, group=group) == "Correct"
        shown = round(float(fnr[group]), 3)  # read off a table that shows three decimals
        rounded = said(capsys, name, shown, result=result, group=group)
        if shown != fnr[group]:
            assert rounded.startswith("Correct (rounded") and f"{fnr[group]:.4f}" in rounded
    c = result.counts.loc["b"]
    wrong_denominator = said(capsys, name, c["fn"] / c.sum(), result=result, group="b")
    assert wrong_denominator.startswith("Not yet") and "actual repayers" in wrong_denominator
    assert "true positive rate" in said(capsys, name, 1 - fnr["b"], result=result, group="b")
    fpr = c["fp"] / (c["fp"] + c["tn"])
    assert "defaulters" in said(capsys, name, fpr, result=result, group="b")


def test_smallest_denominator_counts_defaulters_not_rows(capsys, credit):
    y, _, groups, _ = credit
    defaulters = {g: int(((groups == g) & (y == 0)).sum()) for g in ("a", "b", "c")}
    repayers = {g: int(((groups == g) & (y == 1)).sum()) for g in ("a", "b", "c")}
    rows = groups.value_counts()
    args = dict(y_true=y, groups=groups)
    name = "credit-loan/smallest-denominator"
    assert said(capsys, name, min(defaulters.values()), **args) == "Correct"
    assert said(capsys, name, min(defaulters.values()) + 0.0004, **args).startswith("Not yet")
    assert "row" in said(capsys, name, int(rows.min()), **args)
    assert "repayers" in said(capsys, name, min(repayers.values()), **args)


def test_who_bears_errors_asks_whose_declined_share_rose_most(capsys, credit):
    from fairaudit.metrics import audit_from_counts

    def counts(fn_a, fn_b):  # 100 repayers and 100 defaulters per group
        table = {"a": [100 - fn_a, 50, fn_a, 50], "b": [100 - fn_b, 50, fn_b, 50]}
        frame = pd.DataFrame.from_dict(table, orient="index", columns=["tp", "fp", "fn", "tn"])
        return audit_from_counts(frame, n_boot=0)

    # declined repayers: a 10 % -> 20 % (rose 10 points), b 30 % -> 32 % (rose 2, highest after)
    before, after = counts(10, 30), counts(20, 32)
    name = "credit-loan/who-bears-errors"
    args = dict(result=after, before=before)
    assert said(capsys, name, "  A ", **args) == "Correct"
    # the answer to the old, ambiguous question gets its own nudge
    assert "*rose* most" in said(capsys, name, "b", **args)
    assert "name one of the groups" in said(capsys, name, "zzz", **args)
    assert "as text" in said(capsys, name, 3, **args)
    # an older notebook without `before`: the highest rate after mitigation
    assert said(capsys, name, "b", result=after) == "Correct"
    assert said(capsys, name, "a", result=after).startswith("Not yet")
    # with the audit of real decisions: the group MetricFrame finds with the largest rise
    y, pred, groups, result = credit
    rng = np.random.default_rng(5)
    mitigated = np.where(rng.random(len(y)) < 0.3, 1 - pred, pred)
    fnr = {
        label: MetricFrame(
            metrics=false_negative_rate, y_true=y, y_pred=d, sensitive_features=groups
        ).by_group
        for label, d in (("before", pred), ("after", mitigated))
    }
    most = (fnr["after"] - fnr["before"]).idxmax()
    real = dict(result=audit(y, mitigated, groups, n_boot=0), before=result)
    assert said(capsys, name, most, **real) == "Correct"


def test_adult_base_rates_accept_the_printed_percentages_and_say_they_are_rounded(capsys):
    sex = pd.Series(["Female"] * 3000 + ["Male"] * 7000)
    y = pd.Series(([1] * 328 + [0] * 2672) + ([1] * 2127 + [0] * 4873))  # 10.93 %, 30.39 %
    women, men = 328 / 3000, 2127 / 7000
    name, args = "adult-income/base-rate-ratio", dict(y=y, sex=sex)
    assert said(capsys, name, women / men, **args) == "Correct"
    from_printed = said(capsys, name, 10.9 / 30.4, **args)  # the shares as printed: was refused
    assert abs(10.9 / 30.4 - women / men) > 1e-3  # outside the old tolerance
    assert from_printed.startswith("Correct (rounded") and f"{women / men:.4f}" in from_printed
    assert said(capsys, name, 11.0 / 30.3, **args).startswith("Not yet")  # not what was printed
    assert "upside down" in said(capsys, name, men / women, **args)
    assert "difference" in said(capsys, name, women - men, **args)


def test_perfect_classifier_against_fairlearn(capsys):
    sex = pd.Series(["Female"] * 4 + ["Male"] * 6)
    y = pd.Series([1, 0, 0, 0, 1, 1, 1, 0, 0, 0])  # women 1/4, men 3/6
    expected = demographic_parity_difference(y, y, sensitive_features=sex)
    name = "adult-income/perfect-classifier-dpd"
    assert said(capsys, name, expected, y_true=y, sex=sex) == "Correct"
    assert "Is that share" in said(capsys, name, 0, y_true=y, sex=sex)


def test_gate_failures_accept_any_spelling_order_and_short_name(capsys):
    checks = ["demographic_parity_difference", "equalized_odds_difference", "disparate_impact"]
    gate = pd.DataFrame({"passed": [False, True, False]}, index=pd.Index(checks))
    name = "adult-income/gate-failures"
    for answer in (
        ["disparate_impact", "demographic_parity_difference"],
        "Demographic parity difference, disparate impact",
        {"di", "dpd"},
    ):
        assert said(capsys, name, answer, gate=gate) == "Correct"
    assert "passes" in said(capsys, name, ["eod", "di"], gate=gate)
    assert "more checks" in said(capsys, name, ["di"], gate=gate)
    unknown = said(capsys, name, ["di min"], gate=gate)  # the old example's name
    assert '"disparate_impact"' in unknown and "named" in unknown
    assert "as a list" in said(capsys, name, 2, gate=gate)


def test_the_gate_exercise_examples_name_checks_that_exist():
    nb = nbformat.read(ROOT / "notebooks" / "02_adult_income.ipynb", as_version=4)
    gate_checks = {"demographic_parity_difference", "equalized_odds_difference", "disparate_impact"}
    text = "\n".join(c.source for c in nb.cells if "exercise" in c.metadata.get("tags", []))
    examples = set(__import__("re").findall(r'e\.g\. \["([^"]+)"\]', text))
    assert examples and examples <= gate_checks
    assert "di min" not in text


def test_monitoring_exercises_against_hand_counts_and_a_loop(capsys):
    starts = pd.date_range("2026-03-02", periods=12, freq="h")
    alert = [False, True, False, True, True, True, False, True, True, True, True, False]
    windows = pd.DataFrame({"window_start": starts, "alert": alert}).sample(frac=1, random_state=0)
    release = starts[4]
    rate = "fairness-monitoring/false-alarm-rate"
    # before the release: windows 0..3, alerts at 1 and 3
    assert said(capsys, rate, 0.5, windows=windows, release=release) == "Correct"
    assert "a count" in said(capsys, rate, 2, windows=windows, release=release)
    assert "only the windows before" in said(
        capsys, rate, sum(alert) / len(alert), windows=windows, release=release
    )
    # brute force: a window closes a run of 3 when it and the two before it alert
    loop = [i >= 2 and all(alert[i - 2 : i + 1]) for i in range(len(alert))]
    assert persistent_alerts(windows, 3).tolist() == loop
    expected = sum(ok for ok, start in zip(loop, starts, strict=True) if start >= release)
    args = dict(windows=windows, release=release, k=3)
    name = "fairness-monitoring/persistent-alerts"
    assert said(capsys, name, expected, **args) == "Correct"
    every_alert_after = sum(alert[4:])  # 6, more than the persistent ones
    assert every_alert_after != expected
    assert "every alert" in said(capsys, name, every_alert_after, **args)

    window = pd.Series(
        {
            "monitored_favourable": 30,
            "monitored_total": 60,
            "reference_favourable": 80,
            "reference_total": 100,
        }
    )
    by_hand = "fairness-monitoring/disparate-impact-by-hand"
    assert said(capsys, by_hand, 0.625, window=window) == "Correct"
    assert "upside down" in said(capsys, by_hand, 1.6, window=window)
    assert "monitored group's favourable rate" in said(capsys, by_hand, 0.5, window=window)


def test_a_value_off_in_the_second_decimal_is_not_yet_correct(capsys, credit):
    """A number read off a three-decimal table passes (said to be rounded); 0.01 off does not."""
    y, pred, groups, result = credit
    name = "credit-loan/declined-repayers"
    for group in ("a", "b", "c"):
        mine = (groups == group) & (y == 1)
        declined = float((pred[mine] == 0).mean())  # brute force over the rows
        assert said(capsys, name, declined, result=result, group=group) == "Correct"
        near = said(capsys, name, declined + 0.0004, result=result, group=group)
        assert near.startswith("Correct (rounded")
        for off in (0.01, -0.02):
            answer = declined + off
            assert said(capsys, name, answer, result=result, group=group).startswith("Not yet")
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
    assert said(capsys, "credit-loan/declined-repayers", 0.3, result=None, group="a").startswith(
        "Not yet: this answer could not be checked"
    )
    assert said(capsys, "no-such/exercise", 1).startswith("Not yet: there is no exercise")


@pytest.mark.parametrize("name", [None, 5, ["a"], {}, b"credit-loan/declined-repayers"])
def test_an_exercise_name_that_is_not_a_string_gets_the_unknown_exercise_message(capsys, name):
    message = said(capsys, name, 0.3)
    assert message.startswith(f"Not yet: there is no exercise {name!r}; known: ")
    assert "credit-loan/declined-repayers" in message


def test_the_studies_judges_import_without_pandas():
    """The command imports the study modules; their judges load pandas only when called."""
    code = (
        "import sys, fairaudit.studies.credit_loan, fairaudit.studies.adult_income, "
        "fairaudit.studies.fairness_monitoring, fairaudit.exercises; "
        "print(sorted({'pandas', 'numpy', 'nbconvert', 'fairlearn'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
